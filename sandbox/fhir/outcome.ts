/** OperationOutcome errors and the FHIR JSON response helpers every route uses. */
import type { SandboxResponse } from '../core';

export const FHIR_JSON = 'application/fhir+json;charset=utf-8';

export type Resource = Record<string, any> & { resourceType: string; id?: string };

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<{ severity: string; code: string; diagnostics: string }>;
}

export function operationOutcome(diagnostics: string, code = 'processing', severity = 'error'): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

export const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized',
  403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 410: 'Gone',
  412: 'Precondition Failed', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 500: 'Internal Server Error',
};

/** Issue codes per status, as HAPI reports them. */
const ISSUE_CODE: Record<number, string> = {
  400: 'invalid', 401: 'login', 403: 'forbidden', 404: 'not-found', 405: 'not-supported', 409: 'conflict',
  410: 'deleted', 412: 'conflict', 415: 'not-supported', 422: 'processing',
};

/** Thrown by interactions; routes turn it into an OperationOutcome response, bundles into an entry outcome. */
export class FhirError extends Error {
  constructor(readonly status: number, message: string, readonly code = ISSUE_CODE[status] ?? 'processing') {
    super(message);
  }

  get outcome(): OperationOutcome {
    return operationOutcome(this.message, this.code);
  }
}

export function fhirResponse(status: number, body?: unknown, headers: Record<string, string> = {}): SandboxResponse {
  return body === undefined ? { status, headers } : { status, headers, body, contentType: FHIR_JSON };
}

export function errorResponse(error: FhirError): SandboxResponse {
  return fhirResponse(error.status, error.outcome);
}
