/**
 * The FHIR R4 client: the only code that knows FHIR's REST API (URLs, ETag/If-Match,
 * If-None-Exist, Location, Bundles, OperationOutcome). Usable without Node-RED.
 *
 * Why every request goes through core's HttpClient and not through fhir-kit-client:
 * fhir-kit-client 2.x is an ES module without a `require` export, so this package's CommonJS
 * build cannot load it; it sends with the global fetch and its own keep-alive agent, with only a
 * request-signer hook, so retries with Retry-After, per-attempt timeouts, the concurrency limit,
 * cancellation, the request log and redaction could only be bolted around each of its methods;
 * and its methods return the body alone, while version-aware updates need the ETag and Location
 * headers. Its URL helpers (resource paths, query strings, next links) are a few lines each and
 * are written here, so FHIR calls behave exactly like every other system's.
 */
import { basicAuth, bearerAuth, oauth2ClientCredentials, type AuthProvider } from '../../core/auth';
import { IntegrationError, badInput } from '../../core/errors';
import { type HttpClient, type HttpClientOptions, type HttpResponse, type Paging, type QueryValue, bundleNextPaging } from '../../core/http-client';
import { redactUrl } from '../../core/redact';
import { assertNoErrorOutcome, summarizeFhirError } from './outcome';
import { validateResource } from './validation';

export const FHIR_JSON = 'application/fhir+json';

export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** One page of a search: what matched, and what `_include` brought along. */
export interface SearchPage<T extends FhirResource = FhirResource> {
  matches: T[];
  included: FhirResource[];
}

interface SearchEntry<T> {
  resource: T;
  mode?: string;
}

function entriesOf<T>(bundle: unknown): Array<SearchEntry<T>> {
  const entries = (bundle as { entry?: unknown } | undefined)?.entry;
  if (!Array.isArray(entries)) return [];
  return entries
    .filter((entry): entry is { resource: T; search?: { mode?: unknown } } => Boolean(entry && typeof entry === 'object' && (entry as { resource?: unknown }).resource))
    .map((entry) => ({ resource: entry.resource, mode: typeof entry.search?.mode === 'string' ? entry.search.mode : undefined }));
}

export type FhirAuthType = 'none' | 'bearer' | 'basic' | 'oauth2';

export interface FhirAuthSettings {
  type: FhirAuthType;
  /** OAuth2 client credentials: absolute, or relative to the server URL's origin ("/oauth/token"). */
  tokenUrl?: string;
  clientId?: string;
  scope?: string;
}

/** The credential names of the config node (Node-RED's credential store). */
export interface FhirCredentials {
  token?: string;
  username?: string;
  password?: string;
  clientSecret?: string;
}

export function fhirAuthProvider(baseUrl: string, settings: FhirAuthSettings, credentials: FhirCredentials, base: Pick<HttpClientOptions, 'timeoutMs' | 'rejectUnauthorized'> = {}): AuthProvider | undefined {
  switch (settings.type) {
    case 'bearer':
      if (!credentials.token) throw badInput('bearer authentication needs a token', 'token');
      return bearerAuth(credentials.token);
    case 'basic':
      if (!credentials.username) throw badInput('basic authentication needs a username', 'username');
      return basicAuth(credentials.username, credentials.password ?? '');
    case 'oauth2': {
      if (!settings.tokenUrl) throw badInput('OAuth2 needs a token URL', 'tokenUrl');
      if (!settings.clientId) throw badInput('OAuth2 needs a client id', 'clientId');
      if (!credentials.clientSecret) throw badInput('OAuth2 needs a client secret', 'clientSecret');
      let tokenUrl: string;
      try {
        tokenUrl = new URL(settings.tokenUrl, baseUrl).href;
      } catch {
        throw badInput(`invalid token URL "${redactUrl(settings.tokenUrl)}"`, 'tokenUrl');
      }
      return oauth2ClientCredentials({
        tokenUrl,
        clientId: settings.clientId,
        clientSecret: credentials.clientSecret,
        scope: settings.scope || undefined,
        timeoutMs: base.timeoutMs,
        rejectUnauthorized: base.rejectUnauthorized,
      });
    }
    default:
      return undefined;
  }
}

/** HttpClient options for a FHIR server: FHIR JSON, OperationOutcome summaries, the chosen auth. */
export function fhirHttpOptions(base: HttpClientOptions, auth: FhirAuthSettings, credentials: FhirCredentials): HttpClientOptions {
  return {
    ...base,
    system: 'fhir',
    auth: fhirAuthProvider(base.baseUrl, auth, credentials, base),
    headers: { ...base.headers, Accept: `${FHIR_JSON}, application/json;q=0.9` },
    summarizeError: summarizeFhirError,
  };
}

/** A resource as the server stored (or found) it. */
export interface StoredResource<T extends FhirResource = FhirResource> {
  resource: T;
  resourceType: string;
  id: string;
  versionId?: string;
  /** The version-specific URL the server gave (Location, or Content-Location). */
  location?: string;
  status: number;
}

export type SearchParams = Record<string, QueryValue>;

export interface CallOptions {
  signal?: AbortSignal;
}

export interface WriteOptions extends CallOptions {
  /** Check the resource against the FHIR R4 schema before sending. Default: the client's setting. */
  validate?: boolean;
}

export interface FhirClientOptions {
  /** Validate outgoing resources against the FHIR R4 schema. Default true. */
  validate?: boolean;
}

const TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function assertType(type: unknown, field = 'resourceType'): asserts type is string {
  if (typeof type !== 'string' || !TYPE.test(type)) throw badInput(`"${String(type)}" is not a FHIR resource type`, field);
}

export function assertId(id: unknown, field = 'id'): asserts id is string {
  if (typeof id !== 'string' || !ID.test(id)) throw badInput(`"${String(id)}" is not a FHIR id (1-64 of A-Z a-z 0-9 - .)`, field);
}

/** W/"3" -> "3". */
export function versionFromEtag(etag: string | undefined): string | undefined {
  const match = etag ? /^(?:W\/)?"?([^"]+)"?$/.exec(etag.trim()) : null;
  return match?.[1];
}

/** ".../Patient/123/_history/2" -> {type, id, versionId}. */
export function parseLocation(location: string | undefined): { resourceType: string; id: string; versionId?: string } | undefined {
  if (!location) return undefined;
  const path = location.split('?')[0];
  const match = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([^/]+))?\/?$/.exec(path);
  return match ? { resourceType: match[1], id: match[2], versionId: match[3] } : undefined;
}

/** "Patient/123", "https://x/fhir/Patient/123" or {reference} -> {type, id}. */
export function parseReference(reference: unknown, expectedType?: string): { resourceType: string; id: string } | undefined {
  const text = typeof reference === 'string' ? reference : (reference as { reference?: unknown } | null)?.reference;
  if (typeof text !== 'string') return undefined;
  const found = parseLocation(text);
  if (found) return { resourceType: found.resourceType, id: found.id };
  return expectedType && ID.test(text) ? { resourceType: expectedType, id: text } : undefined;
}

/** "a=1&b=2&b=3" -> {a: '1', b: ['2', '3']}; a leading "?" is ignored. */
export function parseQuery(text: string | undefined): SearchParams {
  const params: SearchParams = {};
  for (const [key, value] of new URLSearchParams((text ?? '').trim().replace(/^\?/, ''))) {
    const existing = params[key];
    params[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [String(existing)]), value];
  }
  return params;
}

/** The resource without the server's bookkeeping, for writing it back (rollback restores). */
export function withoutServerMeta<T extends FhirResource>(resource: T): T {
  if (!resource.meta) return resource;
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...meta } = resource.meta;
  const { meta: _meta, ...rest } = resource;
  return (Object.keys(meta).length ? { ...rest, meta } : rest) as T;
}

export class FhirClient {
  private readonly validateByDefault: boolean;

  constructor(readonly http: HttpClient, options: FhirClientOptions = {}) {
    this.validateByDefault = options.validate !== false;
  }

  async capabilities(options: CallOptions = {}): Promise<FhirResource> {
    return (await this.http.get<FhirResource>('metadata', { signal: options.signal })).data;
  }

  /** The resource types the server's CapabilityStatement lists, sorted. */
  async resourceTypes(options: CallOptions = {}): Promise<string[]> {
    const statement = (await this.capabilities(options)) as { rest?: Array<{ mode?: string; resource?: Array<{ type?: unknown }> }> };
    const server = statement.rest?.find((rest) => rest.mode === 'server') ?? statement.rest?.[0];
    const types = (server?.resource ?? []).map((resource) => resource.type).filter((type): type is string => typeof type === 'string');
    return [...new Set(types)].sort();
  }

  async read<T extends FhirResource = FhirResource>(resourceType: string, id: string, options: CallOptions = {}): Promise<StoredResource<T>> {
    assertType(resourceType);
    assertId(id);
    return this.stored<T>(await this.http.get<T>(`${resourceType}/${id}`, { signal: options.signal }));
  }

  /** The resource, or undefined when the server says it does not exist (404) or was deleted (410). */
  async readIfExists<T extends FhirResource = FhirResource>(resourceType: string, id: string, options: CallOptions = {}): Promise<StoredResource<T> | undefined> {
    assertType(resourceType);
    assertId(id);
    const response = await this.http.get<T>(`${resourceType}/${id}`, { signal: options.signal, acceptStatus: [404, 410] });
    return response.status === 404 || response.status === 410 ? undefined : this.stored(response);
  }

  async vread<T extends FhirResource = FhirResource>(resourceType: string, id: string, versionId: string, options: CallOptions = {}): Promise<StoredResource<T>> {
    assertType(resourceType);
    assertId(id);
    return this.stored<T>(await this.http.get<T>(`${resourceType}/${id}/_history/${encodeURIComponent(versionId)}`, { signal: options.signal }));
  }

  /**
   * POST [type]. With `ifNoneExist` (a search, e.g. "identifier=sys|123") the server creates only
   * when nothing matches: 201 created, 200 the existing match; so a re-sent create writes nothing
   * twice, and it may then be retried like an idempotent request.
   */
  async create<T extends FhirResource>(resource: T, options: WriteOptions & { ifNoneExist?: string } = {}): Promise<StoredResource<T>> {
    assertType(resource?.resourceType, 'msg.payload.resourceType');
    this.check(resource, options);
    const headers: Record<string, string> = { 'Content-Type': FHIR_JSON, Prefer: 'return=representation' };
    if (options.ifNoneExist) headers['If-None-Exist'] = options.ifNoneExist;
    const response = await this.http.post<T>(resource.resourceType, { body: resource, headers, signal: options.signal, idempotent: !!options.ifNoneExist });
    return this.written('POST', response, resource.resourceType, options.signal);
  }

  /**
   * PUT [type]/[id]. With `ifMatch` (a versionId) the server refuses with 412 (conflict) when the
   * resource changed since that version was read: no lost update.
   */
  async update<T extends FhirResource>(resource: T, options: WriteOptions & { ifMatch?: string } = {}): Promise<StoredResource<T>> {
    assertType(resource?.resourceType, 'msg.payload.resourceType');
    assertId(resource.id, 'msg.payload.id');
    this.check(resource, options);
    const response = await this.http.put<T>(`${resource.resourceType}/${resource.id}`, { body: resource, headers: this.writeHeaders(options.ifMatch), signal: options.signal });
    return this.written('PUT', response, resource.resourceType, options.signal);
  }

  /** PUT [type]?[criteria]: updates the one match, creates when none matches, 412 when several do. */
  async conditionalUpdate<T extends FhirResource>(resource: T, criteria: string, options: WriteOptions & { ifMatch?: string } = {}): Promise<StoredResource<T>> {
    assertType(resource?.resourceType, 'msg.payload.resourceType');
    if (!criteria.trim()) throw badInput('a conditional update needs search criteria', 'criteria');
    this.check(resource, options);
    const response = await this.http.put<T>(`${resource.resourceType}?${criteria.trim().replace(/^\?/, '')}`, { body: resource, headers: this.writeHeaders(options.ifMatch), signal: options.signal });
    return this.written('PUT', response, resource.resourceType, options.signal);
  }

  /** DELETE [type]/[id]; deleting what is already gone (404/410) is not an error. */
  async delete(resourceType: string, id: string, options: CallOptions = {}): Promise<{ status: number; existed: boolean }> {
    assertType(resourceType);
    assertId(id);
    const response = await this.http.delete(`${resourceType}/${id}`, { signal: options.signal, acceptStatus: [404, 410] });
    return { status: response.status, existed: response.status !== 404 && response.status !== 410 };
  }

  /** Every resource matching a search, page by page (Bundle `next` links), as arrays. */
  /** The matches of each search page; resources brought by `_include` are left out (see searchPagesWithIncluded). */
  async *searchPages<T extends FhirResource = FhirResource>(resourceType: string, params: SearchParams = {}, options: CallOptions & { maxPages?: number } = {}): AsyncGenerator<T[], void, undefined> {
    for await (const page of this.searchPagesWithIncluded<T>(resourceType, params, options)) yield page.matches;
  }

  /**
   * Each search page split by `entry.search.mode`: the matches, and the resources the server added
   * for `_include` (an entry without a mode counts as a match, as servers may leave it out).
   */
  async *searchPagesWithIncluded<T extends FhirResource = FhirResource>(resourceType: string, params: SearchParams = {}, options: CallOptions & { maxPages?: number } = {}): AsyncGenerator<SearchPage<T>, void, undefined> {
    assertType(resourceType);
    const bundlePaging = bundleNextPaging<T>();
    const entryPaging: Paging<unknown, SearchEntry<T>> = { items: (page) => entriesOf<T>(page), next: bundlePaging.next };
    for await (const entries of this.http.paginate<unknown, SearchEntry<T>>({ path: resourceType, query: params, signal: options.signal }, entryPaging, { signal: options.signal, maxPages: options.maxPages })) {
      const page: SearchPage<T> = { matches: [], included: [] };
      for (const entry of entries) {
        if (entry.mode === 'include') page.included.push(entry.resource);
        else if (entry.mode !== 'outcome') page.matches.push(entry.resource);
      }
      yield page;
    }
  }

  async search<T extends FhirResource = FhirResource>(resourceType: string, params: SearchParams = {}, options: CallOptions & { maxPages?: number } = {}): Promise<T[]> {
    const all: T[] = [];
    for await (const page of this.searchPages<T>(resourceType, params, options)) all.push(...page);
    return all;
  }

  /** One search page as the server sent it (for the total and the server's own timestamp). */
  async searchBundle(resourceType: string, params: SearchParams = {}, options: CallOptions = {}): Promise<FhirResource> {
    assertType(resourceType);
    return (await this.http.get<FhirResource>(resourceType, { query: params, signal: options.signal })).data;
  }

  async history(resourceType: string, id: string, options: CallOptions = {}): Promise<FhirResource[]> {
    assertType(resourceType);
    assertId(id);
    const versions: FhirResource[] = [];
    for await (const page of this.http.paginate<unknown, FhirResource>({ path: `${resourceType}/${id}/_history`, signal: options.signal }, bundleNextPaging<FhirResource>(), { signal: options.signal })) {
      versions.push(...page);
    }
    return versions;
  }

  /**
   * POST [base] with a transaction Bundle: all entries succeed or none does. Returns the
   * transaction-response Bundle. Not retried once sent: a lost answer cannot tell whether it ran.
   */
  async transaction(bundle: FhirResource, options: WriteOptions = {}): Promise<FhirResource> {
    if (bundle?.resourceType !== 'Bundle' || (bundle.type !== 'transaction' && bundle.type !== 'batch')) {
      throw badInput('a transaction needs a Bundle of type "transaction" (or "batch")', 'msg.payload.type');
    }
    this.check(bundle, options);
    const response = await this.http.post<FhirResource>('', { body: bundle, headers: { 'Content-Type': FHIR_JSON, Prefer: 'return=representation' }, signal: options.signal });
    assertNoErrorOutcome(response.data, response.status, { method: 'POST', url: redactUrl(response.url) });
    const answer = response.data;
    if (answer?.resourceType !== 'Bundle') {
      throw new IntegrationError(`fhir transaction answered with ${String(answer?.resourceType ?? 'no body')} instead of a Bundle`, { code: 'remote-error', retryable: false, system: 'fhir', status: response.status });
    }
    return answer;
  }

  private check(resource: FhirResource, options: WriteOptions): void {
    if (options.validate ?? this.validateByDefault) validateResource(resource);
  }

  private writeHeaders(ifMatch: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { 'Content-Type': FHIR_JSON, Prefer: 'return=representation' };
    if (ifMatch) headers['If-Match'] = `W/"${ifMatch}"`;
    return headers;
  }

  private stored<T extends FhirResource>(response: HttpResponse<T>): StoredResource<T> {
    const resource = response.data;
    if (!resource || typeof resource !== 'object' || typeof resource.resourceType !== 'string') {
      throw new IntegrationError(`fhir GET ${redactUrl(response.url)} returned no resource`, { code: 'remote-error', retryable: false, system: 'fhir', status: response.status });
    }
    return {
      resource,
      resourceType: resource.resourceType,
      id: String(resource.id ?? parseLocation(response.url)?.id ?? ''),
      versionId: resource.meta?.versionId ?? versionFromEtag(response.headers.etag),
      location: response.headers['content-location'],
      status: response.status,
    };
  }

  /** A write's answer: the body if the server returned one, else a read of the Location. */
  private async written<T extends FhirResource>(method: 'POST' | 'PUT', response: HttpResponse<T>, resourceType: string, signal?: AbortSignal): Promise<StoredResource<T>> {
    assertNoErrorOutcome(response.data, response.status, { method, url: redactUrl(response.url) });
    const location = response.headers.location ?? response.headers['content-location'];
    const where = parseLocation(location);
    let resource = response.data?.resourceType === resourceType ? response.data : undefined;
    if (!resource) {
      if (!where) throw new IntegrationError(`fhir ${resourceType} write answered HTTP ${response.status} without the resource or its Location`, { code: 'remote-error', retryable: false, system: 'fhir', status: response.status });
      const read = where.versionId
        ? await this.vread<T>(where.resourceType, where.id, where.versionId, { signal })
        : await this.read<T>(where.resourceType, where.id, { signal });
      resource = read.resource;
    }
    return {
      resource,
      resourceType,
      id: String(resource.id ?? where?.id ?? ''),
      versionId: resource.meta?.versionId ?? where?.versionId ?? versionFromEtag(response.headers.etag),
      location,
      status: response.status,
    };
  }
}
