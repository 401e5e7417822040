/**
 * The write paths (create, update, void, purge) with OpenMRS's validation, shared by REST and FHIR2.
 * Every patient and encounter change appends an Atom feed event, as the atomfeed module's AOP does.
 */
import { randomUUID } from 'node:crypto';
import type { AtomFeeds } from './atomfeed';
import { parseDate, parseDatetime } from './dates';
import { badRequest, notFound, Violations } from './errors';
import {
  ADDRESS_FIELDS, identifierKey, type Audit, type Concept, type Encounter, type Obs, type ObsValue, type OpenmrsStore,
  type Patient, type PatientIdentifier, type Person, type PersonAddress, type PersonAttribute, type PersonName, type Provider, type ProviderAttribute, type Visit,
} from './store';

export const ADMIN_USER_UUID = '1c3db49d-440a-11e6-a65c-00e04c680037';

type Json = Record<string, any>;

/** Properties a client may send back from a GET: OpenMRS ignores them on create and update. */
const READ_ONLY = new Set(['display', 'links', 'auditInfo', 'resourceVersion', 'voided', 'uuid', 'age', 'preferredName', 'preferredAddress', 'deathdateEstimated', 'birthtime']);

/** A reference as REST accepts it: the uuid itself or an object with a uuid. */
export function refUuid(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim()) return value.trim();
  if (value && typeof value === 'object' && typeof (value as Json).uuid === 'string') return (value as Json).uuid;
  return undefined;
}

const asObject = (value: unknown): Json | undefined => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined);

function requireObject(body: unknown): Json {
  const object = asObject(body);
  if (!object) throw badRequest('The request body must be a JSON object');
  return object;
}

/** REST refuses properties a resource does not know ("Some properties are not allowed to be set"). */
function checkProperties(body: Json, allowed: string[]): void {
  const refused = Object.keys(body).filter((key) => !allowed.includes(key) && !READ_ONLY.has(key));
  if (refused.length) throw badRequest(`Some properties are not allowed to be set: ${refused.join(', ')}`);
}

const GENDERS = new Set(['M', 'F', 'O', 'U']);

export class OpenmrsService {
  constructor(readonly store: OpenmrsStore, readonly feeds: AtomFeeds) {}

  private audit(): Audit {
    return { creator: ADMIN_USER_UUID, dateCreated: Date.now() };
  }

  private touch(audit: Audit): void {
    audit.changedBy = ADMIN_USER_UUID;
    audit.dateChanged = Date.now();
  }

  private freshUuid(requested: unknown, taken: (uuid: string) => boolean): string {
    if (typeof requested !== 'string' || !requested.trim()) return randomUUID();
    if (taken(requested)) throw badRequest(`An object with uuid ${requested} already exists`, 'org.openmrs.api.APIException');
    return requested;
  }

  // Patients and persons

  createPatient(input: unknown): Patient {
    const body = requireObject(input);
    checkProperties(body, ['identifiers', 'person']);
    const violations = new Violations();
    const existingPerson = typeof body.person === 'string' ? this.store.persons.get(body.person) : undefined;
    if (typeof body.person === 'string' && (!existingPerson || this.store.patients.has(body.person))) violations.field('person', 'error.invalid', `Person ${body.person} doesn't exist or is already a patient`);
    const uuid = existingPerson?.uuid ?? this.freshUuid(body.uuid ?? asObject(body.person)?.uuid, (candidate) => this.store.persons.has(candidate));
    let person: Person | undefined = existingPerson;
    if (!existingPerson && typeof body.person !== 'string') {
      if (!asObject(body.person)) violations.missing('person');
      else person = this.readPerson(uuid, asObject(body.person)!, violations, 'person.');
    }
    const identifiers = this.readIdentifiers(uuid, body.identifiers, violations);
    violations.throwIfAny();
    const patient: Patient = { uuid, identifiers, voided: false, audit: this.audit() };
    this.store.persons.set(uuid, person!);
    this.store.patients.set(uuid, patient);
    for (const identifier of identifiers) this.store.indexIdentifier(uuid, identifier);
    this.feeds.record('patient', uuid);
    return patient;
  }

  updatePatient(uuid: string, input: unknown): Patient {
    const patient = this.store.patients.get(uuid);
    if (!patient) throw notFound();
    const body = requireObject(input);
    checkProperties(body, ['person', 'identifiers']);
    const violations = new Violations();
    if (body.identifiers !== undefined) {
      // Identifiers sent on update are added unless the same type and value is already there.
      const added = this.readIdentifiers(uuid, body.identifiers, violations, patient.identifiers);
      if (violations.empty) {
        if (added.some((identifier) => identifier.preferred)) for (const identifier of patient.identifiers) identifier.preferred = false;
        patient.identifiers.push(...added);
        for (const identifier of added) this.store.indexIdentifier(uuid, identifier);
      }
    }
    const personBody = asObject(body.person);
    if (personBody) this.applyPersonUpdate(this.store.persons.get(uuid)!, personBody, violations, 'person.');
    violations.throwIfAny();
    this.touch(patient.audit);
    this.feeds.record('patient', uuid);
    return patient;
  }

  voidPatient(uuid: string): void {
    const patient = this.store.patients.get(uuid);
    if (!patient) throw notFound();
    if (patient.voided) return;
    patient.voided = true;
    for (const identifier of patient.identifiers) identifier.voided = true;
    this.store.unindexPatient(patient);
    const person = this.store.persons.get(uuid);
    if (person) person.voided = true;
    this.touch(patient.audit);
    this.feeds.record('patient', uuid);
  }

  /** Purging also removes the patient's encounters and obs (the real server refuses while they exist). */
  purgePatient(uuid: string): void {
    const patient = this.store.patients.get(uuid);
    if (!patient) throw notFound();
    for (const encounter of this.store.encountersOf(uuid)) this.store.removeEncounter(encounter);
    for (const obs of this.store.obsOf(uuid)) this.store.removeObs(obs);
    for (const visit of [...this.store.visits.values()]) if (visit.patient === uuid) this.store.visits.delete(visit.uuid);
    this.store.unindexPatient(patient);
    this.store.patients.delete(uuid);
    this.store.persons.delete(uuid);
  }

  addIdentifier(patientUuid: string, input: unknown): PatientIdentifier {
    const patient = this.store.patients.get(patientUuid);
    if (!patient) throw notFound();
    const violations = new Violations();
    const [identifier] = this.readIdentifiers(patientUuid, [requireObject(input)], violations, patient.identifiers);
    violations.throwIfAny();
    if (identifier.preferred) for (const other of patient.identifiers) other.preferred = false;
    patient.identifiers.push(identifier);
    this.store.indexIdentifier(patientUuid, identifier);
    this.touch(patient.audit);
    this.feeds.record('patient', patientUuid);
    return identifier;
  }

  createPerson(input: unknown): Person {
    const body = requireObject(input);
    const violations = new Violations();
    const uuid = this.freshUuid(body.uuid, (candidate) => this.store.persons.has(candidate));
    const person = this.readPerson(uuid, body, violations, '');
    violations.throwIfAny();
    this.store.persons.set(uuid, person);
    return person;
  }

  updatePerson(uuid: string, input: unknown): Person {
    const person = this.store.persons.get(uuid);
    if (!person) throw notFound();
    const violations = new Violations();
    this.applyPersonUpdate(person, requireObject(input), violations, '');
    violations.throwIfAny();
    this.afterPersonChange(uuid);
    return person;
  }

  addPersonAttribute(personUuid: string, input: unknown): PersonAttribute {
    const person = this.store.persons.get(personUuid);
    if (!person) throw notFound();
    const violations = new Violations();
    const attribute = this.readAttribute(requireObject(input), violations, '');
    violations.throwIfAny();
    this.mergeAttributes(person, [attribute!]);
    this.afterPersonChange(personUuid);
    return attribute!;
  }

  updatePersonAttribute(personUuid: string, attributeUuid: string, input: unknown): PersonAttribute {
    const attribute = this.store.persons.get(personUuid)?.attributes.find((candidate) => candidate.uuid === attributeUuid);
    if (!attribute) throw notFound();
    const body = requireObject(input);
    const violations = new Violations();
    const value = this.attributeValue(body.value, violations, 'value');
    violations.throwIfAny();
    attribute.value = value!;
    this.afterPersonChange(personUuid);
    return attribute;
  }

  voidPersonAttribute(personUuid: string, attributeUuid: string, purge: boolean): void {
    const person = this.store.persons.get(personUuid);
    const attribute = person?.attributes.find((candidate) => candidate.uuid === attributeUuid);
    if (!person || !attribute) throw notFound();
    if (purge) person.attributes = person.attributes.filter((candidate) => candidate !== attribute);
    else attribute.voided = true;
    this.afterPersonChange(personUuid);
  }

  /** A person change is a patient change for the patient feed when the person is a patient. */
  private afterPersonChange(uuid: string): void {
    const person = this.store.persons.get(uuid)!;
    this.touch(person.audit);
    const patient = this.store.patients.get(uuid);
    if (patient) {
      this.touch(patient.audit);
      this.feeds.record('patient', uuid);
    }
  }

  private readPerson(uuid: string, body: Json, violations: Violations, prefix: string, birthdateRequired = true): Person {
    const gender = typeof body.gender === 'string' ? body.gender.toUpperCase() : undefined;
    if (!gender) violations.missing(`${prefix}gender`);
    else if (!GENDERS.has(gender)) violations.field(`${prefix}gender`, 'Person.gender.invalid', 'Gender must be M, F, O or U');
    let birthdate: string | null = null;
    let birthdateEstimated = body.birthdateEstimated === true;
    if (body.birthdate !== undefined && body.birthdate !== null) {
      birthdate = parseDate(body.birthdate) ?? null;
      if (!birthdate) violations.field(`${prefix}birthdate`, 'error.date', 'Invalid date, use yyyy-MM-dd or an ISO datetime');
      else if (Date.parse(birthdate) > Date.now()) violations.field(`${prefix}birthdate`, 'error.date.future', 'Cannot be in the future');
    } else if (typeof body.age === 'number' && body.age >= 0) {
      birthdate = `${new Date().getUTCFullYear() - Math.floor(body.age)}-01-01`;
      birthdateEstimated = true;
    } else if (birthdateRequired) {
      violations.missing(`${prefix}birthdate`);
    }
    const names = this.readNames(body.names, violations, prefix);
    const addresses = Array.isArray(body.addresses) ? body.addresses.map((address: unknown) => readAddress(asObject(address) ?? {})) : [];
    if (addresses.length && !addresses.some((address: PersonAddress) => address.preferred)) addresses[0].preferred = true;
    const attributes: PersonAttribute[] = [];
    if (Array.isArray(body.attributes)) {
      body.attributes.forEach((raw: unknown, index: number) => {
        const attribute = this.readAttribute(asObject(raw) ?? {}, violations, `${prefix}attributes[${index}].`);
        if (attribute) attributes.push(attribute);
      });
    }
    const deathDate = body.deathDate ? parseDatetime(body.deathDate) ?? null : null;
    return {
      uuid,
      gender: gender ?? 'U',
      birthdate,
      birthdateEstimated,
      dead: body.dead === true,
      deathDate,
      causeOfDeath: refUuid(body.causeOfDeath) ?? null,
      names,
      addresses,
      attributes,
      voided: false,
      audit: this.audit(),
    };
  }

  private readNames(raw: unknown, violations: Violations, prefix: string): PersonName[] {
    if (!Array.isArray(raw) || raw.length === 0) {
      violations.missing(`${prefix}names`);
      return [];
    }
    const names = raw.map((entry: unknown, index: number) => {
      const name = asObject(entry) ?? {};
      if (typeof name.givenName !== 'string' || !name.givenName.trim()) violations.missing(`${prefix}names[${index}].givenName`);
      if (typeof name.familyName !== 'string' || !name.familyName.trim()) violations.missing(`${prefix}names[${index}].familyName`);
      return {
        uuid: randomUUID(),
        givenName: String(name.givenName ?? '').trim(),
        middleName: typeof name.middleName === 'string' ? name.middleName : null,
        familyName: String(name.familyName ?? '').trim(),
        familyName2: typeof name.familyName2 === 'string' ? name.familyName2 : null,
        preferred: name.preferred === true,
        voided: false,
      };
    });
    if (!names.some((name) => name.preferred)) names[0].preferred = true;
    return names;
  }

  private readAttribute(body: Json, violations: Violations, prefix: string): PersonAttribute | undefined {
    const typeUuid = refUuid(body.attributeType);
    const type = typeUuid ? this.store.attributeTypes.get(typeUuid) : undefined;
    if (!typeUuid) violations.missing(`${prefix}attributeType`);
    else if (!type) violations.field(`${prefix}attributeType`, 'error.invalid', `Person attribute type ${typeUuid} doesn't exist`);
    const value = this.attributeValue(body.value, violations, `${prefix}value`);
    if (!type || value === undefined) return undefined;
    if (type.format === 'org.openmrs.Concept' && !this.store.concepts.has(value)) {
      violations.field(`${prefix}value`, 'error.invalid', `Concept ${value} doesn't exist`);
      return undefined;
    }
    return { uuid: randomUUID(), attributeType: type.uuid, value, voided: false };
  }

  /** Values arrive as text, numbers, or (for concept and location attributes) a reference object. */
  private attributeValue(raw: unknown, violations: Violations, field: string): string | undefined {
    if (typeof raw === 'string' && raw.trim()) return raw.trim();
    if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
    const uuid = refUuid(raw);
    if (uuid) return uuid;
    violations.missing(field);
    return undefined;
  }

  private readIdentifiers(patientUuid: string, raw: unknown, violations: Violations, existing: PatientIdentifier[] = []): PatientIdentifier[] {
    if (!Array.isArray(raw) || raw.length === 0) {
      if (existing.length === 0) violations.missing('identifiers');
      return [];
    }
    const seen = new Set(existing.filter((identifier) => !identifier.voided).map((identifier) => identifierKey(identifier.identifierType, identifier.identifier)));
    const identifiers: PatientIdentifier[] = [];
    raw.forEach((entry: unknown, index: number) => {
      const body = asObject(entry) ?? {};
      const field = `identifiers[${index}]`;
      const value = typeof body.identifier === 'string' ? body.identifier.trim() : typeof body.identifier === 'number' ? String(body.identifier) : '';
      if (!value) violations.missing(`${field}.identifier`);
      const typeUuid = refUuid(body.identifierType);
      const type = typeUuid ? this.store.identifierTypes.get(typeUuid) : undefined;
      if (!typeUuid) violations.missing(`${field}.identifierType`);
      else if (!type) violations.field(`${field}.identifierType`, 'error.invalid', `Patient identifier type ${typeUuid} doesn't exist`);
      const locationUuid = refUuid(body.location);
      if (locationUuid && !this.store.locations.has(locationUuid)) violations.field(`${field}.location`, 'error.invalid', `Location ${locationUuid} doesn't exist`);
      if (!value || !type) return;
      const key = identifierKey(type.uuid, value);
      if (seen.has(key)) return; // the same identifier twice in one submission is kept once
      const owner = this.store.identifierIndex.get(key);
      if (owner && owner !== patientUuid) {
        violations.global('PatientIdentifier.error.duplicate', `Identifier ${value} already in use by another patient`);
        return;
      }
      seen.add(key);
      identifiers.push({ uuid: randomUUID(), identifier: value, identifierType: type.uuid, location: locationUuid ?? null, preferred: body.preferred === true, voided: false });
    });
    if (existing.length === 0 && identifiers.length && !identifiers.some((identifier) => identifier.preferred)) identifiers[0].preferred = true;
    return identifiers;
  }

  /** Person updates as PersonResource applies them: scalar fields replace, names and addresses add, attributes merge by type. */
  private applyPersonUpdate(person: Person, body: Json, violations: Violations, prefix: string): void {
    if (body.gender !== undefined) {
      const gender = String(body.gender).toUpperCase();
      if (!GENDERS.has(gender)) violations.field(`${prefix}gender`, 'Person.gender.invalid', 'Gender must be M, F, O or U');
      else person.gender = gender;
    }
    if (body.birthdate !== undefined) {
      const birthdate = parseDate(body.birthdate);
      if (!birthdate) violations.field(`${prefix}birthdate`, 'error.date', 'Invalid date, use yyyy-MM-dd or an ISO datetime');
      else person.birthdate = birthdate;
    }
    if (typeof body.birthdateEstimated === 'boolean') person.birthdateEstimated = body.birthdateEstimated;
    if (typeof body.dead === 'boolean') person.dead = body.dead;
    if (body.deathDate !== undefined) person.deathDate = body.deathDate ? parseDatetime(body.deathDate) ?? null : null;
    if (body.causeOfDeath !== undefined) person.causeOfDeath = refUuid(body.causeOfDeath) ?? null;
    if (person.dead && !person.causeOfDeath && body.dead === true) violations.field(`${prefix}causeOfDeath`, 'Person.dead.causeOfDeathNull', 'Cause of death is required when the person is dead');
    if (Array.isArray(body.names)) {
      const names = this.readNames(body.names, violations, prefix);
      if (names.length && body.names.some((name: Json) => name?.preferred === true)) for (const name of person.names) name.preferred = false;
      else for (const name of names) name.preferred = false;
      person.names.push(...names);
    }
    if (Array.isArray(body.addresses)) {
      const addresses = body.addresses.map((address: unknown) => readAddress(asObject(address) ?? {}));
      if (addresses.some((address: PersonAddress) => address.preferred)) for (const address of person.addresses) address.preferred = false;
      person.addresses.push(...addresses);
      if (!person.addresses.some((address) => address.preferred && !address.voided) && person.addresses.length) person.addresses[0].preferred = true;
    }
    if (Array.isArray(body.attributes)) {
      const attributes: PersonAttribute[] = [];
      body.attributes.forEach((raw: unknown, index: number) => {
        const attribute = this.readAttribute(asObject(raw) ?? {}, violations, `${prefix}attributes[${index}].`);
        if (attribute) attributes.push(attribute);
      });
      if (violations.empty) this.mergeAttributes(person, attributes);
    }
  }

  /** Person.addAttribute: a new value voids the current attribute of the same type. */
  private mergeAttributes(person: Person, attributes: PersonAttribute[]): void {
    for (const attribute of attributes) {
      const current = person.attributes.find((candidate) => !candidate.voided && candidate.attributeType === attribute.attributeType);
      if (current?.value === attribute.value) continue;
      if (current) current.voided = true;
      person.attributes.push(attribute);
    }
  }

  // Encounters and obs

  createEncounter(input: unknown): Encounter {
    const body = requireObject(input);
    checkProperties(body, ['patient', 'encounterType', 'encounterDatetime', 'location', 'form', 'visit', 'encounterProviders', 'obs', 'orders', 'diagnoses']);
    const violations = new Violations();
    const patient = this.requirePatient(body.patient, violations, 'patient');
    const typeUuid = refUuid(body.encounterType);
    if (!typeUuid) violations.missing('encounterType');
    else if (!this.store.encounterTypes.has(typeUuid)) violations.field('encounterType', 'error.invalid', `Encounter type ${typeUuid} doesn't exist`);
    const encounterDatetime = this.readDatetime(body.encounterDatetime, violations, 'encounterDatetime');
    if (encounterDatetime !== undefined && encounterDatetime > Date.now() + 60_000) {
      violations.field('encounterDatetime', 'Encounter.datetimeShouldBeBeforeCurrent', 'The encounter datetime should be before the current date.');
    }
    const location = this.optionalRef(body.location, this.store.locations, violations, 'location', 'Location');
    const form = this.optionalRef(body.form, this.store.forms, violations, 'form', 'Form');
    const visitUuid = this.optionalRef(body.visit, this.store.visits, violations, 'visit', 'Visit');
    if (visitUuid && patient && this.store.visits.get(visitUuid)!.patient !== patient.uuid) {
      violations.field('visit', 'Encounter.visit.patients.dontMatch', 'The patient of the visit and the encounter do not match');
    }
    const providers = this.readEncounterProviders(body.encounterProviders, violations);
    const uuid = this.freshUuid(body.uuid, (candidate) => this.store.encounters.has(candidate));
    const obsInputs = Array.isArray(body.obs) ? body.obs : [];
    const obs = obsInputs.map((raw: unknown, index: number) => this.readObs(asObject(raw) ?? {}, violations, `obs[${index}].`, {
      person: patient?.uuid,
      obsDatetime: encounterDatetime,
      encounter: uuid,
      location: location ?? null,
    }));
    violations.throwIfAny();
    const encounter: Encounter = {
      uuid,
      patient: patient!.uuid,
      encounterType: typeUuid!,
      encounterDatetime: encounterDatetime!,
      location: location ?? null,
      form: form ?? null,
      visit: visitUuid ?? null,
      providers,
      obs: obs.map((entry: Obs | undefined) => entry!.uuid),
      voided: false,
      audit: this.audit(),
    };
    this.store.addEncounter(encounter);
    for (const entry of obs) this.store.addObs(entry!);
    this.feeds.record('encounter', uuid);
    return encounter;
  }

  updateEncounter(uuid: string, input: unknown): Encounter {
    const encounter = this.store.encounters.get(uuid);
    if (!encounter) throw notFound();
    const body = requireObject(input);
    checkProperties(body, ['encounterType', 'encounterDatetime', 'location', 'form', 'visit', 'encounterProviders', 'obs']);
    const violations = new Violations();
    if (body.encounterType !== undefined) {
      const typeUuid = refUuid(body.encounterType);
      if (!typeUuid || !this.store.encounterTypes.has(typeUuid)) violations.field('encounterType', 'error.invalid', `Encounter type ${String(typeUuid)} doesn't exist`);
      else encounter.encounterType = typeUuid;
    }
    if (body.encounterDatetime !== undefined) {
      const datetime = this.readDatetime(body.encounterDatetime, violations, 'encounterDatetime');
      if (datetime !== undefined) encounter.encounterDatetime = datetime;
    }
    if (body.location !== undefined) encounter.location = this.optionalRef(body.location, this.store.locations, violations, 'location', 'Location') ?? null;
    if (body.form !== undefined) encounter.form = this.optionalRef(body.form, this.store.forms, violations, 'form', 'Form') ?? null;
    if (body.visit !== undefined) encounter.visit = this.optionalRef(body.visit, this.store.visits, violations, 'visit', 'Visit') ?? null;
    if (body.encounterProviders !== undefined) encounter.providers.push(...this.readEncounterProviders(body.encounterProviders, violations));
    const added = (Array.isArray(body.obs) ? body.obs : []).map((raw: unknown, index: number) => this.readObs(asObject(raw) ?? {}, violations, `obs[${index}].`, {
      person: encounter.patient,
      obsDatetime: encounter.encounterDatetime,
      encounter: uuid,
      location: encounter.location,
    }));
    violations.throwIfAny();
    for (const obs of added) {
      this.store.addObs(obs!);
      encounter.obs.push(obs!.uuid);
    }
    this.touch(encounter.audit);
    this.feeds.record('encounter', uuid);
    return encounter;
  }

  voidEncounter(uuid: string): void {
    const encounter = this.store.encounters.get(uuid);
    if (!encounter) throw notFound();
    if (encounter.voided) return;
    encounter.voided = true;
    for (const obsUuid of encounter.obs) {
      const obs = this.store.obs.get(obsUuid);
      if (obs) obs.voided = true;
    }
    this.touch(encounter.audit);
    this.feeds.record('encounter', uuid);
  }

  purgeEncounter(uuid: string): void {
    const encounter = this.store.encounters.get(uuid);
    if (!encounter) throw notFound();
    this.store.removeEncounter(encounter);
  }

  createObs(input: unknown): Obs {
    const body = requireObject(input);
    checkProperties(body, ['concept', 'person', 'obsDatetime', 'encounter', 'location', 'value', 'comment', 'groupMembers', 'status', 'interpretation']);
    const violations = new Violations();
    const encounterUuid = this.optionalRef(body.encounter, this.store.encounters, violations, 'encounter', 'Encounter');
    const encounter = encounterUuid ? this.store.encounters.get(encounterUuid) : undefined;
    const obs = this.readObs(body, violations, '', {
      person: encounter?.patient,
      obsDatetime: encounter?.encounterDatetime,
      encounter: encounter?.uuid ?? null,
      location: encounter?.location ?? null,
    });
    violations.throwIfAny();
    this.store.addObs(obs!);
    if (encounter) {
      encounter.obs.push(obs!.uuid);
      this.touch(encounter.audit);
      this.feeds.record('encounter', encounter.uuid);
    }
    return obs!;
  }

  updateObs(uuid: string, input: unknown): Obs {
    const obs = this.store.obs.get(uuid);
    if (!obs) throw notFound();
    const body = requireObject(input);
    checkProperties(body, ['value', 'obsDatetime', 'comment', 'location']);
    const violations = new Violations();
    if (body.value !== undefined) {
      const value = this.readValue(this.store.concepts.get(obs.concept)!, body.value, violations, 'value');
      if (value !== undefined) obs.value = value;
    }
    if (body.obsDatetime !== undefined) {
      const datetime = this.readDatetime(body.obsDatetime, violations, 'obsDatetime');
      if (datetime !== undefined) obs.obsDatetime = datetime;
    }
    if (typeof body.comment === 'string') obs.comment = body.comment;
    violations.throwIfAny();
    this.touch(obs.audit);
    return obs;
  }

  voidObs(uuid: string): void {
    const obs = this.store.obs.get(uuid);
    if (!obs) throw notFound();
    obs.voided = true;
    this.touch(obs.audit);
  }

  purgeObs(uuid: string): void {
    const obs = this.store.obs.get(uuid);
    if (!obs) throw notFound();
    this.store.removeObs(obs);
  }

  private readObs(body: Json, violations: Violations, prefix: string, defaults: { person?: string; obsDatetime?: number; encounter: string | null; location: string | null }): Obs | undefined {
    const conceptUuid = refUuid(body.concept);
    const concept = conceptUuid ? this.store.concepts.get(conceptUuid) : undefined;
    if (!conceptUuid) violations.missing(`${prefix}concept`);
    else if (!concept) violations.field(`${prefix}concept`, 'error.invalid', `Concept ${conceptUuid} doesn't exist`);
    const personUuid = refUuid(body.person) ?? defaults.person;
    if (!personUuid) violations.missing(`${prefix}person`);
    else if (!this.store.persons.has(personUuid)) violations.field(`${prefix}person`, 'error.invalid', `Person ${personUuid} doesn't exist`);
    const obsDatetime = body.obsDatetime === undefined && defaults.obsDatetime !== undefined
      ? defaults.obsDatetime
      : this.readDatetime(body.obsDatetime, violations, `${prefix}obsDatetime`);
    const locationUuid = body.location === undefined ? defaults.location : this.optionalRef(body.location, this.store.locations, violations, `${prefix}location`, 'Location') ?? null;
    const value = concept ? this.readValue(concept, body.value, violations, `${prefix}value`) : undefined;
    if (!concept || value === undefined || !personUuid || obsDatetime === undefined) return undefined;
    return {
      uuid: randomUUID(),
      person: personUuid,
      concept: concept.uuid,
      obsDatetime,
      encounter: defaults.encounter,
      location: locationUuid ?? null,
      value,
      comment: typeof body.comment === 'string' ? body.comment : null,
      voided: false,
      audit: this.audit(),
    };
  }

  /** The obs value coerced to the concept's datatype, or a field error on `value`. */
  readValue(concept: Concept, raw: unknown, violations: Violations, field: string): ObsValue | undefined {
    if (raw === undefined || raw === null || raw === '') {
      violations.field(field, 'error.null', 'Cannot be empty or null');
      return undefined;
    }
    switch (concept.datatype) {
      case 'Numeric': {
        const number = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
        if (!Number.isFinite(number)) {
          violations.field(field, 'error.valueNotNumeric', `${concept.name} is numeric: ${JSON.stringify(raw)} is not a number`);
          return undefined;
        }
        if ((concept.hiAbsolute !== undefined && number > concept.hiAbsolute) || (concept.lowAbsolute !== undefined && number < concept.lowAbsolute)) {
          violations.field(field, 'error.outOfRange', `Value ${number} is outside the absolute range ${concept.lowAbsolute ?? ''}..${concept.hiAbsolute ?? ''} of ${concept.name}`);
          return undefined;
        }
        return number;
      }
      case 'Coded': {
        const answer = refUuid(raw);
        if (!answer || !concept.answers.includes(answer)) {
          violations.field(field, 'Obs.error.invalidAnswer', `${JSON.stringify(raw)} is not an answer of ${concept.name}`);
          return undefined;
        }
        return answer;
      }
      case 'Text':
        if (typeof raw === 'string' || typeof raw === 'number') return String(raw);
        violations.field(field, 'error.valueNotText', `${concept.name} takes text`);
        return undefined;
      case 'Date':
      case 'Datetime': {
        const ms = parseDatetime(raw);
        if (ms === undefined) {
          violations.field(field, 'error.date', `${concept.name} takes an ISO ${concept.datatype === 'Date' ? 'date' : 'datetime'}`);
          return undefined;
        }
        return ms;
      }
      case 'Boolean': {
        if (raw === true || raw === 'true' || raw === 1) return true;
        if (raw === false || raw === 'false' || raw === 0) return false;
        violations.field(field, 'error.valueNotBoolean', `${concept.name} takes true or false`);
        return undefined;
      }
      default:
        violations.field(field, 'Obs.error.noValueForNA', `${concept.name} (N/A) cannot hold a value`);
        return undefined;
    }
  }

  private readEncounterProviders(raw: unknown, violations: Violations): Encounter['providers'] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) {
      violations.field('encounterProviders', 'error.invalid', 'Must be a list');
      return [];
    }
    return raw.flatMap((entry: unknown, index: number) => {
      const body = asObject(entry) ?? {};
      const provider = this.optionalRef(body.provider, this.store.providers, violations, `encounterProviders[${index}].provider`, 'Provider');
      const role = this.optionalRef(body.encounterRole, this.store.encounterRoles, violations, `encounterProviders[${index}].encounterRole`, 'Encounter role');
      if (!provider) {
        if (body.provider === undefined) violations.missing(`encounterProviders[${index}].provider`);
        return [];
      }
      return [{ uuid: randomUUID(), provider, encounterRole: role ?? UNKNOWN_ENCOUNTER_ROLE }];
    });
  }

  private requirePatient(raw: unknown, violations: Violations, field: string): Patient | undefined {
    const uuid = refUuid(raw);
    if (!uuid) {
      violations.missing(field);
      return undefined;
    }
    const patient = this.store.patients.get(uuid);
    if (!patient || patient.voided) {
      violations.field(field, 'error.invalid', `Patient ${uuid} doesn't exist`);
      return undefined;
    }
    return patient;
  }

  private optionalRef<T>(raw: unknown, table: Map<string, T>, violations: Violations, field: string, label: string): string | undefined {
    if (raw === undefined || raw === null) return undefined;
    const uuid = refUuid(raw);
    if (!uuid || !table.has(uuid)) {
      violations.field(field, 'error.invalid', `${label} ${String(uuid ?? raw)} doesn't exist`);
      return undefined;
    }
    return uuid;
  }

  private readDatetime(raw: unknown, violations: Violations, field: string): number | undefined {
    if (raw === undefined || raw === null || raw === '') {
      violations.missing(field);
      return undefined;
    }
    const ms = parseDatetime(raw);
    if (ms === undefined) violations.field(field, 'error.date', `${JSON.stringify(raw)} is not an ISO datetime such as 2024-05-01T09:30:00.000+0300`);
    return ms;
  }

  // Providers and visits

  createProvider(input: unknown): Provider {
    const body = requireObject(input);
    checkProperties(body, ['person', 'identifier', 'attributes', 'retired', 'name']);
    const violations = new Violations();
    let personUuid = typeof body.person === 'string' ? body.person : undefined;
    let newPerson: Person | undefined;
    if (personUuid && !this.store.persons.has(personUuid)) violations.field('person', 'error.invalid', `Person ${personUuid} doesn't exist`);
    if (!personUuid) {
      const personBody = asObject(body.person);
      if (!personBody) violations.missing('person');
      else {
        personUuid = this.freshUuid(personBody.uuid, (candidate) => this.store.persons.has(candidate));
        newPerson = this.readPerson(personUuid, personBody, violations, 'person.', false);
      }
    }
    const identifier = typeof body.identifier === 'string' ? body.identifier.trim() : '';
    if (!identifier) violations.missing('identifier');
    else if ([...this.store.providers.values()].some((provider) => provider.identifier === identifier)) {
      violations.field('identifier', 'Provider.error.duplicateIdentifier', `Identifier ${identifier} is already in use by another provider`);
    }
    const attributes: ProviderAttribute[] = [];
    if (body.attributes !== undefined) {
      if (!Array.isArray(body.attributes)) violations.field('attributes', 'error.invalid', 'Must be a list');
      else body.attributes.forEach((raw: unknown, index: number) => {
        const attribute = this.readProviderAttribute(asObject(raw) ?? {}, violations, `attributes[${index}].`);
        if (attribute) attributes.push(attribute);
      });
    }
    this.checkProviderAttributeCounts(attributes, violations);
    violations.throwIfAny();
    if (newPerson) this.store.persons.set(newPerson.uuid, newPerson);
    const provider: Provider = { uuid: this.freshUuid(body.uuid, (candidate) => this.store.providers.has(candidate)), identifier, person: personUuid!, attributes, retired: false, audit: this.audit() };
    this.store.providers.set(provider.uuid, provider);
    return provider;
  }

  private readProviderAttribute(body: Json, violations: Violations, prefix: string): ProviderAttribute | undefined {
    const typeUuid = refUuid(body.attributeType);
    const type = typeUuid ? this.store.providerAttributeTypes.get(typeUuid) : undefined;
    if (!typeUuid) violations.missing(`${prefix}attributeType`);
    else if (!type) violations.field(`${prefix}attributeType`, 'error.invalid', `Provider attribute type ${typeUuid} doesn't exist`);
    else if (type.retired) violations.field(`${prefix}attributeType`, 'error.invalid', `Provider attribute type ${type.name} is retired`);
    const value = this.attributeValue(body.value, violations, `${prefix}value`);
    if (!type || type.retired || value === undefined) return undefined;
    return { uuid: randomUUID(), attributeType: type.uuid, value, voided: false };
  }

  /** OpenMRS refuses to save a provider with more active attributes of a type than its maxOccurs. */
  private checkProviderAttributeCounts(attributes: ProviderAttribute[], violations: Violations): void {
    const counts = new Map<string, number>();
    for (const attribute of attributes) if (!attribute.voided) counts.set(attribute.attributeType, (counts.get(attribute.attributeType) ?? 0) + 1);
    for (const [typeUuid, count] of counts) {
      const type = this.store.providerAttributeTypes.get(typeUuid);
      if (type && type.maxOccurs !== null && count > type.maxOccurs) {
        violations.field('attributes', 'error.attribute.maxOccurs', `${type.name} can be set at most ${type.maxOccurs} time(s)`);
      }
    }
  }

  private requireProvider(uuid: string): Provider {
    const provider = this.store.providers.get(uuid);
    if (!provider) throw notFound();
    return provider;
  }

  addProviderAttribute(providerUuid: string, input: unknown): ProviderAttribute {
    const provider = this.requireProvider(providerUuid);
    const violations = new Violations();
    const attribute = this.readProviderAttribute(requireObject(input), violations, '');
    if (attribute) this.checkProviderAttributeCounts([...provider.attributes, attribute], violations);
    violations.throwIfAny();
    provider.attributes.push(attribute!);
    this.touch(provider.audit);
    return attribute!;
  }

  updateProviderAttribute(providerUuid: string, attributeUuid: string, input: unknown): ProviderAttribute {
    const provider = this.requireProvider(providerUuid);
    const attribute = provider.attributes.find((candidate) => candidate.uuid === attributeUuid);
    if (!attribute) throw notFound();
    const body = requireObject(input);
    checkProperties(body, ['value', 'attributeType', 'voided']);
    const violations = new Violations();
    const value = this.attributeValue(body.value, violations, 'value');
    violations.throwIfAny();
    attribute.value = value!;
    this.touch(provider.audit);
    return attribute;
  }

  voidProviderAttribute(providerUuid: string, attributeUuid: string, purge: boolean): void {
    const provider = this.requireProvider(providerUuid);
    const attribute = provider.attributes.find((candidate) => candidate.uuid === attributeUuid);
    if (!attribute) throw notFound();
    if (purge) provider.attributes = provider.attributes.filter((candidate) => candidate !== attribute);
    else attribute.voided = true;
    this.touch(provider.audit);
  }

  retireProvider(uuid: string, purge: boolean): void {
    const provider = this.store.providers.get(uuid);
    if (!provider) throw notFound();
    if (purge) this.store.providers.delete(uuid);
    else provider.retired = true;
  }

  createVisit(input: unknown): Visit {
    const body = requireObject(input);
    checkProperties(body, ['patient', 'visitType', 'startDatetime', 'stopDatetime', 'location', 'encounters', 'attributes', 'indication']);
    const violations = new Violations();
    const patient = this.requirePatient(body.patient, violations, 'patient');
    const visitType = refUuid(body.visitType);
    if (!visitType) violations.missing('visitType');
    else if (!this.store.visitTypes.has(visitType)) violations.field('visitType', 'error.invalid', `Visit type ${visitType} doesn't exist`);
    const startDatetime = body.startDatetime === undefined ? Date.now() : this.readDatetime(body.startDatetime, violations, 'startDatetime');
    const stopDatetime = body.stopDatetime ? this.readDatetime(body.stopDatetime, violations, 'stopDatetime') : undefined;
    if (startDatetime !== undefined && stopDatetime !== undefined && stopDatetime < startDatetime) {
      violations.field('stopDatetime', 'Visit.error.endDateBeforeStartDate', 'The stop datetime should be after the start datetime');
    }
    const location = this.optionalRef(body.location, this.store.locations, violations, 'location', 'Location');
    violations.throwIfAny();
    const visit: Visit = {
      uuid: this.freshUuid(body.uuid, (candidate) => this.store.visits.has(candidate)),
      patient: patient!.uuid,
      visitType: visitType!,
      location: location ?? null,
      startDatetime: startDatetime!,
      stopDatetime: stopDatetime ?? null,
      voided: false,
      audit: this.audit(),
    };
    this.store.visits.set(visit.uuid, visit);
    return visit;
  }

  voidVisit(uuid: string, purge: boolean): void {
    const visit = this.store.visits.get(uuid);
    if (!visit) throw notFound();
    if (purge) this.store.visits.delete(uuid);
    else visit.voided = true;
  }
}

/** The "Unknown" encounter role every OpenMRS install has. */
export const UNKNOWN_ENCOUNTER_ROLE = 'a0b03050-c99b-11e0-9572-0800200c9a66';

function readAddress(body: Json): PersonAddress {
  const address: PersonAddress = { uuid: randomUUID(), preferred: body.preferred === true, voided: false };
  for (const field of ADDRESS_FIELDS) {
    const value = body[field];
    address[field] = value === undefined || value === null ? null : String(value);
  }
  return address;
}
