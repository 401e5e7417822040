/**
 * Case API v2 (/a/<domain>/api/case/v2/), after corehq/apps/hqcase/views.py and api/*.py:
 * cursor-paged list with filters, single/bulk/external-id reads, and creates/updates that go
 * through a generated form (xmlns http://commcarehq.org/case_api) like HQ's.
 */
import { randomUUID } from 'node:crypto';
import type { SandboxRequest, SandboxResponse } from '../core';
import type { FormJson } from './form-json';
import type { FormProcessor } from './forms';
import * as seed from './seed';
import { CASE_XMLNS, hqTimestamp, serializeCase, type CaseRecord, type CommcareStore } from './store';

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 5000;
/** HQ's CASEBLOCK_CHUNKSIZE. */
const MAX_BULK_UPDATES = 100;
const CASE_PATH = `/a/${seed.DOMAIN}/api/case/v2/`;

class UserError extends Error {}

const userError = (message: string): SandboxResponse => ({ status: 400, body: { error: message } });

export class CaseApi {
  constructor(private readonly store: CommcareStore, private readonly forms: FormProcessor) {}

  list(req: SandboxRequest): SandboxResponse {
    try {
      return { status: 200, body: this.query(req) };
    } catch (error) {
      if (error instanceof UserError) return userError(error.message);
      throw error;
    }
  }

  get(req: SandboxRequest): SandboxResponse {
    const caseId = req.params.caseId;
    if (caseId.includes(',')) return { status: 200, body: this.bulk(caseId.split(','), []) };
    const record = this.store.cases.get(caseId);
    if (!record) return { status: 404, body: { error: `Case '${caseId}' not found` } };
    return { status: 200, body: serializeCase(record) };
  }

  getByExternalId(req: SandboxRequest): SandboxResponse {
    const externalId = req.params.externalId;
    const matches = this.store.casesByExternalId(externalId);
    if (matches.length > 1) {
      return userError(`Multiple cases found with external_id '${externalId}': ${matches.map((c) => c.case_id).join(', ')}`);
    }
    if (matches.length === 0) return { status: 404, body: { error: `Case '${externalId}' not found` } };
    return { status: 200, body: serializeCase(matches[0]) };
  }

  bulkFetch(req: SandboxRequest): SandboxResponse {
    const body = req.body as { case_ids?: unknown; external_ids?: unknown } | undefined;
    const caseIds = Array.isArray(body?.case_ids) ? body.case_ids.map(String) : [];
    const externalIds = Array.isArray(body?.external_ids) ? body.external_ids.map(String) : [];
    if (!body || typeof body !== 'object' || (caseIds.length === 0 && externalIds.length === 0)) {
      return userError("Payload must include 'case_ids' or 'external_ids' fields");
    }
    if (caseIds.length + externalIds.length > MAX_PAGE_SIZE) return userError(`You cannot request more than ${MAX_PAGE_SIZE} cases per request.`);
    return { status: 200, body: this.bulk(caseIds, externalIds) };
  }

  /** POST / — one case (always a creation) or a list of changes (bulk). */
  create(req: SandboxRequest): SandboxResponse {
    return this.change(req, req.body, true);
  }

  /** PUT /<case_id> and PUT / (case identified in the body, not an upsert). */
  update(req: SandboxRequest): SandboxResponse {
    const data = req.body;
    if (req.params.caseId && data && typeof data === 'object' && !Array.isArray(data) && !('case_id' in data)) {
      (data as Record<string, unknown>).case_id = req.params.caseId;
    }
    return this.change(req, data, false);
  }

  /** PUT /ext/<external_id>/ — upsert by external id. */
  upsertByExternalId(req: SandboxRequest): SandboxResponse {
    const externalId = req.params.externalId;
    const data = req.body;
    if (!data || typeof data !== 'object' || Array.isArray(data)) return userError('Payload must be a single JSON object');
    const object = data as Record<string, unknown>;
    if (!('external_id' in object)) object.external_id = externalId;
    const matches = this.store.casesByExternalId(externalId);
    if (matches.length > 1) {
      return userError(`Multiple cases found with external_id '${externalId}': ${matches.map((c) => c.case_id).join(', ')}`);
    }
    if (matches.length === 0) return this.change(req, object, true);
    if (!('case_id' in object)) object.case_id = matches[0].case_id;
    else if (object.case_id !== matches[0].case_id) {
      return userError(
        `The given value of "case_id" does not match the existing value for the case identified by external_id = "${externalId}". ` +
        '"case_id" is read-only and cannot be modified.',
      );
    }
    return this.change(req, object, false);
  }

  private change(req: SandboxRequest, data: unknown, isCreation: boolean): SandboxResponse {
    if (data === undefined || typeof data === 'string') return userError('Payload must be valid JSON');
    const isBulk = Array.isArray(data);
    let changes: CaseChange[];
    try {
      changes = isBulk ? bulkChanges(data as unknown[]) : [validateChange(data, isCreation)];
      const lookup = new IdLookup(this.store, changes);
      for (const change of changes) change.resolve(lookup);
      this.checkOwners(changes);
    } catch (error) {
      if (error instanceof UserError) return userError(error.message);
      throw error;
    }

    const formId = randomUUID();
    const now = new Date();
    const form: FormJson = {
      '#type': 'data',
      '@xmlns': seed.CASE_API_XMLNS,
      '@name': 'Case API',
      case: changes.map((change) => change.caseBlock(now)),
      meta: {
        '@xmlns': 'http://openrosa.org/jr/xforms',
        deviceID: String(req.headers['user-agent'] ?? ''),
        instanceID: formId,
        timeEnd: hqTimestamp(now),
        timeStart: hqTimestamp(now),
        userID: seed.WEB_USER.id,
        username: seed.WEB_USER.username,
      },
    };
    const result = this.forms.submit({ form });
    if (result.kind !== 'processed') return { status: 400, body: { error: result.message, form_id: result.formId } };
    const byId = new Map(result.cases.map((record) => [record.case_id, record]));
    const serialized = changes.map((change) => serializeCase(byId.get(change.caseId) as CaseRecord));
    return isBulk
      ? { status: 200, body: { form_id: formId, cases: serialized } }
      : { status: 200, body: { form_id: formId, case: serialized[0] } };
  }

  private checkOwners(changes: CaseChange[]): void {
    for (const change of changes) {
      const ownerId = change.data.owner_id;
      if (typeof ownerId === 'string' && !this.store.ownerIds.has(ownerId)) {
        throw new UserError('Not all owner_ids are real owner_ids in the project');
      }
    }
  }

  private bulk(caseIds: string[], externalIds: string[]): Record<string, unknown> {
    const cases: Array<Record<string, unknown>> = [];
    let missing = 0;
    for (const id of caseIds) {
      const record = this.store.cases.get(id);
      if (record) cases.push(serializeCase(record));
      else {
        missing += 1;
        cases.push({ case_id: id, error: 'not found' });
      }
    }
    for (const id of externalIds) {
      const [record] = this.store.casesByExternalId(id);
      if (record) cases.push(serializeCase(record));
      else {
        missing += 1;
        cases.push({ external_id: id, error: 'not found' });
      }
    }
    return { matching_records: caseIds.length + externalIds.length - missing, missing_records: missing, cases };
  }

  private query(req: SandboxRequest): Record<string, unknown> {
    let params = req.query;
    let after: { indexedOn: string; caseId: string } | undefined;
    const cursor = params.get('cursor');
    if (cursor) {
      params = new URLSearchParams(Buffer.from(cursor, 'base64').toString('utf8'));
      const indexedOn = params.get('indexed_on.gte');
      const caseId = params.get('last_case_id');
      params.delete('indexed_on.gte');
      params.delete('last_case_id');
      if (indexedOn && caseId) after = { indexedOn, caseId };
    }
    const limitText = params.get('limit') ?? String(DEFAULT_PAGE_SIZE);
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText.trim())) throw new UserError(`'${limitText}' is not a valid value for 'limit'`);
    if (limit > MAX_PAGE_SIZE) throw new UserError(`You cannot request more than ${MAX_PAGE_SIZE} cases per request.`);

    const filters: Array<(record: CaseRecord) => boolean> = [];
    for (const key of new Set(params.keys())) {
      if (key === 'limit' || key === 'fields' || key === 'exclude' || key.startsWith('fields.') || key.startsWith('exclude.')) continue;
      const alternatives = params.getAll(key).map((value) => caseFilter(key, value));
      filters.push((record) => alternatives.some((test) => test(record)));
    }

    const matching = [...this.store.cases.values()].filter((record) => filters.every((test) => test(record))).sort(byIndexedOn);
    const remaining = after ? matching.filter((record) => byIndexedOn(record, { indexed_on: after.indexedOn, case_id: after.caseId } as CaseRecord) > 0) : matching;
    const page = remaining.slice(0, limit);
    const result: Record<string, unknown> = { matching_records: remaining.length, cases: page.map(serializeCase) };
    if (page.length > 0 && remaining.length > page.length) {
      const next = new URLSearchParams(params);
      next.set('indexed_on.gte', page[page.length - 1].indexed_on);
      next.set('last_case_id', page[page.length - 1].case_id);
      result.next = `${req.origin}${CASE_PATH}?${new URLSearchParams({ cursor: Buffer.from(next.toString()).toString('base64') })}`;
    }
    return result;
  }
}

function byIndexedOn(a: CaseRecord, b: CaseRecord): number {
  if (a.indexed_on !== b.indexed_on) return a.indexed_on < b.indexed_on ? -1 : 1;
  return a.case_id < b.case_id ? -1 : a.case_id > b.case_id ? 1 : 0;
}

const FALSE_STRINGS = new Set(['false', 'f', 'no', 'n', 'off', '0']);
const toBoolean = (value: string): boolean => !(value === '' || FALSE_STRINGS.has(value.toLowerCase()));

const DATE_FIELDS: Record<string, (record: CaseRecord) => string | null> = {
  last_modified: (record) => record.last_modified,
  server_last_modified: (record) => record.server_last_modified,
  indexed_on: (record) => record.indexed_on,
  date_opened: (record) => record.date_opened,
  date_closed: (record) => record.date_closed,
};

function caseFilter(key: string, value: string): (record: CaseRecord) => boolean {
  switch (key) {
    case 'external_id': return (record) => record.external_id === value;
    case 'case_type': return (record) => record.case_type === value;
    case 'owner_id': return (record) => record.owner_id === value;
    case 'case_name': return (record) => record.case_name === value;
    case 'closed': {
      const closed = toBoolean(value);
      return (record) => record.closed === closed;
    }
    case 'include_deprecated': return () => true;
    default: break;
  }
  const dot = key.indexOf('.');
  const prefix = dot < 0 ? key : key.slice(0, dot);
  const qualifier = key.slice(dot + 1);
  if (dot > 0 && prefix === 'properties') return (record) => (record.properties[qualifier] ?? '') === value;
  if (dot > 0 && prefix === 'indices') return (record) => record.indices[qualifier]?.case_id === value;
  if (dot > 0 && prefix in DATE_FIELDS) {
    const bound = parseDateParam(value);
    const field = DATE_FIELDS[prefix];
    const compare: Record<string, (a: number) => boolean> = {
      gt: (a) => a > bound, gte: (a) => a >= bound, lt: (a) => a < bound, lte: (a) => a <= bound,
    };
    const test = compare[qualifier];
    if (!test) throw new UserError(`'${key}' is not a valid parameter.`);
    return (record) => {
      const stamp = field(record);
      return stamp !== null && test(Date.parse(stamp));
    };
  }
  throw new UserError(`'${key}' is not a valid parameter.`);
}

function parseDateParam(value: string): number {
  const time = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value}Z`);
  if (Number.isNaN(time)) throw new UserError(`Cannot parse datetime '${value}'`);
  return time;
}

const CHANGE_FIELDS = new Set(['case_id', 'case_name', 'case_type', 'external_id', 'owner_id', 'properties', 'indices', 'close']);
const INDEX_FIELDS = new Set(['case_id', 'external_id', 'temporary_id', 'case_type', 'relationship']);

/** A valid XML element name that does not start with "xml" (HQ's is_identifier_invalid). */
function validIdentifier(name: string): boolean {
  return /^[A-Za-z_][\w.-]*$/.test(name) && !name.toLowerCase().startsWith('xml');
}

/** How Python shows a rejected value in HQ's messages. */
function pythonRepr(value: unknown): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

interface IndexSpec {
  case_id?: string;
  external_id?: string;
  temporary_id?: string;
  case_type?: string;
  relationship?: string;
}

class CaseChange {
  caseId = '';

  constructor(readonly data: Record<string, unknown>, public isCreation: boolean, readonly temporaryId: string | undefined) {}

  get externalId(): string | undefined {
    return typeof this.data.external_id === 'string' ? this.data.external_id : undefined;
  }

  resolve(lookup: IdLookup): void {
    if (this.isCreation) return;
    const caseId = this.data.case_id;
    if (typeof caseId === 'string' && caseId) {
      if (!lookup.exists(caseId)) throw new UserError(`No case found with ID '${caseId}'`);
      this.caseId = caseId;
    } else {
      this.caseId = lookup.byExternalId(this.externalId ?? '');
    }
  }

  caseBlock(now: Date): Record<string, unknown> {
    const block: Record<string, unknown> = {
      '@case_id': this.caseId,
      '@date_modified': hqTimestamp(now),
      '@user_id': seed.WEB_USER.id,
      '@xmlns': CASE_XMLNS,
    };
    const pick = (keys: string[]): Record<string, string> => Object.fromEntries(keys.filter((key) => typeof this.data[key] === 'string').map((key) => [key, this.data[key] as string]));
    if (this.isCreation) block.create = pick(['case_type', 'case_name', 'owner_id']);
    const update = { ...(this.isCreation ? {} : pick(['case_type', 'case_name', 'owner_id'])), ...pick(['external_id']), ...(this.data.properties as Record<string, string> | undefined) };
    if (Object.keys(update).length > 0) block.update = update;
    const indices = this.data.indices as Record<string, IndexSpec & { resolved?: string }> | undefined;
    if (indices && Object.keys(indices).length > 0) {
      block.index = Object.fromEntries(Object.entries(indices).map(([name, index]) => [name, {
        '@case_type': index.case_type ?? '',
        '@relationship': index.relationship ?? 'child',
        '#text': index.resolved ?? '',
      }]));
    }
    if (this.data.close === true) block.close = '';
    return block;
  }
}

function validateChange(data: unknown, isCreation: boolean): CaseChange {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new UserError('Payload must be a single JSON object');
  const object = { ...(data as Record<string, unknown>) };
  if (isCreation && 'case_id' in object) throw new UserError('You cannot specify case_id when creating a new case');
  const allowed = isCreation ? new Set([...CHANGE_FIELDS, 'temporary_id']) : CHANGE_FIELDS;
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) throw new UserError(`'${key}' is not a valid field.`);
  }
  for (const key of ['case_id', 'case_name', 'case_type', 'external_id', 'owner_id', 'temporary_id']) {
    const value = object[key];
    if (value !== undefined && value !== null && typeof value !== 'string') throw new UserError(`${pythonRepr(value)} not of type <class 'str'>`);
  }
  if (object.close !== undefined && typeof object.close !== 'boolean') throw new UserError(`${pythonRepr(object.close)} not of type <class 'bool'>`);
  if (isCreation) {
    for (const key of ['case_name', 'case_type', 'owner_id']) {
      if (typeof object[key] !== 'string') throw new UserError(`Property ${key} is required.`);
    }
  } else if (!object.case_id && !object.external_id) {
    throw new UserError('Case updates must provide either a case_id or external_id');
  }

  const properties = object.properties ?? {};
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) throw new UserError(`${pythonRepr(properties)} not of type <class 'dict'>`);
  for (const [key, value] of Object.entries(properties)) {
    if (!validIdentifier(key)) throw new UserError(`Error with case property '${key}'. Case property names must be valid XML identifiers.`);
    if (typeof value !== 'string') throw new UserError(`Error with case property '${key}'. Values must be strings, received '${pythonRepr(value)}'`);
  }
  object.properties = properties;

  const indices = object.indices ?? {};
  if (typeof indices !== 'object' || indices === null || Array.isArray(indices)) throw new UserError(`${pythonRepr(indices)} not of type <class 'dict'>`);
  const copied: Record<string, IndexSpec> = {};
  for (const [name, raw] of Object.entries(indices as Record<string, unknown>)) {
    if (!validIdentifier(name)) throw new UserError(`Error with index '${name}'. Index names must be valid XML identifiers.`);
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${pythonRepr(raw)} not of type <class 'dict'>`);
    const index = raw as Record<string, unknown>;
    for (const key of Object.keys(index)) {
      if (!INDEX_FIELDS.has(key)) throw new UserError(`'${key}' is not a valid field.`);
      if (index[key] !== null && typeof index[key] !== 'string') throw new UserError(`${pythonRepr(index[key])} not of type <class 'str'>`);
    }
    const ids = [index.case_id, index.external_id, index.temporary_id].filter(Boolean);
    if (ids.length > 1) throw new UserError('Indices must specify case_id, external_id, or temporary ID, and only one');
    if (ids.length === 1) {
      for (const key of ['case_type', 'relationship']) {
        if (!index[key]) throw new UserError(`Property ${key} is required when creating or updating case indices`);
      }
    }
    if (index.relationship && index.relationship !== 'child' && index.relationship !== 'extension') {
      throw new UserError(`Value not in ('child', 'extension'): '${String(index.relationship)}'`);
    }
    copied[name] = { ...(index as IndexSpec) };
  }
  object.indices = copied;
  const change = new CaseChange(object, isCreation, typeof object.temporary_id === 'string' ? object.temporary_id : undefined);
  if (isCreation) change.caseId = randomUUID();
  return change;
}

function bulkChanges(items: unknown[]): CaseChange[] {
  if (items.length > MAX_BULK_UPDATES) throw new UserError(`You cannot submit more than ${MAX_BULK_UPDATES} updates in a single request`);
  const changes: CaseChange[] = [];
  const errors: string[] = [];
  items.forEach((item, position) => {
    try {
      if (!item || typeof item !== 'object' || Array.isArray(item)) throw new UserError('Payload must be a single JSON object');
      const { create, ...rest } = item as Record<string, unknown>;
      if (create === undefined || create === null) {
        // without "create", an item with an external_id and no case_id is upserted
        if (typeof rest.external_id === 'string' && !rest.case_id) {
          changes.push(new UpsertChange(validateChange(rest, false).data, false, undefined));
          return;
        }
        throw new UserError("A 'create' flag is required for each update.");
      }
      changes.push(validateChange(rest, create === true));
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      errors.push(`Error in row ${position + 1}: ${error.message}`);
    }
  });
  if (errors.length > 0) throw new UserError(errors.join('; '));
  return changes;
}

/** A bulk item without "create": an update when the external id is known, else a creation. */
class UpsertChange extends CaseChange {
  override resolve(lookup: IdLookup): void {
    const existing = lookup.storedExternalId(this.externalId ?? '');
    if (existing) {
      this.caseId = existing;
      return;
    }
    for (const key of ['case_name', 'case_type', 'owner_id']) {
      if (typeof this.data[key] !== 'string') throw new UserError(`Property ${key} is required.`);
    }
    this.isCreation = true;
    this.caseId = randomUUID();
  }
}

/** HQ's CaseIDLookerUpper: temporary ids, external ids in the request and in the project. */
class IdLookup {
  private readonly temporary = new Map<string, string>();
  private readonly inRequest = new Map<string, string>();

  constructor(private readonly store: CommcareStore, changes: CaseChange[]) {
    for (const change of changes) {
      if (change.temporaryId && change.caseId) this.temporary.set(change.temporaryId, change.caseId);
      if (change.isCreation && change.externalId && change.caseId) this.inRequest.set(change.externalId, change.caseId);
    }
    for (const change of changes) {
      for (const index of Object.values(change.data.indices as Record<string, IndexSpec & { resolved?: string }>)) {
        index.resolved = index.temporary_id ? this.byTemporaryId(index.temporary_id) : index.external_id ? this.byExternalId(index.external_id) : index.case_id;
      }
    }
  }

  exists(caseId: string): boolean {
    return this.store.cases.has(caseId);
  }

  storedExternalId(externalId: string): string | undefined {
    const matches = this.store.casesByExternalId(externalId);
    if (matches.length > 1) throw new UserError(`There are multiple cases with external_id ${externalId}`);
    return matches[0]?.case_id;
  }

  byTemporaryId(key: string): string {
    const id = this.temporary.get(key);
    if (!id) throw new UserError(`Could not find a case with temporary_id '${key}'`);
    return id;
  }

  byExternalId(key: string): string {
    const id = this.inRequest.get(key) ?? this.storedExternalId(key);
    if (!id) throw new UserError(`Could not find a case with external_id '${key}'`);
    return id;
  }
}
