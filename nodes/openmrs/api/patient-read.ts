/**
 * Reads one OpenMRS patient by uuid or by identifier (optionally of one identifier type), and
 * lays out its identifiers by type name, so a flow can find the id another system gave the
 * patient (e.g. "CHT Patient ID") without walking the REST representation.
 */
import { IntegrationError, badInput } from '../../core/errors';
import type { OpenmrsClient } from './client';
import type { Patient } from './types';

export type PatientReadBy = 'uuid' | 'identifier';

export interface PatientReadRequest {
  by: PatientReadBy;
  value: string;
  /** For `identifier`: the identifier type's uuid or name; any type when empty. */
  identifierType?: string;
  signal?: AbortSignal;
}

export interface PatientRead {
  patient: Patient;
  /** Active identifiers by their type's name (and uuid): `{"CHT Patient ID": "..."}`. */
  identifiers: Record<string, string>;
}

/** "Patient/<uuid>", a full reference URL, or a bare uuid: the uuid. */
export function patientUuidOf(value: string): string {
  const match = /(?:^|\/)Patient\/([^/?#]+)/.exec(value.trim());
  return match ? decodeURIComponent(match[1]) : value.trim();
}

export function identifiersByType(patient: Patient): Record<string, string> {
  const byType: Record<string, string> = {};
  for (const entry of patient.identifiers ?? []) {
    if (entry.voided) continue;
    const type = entry.identifierType ?? {};
    const name = type.name ?? type.display;
    // The preferred identifier of a type wins over others of the same type.
    for (const key of [name, type.uuid]) if (key && (byType[key] === undefined || entry.preferred)) byType[key] = entry.identifier;
  }
  return byType;
}

/** The patient, or undefined when OpenMRS has none (a normal answer, not an error). */
export async function readPatient(client: OpenmrsClient, request: PatientReadRequest): Promise<PatientRead | undefined> {
  const value = request.value?.trim();
  if (!value) throw badInput(`a patient ${request.by === 'uuid' ? 'uuid' : 'identifier'} is required`, 'value');
  let patient: Patient | undefined;
  if (request.by === 'uuid') {
    const uuid = patientUuidOf(value);
    patient = await client.getPatient(uuid, { signal: request.signal });
    if (!patient || patient.voided) return undefined;
  } else {
    const found = await client.findPatientsByIdentifier(value, request.identifierType?.trim() || undefined, { signal: request.signal });
    if (found.length === 0) return undefined;
    // Two patients holding one identifier is a data problem to fix in OpenMRS, not a guess to make here.
    if (found.length > 1) {
      throw new IntegrationError(`${found.length} OpenMRS patients hold identifier ${value}`, { code: 'conflict', retryable: false, system: 'openmrs', field: 'value' });
    }
    patient = found[0];
  }
  return { patient, identifiers: identifiersByType(patient) };
}
