/**
 * Lookup tables (HQ's "fixtures"): the tables API `api/v0.5/lookup_table/`, the rows API
 * `api/v0.5/lookup_table_item/` (corehq/apps/fixtures/resources/v0_1.py, docs/api/fixture.rst)
 * and the read-only fixture API `api/v0.5/fixture/?fixture_type=<tag>` with flat fields.
 *
 * As in HQ: creates and updates answer with an empty body (201 / 204), so a client learns a new
 * id by listing; a PUT to an unknown id creates instead (tastypie's put_detail fallback); a
 * delete answers 202; the rows list is not filtered by table; a row POSTed for an unknown table
 * gets tastypie's canned 404 `{error_message}`; malformed fields get a bare array of messages.
 */
import { randomUUID } from 'node:crypto';
import type { SandboxRequest, SandboxResponse } from '../core';
import { tastypiePage } from './lookups';

export interface TableField {
  field_name: string;
  properties: string[];
}

export interface LookupTable {
  id: string;
  tag: string;
  is_global: boolean;
  fields: TableField[];
  item_attributes: string[];
}

export interface FieldValue {
  field_value: string;
  properties: Record<string, string>;
}

export interface LookupRow {
  id: string;
  data_type_id: string;
  fields: Record<string, { field_list: FieldValue[] }>;
  item_attributes: Record<string, string>;
  sort_key: number;
}

const CANNED_ERROR = { error_message: 'Sorry, this request could not be processed. Please try again later.' };
const EMPTY_404: SandboxResponse = { status: 404, body: '' };
/** HQ's rule for field names (they become XML element names on the phone). */
const FIELD_NAME = /^(?!xml)[A-Za-z_][\w.-]*$/i;

const newId = (): string => randomUUID().replace(/-/g, '');
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export class LookupTableStore {
  readonly tables = new Map<string, LookupTable>();
  readonly rows = new Map<string, LookupRow>();

  byTag(tag: string): LookupTable | undefined {
    return [...this.tables.values()].find((table) => table.tag === tag);
  }

  rowsOf(tableId: string): LookupRow[] {
    return [...this.rows.values()].filter((row) => row.data_type_id === tableId).sort((a, b) => a.sort_key - b.sort_key);
  }

  nextSortKey(tableId: string): number {
    return this.rowsOf(tableId).reduce((max, row) => Math.max(max, row.sort_key), 0) + 1;
  }
}

function serializeTable(table: LookupTable): Record<string, unknown> {
  return { id: table.id, tag: table.tag, is_global: table.is_global, fields: table.fields.map((field) => ({ ...field, properties: [...field.properties] })), item_attributes: [...table.item_attributes], resource_uri: '' };
}

function serializeRow(row: LookupRow): Record<string, unknown> {
  return { id: row.id, data_type_id: row.data_type_id, fields: structuredClone(row.fields), item_attributes: { ...row.item_attributes }, sort_key: row.sort_key, resource_uri: '' };
}

/** The fixture API's flat shape: the first value of each field. */
function serializeFixture(row: LookupRow, tag: string | null): Record<string, unknown> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(row.fields)) fields[name] = value.field_list[0]?.field_value ?? '';
  return { id: row.id, fixture_type: tag, fields, resource_uri: '' };
}

/** Table fields as HQ validates them: each has `field_name` (or `name`), and optional `properties`. */
function parseTableFields(value: unknown): { fields?: TableField[]; errors: string[] } {
  if (value === undefined) return { fields: [], errors: [] };
  if (!Array.isArray(value)) return { errors: [`${JSON.stringify(value)} is not of type 'array'`] };
  const errors: string[] = [];
  const fields: TableField[] = [];
  for (const item of value) {
    if (!isObject(item)) {
      errors.push(`${JSON.stringify(item)} is not of type 'object'`);
      continue;
    }
    const hasFieldName = typeof item.field_name === 'string';
    const hasName = typeof item.name === 'string';
    if (hasFieldName === hasName) {
      errors.push(`${JSON.stringify(item)} is not valid under any of the given schemas`);
      continue;
    }
    const name = String(hasFieldName ? item.field_name : item.name);
    if (!FIELD_NAME.test(name)) {
      errors.push(`'${name}' is not a valid field name`);
      continue;
    }
    const properties = Array.isArray(item.properties) ? item.properties.map(String) : [];
    fields.push({ field_name: name, properties });
  }
  return errors.length ? { errors } : { fields, errors };
}

/** Row fields: `{name: {field_list: [{field_value, properties}]}}` (a bare `value` is accepted on input). */
function parseRowFields(value: unknown): { fields?: LookupRow['fields']; errors: string[] } {
  if (value === undefined) return { fields: {}, errors: [] };
  if (!isObject(value)) return { errors: [`${JSON.stringify(value)} is not of type 'object'`] };
  const errors: string[] = [];
  const fields: LookupRow['fields'] = {};
  for (const [name, entry] of Object.entries(value)) {
    if (!FIELD_NAME.test(name)) errors.push(`'${name}' is not a valid field name`);
    if (!isObject(entry) || !Array.isArray(entry.field_list)) {
      errors.push("'field_list' is a required property");
      continue;
    }
    const list: FieldValue[] = [];
    for (const item of entry.field_list) {
      const raw = isObject(item) ? (item.field_value ?? item.value) : undefined;
      if (typeof raw !== 'string') {
        errors.push(raw === undefined ? "'field_value' is a required property" : `${JSON.stringify(raw)} is not of type 'string'`);
        continue;
      }
      const properties = isObject(item) && isObject(item.properties) ? Object.fromEntries(Object.entries(item.properties).map(([key, prop]) => [key, String(prop)])) : {};
      list.push({ field_value: raw, properties });
    }
    fields[name] = { field_list: list };
  }
  return errors.length ? { errors } : { fields, errors };
}

const attributes = (value: unknown): Record<string, string> =>
  isObject(value) ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, String(item)])) : {};

export function listTables(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  return tastypiePage(req, [...store.tables.values()].map(serializeTable));
}

export function getTable(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  const table = store.tables.get(req.params.id);
  return table ? { status: 200, body: serializeTable(table) } : EMPTY_404;
}

export function createTable(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  const body = isObject(req.body) ? req.body : {};
  if (typeof body.tag !== 'string' || !body.tag.trim()) return { status: 400, body: { error: 'tag must be specified' } };
  if (store.byTag(body.tag)) return { status: 400, body: { error: `A lookup table with name ${body.tag} already exists` } };
  const { fields, errors } = parseTableFields(body.fields);
  if (!fields) return { status: 400, body: errors };
  const table: LookupTable = {
    id: newId(),
    tag: body.tag,
    is_global: body.is_global === true,
    fields,
    item_attributes: Array.isArray(body.item_attributes) ? body.item_attributes.map(String) : [],
  };
  store.tables.set(table.id, table);
  return { status: 201, headers: { Location: '' }, body: '' };
}

export function updateTable(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  const body = isObject(req.body) ? req.body : {};
  if (typeof body.tag !== 'string') return { status: 400, body: { error: 'tag must be specified' } };
  const table = store.tables.get(req.params.id);
  if (!table) return createTable(store, req);
  if (table.tag !== body.tag) return { status: 400, body: { error: 'Lookup table tag cannot be changed' } };
  if ('fields' in body) {
    const { fields, errors } = parseTableFields(body.fields);
    if (!fields) return { status: 400, body: errors };
    table.fields = fields;
  }
  if ('is_global' in body) table.is_global = body.is_global === true;
  if (Array.isArray(body.item_attributes)) table.item_attributes = body.item_attributes.map(String);
  return { status: 204, body: '' };
}

export function deleteTable(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  if (!store.tables.delete(req.params.id)) return EMPTY_404;
  for (const row of store.rowsOf(req.params.id)) store.rows.delete(row.id);
  return { status: 202, body: '' };
}

export function listRows(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  const rows = [...store.rows.values()].sort((a, b) => (a.data_type_id === b.data_type_id ? a.sort_key - b.sort_key : a.data_type_id < b.data_type_id ? -1 : 1));
  return tastypiePage(req, rows.map(serializeRow));
}

export function getRow(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  const row = store.rows.get(req.params.id);
  return row ? { status: 200, body: serializeRow(row) } : EMPTY_404;
}

export function createRow(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  const body = isObject(req.body) ? req.body : {};
  if (typeof body.data_type_id !== 'string' || !body.data_type_id) return { status: 400, body: { error: 'data_type_id must be specified' } };
  const { fields, errors } = parseRowFields(body.fields);
  if (!fields) return { status: 400, body: errors };
  if (!store.tables.has(body.data_type_id)) return { status: 404, body: CANNED_ERROR };
  const row: LookupRow = { id: newId(), data_type_id: body.data_type_id, fields, item_attributes: attributes(body.item_attributes), sort_key: store.nextSortKey(body.data_type_id) };
  store.rows.set(row.id, row);
  return { status: 201, headers: { Location: '' }, body: '' };
}

export function updateRow(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  const body = isObject(req.body) ? req.body : {};
  if (typeof body.data_type_id !== 'string' || !body.data_type_id) return { status: 400, body: { error: 'data_type_id must be specified' } };
  const row = store.rows.get(req.params.id);
  if (!row) return createRow(store, req);
  const { fields, errors } = parseRowFields(body.fields);
  if (!fields) return { status: 400, body: errors };
  if (!store.tables.has(body.data_type_id)) return { status: 404, body: CANNED_ERROR };
  row.data_type_id = body.data_type_id;
  row.fields = fields;
  if ('item_attributes' in body) row.item_attributes = attributes(body.item_attributes);
  return { status: 204, body: '' };
}

export function deleteRow(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  return store.rows.delete(req.params.id) ? { status: 202, body: '' } : EMPTY_404;
}

/** GET fixture/: every row (limit 0 = no paging by default), or those of one table by tag. */
export function listFixtures(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  const tag = req.query.get('fixture_type');
  const tableId = req.query.get('fixture_type_id');
  const table = tableId ? store.tables.get(tableId) : tag ? store.byTag(tag) : undefined;
  const rows = tableId || tag ? (table ? store.rowsOf(table.id) : []) : [...store.rows.values()];
  const fixtures = rows.map((row) => serializeFixture(row, store.tables.get(row.data_type_id)?.tag ?? null));
  const query = new URLSearchParams(req.query);
  if (!query.has('limit')) query.set('limit', '0');
  return tastypiePage({ ...req, query }, fixtures, Number.MAX_SAFE_INTEGER);
}

export function getFixture(store: LookupTableStore, req: SandboxRequest): SandboxResponse {
  const row = store.rows.get(req.params.id);
  return row ? { status: 200, body: serializeFixture(row, store.tables.get(row.data_type_id)?.tag ?? null) } : EMPTY_404;
}
