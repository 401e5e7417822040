/**
 * The one HTTP client every node uses. It knows no system by name: each system's api module
 * gives it a base URL, an auth provider and an error summariser, and gets back timeouts,
 * retries with backoff, a concurrency limit, session reuse, pagination and redacted errors.
 *
 * Cancellation: a request aborted by the caller's signal fails with an IntegrationError named
 * 'AbortError' (code 'unreachable', message 'aborted', not retryable); after close() every
 * request fails the same way with message 'client closed'. Checking `error.name === 'AbortError'`
 * therefore tells a deliberate cancel from a failure, and `code` still means "did not complete".
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosResponse } from 'axios';
import type { AuthProvider } from './auth';
import { type ErrorCode, IntegrationError, abortReason, classifyNetworkError, classifyStatus, defaultErrorSummary, isIntegrationError, truncate } from './errors';
import { ConcurrencyLimiter, type LimiterStats } from './limiter';
import { credentialsInUrl, isSensitiveHeader, redactDeep, redactText, redactUrl } from './redact';
import { isRecording, noteExchange, reportExchange } from './request-context';
import { DEFAULT_RETRY, type RetryPolicy, parseRetryAfter, withRetry } from './retry';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type QueryValue = string | number | boolean | undefined | Array<string | number>;

/** One HTTP exchange (one attempt), for the request log. Everything in it is redacted. */
export interface RequestRecord {
  method: HttpMethod;
  url: string;
  /** 0 when no response arrived (network failure, timeout, abort). */
  status: number;
  durationMs: number;
  attempt: number;
  error?: ErrorCode;
  requestBody?: unknown;
  responseBody?: unknown;
}

export interface HttpClientOptions {
  baseUrl: string;
  /** Names the system in errors, e.g. 'openmrs'. */
  system: string;
  auth?: AuthProvider;
  /** Per attempt, from sending to the last byte of the response. Default 30000. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Requests in flight at once; the rest queue in order. Default 8. */
  maxConcurrent?: number;
  /** Reuse connections (one agent per client, maxSockets = maxConcurrent). Default true. */
  keepAlive?: boolean;
  /** TLS certificate verification; only an explicit false turns it off. */
  rejectUnauthorized?: boolean;
  headers?: Record<string, string>;
  /** The system's own reading of its error bodies; falls back to defaultErrorSummary. */
  summarizeError?: (status: number, body: unknown) => string | undefined;
  /** Keeps cookies such as JSESSIONID from responses and sends them back (session reuse). */
  sessionCookies?: boolean;
  onRequestComplete?: (record: RequestRecord) => void;
}

export interface RequestOptions {
  method?: HttpMethod;
  /** Relative to baseUrl. */
  path?: string;
  /** Absolute (or relative to baseUrl), e.g. a next link; takes precedence over path. */
  url?: string;
  /** Arrays repeat the parameter (DHIS2 filter=...&filter=...); undefined values are left out. */
  query?: Record<string, QueryValue>;
  /**
   * Objects are sent as JSON (Content-Type application/json unless a header says otherwise);
   * strings as they are (text/plain unless a header says otherwise); Buffers and URLSearchParams
   * as they are.
   */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** 'json' (default) parses the body; 'text' returns it as a string. */
  responseType?: 'json' | 'text';
  /**
   * False for non-idempotent writes: then only failures that prove the request never reached
   * the server are retried (connect errors like ECONNREFUSED/ENOTFOUND, 429, 503).
   * Default: true except for POST and PATCH.
   */
  idempotent?: boolean;
  retry?: Partial<RetryPolicy> | false;
  /** Statuses that are answers, not errors (e.g. 404 for a look-up). */
  acceptStatus?: number[];
}

export interface HttpResponse<T> {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  data: T;
  /** HTTP exchanges it took, including retries and a re-send after an auth refresh. */
  attempts: number;
  /** The URL requested (not redacted: it is the caller's own), for resolving relative links. */
  url: string;
}

export type ShortcutOptions = Omit<RequestOptions, 'method' | 'path'>;

export interface Paging<TPage, TItem> {
  items(page: TPage): TItem[];
  next(page: TPage, response: HttpResponse<TPage>, request: RequestOptions): RequestOptions | undefined;
}

export interface PaginateOptions {
  maxPages?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_CONCURRENT = 8;
const DETAILS_TEXT_LIMIT = 2_000;
const NON_IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(['POST', 'PATCH']);
/** Statuses that mean the server refused the request before processing it. */
const NOT_PROCESSED_STATUSES = new Set([429, 503]);
/** Where the server's Retry-After is a wait for this same request. */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/** Failures that prove the request was never processed, so even a non-idempotent write may be re-sent. */
const neverProcessed = new WeakSet<IntegrationError>();

export class HttpClient {
  readonly system: string;
  private readonly options: HttpClientOptions;
  private readonly baseUrl: string;
  private readonly policy: RetryPolicy;
  private readonly limiter: ConcurrencyLimiter;
  private readonly closing = new AbortController();
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly cookies = new Map<string, string>();

  constructor(options: HttpClientOptions) {
    if (!URL.canParse(options.baseUrl)) {
      throw new IntegrationError(`${options.system}: invalid base URL "${redactUrl(options.baseUrl)}"`, { code: 'bad-input', retryable: false, system: options.system, field: 'baseUrl' });
    }
    this.options = options;
    this.system = options.system;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    // Config nodes pass what an editor field held; a fractional limit means its whole part.
    const maxConcurrent = Math.max(1, Math.floor(options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT));
    this.limiter = new ConcurrencyLimiter(maxConcurrent);
    // Every request in flight or queued listens for close(): thousands are normal, not a leak.
    setMaxListeners(0, this.closing.signal);
    const keepAlive = options.keepAlive ?? true;
    this.httpAgent = new http.Agent({ keepAlive, maxSockets: maxConcurrent });
    this.httpsAgent = new https.Agent({ keepAlive, maxSockets: maxConcurrent, rejectUnauthorized: options.rejectUnauthorized !== false });
  }

  get stats(): LimiterStats {
    return { active: this.limiter.active, queued: this.limiter.queued };
  }

  /** For a node's status ("3 queued"); returns the unsubscribe function. */
  onStats(listener: (stats: LimiterStats) => void): () => void {
    return this.limiter.onChange(listener);
  }

  get<T = unknown>(path: string, options: ShortcutOptions = {}): Promise<HttpResponse<T>> {
    return this.request<T>({ ...options, method: 'GET', path });
  }

  post<T = unknown>(path: string, options: ShortcutOptions = {}): Promise<HttpResponse<T>> {
    return this.request<T>({ ...options, method: 'POST', path });
  }

  put<T = unknown>(path: string, options: ShortcutOptions = {}): Promise<HttpResponse<T>> {
    return this.request<T>({ ...options, method: 'PUT', path });
  }

  patch<T = unknown>(path: string, options: ShortcutOptions = {}): Promise<HttpResponse<T>> {
    return this.request<T>({ ...options, method: 'PATCH', path });
  }

  delete<T = unknown>(path: string, options: ShortcutOptions = {}): Promise<HttpResponse<T>> {
    return this.request<T>({ ...options, method: 'DELETE', path });
  }

  async request<T = unknown>(options: RequestOptions = {}): Promise<HttpResponse<T>> {
    const method = options.method ?? 'GET';
    const url = this.resolveUrl(options);
    const cancelledBeforeStart = this.cancellation(method, url, options.signal);
    if (cancelledBeforeStart) throw cancelledBeforeStart;
    const idempotent = options.idempotent ?? !NON_IDEMPOTENT.has(method);
    const policy = options.retry === false ? { ...this.policy, maxAttempts: 1 } : { ...this.policy, ...options.retry };
    const linked = linkSignals([this.closing.signal, options.signal]);
    let attempts = 0;
    let refreshed = false;
    try {
      return await withRetry(
        async () => {
          for (;;) {
            attempts += 1;
            try {
              return await this.limiter.run(() => this.send<T>(method, url, options, attempts, linked.signal), linked.signal);
            } catch (error) {
              if (!isIntegrationError(error) || error.status !== 401) throw error;
              // A stale session cookie must not outlive the rejection it caused.
              this.cookies.clear();
              if (refreshed || !this.options.auth?.refresh) throw error;
              refreshed = true;
              if (!(await this.options.auth.refresh())) throw error;
            }
          }
        },
        {
          policy,
          signal: linked.signal,
          shouldRetry: (error) => isIntegrationError(error) && error.retryable && (idempotent || neverProcessed.has(error)),
        },
      );
    } catch (error) {
      throw this.cancellation(method, url, options.signal) ?? error;
    } finally {
      linked.dispose();
    }
  }

  /** Follows pages until `next` returns undefined (or maxPages); yields each page's items. */
  async *paginate<TPage, TItem>(first: RequestOptions, paging: Paging<TPage, TItem>, options: PaginateOptions = {}): AsyncGenerator<TItem[], void, undefined> {
    const maxPages = options.maxPages ?? Number.POSITIVE_INFINITY;
    const fetched = new Set<string>();
    let request: RequestOptions | undefined = first;
    for (let count = 0; request && count < maxPages; count += 1) {
      const method = request.method ?? 'GET';
      const url = this.resolveUrl(request);
      // A server that links a page to itself would otherwise be paged forever.
      if (fetched.has(`${method} ${url}`)) {
        throw new IntegrationError(`${this.system} pagination loops: ${redactUrl(url)} was already fetched`, {
          code: 'remote-error',
          retryable: false,
          system: this.system,
          request: { method, url: redactUrl(url) },
        });
      }
      fetched.add(`${method} ${url}`);
      const response: HttpResponse<TPage> = await this.request<TPage>(options.signal ? { ...request, signal: options.signal } : request);
      yield paging.items(response.data);
      request = paging.next(response.data, response, request);
    }
  }

  /** Aborts every in-flight and queued request and frees the connections (node close). */
  close(): void {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private resolveUrl(options: RequestOptions): string {
    const path = options.path ?? '';
    if (options.url === undefined) return withQuery(path ? `${this.baseUrl}/${path.replace(/^\/+/, '')}` : this.baseUrl, options.query);
    try {
      return withQuery(new URL(options.url, `${this.baseUrl}/`).href, options.query);
    } catch {
      throw new IntegrationError(`${this.system}: invalid URL "${redactUrl(options.url)}"`, { code: 'bad-input', retryable: false, system: this.system, field: 'url' });
    }
  }

  /** The error for a request that was cancelled rather than failed, if it was. */
  private cancellation(method: HttpMethod, url: string, callerSignal: AbortSignal | undefined): IntegrationError | undefined {
    const closed = this.closing.signal.aborted;
    if (!closed && !callerSignal?.aborted) return undefined;
    const error = new IntegrationError(closed ? 'client closed' : 'aborted', {
      code: 'unreachable',
      retryable: false,
      system: this.system,
      request: { method, url: redactUrl(url) },
      cause: closed ? undefined : callerSignal?.reason,
    });
    error.name = 'AbortError';
    return error;
  }

  /** One HTTP exchange: no retries, but the per-attempt timeout. */
  private async send<T>(method: HttpMethod, url: string, options: RequestOptions, attempt: number, signal: AbortSignal): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = { ...this.options.headers, ...options.headers };
    if (options.responseType !== 'text' && !findHeader(headers, 'accept')) headers.Accept = 'application/json';
    try {
      await this.options.auth?.apply(headers);
    } catch (error) {
      // Failing to get a credential (e.g. a token endpoint down) means nothing was sent yet.
      if (isIntegrationError(error)) neverProcessed.add(error);
      throw error;
    }
    if (this.options.sessionCookies && this.cookies.size && !findHeader(headers, 'cookie')) {
      headers.Cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    const data = encodeBody(options.body, headers);
    // Read when needed: a response may have just set a session cookie, itself a credential.
    const secrets = (): string[] => this.secrets(headers, url);
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const linked = linkSignals([signal, timeout.signal]);
    const started = Date.now();
    const record = (status: number, error?: ErrorCode, responseBody?: unknown, responseText?: string): void =>
      this.record(
        { method, url: redactUrl(url), status, durationMs: Date.now() - started, attempt, error, requestBody: options.body, responseBody },
        { started, requestText: bodyText(data), responseText },
        secrets(),
      );

    let response: AxiosResponse<string>;
    try {
      response = await axios.request<string>({
        method,
        url,
        headers,
        data,
        signal: linked.signal,
        responseType: 'text',
        // Parsed below, so that error bodies are read the same way whatever their content type.
        transformResponse: (body: unknown) => body,
        validateStatus: () => true,
        httpAgent: this.httpAgent,
        httpsAgent: this.httpsAgent,
        // Bulk imports (DHIS2, FHIR transactions) exceed the 10 MB default.
        maxBodyLength: Number.POSITIVE_INFINITY,
      });
    } catch (error) {
      const failure = signal.aborted ? abortReason(signal) : timeout.signal.aborted ? this.timeoutError(method, url, timeoutMs) : this.networkError(method, url, error, secrets());
      record(0, isIntegrationError(failure) ? failure.code : 'unreachable');
      throw failure;
    } finally {
      clearTimeout(timer);
      linked.dispose();
    }

    if (this.options.sessionCookies) this.storeCookies(response.headers['set-cookie']);
    const status = response.status;
    const responseHeaders = flattenHeaders(response.headers as Record<string, unknown>);
    const text = typeof response.data === 'string' ? response.data : '';
    const isError = status >= 400 && !options.acceptStatus?.includes(status);
    const body = options.responseType === 'text' ? text : parseJson(text);

    if (isError) {
      const error = this.statusError(method, url, status, body === NOT_JSON ? text : body, responseHeaders, secrets());
      record(status, error.code, body === NOT_JSON ? text : body, text);
      throw error;
    }
    if (body === NOT_JSON) {
      // Typically a login or proxy page answered with 200: a retry would get the same page.
      const error = new IntegrationError(
        redactText(`${this.system} ${method} ${redactUrl(url)} returned ${responseHeaders['content-type'] ?? 'a body'} where JSON was expected: ${truncate(defaultErrorSummary(text) ?? '', 200)}`, secrets()),
        { code: 'remote-error', retryable: false, status, system: this.system, request: { method, url: redactUrl(url) } },
      );
      record(status, error.code, text, text);
      throw error;
    }
    record(status, undefined, body, text);
    return { status, headers: responseHeaders, data: body as T, attempts: attempt, url };
  }

  private statusError(method: HttpMethod, url: string, status: number, body: unknown, headers: Record<string, string>, secrets: string[]): IntegrationError {
    const { code, retryable } = classifyStatus(status);
    const summary = this.summarize(status, body);
    const redactedUrl = redactUrl(url);
    const details = typeof body === 'string' ? truncate(body, DETAILS_TEXT_LIMIT) : body;
    const error = new IntegrationError(redactText(`${this.system} ${method} ${redactedUrl} failed: HTTP ${status}${summary ? `: ${summary}` : ''}`, secrets), {
      code,
      retryable,
      status,
      system: this.system,
      request: { method, url: redactedUrl },
      remote: body === undefined || body === '' ? undefined : { summary: redactText(summary ?? `HTTP ${status}`, secrets), details: redactDeep(details, secrets) },
      retryAfterMs: RETRY_AFTER_STATUSES.has(status) ? parseRetryAfter(headers['retry-after']) : undefined,
    });
    if (NOT_PROCESSED_STATUSES.has(status)) neverProcessed.add(error);
    return error;
  }

  private summarize(status: number, body: unknown): string | undefined {
    try {
      const summary = this.options.summarizeError?.(status, body) ?? defaultErrorSummary(body);
      return summary === undefined ? undefined : truncate(summary);
    } catch {
      // A summariser that trips over an unexpected body must not hide the HTTP error itself.
      return defaultErrorSummary(body);
    }
  }

  private timeoutError(method: HttpMethod, url: string, timeoutMs: number): IntegrationError {
    return new IntegrationError(`${this.system} ${method} ${redactUrl(url)} timed out after ${timeoutMs} ms`, {
      code: 'timeout',
      retryable: true,
      system: this.system,
      request: { method, url: redactUrl(url) },
    });
  }

  /** Built from the error's class only: the axios error itself carries the request headers. */
  private networkError(method: HttpMethod, url: string, cause: unknown, secrets: string[]): IntegrationError {
    const network = classifyNetworkError(cause);
    const error = new IntegrationError(redactText(`${this.system} ${method} ${redactUrl(url)} failed: ${network.reason}`, secrets), {
      code: network.code,
      retryable: network.retryable,
      system: this.system,
      request: { method, url: redactUrl(url) },
    });
    if (network.beforeSend) neverProcessed.add(error);
    return error;
  }

  /** Reports one exchange to the message's recording, the request log and the client's own listener. */
  private record(record: RequestRecord, wire: { started: number; requestText?: string; responseText?: string }, secrets: string[]): void {
    const listener = this.options.onRequestComplete;
    const redacted = (): RequestRecord => ({ ...record, requestBody: redactDeep(record.requestBody, secrets), responseBody: redactDeep(record.responseBody, secrets) });
    if (isRecording()) noteExchange(redacted());
    // The log gets the bodies as text and redacts them when it writes, off the request's path.
    reportExchange({
      time: wire.started,
      system: this.system,
      method: record.method,
      url: record.url,
      status: record.status === 0 ? null : record.status,
      durationMs: record.durationMs,
      attempt: record.attempt,
      error: record.error,
      requestBody: wire.requestText,
      responseBody: wire.responseText,
      secrets,
    });
    if (!listener) return;
    try {
      listener(redacted());
    } catch {
      // The request log is an observer: its failure must not fail the request.
    }
  }

  private secrets(headers: Record<string, string>, url: string): string[] {
    const fromHeaders = Object.entries(headers)
      .filter(([name]) => isSensitiveHeader(name))
      .map(([, value]) => value);
    return [...(this.options.auth?.secrets() ?? []), ...fromHeaders, ...this.cookies.values(), ...credentialsInUrl(url)];
  }

  /** Host and path are ignored: one client talks to one base URL. */
  private storeCookies(setCookie: unknown): void {
    const lines = Array.isArray(setCookie) ? setCookie : typeof setCookie === 'string' ? [setCookie] : [];
    for (const line of lines) {
      const [pair, ...attributes] = String(line).split(';');
      const equals = pair.indexOf('=');
      if (equals <= 0) continue;
      const name = pair.slice(0, equals).trim();
      const value = pair.slice(equals + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key, ...rest] = attribute.split('=');
        const setting = rest.join('=').trim();
        if (/^\s*max-age\s*$/i.test(key)) return Number(setting) <= 0;
        if (/^\s*expires\s*$/i.test(key)) return Date.parse(setting) <= Date.now();
        return false;
      });
      if (expired || !value) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

function findHeader(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function encodeBody(body: unknown, headers: Record<string, string>): unknown {
  if (body === undefined) return undefined;
  // axios would label a bare string as a form post; say what it is unless the caller did.
  if (typeof body === 'string') {
    if (!findHeader(headers, 'content-type')) headers['Content-Type'] = 'text/plain; charset=utf-8';
    return body;
  }
  if (Buffer.isBuffer(body) || body instanceof URLSearchParams || ArrayBuffer.isView(body) || body instanceof ArrayBuffer) return body;
  if (!findHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
  return JSON.stringify(body);
}

/** A sent body as text for the request log; binary is summarised as redactDeep does. */
function bodyText(data: unknown): string | undefined {
  if (data === undefined || data === null) return undefined;
  if (typeof data === 'string') return data;
  if (data instanceof URLSearchParams) return data.toString();
  if (Buffer.isBuffer(data) || ArrayBuffer.isView(data) || data instanceof ArrayBuffer) return `[binary ${data.byteLength} bytes]`;
  return undefined;
}

function flattenHeaders(raw: Record<string, unknown>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || value === null || typeof value === 'function') continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return flat;
}

/** Adds query parameters; a parameter given here replaces the same one already in the URL. */
function withQuery(url: string, query: Record<string, QueryValue> | undefined): string {
  if (!query) return url;
  const added: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) added.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(item))}`);
  }
  const replaced = new Set(Object.keys(query).filter((name) => query[name] !== undefined));
  const hashStart = url.indexOf('#');
  const withoutHash = hashStart < 0 ? url : url.slice(0, hashStart);
  const queryStart = withoutHash.indexOf('?');
  const path = queryStart < 0 ? withoutHash : withoutHash.slice(0, queryStart);
  const kept = queryStart < 0 ? [] : withoutHash.slice(queryStart + 1).split('&').filter((pair) => pair && !replaced.has(decodeName(pair.split('=')[0])));
  const all = [...kept, ...added];
  return all.length ? `${path}?${all.join('&')}` : path;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/** One signal aborted when any source aborts; dispose() detaches from the long-lived sources. */
function linkSignals(sources: Array<AbortSignal | undefined>): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const detach: Array<() => void> = [];
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const onAbort = (): void => controller.abort(source.reason);
    source.addEventListener('abort', onAbort, { once: true });
    detach.push(() => source.removeEventListener('abort', onAbort));
  }
  return { signal: controller.signal, dispose: () => detach.forEach((remove) => remove()) };
}

// ---- pagination styles ----

function valueAt(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function arrayAt<T>(value: unknown, path: string): T[] {
  const found = valueAt(value, path);
  return Array.isArray(found) ? (found as T[]) : [];
}

function numberFrom(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : Number.NaN;
  return Number.isFinite(number) ? number : undefined;
}

/**
 * The request for a link a page names. The link keeps the origin of the current request:
 * credentials must only go where the client was pointed, and servers behind a reverse proxy
 * (OpenMRS, HAPI FHIR) often build links from their internal host name.
 */
function followLink(link: string, response: HttpResponse<unknown>, request: RequestOptions): RequestOptions {
  const current = new URL(response.url);
  const target = new URL(link, current);
  target.protocol = current.protocol;
  target.host = current.host;
  return { ...request, url: target.href, path: undefined, query: undefined };
}

/** A next URL in a field: RapidPro `{next, results}`, CommCare `{meta: {next}, objects}` ('objects', 'meta.next'). */
export function nextLinkPaging<TItem = unknown>(itemsKey = 'results', nextKey = 'next'): Paging<unknown, TItem> {
  return {
    items: (page) => arrayAt<TItem>(page, itemsKey),
    next: (page, response, request) => {
      const link = valueAt(page, nextKey);
      return typeof link === 'string' && link ? followLink(link, response, request) : undefined;
    },
  };
}

/** OpenMRS REST: `{results, links: [{rel: 'next', uri}]}`. */
export function linksRelNextPaging<TItem = unknown>(itemsKey = 'results'): Paging<unknown, TItem> {
  return {
    items: (page) => arrayAt<TItem>(page, itemsKey),
    next: (page, response, request) => {
      const link = arrayAt<{ rel?: unknown; uri?: unknown }>(page, 'links').find((candidate) => candidate?.rel === 'next')?.uri;
      return typeof link === 'string' && link ? followLink(link, response, request) : undefined;
    },
  };
}

/** A FHIR searchset Bundle: yields each entry's resource, follows `link[relation=next].url`. */
export function bundleNextPaging<TResource = unknown>(itemsKey = 'entry'): Paging<unknown, TResource> {
  return {
    items: (page) =>
      arrayAt<{ resource?: TResource }>(page, itemsKey)
        .map((entry) => entry?.resource)
        .filter((resource): resource is TResource => resource !== undefined),
    next: (page, response, request) => {
      const link = arrayAt<{ relation?: unknown; url?: unknown }>(page, 'link').find((candidate) => candidate?.relation === 'next')?.url;
      return typeof link === 'string' && link ? followLink(link, response, request) : undefined;
    },
  };
}

/**
 * Page-number paging, DHIS2 style: `pager.page`/`pager.pageCount` (or top-level `page`,
 * `pageCount`); without a page count, a page shorter than `pageSize` (or empty) is the last.
 */
export function pageNumberPaging<TItem = unknown>(itemsKey: string, params: { page?: string; pageSize?: string } = {}): Paging<unknown, TItem> {
  const pageParam = params.page ?? 'page';
  const pageSizeParam = params.pageSize ?? 'pageSize';
  return {
    items: (page) => arrayAt<TItem>(page, itemsKey),
    next: (page, _response, request) => {
      const pagerValue = valueAt(page, 'pager');
      const pager = pagerValue && typeof pagerValue === 'object' ? pagerValue : page;
      const current = numberFrom(valueAt(pager, 'page')) ?? numberFrom(request.query?.[pageParam]) ?? 1;
      const pageCount = numberFrom(valueAt(pager, 'pageCount'));
      const itemCount = arrayAt(page, itemsKey).length;
      if (itemCount === 0) return undefined;
      if (pageCount !== undefined) {
        if (current >= pageCount) return undefined;
      } else {
        const pageSize = numberFrom(valueAt(pager, 'pageSize')) ?? numberFrom(request.query?.[pageSizeParam]);
        if (pageSize !== undefined && itemCount < pageSize) return undefined;
      }
      return { ...request, query: { ...request.query, [pageParam]: current + 1 } };
    },
  };
}
