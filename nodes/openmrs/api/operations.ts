/**
 * The OpenMRS steps of a transaction node (openmrs.patient, openmrs.encounter, openmrs.obs),
 * built on the writer's logic. A transaction resumed after a crash, or a form delivered again
 * after a rollback, re-runs a step with the same idempotency key, so every step must find what an
 * earlier run of it wrote and count it as its own, to undo it if a later step fails:
 *  - a patient this step creates gets a uuid derived from the key; a re-run that finds the patient
 *    by identifier and sees that uuid knows it created it (a patient found with another uuid was
 *    there before and is reused, never undone);
 *  - an encounter gets a uuid derived from the key, so a re-run simply reads it back;
 *  - obs carry the key in their comment (the writer's marker).
 * Each write is journaled with the config node's id as soon as it is known, and a failed step
 * looks for what it may have written before failing (a create whose answer was lost).
 */
import { IntegrationError } from '../../core/errors';
import type { JournalEntry } from '../../core/journal';
import type { OperationContext } from '../../core/operations';
import type { OpenmrsClient } from './client';
import { toOpenmrsDatetime } from './datetime';
import { uuidFromKey } from './ids';
import { OBS_SCHEMA, type ObsOnlyInput, PATIENT_SCHEMA, type PatientInput } from './schemas';
import { obsCarriesKey, writeObs, writePatient } from './writer';

/** What a step needs from the config node: its id (for the journal), its client and time zone. */
export interface OpenmrsServer {
  id: string;
  api(): OpenmrsClient;
  timeZone(): string;
}

export type StepContext = Pick<OperationContext, 'signal' | 'idempotencyKey' | 'journal'>;

export interface EncounterStepInput {
  patient: string;
  encounterType: string;
  encounterDatetime: string;
  location?: string;
  form?: string;
}

export const PATIENT_STEP_SCHEMA = PATIENT_SCHEMA;

export const ENCOUNTER_STEP_SCHEMA = {
  title: 'OpenMRS encounter (transaction step)',
  type: 'object',
  required: ['patient', 'encounterType', 'encounterDatetime'],
  properties: {
    patient: { type: 'string', minLength: 1, description: 'Patient uuid, e.g. steps.patient.uuid.' },
    encounterType: { type: 'string', minLength: 1, description: 'Encounter type uuid or name.' },
    encounterDatetime: { type: 'string', minLength: 1, description: 'ISO date or datetime; without an offset it is read in the server time zone.' },
    location: { type: 'string', minLength: 1, description: 'Location uuid or name.' },
    form: { type: 'string', minLength: 1 },
  },
  additionalProperties: false,
} as const;

/** The writer's obs contract; the idempotency key is the step's, whatever the input says. */
export const OBS_STEP_SCHEMA = OBS_SCHEMA;


function journalOnce(context: StepContext, entry: JournalEntry): void {
  const known = context.journal.some((existing) => existing.system === entry.system && existing.resource === entry.resource && existing.id === entry.id && existing.configId === entry.configId);
  if (!known) context.journal.push(entry);
}

const created = (server: OpenmrsServer, resource: string, id: string): JournalEntry => ({ system: 'openmrs', resource, id, action: 'created', configId: server.id });

/** After a failed step: journals what it finds of its own writes; a failing look-up changes nothing. */
async function recoverOwnWrites(find: () => Promise<JournalEntry[]>, context: StepContext): Promise<void> {
  try {
    for (const entry of await find()) journalOnce(context, entry);
  } catch {
    // The step's own error is the one to report; the rollback undoes what was journaled.
  }
}

/** A client whose patient create carries the given uuid; everything else is the client itself. */
function pinPatientUuid(client: OpenmrsClient, uuid: string): OpenmrsClient {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'createPatient') return (body: Record<string, unknown>, options?: { signal?: AbortSignal }) => target.createPatient({ ...body, uuid }, options);
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** openmrs.patient: finds the patient by identifier (updating what the input changes) or creates it. */
export async function patientStep(server: OpenmrsServer, input: PatientInput, context: StepContext): Promise<{ uuid: string; action: string }> {
  const client = server.api();
  const ownUuid = uuidFromKey('patient', context.idempotencyKey);
  try {
    const result = await writePatient(pinPatientUuid(client, ownUuid), input, { timeZone: server.timeZone(), signal: context.signal });
    for (const entry of result.journal) journalOnce(context, { ...entry, configId: server.id });
    const uuid = result.payload.patient;
    if (uuid === ownUuid) journalOnce(context, created(server, 'patient', uuid));
    return { uuid, action: result.payload.action };
  } catch (error) {
    await recoverOwnWrites(async () => {
      const found = await client.getPatient(ownUuid, { signal: context.signal, v: 'default' });
      return found && !found.voided ? [created(server, 'patient', ownUuid)] : [];
    }, context);
    throw error;
  }
}

/** openmrs.encounter: creates the encounter of this step (without obs; an obs step adds them). */
export async function encounterStep(server: OpenmrsServer, input: EncounterStepInput, context: StepContext): Promise<{ uuid: string; patient: string; action: string }> {
  const client = server.api();
  const { signal } = context;
  const uuid = uuidFromKey('encounter', context.idempotencyKey);
  const existing = await client.getEncounter(uuid, { signal });
  if (existing) {
    if (existing.voided) {
      throw new IntegrationError('openmrs: the encounter of this transaction was voided by an earlier rollback and cannot be created again', { code: 'conflict', retryable: false, system: 'openmrs' });
    }
    journalOnce(context, created(server, 'encounter', uuid));
    return { uuid, patient: input.patient, action: 'existing' };
  }
  const body: Record<string, unknown> = {
    uuid,
    patient: input.patient,
    encounterType: await client.resolveMetadata('encountertype', input.encounterType, { signal, field: 'encounterType' }),
    encounterDatetime: toOpenmrsDatetime(input.encounterDatetime, server.timeZone(), 'encounterDatetime'),
  };
  if (input.location) body.location = await client.resolveMetadata('location', input.location, { signal, field: 'location' });
  if (input.form) body.form = input.form;
  try {
    await client.createEncounter(body, { signal });
  } catch (error) {
    await recoverOwnWrites(async () => ((await client.getEncounter(uuid, { signal })) ? [created(server, 'encounter', uuid)] : []), context);
    throw error;
  }
  journalOnce(context, created(server, 'encounter', uuid));
  return { uuid, patient: input.patient, action: 'created' };
}

/** openmrs.obs: creates the obs (on an encounter when given), each carrying the step's key. */
export async function obsStep(server: OpenmrsServer, input: ObsOnlyInput, context: StepContext): Promise<{ uuids: string[]; action: string }> {
  const client = server.api();
  const key = context.idempotencyKey;
  try {
    const result = await writeObs(client, { ...input, idempotencyKey: key }, { timeZone: server.timeZone(), signal: context.signal });
    // Obs found rather than created carry this step's key: an earlier run of this step wrote them.
    for (const uuid of result.payload.obs) journalOnce(context, created(server, 'obs', uuid));
    return { uuids: result.payload.obs, action: result.payload.action };
  } catch (error) {
    // The obs written before the one that failed are found by their key markers.
    await recoverOwnWrites(async () => {
      const patient = input.patient ?? (await client.findPatientsByIdentifier(input.patientIdentifier!.identifier, input.patientIdentifier!.identifierType, { signal: context.signal }))[0]?.uuid;
      if (!patient) return [];
      const keys = input.obs.map((_, index) => (input.obs.length > 1 ? `${key}#${index}` : key));
      const found: JournalEntry[] = [];
      for (const concept of new Set(input.obs.map((item) => item.concept))) {
        for (const obs of await client.searchObs({ patient, concept }, { signal: context.signal })) {
          if (keys.some((candidate) => obsCarriesKey(obs, candidate))) found.push(created(server, 'obs', obs.uuid));
        }
      }
      return found;
    }, context);
    throw error;
  }
}
