/**
 * A typed OpenMRS client on the shared HttpClient. The base URL is the server root including
 * the web app (`http://host:8080/openmrs`); REST calls go to `ws/rest/v1`, FHIR2 calls to
 * `ws/fhir2/R4`, the atom feed to `ws/atomfeed`. Usable without Node-RED.
 */
import { basicAuth } from '../../core/auth';
import { IntegrationError } from '../../core/errors';
import { HttpClient, type HttpClientOptions, type QueryValue, bundleNextPaging, linksRelNextPaging } from '../../core/http-client';
import { type FeedPage, parseFeedPage } from './atom-feed';
import { summarizeOpenmrsError } from './errors';
import type { ConceptAnswer, ConceptInfo, Encounter, Obs, Patient, Ref, Session } from './types';

export const REST = 'ws/rest/v1';
export const FHIR = 'ws/fhir2/R4';
export const ATOM = 'ws/atomfeed';

export interface OpenmrsCredentials {
  username?: string;
  password?: string;
}

/** HttpClient options for an OpenMRS server: Basic auth, error summaries, session cookies. */
export function openmrsHttpOptions(base: HttpClientOptions, credentials: OpenmrsCredentials, sessionReuse: boolean): HttpClientOptions {
  return {
    ...base,
    system: 'openmrs',
    auth: credentials.username ? basicAuth(credentials.username, credentials.password ?? '') : undefined,
    summarizeError: summarizeOpenmrsError,
    // OpenMRS creates an HTTP session per Basic-authenticated request unless JSESSIONID is sent back.
    sessionCookies: sessionReuse,
  };
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface OpenmrsClientOptions {
  /** Warm the session with GET /session before the first call (once per client). */
  sessionReuse?: boolean;
  /** How long concept definitions are cached. Default 10 minutes. */
  conceptTtlMs?: number;
  now?: () => number;
}

/** OpenMRS uuids are 36 characters; CIEL ones are digits padded with A (5089AAAA…), without hyphens. */
const UUID = /^[0-9a-z-]{36}$/i;
const DEFAULT_CONCEPT_TTL_MS = 10 * 60_000;
const PAGE_LIMIT = 100;

export interface EncounterSearch {
  patient: string;
  encounterType?: string;
  fromdate?: string;
  todate?: string;
}

export interface DeleteOptions extends CallOptions {
  purge?: boolean;
  reason?: string;
}

/** Search results as a list of metadata (encounter types, locations ...). */
export type MetadataResource = 'encountertype' | 'location' | 'patientidentifiertype' | 'personattributetype' | 'concept' | 'form' | 'visittype' | 'encounterrole' | 'provider' | 'providerattributetype';

function toConceptInfo(concept: Record<string, any>): ConceptInfo {
  const answers: ConceptAnswer[] = (Array.isArray(concept.answers) ? concept.answers : []).map((answer: Record<string, any>) => ({
    uuid: String(answer.uuid),
    display: String(answer.display ?? answer.name?.display ?? answer.uuid),
    names: [
      ...(Array.isArray(answer.names) ? answer.names : []).map((name: Record<string, any>) => name?.display ?? name?.name),
      answer.name?.display,
      answer.name?.name,
    ].filter((name): name is string => typeof name === 'string'),
  }));
  return {
    uuid: String(concept.uuid),
    display: String(concept.display ?? concept.name?.display ?? concept.uuid),
    datatype: String(concept.datatype?.display ?? concept.datatype?.name ?? 'N/A'),
    answers,
    allowDecimal: typeof concept.allowDecimal === 'boolean' ? concept.allowDecimal : undefined,
    hiAbsolute: typeof concept.hiAbsolute === 'number' ? concept.hiAbsolute : undefined,
    lowAbsolute: typeof concept.lowAbsolute === 'number' ? concept.lowAbsolute : undefined,
  };
}

export class OpenmrsClient {
  private session?: Promise<Session>;
  private readonly concepts = new Map<string, { expires: number; concept: Promise<ConceptInfo> }>();
  private readonly metadata = new Map<string, { expires: number; refs: Promise<Ref[]> }>();
  private readonly conceptTtlMs: number;
  private readonly now: () => number;

  constructor(readonly http: HttpClient, private readonly options: OpenmrsClientOptions = {}) {
    this.conceptTtlMs = options.conceptTtlMs ?? DEFAULT_CONCEPT_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** GET /session: who the server thinks we are (also opens a session to reuse). */
  async getSession(options: CallOptions = {}): Promise<Session> {
    const response = await this.http.get<Session>(`${REST}/session`, { signal: options.signal, query: { v: 'full' } });
    const session = response.data ?? { authenticated: false };
    if (!session.authenticated) {
      throw new IntegrationError('openmrs: the server did not accept the username and password', { code: 'auth', retryable: false, system: 'openmrs', status: response.status });
    }
    return session;
  }

  private async warmUp(signal?: AbortSignal): Promise<void> {
    if (!this.options.sessionReuse) return;
    this.session ??= this.getSession({ signal }).catch((error: unknown) => {
      this.session = undefined;
      throw error;
    });
    await this.session;
  }

  /** A REST call (path relative to ws/rest/v1). */
  async rest<T>(method: 'GET' | 'POST' | 'DELETE', path: string, options: { query?: Record<string, QueryValue>; body?: unknown; signal?: AbortSignal; acceptStatus?: number[]; idempotent?: boolean } = {}): Promise<{ status: number; data: T }> {
    await this.warmUp(options.signal);
    const response = await this.http.request<T>({ method, path: `${REST}/${path.replace(/^\/+/, '')}`, ...options });
    return { status: response.status, data: response.data };
  }

  private async getOrUndefined<T>(path: string, query: Record<string, QueryValue>, signal?: AbortSignal): Promise<T | undefined> {
    const { status, data } = await this.rest<T>('GET', path, { query, signal, acceptStatus: [404] });
    return status === 404 ? undefined : data;
  }

  /** Every result of a REST search, following `links[rel=next]`. */
  async listAll<T>(path: string, query: Record<string, QueryValue>, options: CallOptions & { maxPages?: number } = {}): Promise<T[]> {
    await this.warmUp(options.signal);
    const results: T[] = [];
    const pages = this.http.paginate<unknown, T>({ path: `${REST}/${path}`, query: { limit: PAGE_LIMIT, ...query }, signal: options.signal }, linksRelNextPaging<T>(), { signal: options.signal, maxPages: options.maxPages ?? 50 });
    for await (const items of pages) results.push(...items);
    return results;
  }

  // ---- patients ----

  getPatient(uuid: string, options: CallOptions & { v?: string } = {}): Promise<Patient | undefined> {
    return this.getOrUndefined<Patient>(`patient/${encodeURIComponent(uuid)}`, { v: options.v ?? 'full' }, options.signal);
  }

  /**
   * Patients holding an identifier, optionally of one type (uuid or name). OpenMRS matches
   * the identifier across all types, so the type is checked here.
   */
  async findPatientsByIdentifier(identifier: string, identifierType?: string, options: CallOptions = {}): Promise<Patient[]> {
    const found = await this.listAll<Patient>('patient', { identifier, v: 'full' }, options);
    const type = identifierType?.toLowerCase();
    return found.filter(
      (patient) =>
        !patient.voided &&
        (patient.identifiers ?? []).some(
          (candidate) =>
            !candidate.voided &&
            candidate.identifier === identifier &&
            (!type || [candidate.identifierType?.uuid, candidate.identifierType?.display, candidate.identifierType?.name].some((value) => value?.toLowerCase() === type)),
        ),
    );
  }

  searchPatients(q: string, options: CallOptions = {}): Promise<Patient[]> {
    return this.listAll<Patient>('patient', { q, v: 'full' }, { ...options, maxPages: 5 });
  }

  async createPatient(body: Record<string, unknown>, options: CallOptions = {}): Promise<Patient> {
    return (await this.rest<Patient>('POST', 'patient', { body, signal: options.signal, query: { v: 'full' } })).data;
  }

  /** Updates a patient (POST /patient/<uuid>). A POST that updates is idempotent: retrying is safe. */
  async updatePatient(uuid: string, body: Record<string, unknown>, options: CallOptions = {}): Promise<Patient> {
    return (await this.rest<Patient>('POST', `patient/${encodeURIComponent(uuid)}`, { body, signal: options.signal, idempotent: true, query: { v: 'full' } })).data;
  }

  deletePatient(uuid: string, options: DeleteOptions = {}): Promise<void> {
    return this.remove(`patient/${encodeURIComponent(uuid)}`, options);
  }

  // ---- encounters ----

  async createEncounter(body: Record<string, unknown>, options: CallOptions = {}): Promise<Encounter> {
    return (await this.rest<Encounter>('POST', 'encounter', { body, signal: options.signal, query: { v: 'full' } })).data;
  }

  getEncounter(uuid: string, options: CallOptions = {}): Promise<Encounter | undefined> {
    return this.getOrUndefined<Encounter>(`encounter/${encodeURIComponent(uuid)}`, { v: 'full' }, options.signal);
  }

  async searchEncounters(search: EncounterSearch, options: CallOptions = {}): Promise<Encounter[]> {
    const found = await this.listAll<Encounter>('encounter', { ...search, v: 'full' }, options);
    return found.filter((encounter) => !encounter.voided && (!search.encounterType || encounter.encounterType?.uuid === search.encounterType));
  }

  deleteEncounter(uuid: string, options: DeleteOptions = {}): Promise<void> {
    return this.remove(`encounter/${encodeURIComponent(uuid)}`, options);
  }

  // ---- obs ----

  async createObs(body: Record<string, unknown>, options: CallOptions = {}): Promise<Obs> {
    return (await this.rest<Obs>('POST', 'obs', { body, signal: options.signal, query: { v: 'full' } })).data;
  }

  getObs(uuid: string, options: CallOptions = {}): Promise<Obs | undefined> {
    return this.getOrUndefined<Obs>(`obs/${encodeURIComponent(uuid)}`, { v: 'full' }, options.signal);
  }

  async searchObs(search: { patient: string; concept?: string }, options: CallOptions = {}): Promise<Obs[]> {
    const found = await this.listAll<Obs>('obs', { ...search, v: 'full' }, options);
    return found.filter((obs) => !obs.voided && (!search.concept || obs.concept?.uuid === search.concept));
  }

  deleteObs(uuid: string, options: DeleteOptions = {}): Promise<void> {
    return this.remove(`obs/${encodeURIComponent(uuid)}`, options);
  }

  /** Voids (default, with a reason) or purges. Already gone counts as done, so rollbacks can repeat. */
  private async remove(path: string, options: DeleteOptions): Promise<void> {
    const query = options.purge ? { purge: 'true' } : { reason: options.reason ?? 'rolled back by integration' };
    await this.rest('DELETE', path, { query, signal: options.signal, acceptStatus: [404] });
  }

  // ---- concepts and metadata ----

  /** A concept's datatype and answers, cached per client for the TTL (failed look-ups are not cached). */
  getConcept(uuid: string, options: CallOptions = {}): Promise<ConceptInfo> {
    const cached = this.concepts.get(uuid);
    if (cached && cached.expires > this.now()) return cached.concept;
    const concept = this.getOrUndefined<Record<string, any>>(`concept/${encodeURIComponent(uuid)}`, { v: 'full' }, options.signal).then((found) => {
      if (!found) throw new IntegrationError(`openmrs: concept ${uuid} does not exist`, { code: 'not-found', retryable: false, system: 'openmrs', field: 'concept' });
      return toConceptInfo(found);
    });
    this.concepts.set(uuid, { expires: this.now() + this.conceptTtlMs, concept });
    concept.catch(() => this.concepts.delete(uuid));
    return concept;
  }

  /** A metadata list for look-ups; `q` searches by name where OpenMRS supports it. */
  async listMetadata(resource: MetadataResource, q?: string, options: CallOptions = {}): Promise<Ref[]> {
    const query: Record<string, QueryValue> = { v: 'default', q: q || undefined };
    if (resource === 'concept' && !q) return [];
    return this.listAll<Ref>(resource, query, { ...options, maxPages: 3 });
  }

  /**
   * The uuid of a metadata item given its uuid or its name (mappers often carry names such as
   * "OpenMRS ID"). Lists are cached like concepts; an unknown name is bad input.
   */
  async resolveMetadata(resource: MetadataResource, nameOrUuid: string, options: CallOptions & { field?: string } = {}): Promise<string> {
    if (UUID.test(nameOrUuid)) return nameOrUuid;
    const key = resource;
    let cached = this.metadata.get(key);
    if (!cached || cached.expires <= this.now()) {
      cached = { expires: this.now() + this.conceptTtlMs, refs: this.listAll<Ref>(resource, { v: 'default' }, { signal: options.signal, maxPages: 10 }) };
      this.metadata.set(key, cached);
      cached.refs.catch(() => this.metadata.delete(key));
    }
    const wanted = nameOrUuid.trim().toLowerCase();
    const found = (await cached.refs).find((ref) => [ref.display, ref.name].some((name) => typeof name === 'string' && name.trim().toLowerCase() === wanted));
    if (!found) throw new IntegrationError(`openmrs: no ${resource} named "${nameOrUuid}"`, { code: 'bad-input', retryable: false, system: 'openmrs', field: options.field ?? resource });
    return found.uuid;
  }

  // ---- feeds, FHIR, saved searches ----

  /** One atom feed page: 'recent' or a page number. */
  async feedPage(feed: string, page: string, options: CallOptions = {}): Promise<FeedPage> {
    await this.warmUp(options.signal);
    const response = await this.http.get<string>(`${ATOM}/${encodeURIComponent(feed)}/${encodeURIComponent(page)}`, {
      signal: options.signal,
      responseType: 'text',
      headers: { Accept: 'application/atom+xml, application/xml;q=0.9' },
    });
    return parseFeedPage(response.data);
  }

  /** A FHIR search, page by page (Bundle `link[relation=next]`). */
  fhirSearch<T = Record<string, unknown>>(resourceType: string, params: Record<string, QueryValue>, options: CallOptions & { maxPages?: number } = {}): AsyncGenerator<T[]> {
    return this.http.paginate<unknown, T>(
      { path: `${FHIR}/${resourceType}`, query: params, signal: options.signal, headers: { Accept: 'application/fhir+json' } },
      bundleNextPaging<T>(),
      { signal: options.signal, maxPages: options.maxPages },
    );
  }

  /** The rows of a reportingrest saved search / report (all data sets). */
  async reportRows(reportUuid: string, options: CallOptions = {}): Promise<Array<Record<string, unknown>>> {
    const { data } = await this.rest<{ dataSets?: Array<{ rows?: Array<Record<string, unknown>> }> }>('GET', `reportingrest/reportdata/${encodeURIComponent(reportUuid)}`, { signal: options.signal });
    return (data?.dataSets ?? []).flatMap((dataSet) => dataSet.rows ?? []);
  }
}
