/**
 * The input contracts of the OpenMRS writer, flat enough for a mapper to produce. Registered
 * as target schemas (openmrs.patient, openmrs.encounter, openmrs.obs, openmrs.provider) so a mapper can check its
 * output before anything is sent.
 */
import { registerTargetSchema } from '../../core/target-schemas';

const nonEmpty = { type: 'string', minLength: 1 } as const;
const scalar = { type: ['string', 'number', 'boolean'] } as const;

/** An identifier: its value and its type (uuid or name, e.g. "OpenMRS ID"). */
const identifierRef = {
  type: 'object',
  required: ['identifier', 'identifierType'],
  properties: { identifier: nonEmpty, identifierType: nonEmpty, location: nonEmpty, preferred: { type: 'boolean' } },
  additionalProperties: false,
} as const;

const obsItem = {
  type: 'object',
  required: ['concept', 'value'],
  properties: {
    concept: { ...nonEmpty, description: 'Question concept uuid.' },
    value: { ...scalar, description: 'Coerced to the concept datatype: number, answer uuid or label, yes/no, date, text.' },
    obsDatetime: nonEmpty,
    comment: { type: 'string', maxLength: 200 },
  },
  additionalProperties: false,
} as const;

const patientRef = {
  patient: { ...nonEmpty, description: 'Patient uuid.' },
  patientIdentifier: { ...identifierRef, description: 'Finds the patient by identifier when no uuid is known.' },
} as const;

export const PATIENT_SCHEMA = {
  title: 'OpenMRS patient (create or update)',
  type: 'object',
  required: ['identifiers'],
  properties: {
    identifiers: { type: 'array', minItems: 1, items: identifierRef, description: 'The first one (or matchIdentifierType) finds an existing patient.' },
    matchIdentifierType: { ...nonEmpty, description: 'Which identifier type finds an existing patient; default: the first identifier.' },
    givenName: nonEmpty,
    middleName: { type: 'string' },
    familyName: nonEmpty,
    gender: { enum: ['M', 'F', 'O', 'U'] },
    birthdate: { ...nonEmpty, description: 'yyyy-MM-dd or an ISO datetime.' },
    birthdateEstimated: { type: 'boolean' },
    address: { type: 'object', additionalProperties: { type: ['string', 'null'] } },
    attributes: {
      type: 'object',
      description: 'Person attribute values by attribute type name or uuid, e.g. {"Telephone Number": "+254..."}.',
      additionalProperties: scalar,
    },
  },
  additionalProperties: false,
} as const;

export const ENCOUNTER_SCHEMA = {
  title: 'OpenMRS encounter with obs',
  type: 'object',
  required: ['encounterType', 'encounterDatetime', 'idempotencyKey', 'obs'],
  oneOf: [{ required: ['patient'] }, { required: ['patientIdentifier'] }],
  properties: {
    ...patientRef,
    encounterType: { ...nonEmpty, description: 'Encounter type uuid or name.' },
    encounterDatetime: { ...nonEmpty, description: 'ISO date or datetime; without an offset it is read in the server time zone.' },
    location: { ...nonEmpty, description: 'Location uuid or name; default: the writer setting.' },
    form: nonEmpty,
    idempotencyKey: { type: 'string', minLength: 1, maxLength: 150, description: 'The source form/message id: the same key never creates a second encounter.' },
    obs: { type: 'array', items: obsItem },
  },
  additionalProperties: false,
} as const;

export const OBS_SCHEMA = {
  title: 'OpenMRS obs (without a new encounter)',
  type: 'object',
  required: ['obs'],
  oneOf: [{ required: ['patient'] }, { required: ['patientIdentifier'] }],
  properties: {
    ...patientRef,
    encounter: { ...nonEmpty, description: 'Existing encounter uuid to attach the obs to.' },
    obsDatetime: { ...nonEmpty, description: 'Default for every obs; default: now.' },
    location: nonEmpty,
    idempotencyKey: { type: 'string', minLength: 1, maxLength: 150 },
    obs: { type: 'array', minItems: 1, items: obsItem },
  },
  additionalProperties: false,
} as const;

export const PROVIDER_SCHEMA = {
  title: 'OpenMRS provider with its person (create or update)',
  type: 'object',
  required: ['identifier'],
  properties: {
    identifier: { type: 'string', minLength: 1, maxLength: 255, description: 'The provider identifier: finds an existing provider, so a re-sent message creates nothing new.' },
    givenName: nonEmpty,
    middleName: { type: 'string' },
    familyName: nonEmpty,
    gender: { enum: ['M', 'F', 'O', 'U'] },
    birthdate: { ...nonEmpty, description: 'yyyy-MM-dd or an ISO datetime.' },
    attributes: {
      type: 'object',
      description: 'Person attribute values by attribute type name or uuid, e.g. {"Telephone Number": "+254..."}.',
      additionalProperties: scalar,
    },
    providerAttributes: {
      type: 'object',
      description: 'Provider attribute values by provider attribute type name or uuid, e.g. {"Role": "Community Health Worker"}. A changed value updates the attribute; none is added twice.',
      additionalProperties: scalar,
    },
  },
  additionalProperties: false,
} as const;

export interface IdentifierInput {
  identifier: string;
  identifierType: string;
  location?: string;
  preferred?: boolean;
}

export type ScalarValue = string | number | boolean;

export interface ObsInput {
  concept: string;
  value: ScalarValue;
  obsDatetime?: string;
  comment?: string;
}

export interface PatientInput {
  identifiers: IdentifierInput[];
  matchIdentifierType?: string;
  givenName?: string;
  middleName?: string;
  familyName?: string;
  gender?: 'M' | 'F' | 'O' | 'U';
  birthdate?: string;
  birthdateEstimated?: boolean;
  address?: Record<string, string | null>;
  attributes?: Record<string, ScalarValue>;
}

interface PatientRefInput {
  patient?: string;
  patientIdentifier?: IdentifierInput;
}

export interface EncounterInput extends PatientRefInput {
  encounterType: string;
  encounterDatetime: string;
  location?: string;
  form?: string;
  idempotencyKey: string;
  obs: ObsInput[];
}

export interface ObsOnlyInput extends PatientRefInput {
  encounter?: string;
  obsDatetime?: string;
  location?: string;
  idempotencyKey?: string;
  obs: ObsInput[];
}

export interface ProviderInput {
  identifier: string;
  givenName?: string;
  middleName?: string;
  familyName?: string;
  gender?: 'M' | 'F' | 'O' | 'U';
  birthdate?: string;
  /** Person attributes (personattributetype). */
  attributes?: Record<string, ScalarValue>;
  /** Provider attributes (providerattributetype), e.g. what a FHIR PractitionerRole says. */
  providerAttributes?: Record<string, ScalarValue>;
}

let registered = false;

/** Registers the writer's schemas with the mapper's target-schema registry (once per process). */
export function registerOpenmrsSchemas(): void {
  if (registered) return;
  registerTargetSchema('openmrs.patient', { title: 'OpenMRS patient (create or update)', schema: PATIENT_SCHEMA });
  registerTargetSchema('openmrs.encounter', { title: 'OpenMRS encounter with obs', schema: ENCOUNTER_SCHEMA });
  registerTargetSchema('openmrs.obs', { title: 'OpenMRS obs', schema: OBS_SCHEMA });
  registerTargetSchema('openmrs.provider', { title: PROVIDER_SCHEMA.title, schema: PROVIDER_SCHEMA });
  registered = true;
}
