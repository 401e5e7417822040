/**
 * The FHIR REST interactions (create, read, vread, update, delete, conditional variants,
 * search, history) on the versioned store. REST routes and transaction/batch Bundles share
 * them; each write pushes its undo so a transaction can roll back.
 */
import { randomUUID } from 'node:crypto';
import { FhirError, STATUS_TEXT, operationOutcome, type Resource } from './outcome';
import { definitionFor, search } from './search';
import { current, type FhirStore, type Undo, type Version } from './store';
import { assertId, assertStorableType, parseResource } from './validation';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 500;
const PAGE_CACHE_SIZE = 200;
const PAGE_TTL_MS = 30 * 60_000;

export interface Result {
  status: number;
  /** The version created, updated, read or matched. */
  version?: Version;
  /** Bundle or OperationOutcome bodies (search, history, delete). */
  body?: unknown;
}

type BundleKind = 'searchset' | 'history';

interface Snapshot {
  kind: BundleKind;
  versions: Version[];
  created: number;
  includes: IncludeSpec[];
}

/** One `_include=Type:param[:Target]`: the reference element(s) followed from each match. */
interface IncludeSpec {
  paths: string[];
  target?: string;
}

export function etag(version: Version): string {
  return `W/"${version.versionId}"`;
}

/** "W/\"3\"", "\"3\"" or "3" to 3. */
export function parseEtag(value: string): number {
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(value.trim());
  if (!match) throw new FhirError(400, `Invalid ETag/version "${value}"`);
  return Number(match[1]);
}

function withoutServerMeta(resource: Resource | undefined): string {
  if (!resource) return '';
  const { meta, id: _id, ...rest } = resource;
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...clientMeta } = (meta ?? {}) as Record<string, unknown>;
  return JSON.stringify({ ...rest, meta: clientMeta });
}

export class Interactions {
  /** Search/history snapshots for paging: stable while resources are added, like HAPI's _getpages. */
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(private readonly store: FhirStore) {}

  clear(): void {
    this.snapshots.clear();
  }

  /** Conditional operations are strict: an unknown parameter must not silently match everything. */
  matchQuery(type: string, query: string): Version[] {
    const params = new URLSearchParams(query.replace(/^\?/, ''));
    if ([...params.keys()].length === 0) throw new FhirError(400, `Conditional criteria for ${type} are empty`);
    return search(this.store, type, params, true).matches;
  }

  create(type: string, body: unknown, undos: Undo[], options: { ifNoneExist?: string; id?: string } = {}): Result {
    assertStorableType(type);
    const resource = parseResource(body, type);
    if (options.ifNoneExist) {
      const matches = this.matchQuery(type, options.ifNoneExist);
      if (matches.length === 1) return { status: 200, version: matches[0] };
      if (matches.length > 1) {
        throw new FhirError(412, `Failed to CREATE resource with match URL "${options.ifNoneExist}" because this search matched ${matches.length} resources`);
      }
    }
    // The spec has the server ignore a client id on create.
    const { version, undo } = this.store.write(type, options.id ?? randomUUID(), resource, 'POST');
    undos.push(undo);
    return { status: 201, version };
  }

  read(type: string, id: string): Result {
    assertStorableType(type);
    const entry = this.store.get(type, id);
    if (!entry) throw new FhirError(404, `Resource ${type}/${id} is not known`);
    const version = current(entry);
    if (!version.resource) throw new FhirError(410, `Resource ${type}/${id} was deleted at ${version.lastUpdated}`);
    return { status: 200, version };
  }

  vread(type: string, id: string, versionId: string): Result {
    assertStorableType(type);
    const entry = this.store.get(type, id);
    if (!entry) throw new FhirError(404, `Resource ${type}/${id} is not known`);
    const version = entry.versions[Number(versionId) - 1];
    if (!version || String(version.versionId) !== versionId) throw new FhirError(404, `Version "${versionId}" is not known for resource ${type}/${id}`);
    if (!version.resource) throw new FhirError(410, `Version ${versionId} of ${type}/${id} is a delete`);
    return { status: 200, version };
  }

  update(type: string, id: string, body: unknown, undos: Undo[], ifMatch?: string): Result {
    assertStorableType(type);
    assertId(id);
    const resource = parseResource(body, type);
    if (resource.id === undefined) {
      throw new FhirError(400, 'Can not update resource, resource body must contain an ID element for update (PUT) operation');
    }
    if (resource.id !== id) {
      throw new FhirError(400, `Can not update resource, resource body must contain an ID element which matches the request URL for update (PUT) operation - Resource body ID of "${String(resource.id)}" does not match URL ID of "${id}"`);
    }
    const entry = this.store.get(type, id);
    const existing = entry && current(entry);
    if (ifMatch !== undefined) {
      const wanted = parseEtag(ifMatch);
      if (!existing?.resource || existing.versionId !== wanted) {
        throw new FhirError(412, `Trying to update ${type}/${id}/_history/${wanted} but this is not the current version${existing ? ` (current is ${existing.versionId})` : ''}`);
      }
    }
    // Like HAPI, an update that changes nothing keeps the current version.
    if (existing?.resource && withoutServerMeta(existing.resource) === withoutServerMeta(resource)) {
      return { status: 200, version: existing };
    }
    const { version, undo } = this.store.write(type, id, resource, 'PUT');
    undos.push(undo);
    return { status: existing?.resource ? 200 : 201, version };
  }

  conditionalUpdate(type: string, query: string, body: unknown, undos: Undo[], ifMatch?: string): Result {
    assertStorableType(type);
    const matches = this.matchQuery(type, query);
    const bodyId = body && typeof body === 'object' ? (body as Resource).id : undefined;
    if (matches.length > 1) {
      throw new FhirError(412, `Failed to UPDATE resource with match URL "${type}?${query}" because this search matched ${matches.length} resources`);
    }
    if (matches.length === 0) {
      return bodyId ? this.update(type, bodyId, body, undos, ifMatch) : this.create(type, body, undos);
    }
    const [match] = matches;
    if (bodyId !== undefined && bodyId !== match.id) {
      throw new FhirError(400, `Resource body ID "${String(bodyId)}" does not match the resource ${type}/${match.id} found by "${query}"`);
    }
    return this.update(type, match.id, { ...(body as Resource), id: match.id }, undos, ifMatch);
  }

  delete(type: string, id: string, undos: Undo[]): Result {
    assertStorableType(type);
    const entry = this.store.get(type, id);
    const existing = entry && current(entry);
    if (!existing?.resource) {
      // Deleting twice or deleting the unknown is not an error: deletes stay idempotent for retries.
      return { status: 200, body: operationOutcome(`Resource ${type}/${id} does not exist or is already deleted; nothing to delete`, 'informational', 'information') };
    }
    const { version, undo } = this.store.write(type, id, undefined, 'DELETE');
    undos.push(undo);
    return { status: 200, version, body: operationOutcome(`Successfully deleted ${type}/${id} (version ${version.versionId})`, 'informational', 'information') };
  }

  conditionalDelete(type: string, query: string, undos: Undo[]): Result {
    assertStorableType(type);
    const matches = this.matchQuery(type, query);
    if (matches.length > 1) {
      throw new FhirError(412, `Failed to DELETE resource with match URL "${type}?${query}" because this search matched ${matches.length} resources`);
    }
    if (matches.length === 0) return { status: 200, body: operationOutcome(`No ${type} matched "${query}"; nothing to delete`, 'informational', 'information') };
    return this.delete(type, matches[0].id, undos);
  }

  search(type: string, params: URLSearchParams, base: string, strict: boolean): Result {
    assertStorableType(type);
    const { matches, applied } = search(this.store, type, params, strict);
    const self = `${base}/${type}${applied.length ? `?${new URLSearchParams(applied).toString()}` : ''}`;
    if (params.get('_summary') === 'count') {
      return { status: 200, body: { ...bundleHeader('searchset'), total: matches.length, link: [{ relation: 'self', url: self }] } };
    }
    return { status: 200, body: this.firstPage('searchset', matches, base, self, countOf(params), includesOf(type, params)) };
  }

  /** Instance, type or system history: newest first, `_since` inclusive. */
  history(base: string, params: URLSearchParams, type?: string, id?: string): Result {
    if (type) assertStorableType(type);
    let versions: Version[];
    if (type && id) {
      const entry = this.store.get(type, id);
      if (!entry) throw new FhirError(404, `Resource ${type}/${id} is not known`);
      versions = [...entry.versions].reverse();
    } else {
      versions = [];
      for (let index = this.store.log.length - 1; index >= 0; index -= 1) {
        const version = this.store.log[index];
        if (!type || version.type === type) versions.push(version);
      }
    }
    const since = params.get('_since');
    if (since) {
      const time = Date.parse(since);
      if (!Number.isFinite(time)) throw new FhirError(400, `Invalid _since value "${since}"`);
      versions = versions.filter((version) => Date.parse(version.lastUpdated) >= time);
    }
    const path = [type, id, '_history'].filter(Boolean).join('/');
    const query = new URLSearchParams([...params].filter(([key]) => key === '_since' || key === '_count')).toString();
    return { status: 200, body: this.firstPage('history', versions, base, `${base}/${path}${query ? `?${query}` : ''}`, countOf(params)) };
  }

  /** GET [base]?_getpages=...: a later page of a stored search or history. */
  page(base: string, params: URLSearchParams): Result {
    const id = params.get('_getpages') ?? '';
    const snapshot = this.snapshots.get(id);
    if (!snapshot || Date.now() - snapshot.created > PAGE_TTL_MS) {
      throw new FhirError(410, `Search ID "${id}" does not exist and may have expired`);
    }
    const offset = Math.max(0, Number(params.get('_getpagesoffset') ?? 0) || 0);
    const count = countOf(params);
    return { status: 200, body: this.bundlePage(snapshot.kind, snapshot.versions, base, offset, count, id, pageUrl(base, id, offset, count, snapshot.kind), snapshot.includes) };
  }

  private firstPage(kind: BundleKind, versions: Version[], base: string, self: string, count: number, includes: IncludeSpec[] = []): unknown {
    let snapshotId: string | undefined;
    if (count > 0 && versions.length > count) {
      snapshotId = randomUUID();
      this.snapshots.set(snapshotId, { kind, versions, created: Date.now(), includes });
      if (this.snapshots.size > PAGE_CACHE_SIZE) this.snapshots.delete(this.snapshots.keys().next().value as string);
    }
    return this.bundlePage(kind, versions, base, 0, count, snapshotId, self, includes);
  }

  private bundlePage(kind: BundleKind, versions: Version[], base: string, offset: number, count: number, snapshotId: string | undefined, self: string, includes: IncludeSpec[] = []): unknown {
    const link = [{ relation: 'self', url: self }];
    if (snapshotId && offset + count < versions.length) link.push({ relation: 'next', url: pageUrl(base, snapshotId, offset + count, count, kind) });
    if (snapshotId && offset > 0) link.push({ relation: 'previous', url: pageUrl(base, snapshotId, Math.max(0, offset - count), count, kind) });
    const page = versions.slice(offset, offset + count);
    const entry = page.map((version) => (kind === 'searchset' ? searchEntry(base, version) : historyEntry(base, version)));
    if (kind === 'searchset') entry.push(...this.included(page, includes).map((version) => includeEntry(base, version)));
    return { ...bundleHeader(kind), total: versions.length, link, ...(entry.length ? { entry } : {}) };
  }

  /** The current versions a page's matches reference through `_include`, each once and none that is a match itself. */
  private included(page: Version[], includes: IncludeSpec[]): Version[] {
    const seen = new Set(page.map((version) => `${version.type}/${version.id}`));
    const found: Version[] = [];
    for (const version of page) {
      for (const spec of includes) {
        for (const reference of referencesAt(version.resource, spec.paths)) {
          const [type, id] = reference.split('/');
          if (!type || !id || (spec.target && type !== spec.target) || seen.has(reference)) continue;
          const entry = this.store.get(type, id);
          const latest = entry && current(entry);
          if (!latest?.resource) continue;
          seen.add(reference);
          found.push(latest);
        }
      }
    }
    return found;
  }
}

/** `_include` values this server follows: reference parameters of the searched type (no `*`, no `:iterate`). */
function includesOf(type: string, params: URLSearchParams): IncludeSpec[] {
  const specs: IncludeSpec[] = [];
  for (const value of params.getAll('_include')) {
    const [source, name, target] = value.split(':');
    if (source !== type || !name) throw new FhirError(400, `Invalid _include parameter value: "${value}" (expected ${type}:<reference parameter>[:<target type>])`);
    const definition = definitionFor(type, name);
    if (definition?.kind !== 'reference') throw new FhirError(400, `Invalid _include parameter value: "${value}" (${name} is not a reference search parameter of ${type})`);
    specs.push({ paths: definition.paths, target: target ?? definition.target });
  }
  return specs;
}

/** Relative "Type/id" references found at the given paths (absolute and contained ones are not followed). */
function referencesAt(resource: Resource | undefined, paths: string[]): string[] {
  const references: string[] = [];
  for (const path of paths) {
    let values: unknown[] = [resource];
    for (const part of path.split('.')) {
      values = values.flatMap((value) => {
        const child = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
        return Array.isArray(child) ? child : child === undefined ? [] : [child];
      });
    }
    for (const value of values) {
      const reference = (value as { reference?: unknown })?.reference;
      if (typeof reference === 'string' && /^[A-Za-z]+\/[A-Za-z0-9\-.]+$/.test(reference)) references.push(reference);
    }
  }
  return references;
}

function countOf(params: URLSearchParams): number {
  const requested = Number(params.get('_count') ?? DEFAULT_COUNT);
  if (!Number.isFinite(requested) || requested < 0) throw new FhirError(400, `Invalid _count value "${params.get('_count') ?? ''}"`);
  return Math.min(Math.floor(requested), MAX_COUNT);
}

function pageUrl(base: string, id: string, offset: number, count: number, kind: BundleKind): string {
  return `${base}?_getpages=${id}&_getpagesoffset=${offset}&_count=${count}&_bundletype=${kind}`;
}

export function bundleHeader(type: string): Record<string, unknown> {
  return { resourceType: 'Bundle', id: randomUUID(), meta: { lastUpdated: new Date().toISOString() }, type };
}

function searchEntry(base: string, version: Version): unknown {
  return { fullUrl: `${base}/${version.type}/${version.id}`, resource: version.resource, search: { mode: 'match' } };
}

function includeEntry(base: string, version: Version): unknown {
  return { fullUrl: `${base}/${version.type}/${version.id}`, resource: version.resource, search: { mode: 'include' } };
}

function historyEntry(base: string, version: Version): unknown {
  const status = version.method === 'DELETE' ? 204 : version.versionId === 1 ? 201 : 200;
  return {
    fullUrl: `${base}/${version.type}/${version.id}`,
    ...(version.resource ? { resource: version.resource } : {}),
    request: { method: version.method, url: version.method === 'POST' ? version.type : `${version.type}/${version.id}` },
    response: { status: `${status} ${STATUS_TEXT[status]}`, etag: etag(version), lastModified: version.lastUpdated },
  };
}
