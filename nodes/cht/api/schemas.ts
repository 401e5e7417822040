/**
 * The writers' input contracts, registered as target schemas (`cht.record`, `cht.person`,
 * `cht.place`, `cht.doc-update`) so a mapper can check its output before anything is sent.
 */
import { registerTargetSchema } from '../../core/target-schemas';

const text = { type: 'string', minLength: 1 } as const;
const reference = { anyOf: [{ type: 'string', minLength: 1 }, { type: 'object' }] } as const;
const timestamp = { anyOf: [{ type: 'number' }, { type: 'string', minLength: 1 }] } as const;

export interface RecordInput {
  form: string;
  from?: string;
  reported_date?: number | string;
  locale?: string;
  fields?: Record<string, unknown>;
}

export const RECORD_SCHEMA = {
  title: 'CHT report (POST /api/v2/records)',
  type: 'object',
  required: ['form'],
  properties: {
    form: { ...text, description: 'The JSON form code (app_settings.forms), e.g. "REF".' },
    from: { ...text, description: 'Phone number of the reporter: CHT attaches the contact with this number.' },
    reported_date: { ...timestamp, description: 'Milliseconds since 1970 or a date text; defaults to now.' },
    locale: text,
    fields: { type: 'object', description: "The report's field values, by the form's field keys." },
  },
  additionalProperties: false,
};

export interface ContactInput {
  name: string;
  type?: string;
  contact_type?: string;
  [key: string]: unknown;
}

export const PERSON_SCHEMA = {
  title: 'CHT person (POST /api/v1/people)',
  type: 'object',
  required: ['name'],
  properties: {
    name: text,
    type: { ...text, description: '"person", or "contact" with contact_type for configured person types.' },
    contact_type: text,
    place: { ...reference, description: 'Parent place: an existing place id, or a new place object (with its own parent).' },
    phone: text,
    date_of_birth: text,
    sex: text,
    reported_date: timestamp,
  },
  additionalProperties: true,
};

export const PLACE_SCHEMA = {
  title: 'CHT place (POST /api/v1/places)',
  type: 'object',
  required: ['name'],
  properties: {
    name: text,
    type: { ...text, description: 'district_hospital, health_center, clinic, or "contact" with contact_type.' },
    contact_type: text,
    parent: { ...reference, description: 'An existing place id, or a new place object; the hierarchy must allow it.' },
    contact: { ...reference, description: 'An existing person id, or a new person object.' },
    reported_date: timestamp,
  },
  additionalProperties: true,
};

export const DOC_UPDATE_SCHEMA = {
  title: 'CHT document update (fields merged onto the latest revision)',
  type: 'object',
  required: ['_id'],
  properties: {
    _id: { ...text, description: 'The document to update.' },
  },
  additionalProperties: true,
  minProperties: 2,
};

let registered = false;

export function registerChtSchemas(): void {
  if (registered) return;
  registered = true;
  registerTargetSchema('cht.record', { title: RECORD_SCHEMA.title, schema: RECORD_SCHEMA });
  registerTargetSchema('cht.person', { title: PERSON_SCHEMA.title, schema: PERSON_SCHEMA });
  registerTargetSchema('cht.place', { title: PLACE_SCHEMA.title, schema: PLACE_SCHEMA });
  registerTargetSchema('cht.doc-update', { title: DOC_UPDATE_SCHEMA.title, schema: DOC_UPDATE_SCHEMA });
}
