/**
 * Bearer auth for the FHIR API: the static demo token, or tokens from the OAuth2
 * client-credentials endpoint (RFC 6749 section 4.4) that expire after `expires_in` seconds.
 * Failures follow RFC 6750: 401 with a WWW-Authenticate challenge, plus an OperationOutcome body.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { basicCredentials, type AuthCheck, type SandboxRequest, type SandboxResponse } from '../core';
import { FHIR_JSON, operationOutcome } from './outcome';
import { FHIR_CLIENT_ID, FHIR_CLIENT_SECRET, FHIR_STATIC_TOKEN, TOKEN_TTL_SECONDS } from './seed';

const MAX_REMEMBERED_TOKENS = 10_000;

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function challenge(error?: string, description?: string): SandboxResponse {
  const parts = ['Bearer realm="fhir"'];
  if (error) parts.push(`error="${error}"`);
  if (description) parts.push(`error_description="${description}"`);
  return {
    status: 401,
    headers: { 'WWW-Authenticate': parts.join(', ') },
    body: operationOutcome(description ?? 'Authentication required: send Authorization: Bearer <token>', 'login'),
    contentType: FHIR_JSON,
  };
}

export class TokenIssuer {
  ttlSeconds = TOKEN_TTL_SECONDS;
  private readonly expiries = new Map<string, number>();

  reset(): void {
    this.ttlSeconds = TOKEN_TTL_SECONDS;
    this.expiries.clear();
  }

  readonly check: AuthCheck = (req) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ''));
    if (!match) return challenge();
    const token = match[1];
    if (same(token, FHIR_STATIC_TOKEN)) return undefined;
    const expiry = this.expiries.get(token);
    if (expiry === undefined) return challenge('invalid_token', 'The access token is unknown');
    if (Date.now() >= expiry) return challenge('invalid_token', 'The access token expired');
    return undefined;
  };

  /** POST /oauth/token with grant_type=client_credentials; client credentials by Basic or form fields. */
  token(req: SandboxRequest): SandboxResponse {
    const form = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, string>;
    const basic = basicCredentials(req);
    const clientId = basic?.username ?? form.client_id ?? '';
    const clientSecret = basic?.password ?? form.client_secret ?? '';
    const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
    if (form.grant_type !== 'client_credentials') {
      return { status: 400, headers: noStore, body: { error: 'unsupported_grant_type', error_description: `grant_type must be client_credentials, got ${form.grant_type ?? 'none'}` } };
    }
    if (!same(clientId, FHIR_CLIENT_ID) || !same(clientSecret, FHIR_CLIENT_SECRET)) {
      return { status: 401, headers: { ...noStore, ...(basic ? { 'WWW-Authenticate': 'Basic realm="fhir"' } : {}) }, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
    }
    if (this.expiries.size >= MAX_REMEMBERED_TOKENS) {
      const now = Date.now();
      for (const [token, expiry] of this.expiries) if (expiry <= now) this.expiries.delete(token);
    }
    const accessToken = randomBytes(32).toString('hex');
    this.expiries.set(accessToken, Date.now() + this.ttlSeconds * 1000);
    return { status: 200, headers: noStore, body: { access_token: accessToken, token_type: 'Bearer', expires_in: this.ttlSeconds, scope: form.scope ?? 'system/*.*' } };
  }
}
