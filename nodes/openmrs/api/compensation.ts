/**
 * Undoing OpenMRS writes for a rollback. A created patient, encounter, obs or provider is purged, so a
 * failed transaction leaves no record behind, not even a voided one. When the server refuses the
 * purge (no "Purge ..." privilege, or data still attached that it will not delete), the record is
 * voided instead: hidden everywhere, but still in the database. An updated patient (or a
 * provider's person) gets the values read before the write back.
 */
import { IntegrationError, isIntegrationError } from '../../core/errors';
import type { OpenmrsClient } from './client';
import { restoreProviderAttributes } from './writer';
import type { Patient, Person } from './types';

export interface OpenmrsJournalEntry {
  resource: string;
  id: string;
  action: 'created' | 'updated';
  before?: unknown;
}

export type UndoResult = 'undone' | 'already-gone';

/** What the writer records about a patient or person before it updates one (see writer.ts). */
interface PersonBefore {
  gender?: string;
  birthdate?: string;
  name?: { givenName?: string; middleName?: string; familyName?: string };
  attributes?: Record<string, unknown>;
  address?: Record<string, unknown> | null;
  identifiers?: string[];
}

const REST_PATHS: Record<string, string> = { patient: 'patient', encounter: 'encounter', obs: 'obs', provider: 'provider' };

export const VOID_REASON = 'rolled back by integration (purge refused)';

/**
 * A definite "no" to a purge, as opposed to a failure worth retrying: the integration user lacks
 * the purge privilege (403), the request is refused as invalid or conflicting, or the database
 * refuses to delete a row other data still points to.
 */
export function purgeRefused(error: unknown): boolean {
  if (!isIntegrationError(error)) return false;
  if (error.status === 403 || error.status === 400 || error.status === 409 || error.status === 422) return true;
  return error.status === 500 && /constraint|integrity|foreign key|cannot (be )?purge|referenced/i.test(error.message);
}

async function remove(client: OpenmrsClient, path: string, query: Record<string, string>, signal?: AbortSignal): Promise<UndoResult> {
  const { status } = await client.rest('DELETE', path, { query, signal, acceptStatus: [404] });
  return status === 404 ? 'already-gone' : 'undone';
}

/** Purges a created record; voids it when the purge is refused. */
export async function purgeOrVoid(client: OpenmrsClient, resource: string, uuid: string, signal?: AbortSignal): Promise<{ result: UndoResult; voided: boolean }> {
  const base = REST_PATHS[resource];
  if (!base) throw new IntegrationError(`openmrs: no rollback is known for ${resource} records`, { code: 'bad-input', retryable: false, system: 'openmrs' });
  const path = `${base}/${encodeURIComponent(uuid)}`;
  try {
    return { result: await remove(client, path, { purge: 'true' }, signal), voided: false };
  } catch (error) {
    if (!purgeRefused(error)) throw error;
    return { result: await remove(client, path, { reason: VOID_REASON }, signal), voided: true };
  }
}

/**
 * Puts back what an update of a person changed (a patient's or a provider's person: same uuid
 * for a patient); the values come from the journal entry's `before`.
 */
export async function restorePerson(client: OpenmrsClient, uuid: string, before: PersonBefore, signal?: AbortSignal): Promise<UndoResult> {
  const path = `person/${encodeURIComponent(uuid)}`;
  const found = await client.rest<Person>('GET', path, { query: { v: 'full' }, signal, acceptStatus: [404] });
  if (found.status === 404 || found.data.voided) return 'already-gone';
  const person: Record<string, unknown> = {};
  if (before.gender !== undefined) person.gender = before.gender;
  if (before.birthdate !== undefined) person.birthdate = before.birthdate;
  if (before.name) person.names = [{ ...before.name, preferred: true }];
  if (before.address) person.addresses = [{ ...before.address, preferred: true }];
  const restoredAttributes: Array<{ attributeType: string; value: string }> = [];
  const removedAttributes: string[] = [];
  for (const [type, value] of Object.entries(before.attributes ?? {})) {
    if (value === null || value === undefined) {
      const current = (found.data.attributes ?? []).find((attribute) => !attribute.voided && attribute.attributeType?.uuid === type);
      if (current?.uuid) removedAttributes.push(current.uuid);
    } else {
      restoredAttributes.push({ attributeType: type, value: String(value) });
    }
  }
  if (restoredAttributes.length) person.attributes = restoredAttributes;
  if (Object.keys(person).length) await client.rest('POST', path, { body: person, signal, idempotent: true });
  for (const attribute of removedAttributes) {
    await remove(client, `${path}/attribute/${encodeURIComponent(attribute)}`, { purge: 'true' }, signal);
  }
  return 'undone';
}

/** A patient update: the person's values, then the identifiers it added are removed. */
export async function restorePatient(client: OpenmrsClient, uuid: string, before: PersonBefore, signal?: AbortSignal): Promise<UndoResult> {
  const patient: Patient | undefined = await client.getPatient(uuid, { signal });
  if (!patient || patient.voided) return 'already-gone';
  await restorePerson(client, uuid, before, signal);
  if (before.identifiers) {
    const kept = new Set(before.identifiers);
    const added = (patient.identifiers ?? []).flatMap((candidate) => (candidate.uuid && !candidate.voided && !kept.has(candidate.uuid) ? [candidate.uuid] : []));
    for (const identifier of added) {
      await remove(client, `patient/${encodeURIComponent(uuid)}/identifier/${encodeURIComponent(identifier)}`, { purge: 'true' }, signal);
    }
  }
  return 'undone';
}

/** The OpenMRS compensation: purge (or void) what was created, restore what was updated. */
export async function undoOpenmrsEntry(client: OpenmrsClient, entry: OpenmrsJournalEntry, signal?: AbortSignal, onVoided?: (entry: OpenmrsJournalEntry) => void): Promise<UndoResult> {
  if (entry.action === 'updated') {
    if (entry.resource === 'provider') {
      await restoreProviderAttributes(client, entry.id, (entry.before ?? {}) as Parameters<typeof restoreProviderAttributes>[2], signal);
      return 'undone';
    }
    const before = (entry.before ?? {}) as PersonBefore;
    if (entry.resource === 'patient') return restorePatient(client, entry.id, before, signal);
    if (entry.resource === 'person') return restorePerson(client, entry.id, before, signal);
    throw new IntegrationError(`openmrs: no rollback is known for updated ${entry.resource} records`, { code: 'bad-input', retryable: false, system: 'openmrs' });
  }
  const { result, voided } = await purgeOrVoid(client, entry.resource, entry.id, signal);
  if (voided) onVoided?.(entry);
  return result;
}
