/**
 * CommCare lookup tables (HQ's "fixtures"): keeping a table in step with a list of rows from
 * another system, e.g. the DHIS2 org unit hierarchy. Rows are matched by a key field and
 * created, updated or left alone; nothing is ever created twice for one key.
 *
 * HQ's APIs: tables at `api/v0.5/lookup_table/` (tag, fields), rows at
 * `api/v0.5/lookup_table_item/` (`{data_type_id, fields: {name: {field_list: [{field_value,
 * properties}]}}}`), and the read-only `api/v0.5/fixture/?fixture_type=<tag>` that lists one
 * table's rows with flat fields. Creates and updates answer with an empty body, so a new
 * table's id is learnt by listing.
 */
import { IntegrationError, badInput } from '../../core/errors';
import { nextLinkPaging } from '../../core/http-client';
import { registerTargetSchema } from '../../core/target-schemas';
import type { CommcareClient } from './client';

export type LookupCell = string | number | boolean | null;
export type LookupRowInput = Record<string, LookupCell>;

export interface LookupTableInfo {
  id: string;
  tag: string;
  is_global?: boolean;
  fields: Array<{ field_name: string; properties?: string[] }>;
}

export interface LookupTableWriteOptions {
  /** The field whose value identifies a row (e.g. the DHIS2 org unit UID). */
  keyField: string;
  /** Create the table (with the rows' fields) when it does not exist; otherwise `not-found`. */
  createTable?: boolean;
  /** For a created table: visible to every mobile worker. */
  isGlobal?: boolean;
  signal?: AbortSignal;
}

export interface LookupTableWriteResult {
  table: string;
  tableId: string;
  tableCreated: boolean;
  /** Rows in the input. */
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
}

interface FixtureRow {
  id: string;
  fields: Record<string, unknown>;
}

/** HQ field names become XML element names on the phone. */
export const FIELD_NAME_PATTERN = '^(?![Xx][Mm][Ll])[A-Za-z_][A-Za-z0-9_.-]*$';

export const LOOKUP_ROW_SCHEMA = {
  title: 'CommCare lookup table row (chis-commcare-lookup-table-writer)',
  type: 'object',
  propertyNames: { pattern: FIELD_NAME_PATTERN },
  additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
} as const;

export const LOOKUP_ROWS_SCHEMA = {
  title: 'CommCare lookup table rows',
  type: 'array',
  items: LOOKUP_ROW_SCHEMA,
} as const;

let schemasRegistered = false;
export function registerLookupTableSchemas(): void {
  if (schemasRegistered) return;
  schemasRegistered = true;
  registerTargetSchema('commcare.lookup-table-row', { title: LOOKUP_ROW_SCHEMA.title, schema: LOOKUP_ROW_SCHEMA });
}

const cell = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

const api = (client: CommcareClient, rest: string): string => `a/${encodeURIComponent(client.domain)}/api/v0.5/${rest}`;

/** The table with this tag, or undefined. */
export async function findLookupTable(client: CommcareClient, tag: string, options: { signal?: AbortSignal } = {}): Promise<LookupTableInfo | undefined> {
  const pages = client.http.paginate<unknown, LookupTableInfo>({ path: api(client, 'lookup_table/'), query: { limit: 100 } }, nextLinkPaging<LookupTableInfo>('objects', 'meta.next'), { signal: options.signal, maxPages: 100 });
  for await (const page of pages) {
    const found = page.find((table) => table.tag === tag);
    if (found) return found;
  }
  return undefined;
}

/** One table's rows with flat values (the fixture API). */
async function tableRows(client: CommcareClient, tag: string, signal?: AbortSignal): Promise<FixtureRow[]> {
  const rows: FixtureRow[] = [];
  const pages = client.http.paginate<unknown, FixtureRow>({ path: api(client, 'fixture/'), query: { fixture_type: tag } }, nextLinkPaging<FixtureRow>('objects', 'meta.next'), { signal, maxPages: 1000 });
  for await (const page of pages) rows.push(...page);
  return rows;
}

function rowBody(tableId: string, row: LookupRowInput): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) fields[name] = { field_list: [{ field_value: cell(value), properties: {} }] };
  return { data_type_id: tableId, fields };
}

function sameValues(existing: Record<string, unknown>, row: LookupRowInput): boolean {
  const names = new Set([...Object.keys(existing), ...Object.keys(row)]);
  return [...names].every((name) => cell(existing[name]) === cell(row[name]));
}

/** Field names in order of first appearance across the rows. */
function fieldNames(rows: LookupRowInput[]): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row)) names.add(name);
  return [...names];
}

async function ensureTable(client: CommcareClient, tag: string, fields: string[], options: LookupTableWriteOptions): Promise<{ table: LookupTableInfo; created: boolean }> {
  const signal = options.signal;
  let table = await findLookupTable(client, tag, { signal });
  let created = false;
  if (!table) {
    if (!options.createTable) {
      throw new IntegrationError(`CommCare has no lookup table "${tag}"`, { code: 'not-found', retryable: false, system: 'commcare' });
    }
    // 400 = another writer created it meanwhile: the listing below finds it.
    await client.http.post(api(client, 'lookup_table/'), {
      body: { tag, is_global: options.isGlobal !== false, fields: fields.map((field_name) => ({ field_name, properties: [] })) },
      acceptStatus: [400],
      idempotent: false,
      signal,
    });
    table = await findLookupTable(client, tag, { signal });
    if (!table) throw new IntegrationError(`CommCare did not create the lookup table "${tag}"`, { code: 'remote-error', retryable: true, system: 'commcare' });
    created = true;
  }
  const known = new Set(table.fields.map((field) => field.field_name));
  const missing = fields.filter((field) => !known.has(field));
  if (missing.length) {
    const allFields = [...table.fields.map((field) => ({ field_name: field.field_name, properties: field.properties ?? [] })), ...missing.map((field_name) => ({ field_name, properties: [] }))];
    await client.http.put(api(client, `lookup_table/${encodeURIComponent(table.id)}/`), { body: { tag, fields: allFields }, signal });
    table = { ...table, fields: allFields };
  }
  return { table, created };
}

/**
 * Makes the table hold these rows: each row is found by its key field and updated when a value
 * differs, or created. Rows of the table that are not in the input are left as they are. The
 * rows are written concurrently (bounded by the client); when some fail, the others are still
 * written and the error names how many failed, with the first failure's code.
 */
export async function writeLookupRows(client: CommcareClient, tag: string, rows: LookupRowInput[], options: LookupTableWriteOptions): Promise<LookupTableWriteResult> {
  if (!tag.trim()) throw badInput('the lookup table (tag) is not set', 'table');
  const key = options.keyField.trim();
  if (!key) throw badInput('the key field is not set', 'keyField');
  const seen = new Set<string>();
  rows.forEach((row, index) => {
    const value = cell(row[key]);
    if (!value) throw badInput(`row ${index + 1} has no value in the key field "${key}"`, `payload[${index}].${key}`);
    if (seen.has(value)) throw badInput(`rows share the key "${value}" (field "${key}")`, `payload[${index}].${key}`);
    seen.add(value);
  });

  const { table, created: tableCreated } = await ensureTable(client, tag, fieldNames(rows), options);
  const existing = new Map<string, FixtureRow>();
  for (const row of tableCreated ? [] : await tableRows(client, tag, options.signal)) {
    const value = cell(row.fields?.[key]);
    if (value && !existing.has(value)) existing.set(value, row);
  }

  const result: LookupTableWriteResult = { table: tag, tableId: table.id, tableCreated, rows: rows.length, created: 0, updated: 0, unchanged: 0 };
  const outcomes = await Promise.allSettled(rows.map(async (row) => {
    const match = existing.get(cell(row[key]));
    if (match && sameValues(match.fields ?? {}, row)) {
      result.unchanged += 1;
    } else if (match) {
      await client.http.put(api(client, `lookup_table_item/${encodeURIComponent(match.id)}/`), { body: rowBody(table.id, row), signal: options.signal });
      result.updated += 1;
    } else {
      // HQ answers a create with an empty body: a retried create could add a second row.
      await client.http.post(api(client, 'lookup_table_item/'), { body: rowBody(table.id, row), idempotent: false, signal: options.signal });
      result.created += 1;
    }
  }));
  const failures = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failures.length) {
    const first = failures[0].reason as IntegrationError;
    throw new IntegrationError(`${failures.length} of ${rows.length} rows of lookup table "${tag}" were not written (${result.created} created, ${result.updated} updated): ${first.message}`, {
      code: first.code ?? 'remote-error',
      status: first.status,
      retryable: first.retryable,
      system: 'commcare',
      remote: first.remote,
      cause: first,
    });
  }
  return result;
}
