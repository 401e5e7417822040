/**
 * The `application/json+openhim` body a mediator answers core with: the response core passes
 * on to the client, the mediator's verdict on the transaction, the upstream calls it made
 * (orchestrations) and free properties, all shown in OpenHIM's transaction log.
 */
import type { RequestRecord } from '../../core/http-client';
import { redactHeaders, redactUrl } from '../../core/redact';
import { TRANSACTION_STATUSES, type MediatorResponse, type Orchestration, type OrchestrationRequest, type OrchestrationResponse, type TransactionStatus } from './types';

export const OPENHIM_CONTENT_TYPE = 'application/json+openhim';

/** Core stores bodies as strings and truncates big ones anyway; this keeps our answers small. */
const MAX_BODY_CHARS = 256 * 1024;

export function isTransactionStatus(value: unknown): value is TransactionStatus {
  return TRANSACTION_STATUSES.includes(value as TransactionStatus);
}

/** What core would conclude from the HTTP status alone: 2xx Successful, 4xx Completed, 5xx Failed. */
export function statusForHttp(status: number): TransactionStatus {
  if (status >= 200 && status < 300) return 'Successful';
  if (status >= 500) return 'Failed';
  return 'Completed';
}

function timestampOf(value: Date | string | number | undefined): string {
  if (value === undefined) return new Date().toISOString();
  const time = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(time) ? new Date(time).toISOString() : new Date().toISOString();
}

/** A body as core stores it: text, with JSON for structured values. */
export function bodyText(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : JSON.stringify(body);
  return text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}…[truncated]` : text;
}

function stringHeaders(headers: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && value !== null) result[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return redactHeaders(result) as Record<string, string>;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

export interface RequestInput {
  method?: string;
  /** An absolute URL; host, port, path and querystring are taken from it. */
  url?: string;
  host?: string;
  port?: string | number;
  path?: string;
  querystring?: string;
  headers?: Record<string, unknown>;
  body?: unknown;
  timestamp?: Date | string | number;
}

export interface ResponseInput {
  status: number;
  headers?: Record<string, unknown>;
  body?: unknown;
  timestamp?: Date | string | number;
}

function orchestrationRequest(input: RequestInput): OrchestrationRequest {
  const request: OrchestrationRequest = { path: input.path ?? '/', method: (input.method ?? 'GET').toUpperCase(), timestamp: timestampOf(input.timestamp) };
  if (input.url) {
    // Query strings may carry credentials (api_key=...); redactUrl hides only those values.
    const url = new URL(input.url);
    request.host = url.hostname;
    request.port = url.port || (url.protocol === 'https:' ? '443' : '80');
    request.path = url.pathname;
    if (url.search) request.querystring = redactUrl(url.search).slice(1);
  }
  if (input.host !== undefined) request.host = input.host;
  if (input.port !== undefined) request.port = String(input.port);
  if (input.querystring !== undefined) request.querystring = input.querystring;
  const headers = stringHeaders(input.headers);
  if (headers) request.headers = headers;
  const body = bodyText(input.body);
  if (body !== undefined) request.body = body;
  return request;
}

function orchestrationResponse(input: ResponseInput): OrchestrationResponse {
  const response: OrchestrationResponse = { status: Number(input.status), timestamp: timestampOf(input.timestamp) };
  const headers = stringHeaders(input.headers);
  if (headers) response.headers = headers;
  const body = bodyText(input.body);
  if (body !== undefined) response.body = body;
  return response;
}

export function buildOrchestration(name: string, request: RequestInput, response?: ResponseInput, error?: string): Orchestration {
  const orchestration: Orchestration = { name: name || 'request', request: orchestrationRequest(request) };
  if (response) orchestration.response = orchestrationResponse(response);
  if (error) orchestration.error = { message: error };
  return orchestration;
}

/** A RequestRecord of the shared HttpClient (its onRequestComplete hook), as an orchestration. */
export type RecordedRequest = RequestRecord & {
  /** When the request started (ISO); without it the record is dated when it is converted. */
  startedAt?: string;
  /** The orchestration's name; by default "<METHOD> <path>". */
  name?: string;
};

export function orchestrationFromRequestRecord(record: RecordedRequest): Orchestration {
  const started = record.startedAt ? Date.parse(record.startedAt) : Date.now() - record.durationMs;
  const path = (() => {
    try {
      return new URL(record.url).pathname;
    } catch {
      return record.url;
    }
  })();
  return buildOrchestration(
    record.name ?? `${record.method} ${path}`,
    { method: record.method, url: URL.canParse(record.url) ? record.url : undefined, path, body: record.requestBody, timestamp: started },
    record.status ? { status: record.status, body: record.responseBody, timestamp: started + record.durationMs } : undefined,
    record.error ? `${record.error}${record.status ? ` (HTTP ${record.status})` : ''}` : undefined,
  );
}

/** Orchestrations someone else built (msg.orchestrations), brought to core's shape defensively. */
export function normaliseOrchestration(value: unknown): Orchestration | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const candidate = value as { name?: unknown; request?: RequestInput; response?: ResponseInput; error?: { message?: unknown } };
  if (!candidate.request || typeof candidate.request !== 'object') return undefined;
  const response = candidate.response && typeof candidate.response === 'object' && candidate.response.status !== undefined ? candidate.response : undefined;
  const error = typeof candidate.error?.message === 'string' ? candidate.error.message : undefined;
  return buildOrchestration(String(candidate.name ?? 'request'), candidate.request, response, error);
}

export interface MediatorResponseInput {
  urn: string;
  /** Default: from the HTTP status (statusForHttp). */
  status?: TransactionStatus;
  httpStatus?: number;
  headers?: Record<string, unknown>;
  body?: unknown;
  orchestrations?: Orchestration[];
  properties?: Record<string, unknown>;
  timestamp?: Date | string | number;
}

export function buildMediatorResponse(input: MediatorResponseInput): MediatorResponse {
  const httpStatus = Number.isInteger(input.httpStatus) ? Number(input.httpStatus) : 200;
  const headers = stringHeaders(input.headers) ?? {};
  const body = bodyText(input.body) ?? '';
  if (!hasHeader(headers, 'content-type')) {
    headers['Content-Type'] = typeof input.body === 'string' || Buffer.isBuffer(input.body) ? 'text/plain; charset=utf-8' : 'application/json';
  }
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.properties ?? {})) {
    if (value !== undefined) properties[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return {
    'x-mediator-urn': input.urn,
    status: input.status ?? statusForHttp(httpStatus),
    response: { status: httpStatus, headers, body, timestamp: timestampOf(input.timestamp) },
    orchestrations: input.orchestrations ?? [],
    properties,
  };
}

/** The HTTP status a failed flow answers with: the caller's fault (400) or ours (500). */
export function failureHttpStatus(code: string | undefined): number {
  return code === 'bad-input' || code === 'validation' ? 400 : 500;
}

/** The answer after a Catch node: status Failed with the error's summary (never its details). */
export function failedMediatorResponse(urn: string, error: { message?: string; code?: string }, orchestrations: Orchestration[] = [], properties: Record<string, unknown> = {}): MediatorResponse {
  const message = error.message || 'the flow failed';
  return buildMediatorResponse({
    urn,
    status: 'Failed',
    httpStatus: failureHttpStatus(error.code),
    body: { error: message, ...(error.code ? { code: error.code } : {}) },
    orchestrations,
    properties,
  });
}
