/**
 * The writes the CHT writer nodes make, each returning what it created or changed as journal
 * entries (so a rollback can undo it), and their undoing: a created doc is deleted with its
 * latest `_rev`, an updated doc gets its changed fields back.
 */
import { badInput } from '../../core/errors';
import type { JournalEntry } from '../../core/journal';
import { type ChtClient, contactTypeFields } from './client';
import type { Before } from './doc-update';
import { markerFields } from './loop-marker';
import type { ContactInput, RecordInput } from './schemas';
import type { ChtDoc, Lineage } from './types';

type Json = Record<string, unknown>;

export interface WriteContext {
  configId: string;
  signal?: AbortSignal;
  /** Stamp the loop marker (default true). */
  mark?: boolean;
}

export interface WriteOutcome<T> {
  result: T;
  journal: JournalEntry[];
}

const entry = (resource: string, id: string, context: WriteContext, extra: Partial<JournalEntry> = {}): JournalEntry => ({
  system: 'cht',
  resource,
  id,
  action: 'created',
  configId: context.configId,
  ...extra,
});

/** The JSON body of POST /api/v2/records: the fields at top level, the rest in `_meta`. */
export function recordBody(input: RecordInput, mark = true): Json {
  const fields = { ...(input.fields ?? {}) };
  if ('_meta' in fields) throw badInput('a report field may not be named _meta', 'msg.payload.fields._meta');
  const meta: Json = { form: input.form };
  if (input.from !== undefined) meta.from = input.from;
  if (input.reported_date !== undefined) meta.reported_date = input.reported_date;
  if (input.locale !== undefined) meta.locale = input.locale;
  return mark ? { ...fields, ...markerFields(), _meta: { ...meta, ...markerFields() } } : { ...fields, _meta: meta };
}

export async function writeRecord(client: ChtClient, input: RecordInput, context: WriteContext): Promise<WriteOutcome<{ id: string; form: string }>> {
  const created = await client.createRecord(recordBody(input, context.mark !== false), { signal: context.signal });
  return { result: { id: created.id, form: input.form }, journal: [entry('data_record', created.id, context, { detail: { form: input.form } })] };
}

export interface ContactDefaults {
  /** The contact type used when the input has no type. */
  contactType?: string;
  /** The parent place id used when the input names none. */
  parent?: string;
}

function withType(input: ContactInput, contactType: string | undefined): Json {
  if (input.type) return { ...input };
  if (!contactType) throw badInput('the contact has no type: set msg.payload.type or the node\'s contact type', 'msg.payload.type');
  return { ...input, ...contactTypeFields(contactType) };
}

export function personBody(input: ContactInput, defaults: ContactDefaults, mark = true): Json {
  const person = withType(input, defaults.contactType ?? 'person');
  if (person.place === undefined && defaults.parent) person.place = defaults.parent;
  return mark ? { ...person, ...markerFields() } : person;
}

export function placeBody(input: ContactInput, defaults: ContactDefaults, mark = true): Json {
  const place = withType(input, defaults.contactType);
  if (place.parent === undefined && defaults.parent) place.parent = defaults.parent;
  if (mark && place.contact && typeof place.contact === 'object') place.contact = { ...(place.contact as Json), ...markerFields() };
  return mark ? { ...place, ...markerFields() } : place;
}

/**
 * The ids of the places created together with a doc: a new parent given as an object (without
 * `_id`) was created by CHT, and its id is at the same depth of the stored lineage.
 */
export function newParentIds(given: unknown, stored: Lineage | undefined): string[] {
  const ids: string[] = [];
  let input = given;
  let lineage = stored;
  while (input && typeof input === 'object' && !(input as Json)._id && lineage?._id) {
    ids.push(lineage._id);
    input = (input as Json).parent;
    lineage = lineage.parent;
  }
  return ids;
}

/** Journal entries for new parents, top-most first (so rollback removes them last). */
async function parentEntries(client: ChtClient, id: string, given: unknown, context: WriteContext): Promise<JournalEntry[]> {
  if (!given || typeof given !== 'object') return [];
  const stored = await client.getDoc(id, { signal: context.signal });
  return newParentIds(given, stored.parent).reverse().map((parentId) => entry('place', parentId, context));
}

export async function writePerson(client: ChtClient, input: ContactInput, defaults: ContactDefaults, context: WriteContext): Promise<WriteOutcome<{ id: string; rev?: string }>> {
  const body = personBody(input, defaults, context.mark !== false);
  const created = await client.createPerson(body, { signal: context.signal });
  const parents = await parentEntries(client, created.id, body.place, context);
  return { result: { id: created.id, rev: created.rev }, journal: [...parents, entry('person', created.id, context)] };
}

export async function writePlace(client: ChtClient, input: ContactInput, defaults: ContactDefaults, context: WriteContext): Promise<WriteOutcome<{ id: string; rev?: string; contact?: { id: string } }>> {
  const body = placeBody(input, defaults, context.mark !== false);
  const created = await client.createPlace(body, { signal: context.signal });
  const parents = await parentEntries(client, created.id, body.parent, context);
  const journal = [...parents, entry('place', created.id, context)];
  // A contact given as an object was created with the place; one given by id already existed.
  if (created.contact?.id && body.contact && typeof body.contact === 'object') journal.push(entry('person', created.contact.id, context));
  return { result: created, journal };
}

export async function writeDocUpdate(
  client: ChtClient,
  id: string,
  changes: Json,
  context: WriteContext & { maxAttempts?: number },
): Promise<WriteOutcome<{ id: string; rev: string; attempts: number; doc: ChtDoc }>> {
  const outcome = await client.updateDoc(id, changes, { signal: context.signal, maxAttempts: context.maxAttempts, mark: context.mark !== false });
  const resource = typeof outcome.doc.type === 'string' ? outcome.doc.type : 'doc';
  return {
    result: { id, rev: outcome.rev, attempts: outcome.attempts, doc: outcome.doc },
    journal: [entry(resource, id, context, { action: 'updated', before: outcome.before })],
  };
}

const isBefore = (value: unknown): value is Before =>
  Boolean(value && typeof value === 'object' && typeof (value as Before).values === 'object' && Array.isArray((value as Before).absent));

/** The compensation for one journal entry written by these functions. */
export async function undoChtWrite(client: ChtClient, journalEntry: JournalEntry, signal?: AbortSignal): Promise<'undone' | 'already-gone'> {
  if (journalEntry.action === 'created') return (await client.deleteDoc(journalEntry.id, { signal })) ? 'undone' : 'already-gone';
  if (!isBefore(journalEntry.before)) throw badInput(`the journal entry for ${journalEntry.id} has no "before" values to restore`, 'before');
  return (await client.restoreDoc(journalEntry.id, journalEntry.before, { signal })) ? 'undone' : 'already-gone';
}
