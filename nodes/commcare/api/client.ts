/**
 * A typed CommCare HQ client on the shared HttpClient: Case API v2 (read, list with cursor
 * paging, create, update, upsert by external_id, bulk changes, close) and the tastypie look-ups
 * (applications, locations, mobile workers, groups). Base URL is the HQ server
 * (`https://www.commcarehq.org`); every path is under `/a/<domain>/`. Usable without Node-RED.
 */
import { headerAuth } from '../../core/auth';
import { IntegrationError, badInput } from '../../core/errors';
import { type HttpClient, type HttpClientOptions, type HttpResponse, type Paging, type QueryValue, type RequestOptions, nextLinkPaging } from '../../core/http-client';
import { summarizeCommcareError } from './errors';
import { CHIS_DEVICE_ID } from './loop-marker';
import type {
  Application, BulkChangeResult, BulkItem, CaseChange, CaseFilters, CaseListPage, ChangeResult, CommcareCase, Group, Location, MissingCase, MobileWorker,
} from './types';

/** HQ's CASEBLOCK_CHUNKSIZE: the most changes one bulk request may carry. */
export const MAX_BULK_CHANGES = 100;
/** HQ's limit on one page of the case list. */
export const MAX_PAGE_SIZE = 5000;

export interface CommcareCredentials {
  username?: string;
  apiKey?: string;
}

/**
 * HttpClient options for CommCare HQ: `ApiKey <username>:<key>` auth, error summaries and the
 * User-Agent that HQ records as the device id of the forms our writes generate (loop marker).
 */
export function commcareHttpOptions(base: HttpClientOptions, credentials: CommcareCredentials): HttpClientOptions {
  return {
    ...base,
    system: 'commcare',
    auth: credentials.username && credentials.apiKey ? headerAuth('Authorization', `ApiKey ${credentials.username}:${credentials.apiKey}`) : undefined,
    summarizeError: summarizeCommcareError,
    headers: { ...base.headers, 'User-Agent': CHIS_DEVICE_ID },
  };
}

export interface CallOptions {
  signal?: AbortSignal;
}

const enc = encodeURIComponent;

/**
 * Case list pages: `next` is an absolute URL in HQ's answers (the cursor inside it carries every
 * filter); the OpenAPI description calls it `{cursor}`, which is sent back as a parameter.
 */
export function caseListPaging(): Paging<CaseListPage, CommcareCase> {
  const byLink = nextLinkPaging<CommcareCase>('cases', 'next') as unknown as Paging<CaseListPage, CommcareCase>;
  return {
    items: (page) => (Array.isArray(page?.cases) ? page.cases : []),
    next: (page, response, request) => {
      const next = page?.next;
      if (next && typeof next === 'object' && typeof next.cursor === 'string' && next.cursor) {
        return { ...request, query: { cursor: next.cursor } };
      }
      return byLink.next(page, response as HttpResponse<CaseListPage>, request);
    },
  };
}

/** The query string of a case list request. */
export function caseListQuery(filters: CaseFilters): Record<string, QueryValue> {
  const { properties, closed, limit, ...rest } = filters;
  const query: Record<string, QueryValue> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== undefined && value !== '') query[key] = value as QueryValue;
  if (closed !== undefined) query.closed = closed ? 'true' : 'false';
  if (limit !== undefined) query.limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(limit)));
  for (const [name, value] of Object.entries(properties ?? {})) query[`properties.${name}`] = value;
  return query;
}

export class CommcareClient {
  readonly domain: string;

  constructor(readonly http: HttpClient, domain: string) {
    const trimmed = domain.trim();
    if (!/^[\w.-]+$/.test(trimmed)) throw badInput('the CommCare project space (domain) is missing or invalid', 'domain');
    this.domain = trimmed;
  }

  private path(rest: string): string {
    return `a/${enc(this.domain)}/${rest}`;
  }

  private get casesPath(): string {
    return this.path('api/case/v2/');
  }

  /** One case by id; undefined when HQ does not know it. */
  async getCase(caseId: string, options: CallOptions = {}): Promise<CommcareCase | undefined> {
    const response = await this.http.get<CommcareCase>(`${this.casesPath}${enc(caseId)}/`, { signal: options.signal, acceptStatus: [404] });
    return response.status === 404 ? undefined : response.data;
  }

  /** One case by external_id; undefined when none. HQ answers 400 when several share it. */
  async getCaseByExternalId(externalId: string, options: CallOptions = {}): Promise<CommcareCase | undefined> {
    const response = await this.http.get<CommcareCase>(`${this.casesPath}ext/${enc(externalId)}/`, { signal: options.signal, acceptStatus: [404] });
    return response.status === 404 ? undefined : response.data;
  }

  /** Many cases at once by case id and/or external id (POST bulk-fetch); missing ones come back as error stubs. */
  async bulkFetch(ids: { caseIds?: string[]; externalIds?: string[] }, options: CallOptions = {}): Promise<Array<CommcareCase | MissingCase>> {
    const caseIds = ids.caseIds ?? [];
    const externalIds = ids.externalIds ?? [];
    if (caseIds.length === 0 && externalIds.length === 0) return [];
    const body: Record<string, string[]> = {};
    if (caseIds.length) body.case_ids = caseIds;
    if (externalIds.length) body.external_ids = externalIds;
    // A read: safe to repeat although it is a POST.
    const response = await this.http.post<{ cases?: Array<CommcareCase | MissingCase> }>(`${this.casesPath}bulk-fetch/`, { body, signal: options.signal, idempotent: true });
    return Array.isArray(response.data?.cases) ? response.data.cases : [];
  }

  /** Pages of cases matching the filters, following `next` until the last page. */
  listCases(filters: CaseFilters = {}, options: CallOptions & { maxPages?: number } = {}): AsyncGenerator<CommcareCase[], void, undefined> {
    const first: RequestOptions = { path: this.casesPath, query: caseListQuery(filters) };
    return this.http.paginate(first, caseListPaging(), { signal: options.signal, maxPages: options.maxPages });
  }

  /** One page of cases with its `next` link, for sources that checkpoint page by page. */
  async listCasesPage(request: { filters?: CaseFilters; next?: string; cursor?: string }, options: CallOptions = {}): Promise<CaseListPage> {
    let response: HttpResponse<CaseListPage>;
    if (request.next) {
      // Only the path and cursor are kept: credentials go to the configured server, never to a
      // host named in a link (HQ behind a proxy builds links with its internal host name).
      const link = new URL(request.next, 'http://commcare.invalid/');
      response = await this.http.get<CaseListPage>(`${link.pathname.replace(/^\/+/, '')}${link.search}`, { signal: options.signal });
    } else {
      const query = request.cursor ? { cursor: request.cursor } : caseListQuery(request.filters ?? {});
      response = await this.http.get<CaseListPage>(this.casesPath, { query, signal: options.signal });
    }
    return response.data;
  }

  /** Creates one case (POST): needs case_type, case_name and owner_id. Not idempotent. */
  async createCase(change: CaseChange, options: CallOptions = {}): Promise<ChangeResult> {
    const response = await this.http.post<ChangeResult>(this.casesPath, { body: change, signal: options.signal, idempotent: false });
    return response.data;
  }

  /** Updates one existing case by id (PUT /<case_id>/): repeating it gives the same case. */
  async updateCase(caseId: string, change: CaseChange, options: CallOptions = {}): Promise<ChangeResult> {
    const response = await this.http.put<ChangeResult>(`${this.casesPath}${enc(caseId)}/`, { body: change, signal: options.signal });
    return response.data;
  }

  /** Creates or updates the case with this external_id (PUT /ext/<external_id>/). */
  async upsertByExternalId(externalId: string, change: CaseChange, options: CallOptions = {}): Promise<ChangeResult> {
    const response = await this.http.put<ChangeResult>(`${this.casesPath}ext/${enc(externalId)}/`, { body: change, signal: options.signal });
    return response.data;
  }

  /**
   * Up to 100 changes in one request and one generated form (all or nothing). Items with
   * `create: null` are upserted by external_id. Retried on failure only when every item is an
   * update or an upsert, as a creation could then be made twice.
   */
  async bulkChange(items: BulkItem[], options: CallOptions = {}): Promise<BulkChangeResult> {
    if (items.length === 0) return { form_id: '', cases: [] };
    if (items.length > MAX_BULK_CHANGES) throw badInput(`a CommCare bulk change holds at most ${MAX_BULK_CHANGES} cases (got ${items.length})`, 'items');
    const idempotent = items.every((item) => item.create !== true);
    const response = await this.http.post<BulkChangeResult>(this.casesPath, { body: items, signal: options.signal, idempotent });
    const cases = response.data?.cases;
    if (!Array.isArray(cases) || cases.length !== items.length) {
      throw new IntegrationError(`commcare bulk change returned ${Array.isArray(cases) ? cases.length : 'no'} cases for ${items.length} changes`, {
        code: 'remote-error', retryable: false, system: 'commcare',
      });
    }
    return response.data;
  }

  /** Closes a case. */
  closeCase(caseId: string, options: CallOptions = {}): Promise<ChangeResult> {
    return this.updateCase(caseId, { close: true }, options);
  }

  // ---- look-ups (tastypie: {meta: {next}, objects}) ----

  private async all<T>(rest: string, query: Record<string, QueryValue> = {}, options: CallOptions = {}): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.http.paginate<unknown, T>({ path: this.path(rest), query: { limit: 100, ...query } }, nextLinkPaging<T>('objects', 'meta.next'), { signal: options.signal, maxPages: 50 })) {
      items.push(...page);
    }
    return items;
  }

  listApplications(options: CallOptions = {}): Promise<Application[]> {
    return this.all<Application>('api/v0.5/application/', {}, options);
  }

  listLocations(options: CallOptions = {}): Promise<Location[]> {
    return this.all<Location>('api/location/v2/', {}, options);
  }

  listMobileWorkers(options: CallOptions = {}): Promise<MobileWorker[]> {
    return this.all<MobileWorker>('api/v0.5/user/', {}, options);
  }

  listGroups(options: CallOptions = {}): Promise<Group[]> {
    return this.all<Group>('api/v0.5/group/', {}, options);
  }

  /** Case types named by the applications (their modules and case_types). */
  async listCaseTypes(options: CallOptions = {}): Promise<string[]> {
    const types = new Set<string>();
    for (const app of await this.listApplications(options)) {
      for (const type of Object.keys(app.case_types ?? {})) types.add(type);
      for (const module of app.modules ?? []) if (module.case_type) types.add(module.case_type);
    }
    return [...types].sort();
  }
}

/** A display name from HQ's translated names ({"en": "Register"}) or a plain string. */
export function displayName(name: Record<string, string> | string | undefined, fallback = ''): string {
  if (typeof name === 'string') return name;
  if (!name) return fallback;
  return name.en ?? Object.values(name)[0] ?? fallback;
}
