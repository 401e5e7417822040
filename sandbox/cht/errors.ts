/**
 * CHT API error responses. CHT answers JSON `{code, error, details}` only to clients whose Accept
 * header prefers JSON over text; everyone else gets text/plain. Unexpected failures (including
 * the records API's PublicErrors, which carry no status) become 500 "Server error" with the
 * message in `details`.
 */
import type { SandboxRequest, SandboxResponse } from '../core';

/** An error with the HTTP status CHT gives it. */
export class ChtError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** CHT's PublicError: a message meant for the client, answered as a 500 Server error. */
export class PublicError extends Error {}

/** Express's req.accepts(['text', 'json']) === 'json': the first acceptable type in preference order. */
export function wantsJson(req: SandboxRequest): boolean {
  const header = String(req.headers.accept ?? '');
  if (!header) return false;
  const ranges = header.split(',').map((part, index) => {
    const [range, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((param) => param.trim()).find((param) => param.startsWith('q='));
    return { range: range.trim(), q: q ? Number(q.slice(2)) : 1, index };
  }).filter((entry) => entry.q > 0);
  ranges.sort((a, b) => b.q - a.q || specificity(b.range) - specificity(a.range) || a.index - b.index);
  for (const { range } of ranges) {
    if (range === 'text/plain' || range === 'text/*' || range === '*/*') return false;
    if (range === 'application/json' || range === 'application/*') return true;
  }
  return false;
}

function specificity(range: string): number {
  if (range === '*/*') return 0;
  return range.endsWith('/*') ? 1 : 2;
}

export function errorResponse(req: SandboxRequest, status: number, message: string, details?: unknown): SandboxResponse {
  if (wantsJson(req)) {
    const body: Record<string, unknown> = { code: status, error: message };
    if (details !== undefined) body.details = details;
    return { status, body };
  }
  const text = details === undefined ? message : `${message}: ${JSON.stringify(details)}`;
  return { status, body: text, contentType: 'text/plain' };
}

/** serverUtils.error: a status from the error when it has one, else 500 Server error. */
export function toErrorResponse(req: SandboxRequest, error: unknown): SandboxResponse {
  if (error instanceof ChtError) return errorResponse(req, error.status, error.message);
  if (error instanceof PublicError) return errorResponse(req, 500, 'Server error', error.message);
  const status = (error as { status?: number }).status;
  if (status && status >= 400 && status < 500) return errorResponse(req, status, (error as Error).message);
  return errorResponse(req, 500, 'Server error');
}

/** serverUtils.notLoggedIn for API clients: JSON for JSON clients, else a Basic auth prompt. */
export function unauthorized(req: SandboxRequest): SandboxResponse {
  if (wantsJson(req)) {
    return { status: 401, headers: { 'logout-authorization': 'CHT-Core API' }, body: { code: 401, error: 'unauthorized' } };
  }
  return {
    status: 401,
    headers: { 'logout-authorization': 'CHT-Core API', 'WWW-Authenticate': 'Basic realm="Medic Web Services"' },
    body: 'not logged in',
    contentType: 'text/plain',
  };
}
