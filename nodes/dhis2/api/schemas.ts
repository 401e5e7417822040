/**
 * Input contracts of the DHIS2 writers, registered as target schemas (dhis2.tracker,
 * dhis2.dataValueSet) so a mapper can check its output before anything is sent. They check
 * what DHIS2 needs to place an object; DHIS2 itself checks values against its metadata.
 */
import { registerTargetSchema } from '../../core/target-schemas';
import { PERIOD_TYPES } from './periods';

const uid = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]{10}$' } as const;
const optionalUid = { anyOf: [uid, { type: 'string', maxLength: 0 }] } as const;
const scalar = { type: ['string', 'number', 'boolean', 'null'] } as const;
const date = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}' } as const;

const attributes = {
  type: 'array',
  items: { type: 'object', required: ['attribute'], properties: { attribute: uid, value: scalar } },
} as const;

const event = {
  type: 'object',
  required: ['programStage', 'orgUnit'],
  properties: {
    event: optionalUid,
    program: uid,
    programStage: uid,
    enrollment: uid,
    trackedEntity: uid,
    orgUnit: uid,
    status: { enum: ['ACTIVE', 'COMPLETED', 'VISITED', 'SCHEDULE', 'OVERDUE', 'SKIPPED'] },
    occurredAt: date,
    scheduledAt: date,
    dataValues: { type: 'array', items: { type: 'object', required: ['dataElement'], properties: { dataElement: uid, value: scalar } } },
    notes: { type: 'array', items: { type: 'object', required: ['value'], properties: { value: { type: 'string' } } } },
  },
} as const;

const enrollment = {
  type: 'object',
  required: ['program', 'orgUnit', 'enrolledAt'],
  properties: {
    enrollment: optionalUid,
    program: uid,
    trackedEntity: uid,
    orgUnit: uid,
    status: { enum: ['ACTIVE', 'COMPLETED', 'CANCELLED'] },
    enrolledAt: date,
    occurredAt: date,
    attributes,
    events: { type: 'array', items: event },
  },
} as const;

const trackedEntity = {
  type: 'object',
  required: ['trackedEntityType', 'orgUnit'],
  properties: {
    trackedEntity: optionalUid,
    trackedEntityType: uid,
    orgUnit: uid,
    attributes,
    enrollments: { type: 'array', items: enrollment },
  },
} as const;

export const TRACKER_SCHEMA = {
  title: 'DHIS2 tracker payload (nested or flat)',
  type: 'object',
  properties: {
    trackedEntities: { type: 'array', items: trackedEntity },
    enrollments: { type: 'array', items: { ...enrollment, required: ['program', 'orgUnit', 'enrolledAt', 'trackedEntity'] } },
    events: { type: 'array', items: event },
  },
  anyOf: [
    { required: ['trackedEntities'], properties: { trackedEntities: { minItems: 1 } } },
    { required: ['enrollments'], properties: { enrollments: { minItems: 1 } } },
    { required: ['events'], properties: { events: { minItems: 1 } } },
  ],
} as const;

const dataValue = {
  type: 'object',
  required: ['dataElement', 'value'],
  properties: {
    dataElement: uid,
    categoryOptionCombo: { type: 'string', minLength: 1, description: 'A UID, or a name from the writer\'s category option combo table.' },
    attributeOptionCombo: uid,
    period: { type: 'string', minLength: 4 },
    orgUnit: uid,
    value: scalar,
    comment: { type: 'string' },
  },
} as const;

export const DATA_VALUE_SET_SCHEMA = {
  title: 'DHIS2 data value set (aggregate)',
  type: 'object',
  required: ['orgUnit'],
  properties: {
    dataSet: uid,
    orgUnit: uid,
    period: { type: 'string', minLength: 4 },
    date: { type: 'string', minLength: 10 },
    periodType: { enum: [...PERIOD_TYPES] },
    completeDate: date,
    attributeOptionCombo: uid,
    values: { type: 'array', minItems: 1, items: dataValue },
    dataValues: { type: 'array', minItems: 1, items: dataValue },
  },
  anyOf: [{ required: ['values'] }, { required: ['dataValues'] }],
  oneOf: [{ required: ['period'] }, { required: ['date', 'periodType'] }],
} as const;

let registered = false;

export function registerDhis2Schemas(): void {
  if (registered) return;
  registered = true;
  registerTargetSchema('dhis2.tracker', { title: TRACKER_SCHEMA.title, schema: TRACKER_SCHEMA });
  registerTargetSchema('dhis2.dataValueSet', { title: DATA_VALUE_SET_SCHEMA.title, schema: DATA_VALUE_SET_SCHEMA });
}
