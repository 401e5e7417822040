/**
 * OpenMRS authentication: HTTP Basic on any request, or the JSESSIONID cookie of a session that
 * GET /session opened. Unauthenticated callers get 401 with a Basic challenge, in the REST or FHIR
 * error format depending on the path.
 */
import { randomBytes } from 'node:crypto';
import { basicAuth, type AuthCheck, type SandboxRequest, type SandboxResponse } from '../core';
import { PASSWORD, USERNAME } from './seed';

export const CHALLENGE = 'Basic realm="OpenMRS at /openmrs"';

export class Sessions {
  private readonly active = new Set<string>();
  private readonly basic = basicAuth(USERNAME, PASSWORD, { status: 401 });

  clear(): void {
    this.active.clear();
  }

  open(): string {
    const id = randomBytes(16).toString('hex').toUpperCase();
    this.active.add(id);
    return id;
  }

  close(id: string | undefined): void {
    if (id) this.active.delete(id);
  }

  /** The JSESSIONID the request carries, if it names an open session. */
  sessionOf(req: SandboxRequest): string | undefined {
    const cookie = String(req.headers.cookie ?? '');
    const match = /(?:^|;\s*)JSESSIONID=([^;]+)/.exec(cookie);
    return match && this.active.has(match[1]) ? match[1] : undefined;
  }

  authenticated(req: SandboxRequest): boolean {
    return this.basic(req) === undefined || this.sessionOf(req) !== undefined;
  }

  readonly check: AuthCheck = (req) => (this.authenticated(req) ? undefined : unauthorized(req));
}

function unauthorized(req: SandboxRequest): SandboxResponse {
  const headers = { 'WWW-Authenticate': CHALLENGE };
  if (req.path.startsWith('/openmrs/ws/fhir2/')) {
    return {
      status: 401,
      headers,
      body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'User is not logged in' }] },
      contentType: 'application/fhir+json;charset=utf-8',
    };
  }
  return {
    status: 401,
    headers,
    body: { error: { message: '[User is not logged in]', code: 'org.openmrs.api.APIAuthenticationException', detail: '' } },
  };
}
