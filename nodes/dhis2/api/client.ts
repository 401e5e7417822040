/**
 * A typed DHIS2 client on the shared HttpClient, usable without Node-RED. The base URL is the
 * server root (`https://dhis.example.org` or `http://host:8080/dhis`); calls go to `api/...`.
 *
 * Two tracker dialects: `tracker` (2.38+, POST /api/tracker with an ImportReport) and `legacy`
 * (2.3x, /api/trackedEntityInstances and /api/events with ImportSummaries).
 */
import { basicAuth, headerAuth } from '../../core/auth';
import { IntegrationError, badInput } from '../../core/errors';
import type { HttpClient, HttpClientOptions, HttpResponse, Paging, QueryValue, RequestOptions } from '../../core/http-client';
import { dataValueSummary, isImportReport, summarizeDhis2Error } from './errors';
import type { DataValueImportSummary, ImportReport, Json, TrackerPayload } from './types';

export type ApiMode = 'tracker' | 'legacy';
export type AuthType = 'basic' | 'pat';
export type AtomicMode = 'ALL' | 'OBJECT';
export type ImportStrategy = 'CREATE' | 'UPDATE' | 'CREATE_AND_UPDATE' | 'DELETE';

export interface Dhis2Credentials {
  username?: string;
  password?: string;
  token?: string;
}

/** HttpClient options for DHIS2: Basic or personal access token (`Authorization: ApiToken ...`), DHIS2 error summaries. */
export function dhis2HttpOptions(base: HttpClientOptions, authType: AuthType, credentials: Dhis2Credentials): HttpClientOptions {
  let auth;
  if (authType === 'pat') {
    if (!credentials.token) throw badInput('the DHIS2 server uses a personal access token but none is set', 'token');
    auth = headerAuth('Authorization', `ApiToken ${credentials.token}`);
  } else if (credentials.username) {
    auth = basicAuth(credentials.username, credentials.password ?? '');
  }
  return { ...base, system: 'dhis2', auth, summarizeError: summarizeDhis2Error };
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface TrackerImportOptions extends CallOptions {
  atomicMode?: AtomicMode;
  importStrategy?: ImportStrategy;
  /**
   * True when every object in the payload carries its UID and the strategy is
   * CREATE_AND_UPDATE or DELETE: then a re-sent import changes nothing more, and the client may
   * retry a timeout.
   */
  idempotent?: boolean;
}

/** A tracked entity as the unique-attribute look-up returns it. */
export interface FoundTrackedEntity {
  trackedEntity: string;
  trackedEntityType?: string;
  orgUnit?: string;
  attributes: Array<{ attribute: string; value: string }>;
  enrollments: Array<{ enrollment: string; program: string; status: string; orgUnit?: string }>;
}

export interface MetadataItem {
  id: string;
  displayName?: string;
  name?: string;
  [key: string]: unknown;
}

export const TRACKER_LISTS = {
  trackedEntities: 'tracker/trackedEntities',
  enrollments: 'tracker/enrollments',
  events: 'tracker/events',
} as const;
export type TrackerList = keyof typeof TRACKER_LISTS;

const LOOKUP_CHUNK = 50;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const arrayOf = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isObject) : []);
const stringOf = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);

/** Escapes the characters DHIS2 filters treat as separators. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[/:,;]/g, (char) => `/${char}`);
}

/**
 * Page-number paging over a list whose items sit under one of `keys` (2.40 `instances`, 2.41+
 * `trackedEntities`/`events`, metadata collections), with `pager` or top-level paging fields.
 */
export function dhis2Paging(keys: string[]): Paging<unknown, Json> {
  const items = (page: unknown): Json[] => {
    if (!isObject(page)) return [];
    for (const key of keys) if (Array.isArray(page[key])) return arrayOf(page[key]);
    return [];
  };
  return {
    items,
    next: (page, _response, request) => {
      const found = items(page);
      if (found.length === 0) return undefined;
      const pager = isObject(page) && isObject(page.pager) ? page.pager : isObject(page) ? page : {};
      if (pager.isLastPage === true) return undefined;
      const current = Number(pager.page ?? request.query?.page ?? 1);
      const pageCount = Number(pager.pageCount);
      if (Number.isFinite(pageCount) && pager.pageCount !== undefined) {
        if (current >= pageCount) return undefined;
      } else {
        const pageSize = Number(pager.pageSize ?? request.query?.pageSize);
        if (Number.isFinite(pageSize) && found.length < pageSize) return undefined;
      }
      return { ...request, query: { ...request.query, page: current + 1 } };
    },
  };
}

export class Dhis2Client {
  constructor(readonly http: HttpClient, readonly mode: ApiMode = 'tracker') {}

  async systemInfo(options: CallOptions = {}): Promise<{ version?: string; systemName?: string; serverTimeZoneId?: string }> {
    const response = await this.http.get<Json>('api/system/info', { signal: options.signal });
    return { version: stringOf(response.data?.version), systemName: stringOf(response.data?.systemName), serverTimeZoneId: stringOf(response.data?.serverTimeZoneId) };
  }

  async me(options: CallOptions = {}): Promise<{ username?: string; displayName?: string }> {
    const response = await this.http.get<Json>('api/me', { query: { fields: 'username,displayName' }, signal: options.signal });
    return { username: stringOf(response.data?.username), displayName: stringOf(response.data?.displayName) };
  }

  /** One page of a metadata collection, e.g. ('programs', {filter: ['name:ilike:follow']}). */
  async listMetadata(resource: string, query: { fields?: string; filter?: string[]; pageSize?: number } & CallOptions = {}): Promise<MetadataItem[]> {
    const response = await this.http.get<Json>(`api/${resource}`, {
      query: { fields: query.fields ?? 'id,displayName', filter: query.filter, pageSize: query.pageSize ?? 200, order: 'displayName:asc' },
      signal: query.signal,
    });
    return arrayOf(response.data?.[resource]) as MetadataItem[];
  }

  async getMetadata(resource: string, id: string, fields: string, options: CallOptions = {}): Promise<Json> {
    const response = await this.http.get<Json>(`api/${resource}/${encodeURIComponent(id)}`, { query: { fields }, signal: options.signal });
    return response.data ?? {};
  }

  /**
   * POST /api/tracker, synchronously. A 409 carrying an ImportReport is an answer (the report
   * says which objects failed), not an exception; any other failure throws.
   */
  async importTracker(payload: TrackerPayload, options: TrackerImportOptions = {}): Promise<ImportReport> {
    const response = await this.http.post<unknown>('api/tracker', {
      query: { async: false, importStrategy: options.importStrategy ?? 'CREATE_AND_UPDATE', atomicMode: options.atomicMode ?? 'OBJECT', reportMode: 'ERRORS' },
      body: payload,
      acceptStatus: [409],
      idempotent: options.idempotent,
      signal: options.signal,
    });
    const report = isObject(response.data) && isImportReport(response.data.response) ? response.data.response : response.data;
    if (isImportReport(report)) return report;
    throw this.unexpected(response, 'tracker import answered without an ImportReport');
  }

  /** POST /api/trackedEntityInstances (legacy): the raw WebMessage, whose nested summaries the caller walks. */
  async importLegacyTrackedEntities(trackedEntityInstances: Json[], options: CallOptions & { idempotent?: boolean } = {}): Promise<unknown> {
    const response = await this.http.post<unknown>('api/trackedEntityInstances', {
      query: { strategy: 'CREATE_AND_UPDATE' },
      body: { trackedEntityInstances },
      acceptStatus: [409],
      idempotent: options.idempotent,
      signal: options.signal,
    });
    return this.legacyAnswer(response);
  }

  /** POST /api/events (legacy). */
  async importLegacyEvents(events: Json[], options: CallOptions & { idempotent?: boolean } = {}): Promise<unknown> {
    const response = await this.http.post<unknown>('api/events', {
      query: { strategy: 'CREATE_AND_UPDATE' },
      body: { events },
      acceptStatus: [409],
      idempotent: options.idempotent,
      signal: options.signal,
    });
    return this.legacyAnswer(response);
  }

  /** A legacy delete; resolves false when the object is not there (any more). */
  async deleteLegacy(resource: 'trackedEntityInstances' | 'enrollments' | 'events', uid: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.http.delete<unknown>(`api/${resource}/${encodeURIComponent(uid)}`, { acceptStatus: [404], signal: options.signal });
    return response.status !== 404;
  }

  /**
   * Tracked entities whose `attribute` has one of `values`, with their attributes and
   * enrollments. Searches by tracked entity type across every org unit the user can reach.
   */
  async findByAttribute(trackedEntityType: string, attribute: string, values: string[], options: CallOptions = {}): Promise<FoundTrackedEntity[]> {
    const found: FoundTrackedEntity[] = [];
    const unique = [...new Set(values)];
    for (let start = 0; start < unique.length; start += LOOKUP_CHUNK) {
      const chunk = unique.slice(start, start + LOOKUP_CHUNK);
      const filter = chunk.length === 1 ? `${attribute}:eq:${escapeFilterValue(chunk[0])}` : `${attribute}:in:${chunk.map(escapeFilterValue).join(';')}`;
      const legacy = this.mode === 'legacy';
      const response = await this.http.get<Json>(legacy ? 'api/trackedEntityInstances' : 'api/tracker/trackedEntities', {
        query: {
          trackedEntityType,
          ouMode: 'ACCESSIBLE',
          filter,
          fields: legacy
            ? 'trackedEntityInstance,trackedEntityType,orgUnit,attributes[attribute,value],enrollments[enrollment,program,status,orgUnit]'
            : 'trackedEntity,trackedEntityType,orgUnit,attributes[attribute,value],enrollments[enrollment,program,status,orgUnit]',
          pageSize: chunk.length * 2 + 1,
        },
        signal: options.signal,
      });
      const list = arrayOf(response.data?.instances ?? response.data?.trackedEntities ?? response.data?.trackedEntityInstances);
      for (const item of list) {
        const uid = stringOf(item.trackedEntity) ?? stringOf(item.trackedEntityInstance);
        if (!uid) continue;
        found.push({
          trackedEntity: uid,
          trackedEntityType: stringOf(item.trackedEntityType),
          orgUnit: stringOf(item.orgUnit),
          attributes: arrayOf(item.attributes).map((a) => ({ attribute: String(a.attribute), value: a.value == null ? '' : String(a.value) })),
          enrollments: arrayOf(item.enrollments).map((e) => ({ enrollment: String(e.enrollment), program: String(e.program), status: String(e.status ?? 'ACTIVE'), orgUnit: stringOf(e.orgUnit) })),
        });
      }
    }
    return found;
  }

  /** The UID of a tracked entity's ACTIVE enrollment in a program, if it has one. */
  async activeEnrollment(trackedEntity: string, program: string, options: CallOptions = {}): Promise<string | undefined> {
    if (this.mode === 'legacy') {
      const response = await this.http.get<Json>(`api/trackedEntityInstances/${encodeURIComponent(trackedEntity)}`, {
        query: { program, fields: 'enrollments[enrollment,program,status]' },
        signal: options.signal,
      });
      const match = arrayOf(response.data?.enrollments).find((e) => e.program === program && e.status === 'ACTIVE');
      return stringOf(match?.enrollment);
    }
    const response = await this.http.get<Json>('api/tracker/enrollments', {
      query: { trackedEntity, program, status: 'ACTIVE', fields: 'enrollment,program,status', pageSize: 5 },
      signal: options.signal,
    });
    const match = arrayOf(response.data?.instances ?? response.data?.enrollments).find((e) => e.program === program && e.status === 'ACTIVE');
    return stringOf(match?.enrollment);
  }

  /** POST /api/dataValueSets; conflicts (409 WARNING or ERROR) come back in the summary, not as exceptions. */
  async importDataValueSet(dataValueSet: Json, options: CallOptions & { dryRun?: boolean; importStrategy?: ImportStrategy } = {}): Promise<DataValueImportSummary> {
    const response = await this.http.post<unknown>('api/dataValueSets', {
      query: { dryRun: options.dryRun ? true : undefined, importStrategy: options.importStrategy ?? 'CREATE_AND_UPDATE', async: false },
      body: dataValueSet,
      acceptStatus: [409],
      // A data value set is keyed by element, period, org unit and combos: sending it twice stores the same values.
      idempotent: true,
      signal: options.signal,
    });
    const summary = dataValueSummary(response.data);
    if (summary) return summary;
    throw this.unexpected(response, 'data value import answered without an ImportSummary');
  }

  /** GET /api/dataValueSets (not paged by DHIS2). */
  async getDataValueSet(query: Record<string, QueryValue>, options: CallOptions = {}): Promise<Json> {
    const response = await this.http.get<Json>('api/dataValueSets', { query, signal: options.signal });
    return response.data ?? {};
  }

  /** Pages of a tracker list (2.38+) or its legacy equivalent, each page's items. */
  pages(request: RequestOptions, keys: string[], options: CallOptions = {}): AsyncGenerator<Json[], void, undefined> {
    return this.http.paginate<unknown, Json>(request, dhis2Paging(keys), { signal: options.signal });
  }

  private legacyAnswer(response: HttpResponse<unknown>): unknown {
    if (response.status === 409 && !(isObject(response.data) && isObject(response.data.response))) {
      throw this.conflict(response);
    }
    return response.data;
  }

  private conflict(response: HttpResponse<unknown>): IntegrationError {
    const summary = summarizeDhis2Error(response.status, response.data) ?? `HTTP ${response.status}`;
    return new IntegrationError(`dhis2 import failed: HTTP ${response.status}: ${summary}`, {
      code: 'conflict',
      status: response.status,
      system: 'dhis2',
      remote: { summary, details: response.data },
    });
  }

  private unexpected(response: HttpResponse<unknown>, what: string): IntegrationError {
    if (response.status === 409) return this.conflict(response);
    return new IntegrationError(`dhis2: ${what}`, { code: 'remote-error', retryable: false, status: response.status, system: 'dhis2', remote: { summary: what, details: response.data } });
  }
}
