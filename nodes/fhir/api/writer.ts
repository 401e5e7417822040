/**
 * What the FHIR writer does with one message, and how it is undone: create, conditional create,
 * update (version-aware), conditional update, delete and transaction Bundles, each returning the
 * stored resource and the journal entries a rollback needs.
 *
 * Compensations: a created resource is deleted; an updated (or deleted) one is written back as it
 * was read before the change.
 */
import { badInput } from '../../core/errors';
import type { JournalEntry } from '../../core/journal';
import { type FhirClient, type FhirResource, type StoredResource, assertId, assertType, parseLocation, parseReference, versionFromEtag, withoutServerMeta } from './client';

export type WriteOperation = 'create' | 'conditional-create' | 'update' | 'conditional-update' | 'delete' | 'transaction';

export const WRITE_OPERATIONS: readonly WriteOperation[] = ['create', 'conditional-create', 'update', 'conditional-update', 'delete', 'transaction'];

export type WriteOutcome = 'created' | 'matched' | 'updated' | 'unchanged' | 'deleted' | 'absent' | 'transaction';

export interface WriteSettings {
  /** The config node id, recorded in journal entries so a rollback finds the client. */
  configId: string;
  /** For conditional create/update: a search built from the resource, e.g. "identifier={{system}}|{{value}}". */
  criteria?: string;
  validate?: boolean;
  /** Updates send If-Match with the version read (or given in meta.versionId). Default true. */
  versionAware?: boolean;
  signal?: AbortSignal;
}

export interface WrittenEntry {
  resourceType: string;
  id: string;
  versionId?: string;
  location?: string;
  outcome: WriteOutcome;
  status?: number;
}

export interface WriteResult {
  /** The stored resource (or the transaction-response Bundle; for a delete, the resource as it was). */
  payload: unknown;
  written: WrittenEntry[];
  journal: JournalEntry[];
}

const PLACEHOLDER = /\{\{\s*([^}]+?)\s*\}\}/g;

/** Shortcuts for the usual conditional search on the first identifier. */
const ALIASES: Record<string, string> = { system: 'identifier[0].system', value: 'identifier[0].value' };

function valueAt(resource: unknown, path: string): unknown {
  const parts = path.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean);
  let current: unknown = resource;
  for (const part of parts) {
    if (current === null || typeof current !== 'object') return undefined;
    // A lone object where FHIR has a list (OpenMRS's identifier) is read as its first item.
    if (part === '0' && !Array.isArray(current)) continue;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/**
 * Fills a search template from the resource: `{{identifier[0].value}}` or a dotted path;
 * `{{system}}` and `{{value}}` mean the first identifier's. Values are URL-encoded; a missing one
 * is bad input, since a criterion left empty could match the wrong record.
 */
export function fillCriteria(template: string, resource: FhirResource): string {
  if (!template.trim()) throw badInput('a conditional write needs a search (e.g. identifier={{system}}|{{value}})', 'criteria');
  return template.trim().replace(/^\?/, '').replace(PLACEHOLDER, (_match, name: string) => {
    const path = ALIASES[name] ?? name;
    const value = valueAt(resource, path);
    if (value === undefined || value === null || value === '' || typeof value === 'object') {
      throw badInput(`conditional search "${template}": the resource has no value at ${path}`, `msg.payload.${path}`);
    }
    return encodeURIComponent(String(value));
  });
}

function entry(stored: StoredResource, outcome: WriteOutcome): WrittenEntry {
  return { resourceType: stored.resourceType, id: stored.id, versionId: stored.versionId, location: stored.location, outcome, status: stored.status };
}

function journalEntry(settings: WriteSettings, resourceType: string, id: string, action: JournalEntry['action'], before?: FhirResource, detail?: Record<string, unknown>): JournalEntry {
  return { system: 'fhir', resource: resourceType, id, action, configId: settings.configId, ...(before ? { before } : {}), ...(detail ? { detail } : {}) };
}

function asResource(input: unknown): FhirResource {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw badInput('msg.payload must be a FHIR resource (an object with a resourceType)', 'msg.payload');
  assertType((input as FhirResource).resourceType, 'msg.payload.resourceType');
  return input as FhirResource;
}

export async function createResource(client: FhirClient, input: unknown, settings: WriteSettings): Promise<WriteResult> {
  const resource = asResource(input);
  const stored = await client.create(resource, { validate: settings.validate, signal: settings.signal });
  return { payload: stored.resource, written: [entry(stored, 'created')], journal: [journalEntry(settings, stored.resourceType, stored.id, 'created')] };
}

/** Creates unless the search finds the resource already there (then nothing is written). */
export async function conditionalCreate(client: FhirClient, input: unknown, settings: WriteSettings, criteria = fillCriteria(settings.criteria ?? '', asResource(input))): Promise<WriteResult> {
  const resource = asResource(input);
  const stored = await client.create(resource, { ifNoneExist: criteria, validate: settings.validate, signal: settings.signal });
  const created = stored.status === 201;
  return {
    payload: stored.resource,
    written: [entry(stored, created ? 'created' : 'matched')],
    journal: created ? [journalEntry(settings, stored.resourceType, stored.id, 'created')] : [],
  };
}

/**
 * Reads the current version first: it is what a rollback restores, and (version-aware) its
 * versionId goes in If-Match, so a change made by someone else in between fails with conflict
 * instead of being overwritten.
 */
export async function updateResource(client: FhirClient, input: unknown, settings: WriteSettings): Promise<WriteResult> {
  const resource = asResource(input);
  assertId(resource.id, 'msg.payload.id');
  const before = await client.readIfExists(resource.resourceType, resource.id, { signal: settings.signal });
  const ifMatch = settings.versionAware === false ? undefined : resource.meta?.versionId ?? before?.versionId;
  const stored = await client.update(resource, { ifMatch, validate: settings.validate, signal: settings.signal });
  return updateResult(settings, stored, before);
}

export async function conditionalUpdate(client: FhirClient, input: unknown, settings: WriteSettings): Promise<WriteResult> {
  const resource = asResource(input);
  const criteria = fillCriteria(settings.criteria ?? '', resource);
  // The match read first is the rollback's `before`; If-Match keeps it the version overwritten.
  const matches = await client.search(resource.resourceType, Object.fromEntries(new URLSearchParams(criteria)), { signal: settings.signal, maxPages: 1 });
  const before = matches.length === 1 ? await client.readIfExists(resource.resourceType, String(matches[0].id), { signal: settings.signal }) : undefined;
  const ifMatch = settings.versionAware === false ? undefined : before?.versionId;
  const stored = await client.conditionalUpdate(resource, criteria, { ifMatch, validate: settings.validate, signal: settings.signal });
  return updateResult(settings, stored, before);
}

function updateResult(settings: WriteSettings, stored: StoredResource, before: StoredResource | undefined): WriteResult {
  if (!before) {
    return { payload: stored.resource, written: [entry(stored, 'created')], journal: [journalEntry(settings, stored.resourceType, stored.id, 'created')] };
  }
  const unchanged = before.versionId !== undefined && before.versionId === stored.versionId;
  return {
    payload: stored.resource,
    written: [entry(stored, unchanged ? 'unchanged' : 'updated')],
    journal: unchanged ? [] : [journalEntry(settings, stored.resourceType, stored.id, 'updated', before.resource)],
  };
}

/** Input: a resource with its id, or a reference ("Patient/123"). */
export async function deleteResource(client: FhirClient, input: unknown, settings: WriteSettings): Promise<WriteResult> {
  const target = typeof input === 'string' ? parseReference(input) : parseReference(`${(input as FhirResource | null)?.resourceType}/${(input as FhirResource | null)?.id}`);
  if (!target) throw badInput('a delete needs msg.payload as {resourceType, id} or "Type/id"', 'msg.payload');
  const before = await client.readIfExists(target.resourceType, target.id, { signal: settings.signal });
  if (!before) {
    return { payload: input, written: [{ ...target, outcome: 'absent' }], journal: [] };
  }
  await client.delete(target.resourceType, target.id, { signal: settings.signal });
  return {
    payload: before.resource,
    written: [{ ...target, versionId: before.versionId, outcome: 'deleted' }],
    journal: [journalEntry(settings, target.resourceType, target.id, 'updated', before.resource, { operation: 'delete' })],
  };
}

interface BundleEntry {
  fullUrl?: string;
  resource?: FhirResource;
  request?: { method?: string; url?: string };
  response?: { status?: string; location?: string; etag?: string };
}

/**
 * Posts a transaction Bundle. Resources that PUT replaces by id are read first, so a rollback can
 * restore them; created ones (201) are journaled for deletion.
 */
export async function writeTransaction(client: FhirClient, input: unknown, settings: WriteSettings): Promise<WriteResult> {
  const bundle = asResource(input);
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as BundleEntry[]) : [];
  const befores = new Map<string, FhirResource>();
  for (const item of entries) {
    if (String(item?.request?.method).toUpperCase() !== 'PUT' || !item.request?.url || item.request.url.includes('?')) continue;
    const target = parseLocation(item.request.url);
    if (!target) continue;
    const before = await client.readIfExists(target.resourceType, target.id, { signal: settings.signal });
    if (before) befores.set(`${target.resourceType}/${target.id}`, before.resource);
  }
  const answer = await client.transaction(bundle, { validate: settings.validate, signal: settings.signal });
  const written: WrittenEntry[] = [];
  const journal: JournalEntry[] = [];
  for (const item of (Array.isArray(answer.entry) ? answer.entry : []) as BundleEntry[]) {
    const status = Number.parseInt(item.response?.status ?? '', 10);
    const where = parseLocation(item.response?.location) ?? parseLocation(item.fullUrl);
    if (!where || !(status >= 200 && status < 300)) continue;
    const versionId = where.versionId ?? versionFromEtag(item.response?.etag);
    const key = `${where.resourceType}/${where.id}`;
    if (status === 201) {
      journal.push(journalEntry(settings, where.resourceType, where.id, 'created'));
      written.push({ resourceType: where.resourceType, id: where.id, versionId, location: item.response?.location, outcome: 'created', status });
    } else if (befores.has(key) && befores.get(key)?.meta?.versionId !== versionId) {
      journal.push(journalEntry(settings, where.resourceType, where.id, 'updated', befores.get(key)));
      written.push({ resourceType: where.resourceType, id: where.id, versionId, location: item.response?.location, outcome: 'updated', status });
    } else {
      written.push({ resourceType: where.resourceType, id: where.id, versionId, location: item.response?.location, outcome: 'unchanged', status });
    }
  }
  return { payload: answer, written, journal };
}

export const WRITERS: Record<WriteOperation, (client: FhirClient, input: unknown, settings: WriteSettings) => Promise<WriteResult>> = {
  create: createResource,
  'conditional-create': (client, input, settings) => conditionalCreate(client, input, settings),
  update: updateResource,
  'conditional-update': conditionalUpdate,
  delete: deleteResource,
  transaction: writeTransaction,
};

/**
 * Undoes one journal entry: deletes what was created, writes back what was updated or deleted.
 * 'already-gone' when the created resource no longer exists, or the updated one was removed since.
 */
export async function undoEntry(client: FhirClient, entry: JournalEntry, signal?: AbortSignal): Promise<'undone' | 'already-gone'> {
  assertType(entry.resource, 'journal.resource');
  assertId(entry.id, 'journal.id');
  if (entry.action === 'created') {
    // Servers answer 200 to deleting the already deleted: a read tells whether it is still there.
    if (!(await client.readIfExists(entry.resource, entry.id, { signal }))) return 'already-gone';
    const { existed } = await client.delete(entry.resource, entry.id, { signal });
    return existed ? 'undone' : 'already-gone';
  }
  const before = entry.before as FhirResource | undefined;
  if (!before || typeof before !== 'object' || before.resourceType !== entry.resource) {
    throw badInput(`journal entry for ${entry.resource}/${entry.id} has no earlier version to restore`, 'journal.before');
  }
  const wasDeletedByUs = entry.detail?.operation === 'delete';
  if (!wasDeletedByUs && !(await client.readIfExists(entry.resource, entry.id, { signal }))) return 'already-gone';
  // Restored as it was, without validation: it is what the server itself held.
  await client.update({ ...withoutServerMeta(before), id: entry.id }, { validate: false, signal });
  return 'undone';
}
