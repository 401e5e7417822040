/**
 * Transaction and batch Bundles (POST [base]), per FHIR R4 http.html#transaction:
 * - transaction: all or nothing. Entries run in the spec's order (DELETE, POST, PUT, GET);
 *   `urn:uuid:` fullUrls and conditional references are resolved first; any failing entry
 *   undoes every write and the whole request fails with that entry's status.
 * - batch: entries run independently, each failure reported in its own response entry.
 */
import { randomUUID } from 'node:crypto';
import { FhirError, STATUS_TEXT, type Resource } from './outcome';
import { bundleHeader, etag, type Interactions, type Result } from './interactions';
import type { Undo, Version } from './store';

interface BundleEntry {
  fullUrl?: string;
  resource?: Resource;
  request?: { method?: string; url?: string; ifNoneExist?: string; ifMatch?: string };
}

interface ParsedEntry {
  index: number;
  method: string;
  type: string;
  id?: string;
  /** Path segments after the id, e.g. ['_history', '2']. */
  rest: string[];
  query: string;
  entry: BundleEntry;
}

const TRANSACTION_ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

function parseEntry(entry: BundleEntry, index: number, base: string): ParsedEntry {
  const method = String(entry?.request?.method ?? '').toUpperCase();
  const url = entry?.request?.url;
  if (!method || typeof url !== 'string' || url === '') {
    throw new FhirError(400, `Bundle entry ${index} has no request.method or request.url`);
  }
  if (!(method in TRANSACTION_ORDER)) throw new FhirError(400, `Bundle entry ${index}: unsupported request method ${method}`);
  const relative = url.startsWith(base) ? url.slice(base.length) : url;
  const [path, query = ''] = relative.replace(/^\//, '').split('?');
  const [type = '', id, ...rest] = path.split('/');
  return { index, method, type, id, rest, query, entry };
}

function statusText(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? ''}`.trim();
}

function entryResponse(result: Result, base: string, parsed: ParsedEntry, representation: boolean): Record<string, unknown> {
  const version: Version | undefined = result.version;
  const response: Record<string, unknown> = { status: statusText(result.status) };
  const isWrite = parsed.method !== 'GET' && parsed.method !== 'HEAD';
  if (version && isWrite && version.resource) {
    response.location = `${version.type}/${version.id}/_history/${version.versionId}`;
    response.etag = etag(version);
    response.lastModified = version.lastUpdated;
  } else if (version) {
    response.etag = etag(version);
    response.lastModified = version.lastUpdated;
  }
  if (result.body && (result.body as Resource).resourceType === 'OperationOutcome') response.outcome = result.body;
  const output: Record<string, unknown> = {};
  if (version) output.fullUrl = `${base}/${version.type}/${version.id}`;
  const resource = isWrite ? (representation ? version?.resource : undefined) : version?.resource ?? result.body;
  if (resource) output.resource = resource;
  output.response = response;
  return output;
}

export class BundleProcessor {
  constructor(private readonly interactions: Interactions) {}

  process(body: unknown, base: string, representation: boolean): unknown {
    const bundle = body as { resourceType?: string; type?: string; entry?: BundleEntry[] };
    if (!bundle || typeof bundle !== 'object' || bundle.resourceType !== 'Bundle') {
      throw new FhirError(400, 'POST to the base URL needs a Bundle of type transaction or batch');
    }
    if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
      throw new FhirError(400, `Unable to process bundle of type: ${String(bundle.type)}`);
    }
    const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
    return bundle.type === 'transaction' ? this.transaction(entries, base, representation) : this.batch(entries, base, representation);
  }

  private batch(entries: BundleEntry[], base: string, representation: boolean): unknown {
    const responses = entries.map((entry, index) => {
      let parsed: ParsedEntry | undefined;
      try {
        parsed = parseEntry(entry, index, base);
        return entryResponse(this.execute(parsed, [], base), base, parsed, representation);
      } catch (error) {
        if (!(error instanceof FhirError)) throw error;
        return { response: { status: statusText(error.status), outcome: error.outcome } };
      }
    });
    return { ...bundleHeader('batch-response'), entry: responses };
  }

  private transaction(entries: BundleEntry[], base: string, representation: boolean): unknown {
    const parsed = entries.map((entry, index) => parseEntry(entry, index, base));
    const undos: Undo[] = [];
    const results = new Map<number, Result>();
    let failing: ParsedEntry | undefined;
    try {
      const references = new Map<string, string>();
      const preassigned = new Map<number, string | Version>();
      for (const item of parsed) {
        failing = item;
        this.resolveFullUrl(item, references, preassigned);
      }
      for (const item of parsed) {
        failing = item;
        if (item.entry.resource) item.entry.resource = this.rewriteReferences(structuredClone(item.entry.resource), references);
      }
      const ordered = [...parsed].sort((a, b) => TRANSACTION_ORDER[a.method] - TRANSACTION_ORDER[b.method] || a.index - b.index);
      for (const item of ordered) {
        failing = item;
        const assigned = preassigned.get(item.index);
        const result = typeof assigned === 'object'
          ? { status: 200, version: assigned }
          : this.execute(item, undos, base, assigned);
        results.set(item.index, result);
      }
    } catch (error) {
      for (const undo of undos.reverse()) undo();
      if (!(error instanceof FhirError) || !failing) throw error;
      const request = failing.entry.request ?? {};
      throw new FhirError(error.status, `Transaction failed at entry ${failing.index} (${String(request.method)} ${String(request.url)}): ${error.message}`, error.code);
    }
    return { ...bundleHeader('transaction-response'), entry: parsed.map((item) => entryResponse(results.get(item.index)!, base, item, representation)) };
  }

  /**
   * Gives every POST its id (or its existing match, for ifNoneExist) up front so that references
   * to its fullUrl can be rewritten before anything is written.
   */
  private resolveFullUrl(item: ParsedEntry, references: Map<string, string>, preassigned: Map<number, string | Version>): void {
    const fullUrl = item.entry.fullUrl;
    if (item.method === 'POST' && !item.id) {
      const ifNoneExist = item.entry.request?.ifNoneExist;
      let target: string;
      if (ifNoneExist) {
        const matches = this.interactions.matchQuery(item.type, ifNoneExist);
        if (matches.length > 1) throw new FhirError(412, `ifNoneExist "${ifNoneExist}" matched ${matches.length} resources`);
        if (matches.length === 1) {
          preassigned.set(item.index, matches[0]);
          target = matches[0].id;
        } else {
          target = randomUUID();
          preassigned.set(item.index, target);
        }
      } else {
        target = randomUUID();
        preassigned.set(item.index, target);
      }
      if (fullUrl) references.set(fullUrl, `${item.type}/${target}`);
    } else if (item.method === 'PUT' && item.id && fullUrl) {
      references.set(fullUrl, `${item.type}/${item.id}`);
    }
  }

  private rewriteReferences<T>(value: T, references: Map<string, string>): T {
    if (Array.isArray(value)) return value.map((item) => this.rewriteReferences(item, references)) as T;
    if (!value || typeof value !== 'object') return value;
    const record = value as Record<string, unknown>;
    for (const [key, child] of Object.entries(record)) {
      if (key === 'reference' && typeof child === 'string') {
        record[key] = this.resolveReference(child, references);
      } else {
        record[key] = this.rewriteReferences(child, references);
      }
    }
    return value;
  }

  private resolveReference(reference: string, references: Map<string, string>): string {
    const local = references.get(reference);
    if (local) return local;
    if (reference.startsWith('urn:uuid:')) throw new FhirError(400, `Reference ${reference} does not match any fullUrl in the transaction`);
    const conditional = /^([A-Z][A-Za-z]+)\?(.+)$/.exec(reference);
    if (!conditional) return reference;
    const matches = this.interactions.matchQuery(conditional[1], conditional[2]);
    if (matches.length !== 1) throw new FhirError(412, `Conditional reference "${reference}" matched ${matches.length} resources; it must match exactly one`);
    return `${conditional[1]}/${matches[0].id}`;
  }

  private execute(item: ParsedEntry, undos: Undo[], base: string, assignedId?: string): Result {
    const { method, type, id, rest, query, entry } = item;
    const request = entry.request ?? {};
    switch (method) {
      case 'POST':
        if (id) throw new FhirError(400, `POST entries must name a resource type only, not ${type}/${id}`);
        return this.interactions.create(type, entry.resource, undos, { ifNoneExist: assignedId ? undefined : request.ifNoneExist, id: assignedId });
      case 'PUT':
        if (id) return this.interactions.update(type, id, entry.resource, undos, request.ifMatch);
        if (query) return this.interactions.conditionalUpdate(type, query, entry.resource, undos, request.ifMatch);
        throw new FhirError(400, 'PUT entries need [type]/[id] or [type]?[criteria]');
      case 'DELETE':
        if (id) return this.interactions.delete(type, id, undos);
        if (query) return this.interactions.conditionalDelete(type, query, undos);
        throw new FhirError(400, 'DELETE entries need [type]/[id] or [type]?[criteria]');
      case 'GET':
      case 'HEAD': {
        const params = new URLSearchParams(query);
        if (!id) return this.interactions.search(type, params, base, false);
        if (rest[0] === '_history' && rest[1]) return this.interactions.vread(type, id, rest[1]);
        if (rest[0] === '_history') return this.interactions.history(base, params, type, id);
        return this.interactions.read(type, id);
      }
      default:
        throw new FhirError(405, `${method} is not supported in Bundles by this server`);
    }
  }
}
