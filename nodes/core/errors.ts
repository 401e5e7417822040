/**
 * One error type for every remote call, so flows can branch on `code` and `retryable` without
 * knowing which system answered. Messages and fields are built from redacted parts only: an
 * IntegrationError may be shown in the debug sidebar, copied into msg.error or logged.
 */
import { redactAuthorizationValues, redactDeep } from './redact';

export type ErrorCode =
  | 'timeout'
  | 'unreachable'
  | 'auth'
  | 'validation'
  | 'conflict'
  | 'not-found'
  | 'rate-limited'
  | 'remote-error'
  | 'bad-input';

export interface RemoteErrorInfo {
  /** One readable line, e.g. "Patient identifier is already in use". */
  summary: string;
  /** The remote error body (redacted), for whoever needs the field-level detail. */
  details?: unknown;
}

export interface IntegrationErrorOptions {
  code: ErrorCode;
  status?: number;
  /** Defaults to whether the code is transient (timeout, unreachable, rate-limited, remote-error). */
  retryable?: boolean;
  system?: string;
  remote?: RemoteErrorInfo;
  /** Must already be redacted (see redactUrl). */
  request?: { method: string; url: string };
  retryAfterMs?: number;
  /** For bad-input: where in the message the offending value is, e.g. "msg.payload.name". */
  field?: string;
  cause?: unknown;
}

const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set(['timeout', 'unreachable', 'rate-limited', 'remote-error']);

export class IntegrationError extends Error {
  readonly code: ErrorCode;
  readonly status?: number;
  readonly retryable: boolean;
  readonly system?: string;
  readonly remote?: RemoteErrorInfo;
  readonly request?: { method: string; url: string };
  readonly retryAfterMs?: number;
  readonly field?: string;

  constructor(message: string, options: IntegrationErrorOptions) {
    // A remote's error text may echo our Authorization header back; it must not ride along.
    super(redactAuthorizationValues(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IntegrationError';
    this.code = options.code;
    this.status = options.status;
    this.retryable = options.retryable ?? TRANSIENT_CODES.has(options.code);
    this.system = options.system;
    this.remote = options.remote;
    this.request = options.request;
    this.retryAfterMs = options.retryAfterMs;
    this.field = options.field;
  }

  /** A plain object for msg.error and the debug sidebar; leaves out `cause` and the stack. */
  toJSON(): Record<string, unknown> {
    const plain: Record<string, unknown> = {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      status: this.status,
      system: this.system,
      field: this.field,
      request: this.request,
      remote: this.remote,
      retryAfterMs: this.retryAfterMs,
    };
    for (const key of Object.keys(plain)) if (plain[key] === undefined) delete plain[key];
    return redactDeep(plain) as Record<string, unknown>;
  }
}

export function isIntegrationError(error: unknown): error is IntegrationError {
  return error instanceof IntegrationError;
}

export function badInput(message: string, field?: string): IntegrationError {
  return new IntegrationError(message, { code: 'bad-input', retryable: false, field });
}

export function classifyStatus(status: number): { code: ErrorCode; retryable: boolean } {
  switch (status) {
    case 400:
    case 422:
      return { code: 'validation', retryable: false };
    case 401:
    case 403:
      return { code: 'auth', retryable: false };
    case 404:
    case 410:
      return { code: 'not-found', retryable: false };
    case 409:
    case 412:
      return { code: 'conflict', retryable: false };
    case 429:
      return { code: 'rate-limited', retryable: true };
    case 408:
      return { code: 'remote-error', retryable: true };
    case 501:
      // 501: the server lacks the feature, and asking again will not add it.
      return { code: 'remote-error', retryable: false };
  }
  if (status >= 500) return { code: 'remote-error', retryable: true };
  // Other 4xx (405, 413, 415...): the request itself is wrong.
  if (status >= 400) return { code: 'validation', retryable: false };
  // An unexpected non-error status, e.g. a redirect that was not followed.
  return { code: 'remote-error', retryable: false };
}

export interface NetworkErrorClass {
  code: ErrorCode;
  retryable: boolean;
  /** The connection was never established, so the request cannot have reached the server. */
  beforeSend: boolean;
  /** The errno-style code or message, for the error message, e.g. "ECONNREFUSED". */
  reason: string;
}

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const DROPPED_CONNECTIONS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const TIMEOUTS = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);
const TLS_FAILURES = /CERT|SELF_SIGNED|TLS|SSL|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** Classifies a failure that produced no HTTP status (a Node.js or axios network error). */
export function classifyNetworkError(error: unknown): NetworkErrorClass {
  const err = error as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | undefined;
  const errno = typeof err?.code === 'string' ? err.code : typeof err?.cause?.code === 'string' ? err.cause.code : undefined;
  const message = typeof err?.message === 'string' ? err.message : String(error);
  const reason = errno ?? message;
  if (errno && CONNECT_FAILURES.has(errno)) return { code: 'unreachable', retryable: true, beforeSend: true, reason };
  if ((errno && DROPPED_CONNECTIONS.has(errno)) || /socket hang up/i.test(message)) {
    return { code: 'unreachable', retryable: true, beforeSend: false, reason: errno ?? 'socket hang up' };
  }
  if ((errno && TIMEOUTS.has(errno)) || /timeout|timed out/i.test(message)) return { code: 'timeout', retryable: true, beforeSend: false, reason };
  // A certificate problem is a configuration error: retrying only delays the diagnosis.
  if (errno && TLS_FAILURES.test(errno)) return { code: 'unreachable', retryable: false, beforeSend: true, reason: `TLS ${errno}` };
  return { code: 'unreachable', retryable: false, beforeSend: false, reason };
}

const SUMMARY_LIMIT = 500;

export function truncate(text: string, limit = SUMMARY_LIMIT): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/**
 * The summary used when a system's api module has none of its own: the common shapes
 * `{error: {message}}`, `{message}`, `{error, reason}`, `{detail}`, or a short text body.
 */
export function defaultErrorSummary(body: unknown): string | undefined {
  if (typeof body === 'string') {
    // Proxies and servlet containers answer with HTML pages; their text is still the best hint.
    const text = body.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
    return text ? truncate(text) : undefined;
  }
  if (!body || typeof body !== 'object') return undefined;
  const record = body as Record<string, unknown>;
  const error = record.error;
  const nested = error && typeof error === 'object' ? nonEmptyString((error as Record<string, unknown>).message) : undefined;
  const flat = nonEmptyString(error);
  const reason = nonEmptyString(record.reason);
  const summary =
    nested ??
    nonEmptyString(record.message) ??
    (flat && reason ? `${flat}: ${reason}` : flat ?? reason) ??
    nonEmptyString(record.detail);
  return summary === undefined ? undefined : truncate(summary);
}

/** The error a cancelled wait rejects with: the signal's own reason when it is an Error. */
export function abortReason(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}
