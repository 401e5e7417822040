/**
 * A typed RapidPro API v2 client on the shared HttpClient: contacts (read, write by URN or
 * UUID, delete), groups, fields, flows, flow starts and runs. Base URL is the workspace's host
 * (`https://rapidpro.example.org`); every path is under `/api/v2/`. Usable without Node-RED.
 *
 * Throttling: RapidPro rate-limits every endpoint per workspace and answers 429 with
 * Retry-After. A throttled request is waited out (RapidPro expects clients to slow down) for up
 * to `maxThrottleWaitMs` per wait and `throttleRounds` rounds of the shared client's retries;
 * a longer wait fails as `rate-limited` carrying `retryAfterMs`, so a flow can reschedule.
 */
import { headerAuth } from '../../core/auth';
import { badInput, isIntegrationError } from '../../core/errors';
import { type HttpClient, type HttpClientOptions, type QueryValue, type RequestOptions, nextLinkPaging } from '../../core/http-client';
import { DEFAULT_RETRY, withRetry } from '../../core/retry';
import { summarizeRapidproError } from './errors';
import type { Contact, ContactWrite, Field, Flow, FlowStart, FlowStartRequest, Group, Page, Run } from './types';

export const API_PATH = 'api/v2';
/** DRF throttles in RapidPro are per hour: a wait of a few minutes is normal. */
export const DEFAULT_MAX_THROTTLE_WAIT_MS = 5 * 60_000;
const DEFAULT_THROTTLE_ROUNDS = 5;
/** Groups, fields and flows change rarely; a miss refreshes at once anyway. */
const DEFAULT_METADATA_TTL_MS = 60_000;

export interface RapidproSettings {
  maxThrottleWaitMs?: number;
}

/** HttpClient options for RapidPro: `Authorization: Token <token>`, error summaries, throttle waits. */
export function rapidproHttpOptions(base: HttpClientOptions, token: string | undefined, settings: RapidproSettings = {}): HttpClientOptions {
  return {
    ...base,
    system: 'rapidpro',
    auth: token ? headerAuth('Authorization', `Token ${token.trim()}`) : undefined,
    summarizeError: summarizeRapidproError,
    retry: { ...base.retry, maxRetryAfterMs: settings.maxThrottleWaitMs ?? DEFAULT_MAX_THROTTLE_WAIT_MS },
  };
}

export interface CallOptions {
  signal?: AbortSignal;
}

export type ContactRef = { uuid: string } | { urn: string };

export interface ContactWriteResult {
  contact: Contact;
  created: boolean;
}

export interface RunsQuery {
  flow?: string;
  /** Runs modified on or after this time (inclusive). */
  after?: string;
}

export interface RapidproClientOptions {
  maxThrottleWaitMs?: number;
  throttleRounds?: number;
  metadataTtlMs?: number;
  now?: () => number;
}

/** A list kept for a while; `refresh` reloads it (e.g. after a name was not found). */
class CachedList<T> {
  private value?: Promise<T[]>;
  private loadedAt = 0;

  constructor(private readonly load: (signal?: AbortSignal) => Promise<T[]>, private readonly ttlMs: number, private readonly now: () => number) {}

  get(options: { refresh?: boolean; signal?: AbortSignal } = {}): Promise<T[]> {
    if (options.refresh || !this.value || this.now() - this.loadedAt > this.ttlMs) {
      this.loadedAt = this.now();
      const loading = this.load(options.signal);
      this.value = loading;
      // A failed load must not be served from the cache.
      loading.catch(() => {
        if (this.value === loading) this.value = undefined;
      });
    }
    return this.value;
  }

  invalidate(): void {
    this.value = undefined;
  }
}

const refQuery = (ref: ContactRef): Record<string, QueryValue> => ('uuid' in ref ? { uuid: ref.uuid } : { urn: ref.urn });

export class RapidproClient {
  private readonly maxThrottleWaitMs: number;
  private readonly throttleRounds: number;
  private readonly groupList: CachedList<Group>;
  private readonly fieldList: CachedList<Field>;

  constructor(readonly http: HttpClient, options: RapidproClientOptions = {}) {
    this.maxThrottleWaitMs = options.maxThrottleWaitMs ?? DEFAULT_MAX_THROTTLE_WAIT_MS;
    this.throttleRounds = Math.max(1, options.throttleRounds ?? DEFAULT_THROTTLE_ROUNDS);
    const ttl = options.metadataTtlMs ?? DEFAULT_METADATA_TTL_MS;
    const now = options.now ?? Date.now;
    this.groupList = new CachedList((signal) => this.listAll<Group>('groups.json', {}, signal), ttl, now);
    this.fieldList = new CachedList((signal) => this.listAll<Field>('fields.json', {}, signal), ttl, now);
  }

  // ---- contacts ----

  async contact(ref: ContactRef, options: CallOptions = {}): Promise<Contact | undefined> {
    const response = await this.call<Page<Contact>>({ method: 'GET', path: `${API_PATH}/contacts.json`, query: refQuery(ref), signal: options.signal });
    return response.results?.[0];
  }

  /**
   * POST contacts.json: creates (no ref), or updates the contact the ref names. With `{urn}` it
   * is RapidPro's own upsert: the contact with that URN is updated, or created with it, in one
   * request, so a re-sent request cannot make a second contact.
   */
  async writeContact(ref: ContactRef | undefined, body: ContactWrite, options: CallOptions = {}): Promise<ContactWriteResult> {
    const response = await this.callWithStatus<Contact>({
      method: 'POST',
      path: `${API_PATH}/contacts.json`,
      query: ref ? refQuery(ref) : undefined,
      body,
      // Upserting by URN or updating by UUID gives the same result when repeated.
      idempotent: ref !== undefined,
      signal: options.signal,
    });
    return { contact: response.data, created: response.status === 201 };
  }

  /** Updates a contact by UUID; undefined when it no longer exists. */
  async updateContact(uuid: string, body: ContactWrite, options: CallOptions = {}): Promise<Contact | undefined> {
    const response = await this.callWithStatus<Contact>({
      method: 'POST',
      path: `${API_PATH}/contacts.json`,
      query: { uuid },
      body,
      idempotent: true,
      acceptStatus: [404],
      signal: options.signal,
    });
    return response.status === 404 ? undefined : response.data;
  }

  /** Deletes a contact; false when there was none. */
  async deleteContact(uuid: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.callWithStatus<unknown>({ method: 'DELETE', path: `${API_PATH}/contacts.json`, query: { uuid }, acceptStatus: [404], signal: options.signal });
    return response.status !== 404;
  }

  // ---- groups and fields ----

  groups(options: CallOptions & { refresh?: boolean } = {}): Promise<Group[]> {
    return this.groupList.get(options);
  }

  fields(options: CallOptions & { refresh?: boolean } = {}): Promise<Field[]> {
    return this.fieldList.get(options);
  }

  /**
   * Groups by UUID or name (case-insensitive, as RapidPro compares names). Unknown references
   * are bad input listing the workspace's groups.
   */
  async resolveGroups(refs: string[], options: CallOptions & { field?: string } = {}): Promise<Group[]> {
    if (refs.length === 0) return [];
    const find = (groups: Group[], ref: string): Group | undefined =>
      groups.find((group) => group.uuid === ref.toLowerCase()) ?? groups.find((group) => group.name.toLowerCase() === ref.trim().toLowerCase());
    let groups = await this.groups(options);
    if (refs.some((ref) => !find(groups, ref))) groups = await this.groups({ ...options, refresh: true });
    const missing = refs.filter((ref) => !find(groups, ref));
    if (missing.length) {
      const known = groups.map((group) => group.name).sort((a, b) => a.localeCompare(b)).join(', ') || 'none';
      throw badInput(`unknown RapidPro group${missing.length > 1 ? 's' : ''} ${missing.map((ref) => `"${ref}"`).join(', ')} (groups: ${known})`, options.field ?? 'groups');
    }
    return refs.map((ref) => find(groups, ref) as Group);
  }

  /** Creates a contact field (RapidPro derives the key from the name). */
  async createField(name: string, type: 'text' | 'number' | 'datetime', options: CallOptions = {}): Promise<Field> {
    const field = await this.call<Field>({ method: 'POST', path: `${API_PATH}/fields.json`, body: { name, type }, signal: options.signal });
    this.fieldList.invalidate();
    return field;
  }

  // ---- flows, flow starts, runs ----

  flows(options: CallOptions = {}): Promise<Flow[]> {
    return this.listAll<Flow>('flows.json', { archived: 'false' }, options.signal);
  }

  async flow(uuid: string, options: CallOptions = {}): Promise<Flow | undefined> {
    const page = await this.call<Page<Flow>>({ method: 'GET', path: `${API_PATH}/flows.json`, query: { uuid }, signal: options.signal });
    return page.results?.[0];
  }

  /** Not idempotent: a re-sent start starts the flow again. */
  startFlow(request: FlowStartRequest, options: CallOptions = {}): Promise<FlowStart> {
    return this.call<FlowStart>({ method: 'POST', path: `${API_PATH}/flow_starts.json`, body: request, idempotent: false, signal: options.signal });
  }

  /**
   * Runs oldest change first (`reverse=true`), modified on or after `query.after`, one page at a
   * time following `next` links. Paths are left out: they can be long and the values say what
   * was answered.
   */
  runPages(query: RunsQuery, options: CallOptions = {}): AsyncGenerator<Run[], void, undefined> {
    const first: RequestOptions = {
      method: 'GET',
      path: `${API_PATH}/runs.json`,
      query: { flow: query.flow || undefined, after: query.after || undefined, reverse: 'true', paths: 'false' },
    };
    return this.http.paginate<unknown, Run>(first, nextLinkPaging<Run>('results', 'next'), { signal: options.signal });
  }

  /** The most recently modified run (of a flow), as the server orders them. */
  async latestRun(query: Pick<RunsQuery, 'flow'>, options: CallOptions = {}): Promise<Run | undefined> {
    const page = await this.call<Page<Run>>({ method: 'GET', path: `${API_PATH}/runs.json`, query: { flow: query.flow || undefined, paths: 'false' }, signal: options.signal });
    return page.results?.[0];
  }

  // ---- plumbing ----

  private async listAll<T>(resource: string, query: Record<string, QueryValue>, signal?: AbortSignal): Promise<T[]> {
    return this.throttled(async () => {
      const items: T[] = [];
      for await (const page of this.http.paginate<unknown, T>({ method: 'GET', path: `${API_PATH}/${resource}`, query }, nextLinkPaging<T>('results', 'next'), { signal })) {
        items.push(...page);
      }
      return items;
    }, signal);
  }

  private async call<T>(request: RequestOptions): Promise<T> {
    return (await this.callWithStatus<T>(request)).data;
  }

  private callWithStatus<T>(request: RequestOptions): Promise<{ status: number; data: T }> {
    return this.throttled(async () => {
      const response = await this.http.request<T>(request);
      return { status: response.status, data: response.data };
    }, request.signal);
  }

  /** More rounds of waiting when the shared client's attempts were all throttled. */
  private throttled<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(fn, {
      policy: { ...DEFAULT_RETRY, maxAttempts: this.throttleRounds, maxRetryAfterMs: this.maxThrottleWaitMs },
      signal,
      shouldRetry: (error) =>
        isIntegrationError(error) && error.code === 'rate-limited' && error.retryAfterMs !== undefined && error.retryAfterMs <= this.maxThrottleWaitMs,
    });
  }
}
