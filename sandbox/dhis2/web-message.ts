/**
 * DHIS2 answers errors (and many successes) with a WebMessage envelope:
 * `{httpStatus, httpStatusCode, status, message, response?}`. Clients branch on these fields,
 * so every error this sandbox sends uses the same envelope.
 */
import type { SandboxResponse } from '../core';

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
};

export type WebMessageStatus = 'OK' | 'WARNING' | 'ERROR';

export interface WebMessage {
  httpStatus: string;
  httpStatusCode: number;
  status: WebMessageStatus;
  message?: string;
  response?: unknown;
}

export function webMessage(httpStatusCode: number, status: WebMessageStatus, message?: string, response?: unknown): WebMessage {
  const body: WebMessage = { httpStatus: REASONS[httpStatusCode] ?? String(httpStatusCode), httpStatusCode, status };
  if (message !== undefined) body.message = message;
  if (response !== undefined) body.response = response;
  return body;
}

export function respond(httpStatusCode: number, status: WebMessageStatus, message?: string, response?: unknown): SandboxResponse {
  return { status: httpStatusCode, body: webMessage(httpStatusCode, status, message, response) };
}

/** Thrown from deep inside a handler to answer with a WebMessage error. */
export class WebMessageError extends Error {
  constructor(readonly httpStatusCode: number, message: string) {
    super(message);
  }

  toResponse(): SandboxResponse {
    return respond(this.httpStatusCode, 'ERROR', this.message);
  }
}

/** Wraps a handler so that a thrown WebMessageError becomes its WebMessage answer. */
export function guarded<A extends unknown[]>(handler: (...args: A) => SandboxResponse): (...args: A) => SandboxResponse {
  return (...args: A) => {
    try {
      return handler(...args);
    } catch (error) {
      if (error instanceof WebMessageError) return error.toResponse();
      throw error;
    }
  };
}

/** An enum query parameter, rejected like DHIS2 does when the value is not one of `allowed`. */
export function enumParam<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[], fallback: T): T {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = raw.toUpperCase() as T;
  if (!allowed.includes(value)) {
    throw new WebMessageError(400, `Value '${raw}' is not valid for parameter ${name}. Valid values are: [${allowed.join(', ')}]`);
  }
  return value;
}

export function booleanParam(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  return raw.toLowerCase() === 'true';
}

/** Positive integer query parameter (page, pageSize); DHIS2 rejects zero and negatives with 400. */
export function positiveIntParam(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new WebMessageError(400, `${name} must be greater than or equal to 1`);
  return value;
}
