/**
 * Contacts (people and places) in the medic database: contact types and the hierarchy rules,
 * lineage minifying and hydration, shortcode and phone lookups through the medic-client views,
 * and the create logic behind POST /api/v1/people and /api/v1/places.
 */
import type { CouchDoc, CouchServer } from './couch';
import { ChtError } from './errors';
import { CONTACT_TYPES, type ContactType } from './seed';
import { randomShortcode, SHORTCODE_LENGTH } from './shortcodes';

export interface Lineage {
  _id: string;
  parent?: Lineage;
}

type Json = Record<string, unknown>;

const TYPES_BY_ID = new Map(CONTACT_TYPES.map((type) => [type.id, type]));
/** Guards lineage walks against parent loops, as CHT's lineage library does. */
const MAX_DEPTH = 50;

export function typeIdOf(doc: Json | undefined): string | undefined {
  if (!doc) return undefined;
  return String((doc.type === 'contact' ? doc.contact_type : doc.type) ?? '') || undefined;
}

export function contactTypeOf(doc: Json | undefined): ContactType | undefined {
  const id = typeIdOf(doc);
  return id ? TYPES_BY_ID.get(id) : undefined;
}

export function isPerson(doc: Json | undefined): boolean {
  const id = typeIdOf(doc);
  return id === 'person' || Boolean(id && TYPES_BY_ID.get(id)?.person);
}

export function isPlace(doc: Json | undefined): boolean {
  const type = contactTypeOf(doc);
  return Boolean(type && !type.person && type.id !== 'person');
}

/** `{_id, parent: {_id, ...}}` from a hydrated or minified parent. */
export function minifyLineage(parent: unknown): Lineage | undefined {
  if (!parent || typeof parent !== 'object' || !(parent as Json)._id) return parent as Lineage | undefined;
  const result: Lineage = { _id: String((parent as Json)._id) };
  let cursor = result;
  let current = parent as Json;
  for (let depth = 0; current.parent && (current.parent as Json)._id; depth += 1) {
    if (depth > MAX_DEPTH) throw new Error(`Could not minify ${result._id}, possible parent recursion.`);
    current = current.parent as Json;
    cursor.parent = { _id: String(current._id) };
    cursor = cursor.parent;
  }
  return result;
}

function lineageIds(parent: unknown): string[] {
  const ids: string[] = [];
  let current = parent as Json | undefined;
  while (current && typeof current === 'object' && current._id && ids.length <= MAX_DEPTH) {
    ids.push(String(current._id));
    current = current.parent as Json | undefined;
  }
  return ids;
}

function parseReportedDate(value: unknown): number | undefined {
  if (value === undefined) return Date.now();
  const date = typeof value === 'number' || /^\d+$/.test(String(value)) ? new Date(Number(value)) : new Date(String(value));
  return Number.isNaN(date.valueOf()) ? undefined : date.valueOf();
}

export class Contacts {
  constructor(private readonly couch: CouchServer) {}

  private get db() {
    return this.couch.db;
  }

  async getDoc(id: string): Promise<CouchDoc | undefined> {
    try {
      return await this.db.get(id);
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw error;
    }
  }

  private async getDocs(ids: string[]): Promise<Map<string, CouchDoc>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.db.allDocs({ keys: ids, include_docs: true });
    return new Map(rows.filter((row) => row.doc).map((row) => [row.id, row.doc as CouchDoc]));
  }

  async findByShortcode(code: string): Promise<CouchDoc | undefined> {
    const { rows } = await this.db.query('medic-client/contacts_by_reference', { key: ['shortcode', String(code)], include_docs: true, limit: 1 });
    return rows[0]?.doc;
  }

  async findIdsByPhone(phone: string): Promise<string[]> {
    const { rows } = await this.db.query('medic-client/contacts_by_phone', { key: phone });
    return rows.map((row) => row.id);
  }

  /** A shortcode no contact uses yet; longer codes once five digits keep colliding. */
  async uniqueShortcode(): Promise<string> {
    for (let attempt = 0; ; attempt += 1) {
      const code = randomShortcode(SHORTCODE_LENGTH + Math.floor(attempt / 10));
      if (!(await this.findByShortcode(code))) return code;
    }
  }

  /** Replaces a minified parent chain with the full parent documents (stubs stay where a doc is gone). */
  async hydrateParents(parent: unknown): Promise<Json | undefined> {
    const ids = lineageIds(parent);
    if (ids.length === 0) return parent as Json | undefined;
    const docs = await this.getDocs(ids);
    let hydrated: Json | undefined;
    for (let i = ids.length - 1; i >= 0; i -= 1) {
      const doc: Json = { ...(docs.get(ids[i]) ?? { _id: ids[i] }) };
      if (hydrated) doc.parent = hydrated;
      else if (!docs.has(ids[i])) delete doc.parent;
      hydrated = doc;
    }
    return hydrated;
  }

  async withLineage(doc: CouchDoc): Promise<CouchDoc> {
    return doc.parent ? { ...doc, parent: await this.hydrateParents(doc.parent) } : doc;
  }

  /**
   * CHT's hydration before outbound mapping: full parent and contact lineages, and for reports the
   * patient and place their fields refer to (by uuid or shortcode).
   */
  async hydrate(doc: CouchDoc): Promise<CouchDoc> {
    const hydrated: CouchDoc = await this.withLineage(doc);
    const contactId = typeof doc.contact === 'string' ? doc.contact : (doc.contact as Json | undefined)?._id;
    if (contactId) {
      const contact = await this.getDoc(String(contactId));
      if (contact) hydrated.contact = await this.withLineage(contact);
    }
    if (doc.type === 'data_record') {
      const fields = (doc.fields ?? {}) as Json;
      const patient = await this.findSubject(fields.patient_uuid, fields.patient_id ?? doc.patient_id);
      if (patient) hydrated.patient = await this.withLineage(patient);
      const place = await this.findSubject(fields.place_uuid, fields.place_id);
      if (place) hydrated.place = await this.withLineage(place);
    }
    return hydrated;
  }

  private async findSubject(uuid: unknown, shortcode: unknown): Promise<CouchDoc | undefined> {
    if (typeof uuid === 'string' && uuid) {
      const doc = await this.getDoc(uuid);
      if (doc) return doc;
    }
    if ((typeof shortcode === 'string' || typeof shortcode === 'number') && shortcode !== '') {
      return (await this.findByShortcode(String(shortcode))) ?? (typeof shortcode === 'string' ? this.getDoc(shortcode) : undefined);
    }
    return undefined;
  }

  /** Place.v1.getWithLineage: undefined unless the doc is a place. */
  async getPlaceWithLineage(id: string): Promise<CouchDoc | undefined> {
    const doc = await this.getDoc(id);
    if (!doc || !isPlace(doc)) return undefined;
    return this.withLineage(doc);
  }

  async getPersonWithLineage(id: string): Promise<CouchDoc | undefined> {
    const doc = await this.getDoc(id);
    if (!doc || !isPerson(doc)) return undefined;
    return this.withLineage(doc);
  }

  validatePerson(person: unknown): string | undefined {
    if (!person || typeof person !== 'object') return 'Person must be an object.';
    const data = person as Json;
    if (!isPerson(data)) return 'Wrong type, this is not a person.';
    if (data.name === undefined) return 'Person is missing a "name" property.';
    if (typeof data.name !== 'string') return 'Property "name" must be a string.';
    if (data.reported_date !== undefined && parseReportedDate(data.reported_date) === undefined) return `Reported date is invalid: ${String(data.reported_date)}`;
    return undefined;
  }

  /** POST /api/v1/people: `place` is an existing place id or a new place (with new or existing parents). */
  async createPerson(input: Json): Promise<{ ok: boolean; id: string; rev: string }> {
    const data: Json = { ...input };
    data.type ??= 'person';
    const error = this.validatePerson(data);
    if (error) throw new ChtError(400, error);
    data.reported_date = parseReportedDate(data.reported_date);
    if (data.place) {
      const place = await this.getOrCreatePlace(data.place);
      data.parent = minifyLineage(place);
      delete data.place;
    }
    return this.db.post(data);
  }

  private async getOrCreatePerson(data: unknown): Promise<CouchDoc> {
    if (typeof data === 'string') return this.requirePerson(data);
    if (data && typeof data === 'object' && (data as Json)._rev === undefined) {
      const created = await this.createPerson(data as Json);
      return this.requirePerson(created.id);
    }
    throw new ChtError(400, 'Person must be a new object or string identifier (UUID).');
  }

  private async requirePerson(id: string): Promise<CouchDoc> {
    const person = await this.getPersonWithLineage(id);
    if (!person) throw new ChtError(404, 'Failed to find person.');
    return person;
  }

  private async requirePlace(id: string): Promise<CouchDoc> {
    const place = await this.getPlaceWithLineage(id);
    if (!place) throw new ChtError(404, 'Failed to find place.');
    return place;
  }

  private async getOrCreatePlace(place: unknown): Promise<CouchDoc> {
    if (typeof place === 'string') return this.requirePlace(place);
    if (place && typeof place === 'object' && !(place as Json)._rev) {
      const created = await this.createPlaces({ ...(place as Json) });
      return this.requirePlace(created.id);
    }
    throw new ChtError(400, 'Place must be a new object or string identifier (UUID).');
  }

  /**
   * Checks a place and its parents against the hierarchy. Parents are not looked up here: the
   * whole chain may be new and created in the same call.
   */
  validatePlace(place: unknown): void {
    if (!place || typeof place !== 'object') throw new ChtError(400, 'Place must be an object.');
    const data = place as Json;
    const placeId = data._id ? String(data._id) : '';
    if (!isPlace(data)) throw new ChtError(400, `Wrong type, object ${placeId} is not a place.`);
    if (data.name === undefined) throw new ChtError(400, `Place ${placeId} is missing a "name" property.`);
    if (data.reported_date !== undefined && parseReportedDate(data.reported_date) === undefined) {
      throw new ChtError(400, `Reported date on place ${placeId} is invalid: ${String(data.reported_date)}`);
    }
    if (typeof data.name !== 'string') throw new ChtError(400, `Property "name" on place ${placeId} must be a string.`);
    const type = contactTypeOf(data) as ContactType;
    if (type.parents?.length) {
      if (!data.parent) throw new ChtError(400, `Place ${placeId} is missing a "parent" property.`);
      const parentType = typeIdOf(data.parent as Json);
      if (!parentType || !type.parents.includes(parentType)) {
        throw new ChtError(400, `${type.id} "${placeId}" should have one of the following parent types: "${type.parents.join(',')}".`);
      }
    }
    if (data.contact !== undefined && typeof data.contact !== 'string' && (typeof data.contact !== 'object' || data.contact === null)) {
      throw new ChtError(400, `Property "contact" on place ${placeId} must be an object or string.`);
    }
    if (data.parent && typeof data.parent === 'object' && Object.keys(data.parent).length > 0) this.validatePlace(data.parent);
  }

  /** POST /api/v1/places: creates missing parents first, top down, then the place and its contact. */
  async createPlaces(place: Json): Promise<Json & { id: string }> {
    if (typeof place.parent === 'string') {
      place.parent = await this.requirePlace(place.parent);
      return this.createPlace(place);
    }
    if (place.parent && typeof place.parent === 'object' && !(place.parent as Json)._id) {
      const parent = await this.createPlaces({ ...(place.parent as Json) });
      return this.createPlaces({ ...place, parent: parent.id });
    }
    return this.createPlace(place);
  }

  private async createPlace(place: Json): Promise<Json & { id: string }> {
    this.validatePlace(place);
    const contact = place.contact;
    delete place.contact;
    if (contact !== undefined && typeof contact === 'object' && contact !== null) {
      const person: Json = { ...(contact as Json) };
      person.type ??= 'person';
      const error = this.validatePerson(person);
      if (error) throw new ChtError(400, error);
    }
    const existingContact = typeof contact === 'string' ? await this.getOrCreatePerson(contact) : undefined;
    place.reported_date = parseReportedDate(place.reported_date);
    if (place.parent) place.parent = minifyLineage(place.parent);
    if (existingContact) {
      // As CHT does for an existing contact: only its id is stored.
      place.contact = existingContact._id;
      const result = await this.db.post(place);
      return { ...result, contact: { id: existingContact._id } };
    }
    const result = await this.db.post(place);
    if (!contact) return { ...result };
    const person = await this.getOrCreatePerson({ ...(contact as Json), type: (contact as Json).type ?? 'person', place: result.id });
    const stored = await this.db.get(result.id);
    const updated = await this.db.put({ ...stored, contact: minifyLineage(person) });
    return { id: updated.id, rev: updated.rev, contact: { id: person._id } };
  }
}
