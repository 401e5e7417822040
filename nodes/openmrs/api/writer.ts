/**
 * The writes of the OpenMRS writer node, usable without Node-RED. Every operation looks up
 * before it creates, so a message that is retried (after a timeout, a 503, a redeploy) never
 * creates a second patient, encounter or obs:
 *  - patients are found by identifier (and identifier type), providers by provider identifier;
 *  - encounters and obs carry the message's idempotency key. By default it is written into the
 *    comment of each obs as "[chis:<key>]" (obs comments exist in every OpenMRS version and show
 *    in the UI as a note); with a key concept configured, the key is instead a Text obs of that
 *    concept. Before creating, the patient's encounters of the same type (or obs of the same
 *    concept) are searched for the key. The encounter search is bounded: only encounters within a
 *    day of the message's encounterDatetime (a retry carries the same one), in a custom
 *    representation holding just what the key check reads.
 * Each write appends a rollback journal entry to what it returns.
 */
import { IntegrationError, badInput } from '../../core/errors';
import type { OpenmrsClient } from './client';
import { formatOpenmrsDatetime, parseInstant, toOpenmrsDate, toOpenmrsDatetime } from './datetime';
import { uuidFromKey } from './ids';
import { coerceObsValue } from './obs-values';
import type { EncounterInput, IdentifierInput, ObsInput, ObsOnlyInput, PatientInput, ProviderInput } from './schemas';
import type { Encounter, Obs, Patient, Person } from './types';

export interface JournalEntry {
  system: 'openmrs';
  /** A provider's person is journaled apart: an update changes the person, not the provider. */
  resource: 'patient' | 'encounter' | 'obs' | 'provider' | 'person';
  id: string;
  action: 'created' | 'updated';
  /** For updates: the values before the change, so a rollback can restore them. */
  before?: Record<string, unknown>;
}

export interface WriteResult {
  payload: { patient: string; encounter?: string; obs: string[]; action: 'created' | 'updated' | 'unchanged' | 'existing' };
  journal: JournalEntry[];
}

export interface WriteSettings {
  timeZone: string;
  /** Default encounter/obs location (uuid or name) when the input has none. */
  location?: string;
  /** Text concept holding the idempotency key; without it the key goes into obs comments. */
  keyConcept?: string;
  signal?: AbortSignal;
}

export const keyMarker = (key: string): string => `[chis:${key}]`;

function withMarker(comment: string | undefined, key: string | undefined): string | undefined {
  if (!key) return comment || undefined;
  return comment ? `${comment} ${keyMarker(key)}` : keyMarker(key);
}

/** Whether an obs carries the key (as its value when it is the key concept, else in its comment). */
export function obsCarriesKey(obs: Obs, key: string, keyConcept?: string): boolean {
  if (obs.voided) return false;
  if (keyConcept && obs.concept?.uuid === keyConcept) return obs.value === key;
  return typeof obs.comment === 'string' && obs.comment.endsWith(keyMarker(key));
}

/** Enough of a patient to know it exists and is not voided: writers by uuid need nothing else. */
const PATIENT_EXISTS = 'custom:(uuid,voided)';

async function resolvePatient(client: OpenmrsClient, input: { patient?: string; patientIdentifier?: IdentifierInput }, signal?: AbortSignal): Promise<Patient> {
  if (input.patient) {
    const patient = await client.getPatient(input.patient, { signal, v: PATIENT_EXISTS });
    if (!patient || patient.voided) {
      throw new IntegrationError(`openmrs: no patient with uuid ${input.patient}`, { code: 'not-found', retryable: false, system: 'openmrs', field: 'msg.payload.patient' });
    }
    return patient;
  }
  const ref = input.patientIdentifier as IdentifierInput;
  const found = await client.findPatientsByIdentifier(ref.identifier, ref.identifierType, { signal });
  if (!found.length) {
    throw new IntegrationError(`openmrs: no patient has this ${ref.identifierType} identifier`, { code: 'not-found', retryable: false, system: 'openmrs', field: 'msg.payload.patientIdentifier' });
  }
  if (found.length > 1) {
    throw new IntegrationError(`openmrs: ${found.length} patients share this ${ref.identifierType} identifier`, { code: 'conflict', retryable: false, system: 'openmrs', field: 'msg.payload.patientIdentifier' });
  }
  return found[0];
}

/** REST obs bodies with coerced values; `keyOf(index)` is the idempotency key an obs carries. */
async function obsBodies(client: OpenmrsClient, items: ObsInput[], keyOf: (index: number) => string | undefined, settings: WriteSettings, root: string): Promise<Array<Record<string, unknown>>> {
  const bodies: Array<Record<string, unknown>> = [];
  for (const [index, item] of items.entries()) {
    const key = keyOf(index);
    const field = `${root}[${index}]`;
    const body: Record<string, unknown> = { concept: item.concept };
    if (item.obsDatetime) body.obsDatetime = toOpenmrsDatetime(item.obsDatetime, settings.timeZone, `${field}.obsDatetime`);
    const concept = await client.getConcept(item.concept, { signal: settings.signal });
    body.value = coerceObsValue(concept, item.value, { field: `${field}.value`, timeZone: settings.timeZone });
    // With a key concept, the key obs carries the key; the clinical obs keep their own comments.
    const comment = settings.keyConcept ? item.comment : withMarker(item.comment, key);
    if (comment) body.comment = comment;
    bodies.push(body);
  }
  const key = keyOf(0);
  if (key && settings.keyConcept) bodies.push({ concept: settings.keyConcept, value: key });
  return bodies;
}

async function locationOf(client: OpenmrsClient, location: string | undefined, settings: WriteSettings, field: string): Promise<string | undefined> {
  const wanted = location ?? settings.location;
  return wanted ? client.resolveMetadata('location', wanted, { signal: settings.signal, field }) : undefined;
}

const obsUuids = (encounter: Encounter): string[] => (encounter.obs ?? []).filter((obs) => !obs.voided).map((obs) => obs.uuid);

/** What the idempotency check reads of each encounter (OpenMRS REST custom representation). */
const ENCOUNTER_KEY_CHECK = 'custom:(uuid,voided,encounterDatetime,encounterType:(uuid),obs:(uuid,voided,comment,value,concept:(uuid)))';
/**
 * How far from the message's encounterDatetime the check looks. A retry sends the same datetime;
 * the margin covers what the server does to it (MySQL DATETIME drops or rounds milliseconds; a
 * server misreading the offset moves it by at most 14 hours).
 */
const KEY_CHECK_MARGIN_MS = 24 * 60 * 60 * 1000;

/** The patient's encounter of this type that already carries the key, if any. */
async function findKeyedEncounter(client: OpenmrsClient, patient: string, encounterType: string, encounterDatetime: string, key: string, settings: WriteSettings): Promise<Encounter | undefined> {
  const instant = parseInstant(encounterDatetime, 'UTC', 'msg.payload.encounterDatetime');
  const encounters = await client.listAll<Encounter>(
    'encounter',
    {
      patient,
      encounterType,
      fromdate: formatOpenmrsDatetime(instant - KEY_CHECK_MARGIN_MS, 'UTC'),
      todate: formatOpenmrsDatetime(instant + KEY_CHECK_MARGIN_MS, 'UTC'),
      v: ENCOUNTER_KEY_CHECK,
    },
    { signal: settings.signal },
  );
  return encounters.find(
    (encounter) =>
      !encounter.voided &&
      // Servers that ignore a search parameter answer with more: the type is checked here too.
      encounter.encounterType?.uuid === encounterType &&
      (encounter.obs ?? []).some((item) => obsCarriesKey(item, key, settings.keyConcept)),
  );
}

export async function writeEncounter(client: OpenmrsClient, input: EncounterInput, settings: WriteSettings): Promise<WriteResult> {
  const { signal } = settings;
  const encounterType = await client.resolveMetadata('encountertype', input.encounterType, { signal, field: 'msg.payload.encounterType' });
  // Validate and coerce everything before the first write: nothing is written for bad input.
  const obs = await obsBodies(client, input.obs, () => input.idempotencyKey, settings, 'msg.payload.obs');
  if (!obs.length) throw badInput('msg.payload.obs: an encounter without obs cannot carry its idempotency key unless a key concept is configured', 'msg.payload.obs');
  const encounterDatetime = toOpenmrsDatetime(input.encounterDatetime, settings.timeZone, 'msg.payload.encounterDatetime');
  const location = await locationOf(client, input.location, settings, 'msg.payload.location');

  let patient: Patient;
  let existing: Encounter | undefined;
  if (input.patient) {
    // Both reads are needed before the create and neither depends on the other: one round trip.
    // The key check's answer only counts once the patient is known to exist.
    const patientUuid = input.patient;
    [patient, existing] = await Promise.all([
      resolvePatient(client, input, signal),
      findKeyedEncounter(client, patientUuid, encounterType, encounterDatetime, input.idempotencyKey, settings),
    ]);
  } else {
    patient = await resolvePatient(client, input, signal);
    existing = await findKeyedEncounter(client, patient.uuid, encounterType, encounterDatetime, input.idempotencyKey, settings);
  }
  // Written before (a retry, or another pass of the same message): nothing new to journal.
  const alreadyWritten = (encounter: Encounter): WriteResult => ({ payload: { patient: patient.uuid, encounter: encounter.uuid, obs: obsUuids(encounter), action: 'existing' }, journal: [] });
  if (existing) return alreadyWritten(existing);
  // Two passes of one message at once (an outbox re-send while the first pass still runs) both
  // find nothing above: a uuid derived from the key makes OpenMRS refuse the second create.
  const uuid = uuidFromKey('writer-encounter', input.idempotencyKey);
  const body: Record<string, unknown> = { uuid, patient: patient.uuid, encounterType, encounterDatetime, obs };
  if (location) body.location = location;
  if (input.form) body.form = input.form;
  let created: Encounter;
  try {
    created = await client.createEncounter(body, { signal });
  } catch (error) {
    // The other pass's encounter, or ours whose answer was lost: either way it is written.
    const written = await client.getEncounter(uuid, { signal }).catch(() => undefined);
    if (written && !written.voided) return alreadyWritten(written);
    // A rollback voided (not purged) the keyed encounter: its uuid stays taken, so write anew.
    if (!written) throw error;
    delete body.uuid;
    created = await client.createEncounter(body, { signal });
  }
  return {
    payload: { patient: patient.uuid, encounter: created.uuid, obs: obsUuids(created), action: 'created' },
    journal: [{ system: 'openmrs', resource: 'encounter', id: created.uuid, action: 'created' }],
  };
}

export async function writeObs(client: OpenmrsClient, input: ObsOnlyInput, settings: WriteSettings): Promise<WriteResult> {
  const { signal } = settings;
  const patient = await resolvePatient(client, input, signal);
  // One key for several obs: each obs gets "<key>#<index>" so each is found on its own.
  const keys = input.obs.map((_, index) => (input.idempotencyKey ? (input.obs.length > 1 ? `${input.idempotencyKey}#${index}` : input.idempotencyKey) : undefined));
  // Obs without an encounter carry their key in the comment: a key obs would itself need a key.
  const bodies = await obsBodies(client, input.obs, (index) => keys[index], { ...settings, keyConcept: undefined }, 'msg.payload.obs');
  const defaultDatetime = toOpenmrsDatetime(input.obsDatetime ?? Date.now(), settings.timeZone, 'msg.payload.obsDatetime');
  const location = await locationOf(client, input.location, settings, 'msg.payload.location');
  const journal: JournalEntry[] = [];
  const uuids: string[] = [];
  let created = 0;
  for (const [index, body] of bodies.entries()) {
    const key = keys[index];
    if (key) {
      const existing = (await client.searchObs({ patient: patient.uuid, concept: String(body.concept) }, { signal })).find((obs) => obsCarriesKey(obs, key));
      if (existing) {
        uuids.push(existing.uuid);
        continue;
      }
    }
    const obs = await client.createObs(
      { ...body, person: patient.uuid, obsDatetime: body.obsDatetime ?? defaultDatetime, ...(input.encounter ? { encounter: input.encounter } : {}), ...(location ? { location } : {}) },
      { signal },
    );
    uuids.push(obs.uuid);
    journal.push({ system: 'openmrs', resource: 'obs', id: obs.uuid, action: 'created' });
    created += 1;
  }
  return { payload: { patient: patient.uuid, obs: uuids, action: created ? 'created' : 'existing' }, journal };
}

const same = (a: unknown, b: unknown): boolean => (a ?? '') === (b ?? '');

/** Person fields a patient or provider message may carry; each one is optional on update. */
interface PersonFields {
  givenName?: string;
  middleName?: string;
  familyName?: string;
  gender?: 'M' | 'F' | 'O' | 'U';
  address?: Record<string, string | null>;
}

interface ResolvedAttribute {
  attributeType: string;
  value: string;
}

async function resolveAttributes(client: OpenmrsClient, values: Record<string, unknown> | undefined, signal?: AbortSignal): Promise<ResolvedAttribute[]> {
  const attributes: ResolvedAttribute[] = [];
  for (const [type, value] of Object.entries(values ?? {})) {
    attributes.push({ attributeType: await client.resolveMetadata('personattributetype', type, { signal, field: `msg.payload.attributes.${type}` }), value: String(value) });
  }
  return attributes;
}

/**
 * The person update that brings `person` to what the input carries, and the values it replaces.
 * Only what the input carries is changed: a form that lacks a question must not wipe the answer.
 */
function personChanges(person: Person, input: PersonFields, attributes: ResolvedAttribute[], birthdate: string | undefined): { changes: Record<string, unknown>; before: Record<string, unknown> } {
  const current = person.preferredName ?? {};
  const changes: Record<string, unknown> = {};
  const before: Record<string, unknown> = {};
  if (input.gender && input.gender !== person.gender) {
    changes.gender = input.gender;
    before.gender = person.gender;
  }
  if (birthdate && birthdate !== person.birthdate?.slice(0, 10)) {
    changes.birthdate = birthdate;
    before.birthdate = person.birthdate?.slice(0, 10);
  }
  if ((input.givenName && !same(input.givenName, current.givenName)) || (input.familyName && !same(input.familyName, current.familyName)) || (input.middleName !== undefined && !same(input.middleName || undefined, current.middleName || undefined))) {
    // OpenMRS keeps name history: a changed name is added as the new preferred name.
    changes.names = [{ givenName: input.givenName ?? current.givenName, middleName: input.middleName ?? current.middleName ?? undefined, familyName: input.familyName ?? current.familyName, preferred: true }];
    before.name = { givenName: current.givenName, middleName: current.middleName, familyName: current.familyName };
  }
  const previousAttributes: Record<string, unknown> = {};
  const changedAttributes = attributes.filter((attribute) => {
    const existing = (person.attributes ?? []).find((candidate) => !candidate.voided && candidate.attributeType?.uuid === attribute.attributeType);
    const existingValue = existing && typeof existing.value === 'object' && existing.value !== null ? (existing.value as { uuid?: unknown }).uuid : existing?.value;
    if (String(existingValue ?? '') === attribute.value) return false;
    previousAttributes[attribute.attributeType] = existingValue ?? null;
    return true;
  });
  if (changedAttributes.length) {
    changes.attributes = changedAttributes;
    before.attributes = previousAttributes;
  }
  if (input.address && Object.entries(input.address).some(([field, value]) => !same(value, person.preferredAddress?.[field]))) {
    changes.addresses = [{ ...input.address, preferred: true }];
    before.address = person.preferredAddress ?? null;
  }
  return { changes, before };
}

export async function writePatient(client: OpenmrsClient, input: PatientInput, settings: WriteSettings): Promise<WriteResult> {
  const { signal } = settings;
  const identifiers = [];
  for (const [index, identifier] of input.identifiers.entries()) {
    const field = `msg.payload.identifiers[${index}]`;
    identifiers.push({
      identifier: identifier.identifier,
      identifierType: await client.resolveMetadata('patientidentifiertype', identifier.identifierType, { signal, field: `${field}.identifierType` }),
      location: await locationOf(client, identifier.location, settings, `${field}.location`),
      preferred: identifier.preferred ?? index === 0,
    });
  }
  const attributes = await resolveAttributes(client, input.attributes, signal);
  const birthdate = input.birthdate === undefined ? undefined : toOpenmrsDate(input.birthdate, settings.timeZone, 'msg.payload.birthdate');

  const matchType = input.matchIdentifierType
    ? await client.resolveMetadata('patientidentifiertype', input.matchIdentifierType, { signal, field: 'msg.payload.matchIdentifierType' })
    : identifiers[0].identifierType;
  const matchIdentifier = identifiers.find((identifier) => identifier.identifierType === matchType);
  if (!matchIdentifier) throw badInput('msg.payload.identifiers: has no identifier of the matchIdentifierType', 'msg.payload.matchIdentifierType');
  const found = await client.findPatientsByIdentifier(matchIdentifier.identifier, matchType, { signal });
  if (found.length > 1) {
    throw new IntegrationError(`openmrs: ${found.length} patients share the identifier used for matching`, { code: 'conflict', retryable: false, system: 'openmrs', field: 'msg.payload.identifiers' });
  }

  const name = { givenName: input.givenName, middleName: input.middleName || undefined, familyName: input.familyName };
  if (!found.length) {
    if (!input.givenName || !input.familyName || !input.gender) {
      throw badInput('msg.payload: a new patient needs givenName, familyName and gender', input.givenName ? (input.familyName ? 'msg.payload.gender' : 'msg.payload.familyName') : 'msg.payload.givenName');
    }
    const person: Record<string, unknown> = { names: [name], gender: input.gender };
    if (birthdate) person.birthdate = birthdate;
    if (input.birthdateEstimated !== undefined) person.birthdateEstimated = input.birthdateEstimated;
    if (input.address) person.addresses = [input.address];
    if (attributes.length) person.attributes = attributes;
    const created = await client.createPatient({ person, identifiers: identifiers.map(({ location, ...rest }) => (location ? { ...rest, location } : rest)) }, { signal });
    return { payload: { patient: created.uuid, obs: [], action: 'created' }, journal: [{ system: 'openmrs', resource: 'patient', id: created.uuid, action: 'created' }] };
  }

  const patient = found[0];
  const { changes: personUpdate, before } = personChanges(patient.person, input, attributes, birthdate);
  const update: Record<string, unknown> = {};
  const missingIdentifiers = identifiers.filter(
    (identifier) => !(patient.identifiers ?? []).some((existing) => !existing.voided && existing.identifier === identifier.identifier && existing.identifierType?.uuid === identifier.identifierType),
  );
  if (missingIdentifiers.length) {
    update.identifiers = missingIdentifiers.map(({ location, ...rest }) => ({ ...(location ? { location } : {}), ...rest, preferred: false }));
    before.identifiers = (patient.identifiers ?? []).map((identifier) => identifier.uuid);
  }
  if (Object.keys(personUpdate).length) update.person = personUpdate;
  if (!Object.keys(update).length) return { payload: { patient: patient.uuid, obs: [], action: 'unchanged' }, journal: [] };
  await client.updatePatient(patient.uuid, update, { signal });
  return { payload: { patient: patient.uuid, obs: [], action: 'updated' }, journal: [{ system: 'openmrs', resource: 'patient', id: patient.uuid, action: 'updated', before }] };
}

export interface ProviderWriteResult {
  payload: { provider: string; person: string; identifier: string; action: 'created' | 'updated' | 'unchanged' };
  journal: JournalEntry[];
}

interface ProviderRecord {
  uuid: string;
  identifier?: string;
  retired?: boolean;
  person?: { uuid: string } | null;
  attributes?: ProviderAttributeRecord[];
}

interface ProviderAttributeRecord {
  uuid: string;
  attributeType?: { uuid?: string } | null;
  value?: unknown;
  voided?: boolean;
}

async function resolveProviderAttributes(client: OpenmrsClient, values: Record<string, unknown> | undefined, signal?: AbortSignal): Promise<ResolvedAttribute[]> {
  const attributes: ResolvedAttribute[] = [];
  for (const [type, value] of Object.entries(values ?? {})) {
    attributes.push({ attributeType: await client.resolveMetadata('providerattributetype', type, { signal, field: `msg.payload.providerAttributes.${type}` }), value: String(value) });
  }
  return attributes;
}

const providerAttributePath = (provider: string, attribute?: string): string =>
  `provider/${encodeURIComponent(provider)}/attribute${attribute ? `/${encodeURIComponent(attribute)}` : ''}`;

/**
 * Brings the provider's attributes to the wanted values: a changed value updates the active
 * attribute of that type, a missing one is added, an equal one is left alone (so a re-sent message
 * adds nothing). Types the input does not carry are not touched. Returns attribute uuid -> the
 * value before (null for an added attribute), for a rollback.
 */
async function syncProviderAttributes(client: OpenmrsClient, provider: ProviderRecord, wanted: ResolvedAttribute[], signal?: AbortSignal): Promise<Record<string, string | null>> {
  const before: Record<string, string | null> = {};
  if (!wanted.length) return before;
  let current = provider.attributes ?? [];
  // A listing may show attributes as refs (no type, no value): then they are read on their own.
  if (current.some((attribute) => !attribute.attributeType || !('value' in attribute))) {
    current = (await client.rest<{ results?: ProviderAttributeRecord[] }>('GET', providerAttributePath(provider.uuid), { query: { v: 'default' }, signal })).data.results ?? [];
  }
  for (const attribute of wanted) {
    const existing = current.find((candidate) => !candidate.voided && candidate.attributeType?.uuid === attribute.attributeType);
    if (existing && String(existing.value ?? '') === attribute.value) continue;
    if (existing) {
      // Setting a value is idempotent: the same POST can be repeated after a lost answer.
      await client.rest('POST', providerAttributePath(provider.uuid, existing.uuid), { body: { value: attribute.value }, signal, idempotent: true });
      before[existing.uuid] = String(existing.value ?? '');
    } else {
      const { data: added } = await client.rest<ProviderAttributeRecord>('POST', providerAttributePath(provider.uuid), { body: attribute, signal });
      before[added.uuid] = null;
    }
  }
  return before;
}

/**
 * Undoes a provider update of `writeProvider`: attributes it added are purged, values it changed
 * are put back. For the rollback of a journal entry `{ resource: 'provider', action: 'updated' }`.
 */
export async function restoreProviderAttributes(client: OpenmrsClient, provider: string, before: { providerAttributes?: Record<string, string | null> }, signal?: AbortSignal): Promise<void> {
  for (const [attribute, value] of Object.entries(before.providerAttributes ?? {})) {
    if (value === null) await client.rest('DELETE', providerAttributePath(provider, attribute), { query: { purge: 'true' }, signal, idempotent: true, acceptStatus: [404] });
    else await client.rest('POST', providerAttributePath(provider, attribute), { body: { value }, signal, idempotent: true });
  }
}

/**
 * Creates a provider with its person and provider attributes, or brings the person and the
 * provider attributes of the provider holding the identifier up to date. Retired providers are found too: the identifier stays theirs, so a new provider
 * with it would be refused.
 */
export async function writeProvider(client: OpenmrsClient, input: ProviderInput, settings: WriteSettings): Promise<ProviderWriteResult> {
  const { signal } = settings;
  const attributes = await resolveAttributes(client, input.attributes, signal);
  const providerAttributes = await resolveProviderAttributes(client, input.providerAttributes, signal);
  const birthdate = input.birthdate === undefined ? undefined : toOpenmrsDate(input.birthdate, settings.timeZone, 'msg.payload.birthdate');
  // Servers that ignore the identifier parameter answer with every provider: the match is checked here.
  const lookUp = async (): Promise<ProviderRecord | undefined> => {
    const found = (await client.listAll<ProviderRecord>('provider', { identifier: input.identifier, includeAll: true, v: 'full' }, { signal })).filter((provider) => provider.identifier === input.identifier);
    if (found.length > 1) {
      throw new IntegrationError(`openmrs: ${found.length} providers share the identifier ${input.identifier}`, { code: 'conflict', retryable: false, system: 'openmrs', field: 'msg.payload.identifier' });
    }
    return found[0];
  };

  let provider = await lookUp();
  if (!provider) {
    if (!input.givenName || !input.familyName || !input.gender) {
      throw badInput('msg.payload: a new provider needs givenName, familyName and gender', input.givenName ? (input.familyName ? 'msg.payload.gender' : 'msg.payload.familyName') : 'msg.payload.givenName');
    }
    const person: Record<string, unknown> = { names: [{ givenName: input.givenName, middleName: input.middleName || undefined, familyName: input.familyName }], gender: input.gender };
    if (birthdate) person.birthdate = birthdate;
    if (attributes.length) person.attributes = attributes;
    const body: Record<string, unknown> = { identifier: input.identifier, person };
    if (providerAttributes.length) body.attributes = providerAttributes;
    try {
      const { data: created } = await client.rest<ProviderRecord>('POST', 'provider', { body, signal, query: { v: 'full' } });
      return {
        payload: { provider: created.uuid, person: created.person?.uuid ?? '', identifier: input.identifier, action: 'created' },
        journal: [{ system: 'openmrs', resource: 'provider', id: created.uuid, action: 'created' }],
      };
    } catch (error) {
      // Two messages about one health worker (its Practitioner and its PractitionerRole) may both
      // find nothing and both create: the server refuses the second identifier, which then updates.
      provider = await lookUp();
      if (!provider) throw error;
    }
  }

  const personUuid = provider.person?.uuid;
  if (!personUuid) {
    throw new IntegrationError(`openmrs: provider ${input.identifier} has no person to update`, { code: 'conflict', retryable: false, system: 'openmrs', field: 'msg.payload.identifier' });
  }
  const { data: person } = await client.rest<Person>('GET', `person/${encodeURIComponent(personUuid)}`, { query: { v: 'full' }, signal });
  const { changes, before } = personChanges(person, input, attributes, birthdate);
  const payload = { provider: provider.uuid, person: personUuid, identifier: input.identifier };
  const journal: JournalEntry[] = [];
  if (Object.keys(changes).length) {
    // Updating an existing person is idempotent: the same changes can be posted again safely.
    await client.rest('POST', `person/${encodeURIComponent(personUuid)}`, { body: changes, signal, idempotent: true });
    journal.push({ system: 'openmrs', resource: 'person', id: personUuid, action: 'updated', before });
  }
  const attributesBefore = await syncProviderAttributes(client, provider, providerAttributes, signal);
  if (Object.keys(attributesBefore).length) {
    journal.push({ system: 'openmrs', resource: 'provider', id: provider.uuid, action: 'updated', before: { providerAttributes: attributesBefore } });
  }
  return { payload: { ...payload, action: journal.length ? 'updated' : 'unchanged' }, journal };
}
