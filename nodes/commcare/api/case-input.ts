/**
 * The case writer's input contract (`commcare.case`), flat enough for a mapper to produce, and
 * its translation into a Case API v2 bulk item: owner mapping, defaults, string properties and
 * the loop-marker properties.
 */
import { badInput } from '../../core/errors';
import { registerTargetSchema } from '../../core/target-schemas';
import { markerProperties } from './loop-marker';
import type { BulkItem, CommcareCase, IndexChange } from './types';

export interface CaseInput {
  /** The id in the other system (e.g. an OpenMRS patient uuid): the case is upserted by it. */
  external_id?: string;
  /** Updates this exact case instead of upserting by external_id. */
  case_id?: string;
  case_type?: string;
  case_name?: string;
  /** A CommCare owner id (location, mobile worker or case-sharing group). */
  owner_id?: string;
  /** A key of the writer's owner table (e.g. an OpenMRS location uuid), mapped to an owner id. */
  owner?: string;
  properties?: Record<string, string | number | boolean | null>;
  indices?: Record<string, IndexChange>;
  close?: boolean;
}

const nonEmpty = { type: 'string', minLength: 1, maxLength: 255 } as const;
/** HQ's is_identifier_invalid: an XML element name. ("xml…" names are checked in code.) */
const IDENTIFIER = '^[A-Za-z_][A-Za-z0-9_.-]*$';

export const CASE_SCHEMA = {
  title: 'CommCare case (create, update or upsert)',
  type: 'object',
  anyOf: [{ required: ['external_id'] }, { required: ['case_id'] }],
  properties: {
    external_id: { ...nonEmpty, description: 'Upsert key: the case with this external_id is updated, or created.' },
    case_id: { ...nonEmpty, description: 'Update this case (instead of upserting by external_id).' },
    case_type: { ...nonEmpty, description: 'Required to create (or a default case type on the writer).' },
    case_name: { ...nonEmpty, description: 'Required to create.' },
    owner_id: { ...nonEmpty, description: 'CommCare owner id: location, mobile worker or case-sharing group.' },
    owner: { ...nonEmpty, description: "Mapped to an owner id by the writer's owner table." },
    properties: {
      type: 'object',
      propertyNames: { pattern: IDENTIFIER },
      additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
      description: 'Case properties; numbers and booleans are sent as text, null clears a property.',
    },
    indices: {
      type: 'object',
      propertyNames: { pattern: IDENTIFIER },
      additionalProperties: {
        type: 'object',
        properties: {
          case_id: nonEmpty,
          external_id: nonEmpty,
          case_type: nonEmpty,
          relationship: { enum: ['child', 'extension'] },
        },
        additionalProperties: false,
      },
    },
    close: { type: 'boolean', description: 'Close the case with this change.' },
  },
  additionalProperties: false,
} as const;

let registered = false;

export function registerCommcareSchemas(): void {
  if (registered) return;
  registerTargetSchema('commcare.case', { title: CASE_SCHEMA.title, schema: CASE_SCHEMA });
  registered = true;
}

/** Names the Case API sets through its own fields, never as properties. */
const RESERVED_PROPERTIES = new Set(['case_type', 'case_name', 'owner_id', 'external_id', 'case_id', 'user_id', 'date_opened', 'closed']);

export interface OwnerMapping {
  /** Source key (e.g. an OpenMRS location uuid) -> CommCare owner id. */
  owners: Record<string, string>;
  /** Used for new cases without an owner, and for keys missing from the table. */
  defaultOwner?: string;
}

export interface ItemSettings extends OwnerMapping {
  defaultCaseType?: string;
  now?: Date;
}

/** The values an update changes, read before writing, so a rollback can put them back. */
export interface CaseBefore {
  case_name?: string;
  case_type?: string;
  owner_id?: string;
  closed?: boolean;
  /** Previous values of the properties the write set ('' = it had none). */
  properties: Record<string, string>;
}

/** The key two inputs share when they change the same case. */
export function caseKey(input: CaseInput): string {
  return input.case_id ? `id:${input.case_id}` : `ext:${input.external_id ?? ''}`;
}

function ownerFor(input: CaseInput, settings: OwnerMapping): string | undefined {
  if (input.owner_id) return input.owner_id;
  if (input.owner === undefined) return undefined;
  const mapped = Object.prototype.hasOwnProperty.call(settings.owners, input.owner) ? settings.owners[input.owner] : undefined;
  if (mapped) return mapped;
  if (settings.defaultOwner) return settings.defaultOwner;
  throw badInput(`no CommCare owner is mapped for owner "${input.owner}" and the writer has no default owner`, 'msg.payload.owner');
}

function stringProperties(properties: CaseInput['properties']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(properties ?? {})) {
    if (RESERVED_PROPERTIES.has(name)) throw badInput(`"${name}" is set with its own field, not as a case property`, `msg.payload.properties.${name}`);
    if (name.toLowerCase().startsWith('xml')) throw badInput(`case property names may not start with "xml" ("${name}")`, `msg.payload.properties.${name}`);
    result[name] = value === null || value === undefined ? '' : String(value);
  }
  return result;
}

/**
 * The bulk item for one input. `existing` is the case as read before writing (undefined when it
 * does not exist yet): a new case gets the default case type and owner, an existing one keeps
 * its owner unless the input names one.
 */
export function toBulkItem(input: CaseInput, existing: CommcareCase | undefined, settings: ItemSettings): BulkItem {
  const owner = ownerFor(input, settings);
  const item: BulkItem = { create: input.case_id ? false : null };
  if (input.case_id) item.case_id = input.case_id;
  if (input.external_id) item.external_id = input.external_id;
  if (existing) {
    if (input.case_type) item.case_type = input.case_type;
    if (input.case_name) item.case_name = input.case_name;
    if (owner) item.owner_id = owner;
  } else {
    const caseType = input.case_type ?? settings.defaultCaseType;
    const ownerId = owner ?? settings.defaultOwner;
    if (!caseType) throw badInput('a new case needs a case_type (in the message or as the writer default)', 'msg.payload.case_type');
    if (!input.case_name) throw badInput('a new case needs a case_name', 'msg.payload.case_name');
    if (!ownerId) throw badInput('a new case needs an owner (owner_id, a mapped owner or the writer default owner)', 'msg.payload.owner_id');
    Object.assign(item, { case_type: caseType, case_name: input.case_name, owner_id: ownerId });
  }
  item.properties = { ...stringProperties(input.properties), ...markerProperties(settings.now) };
  if (input.indices && Object.keys(input.indices).length) item.indices = input.indices;
  if (input.close) item.close = true;
  return item;
}

/** What the item is about to change on the existing case, as it was before. */
export function beforeOf(existing: CommcareCase, item: BulkItem): CaseBefore {
  const before: CaseBefore = { properties: {} };
  if (item.case_name !== undefined) before.case_name = existing.case_name;
  if (item.case_type !== undefined) before.case_type = existing.case_type;
  if (item.owner_id !== undefined) before.owner_id = existing.owner_id;
  if (item.close) before.closed = existing.closed;
  for (const name of Object.keys(item.properties ?? {})) before.properties[name] = existing.properties?.[name] ?? '';
  return before;
}
