/**
 * Authentication for the package's HTTP receivers (CommCare forwarding, CHT outbound push,
 * RapidPro webhooks, FHIR/OpenHIM callers). Every receiver requires it unless an implementer
 * explicitly opts out; comparisons are constant-time so secrets cannot be guessed byte by byte.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type ReceiverAuthMode = 'basic' | 'bearer' | 'header' | 'query' | 'hmac' | 'none';

export interface ReceiverAuthSettings {
  mode: ReceiverAuthMode;
  /** For 'header': the header that carries the secret (e.g. X-Demo-Token, Authorization). */
  headerName?: string;
  /** For 'query': the query-string parameter that carries the secret. */
  queryParam?: string;
  /** For 'hmac': the signature header, digest and encoding, and an optional prefix like "sha256=". */
  signatureHeader?: string;
  algorithm?: 'sha256' | 'sha1' | 'sha512';
  encoding?: 'hex' | 'base64';
  signaturePrefix?: string;
}

export interface ReceiverSecrets {
  username?: string;
  password?: string;
  /** The token, header value, query value or HMAC key, depending on the mode. */
  token?: string;
}

export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  rawBody: Buffer;
}

export type AuthResult = { ok: true } | { ok: false; status: 401 | 403; reason: string; challenge?: string };

/** Constant-time equality that does not leak the secret's length either. */
export function secretEquals(given: string, expected: string): boolean {
  const key = 'chis-receiver-compare';
  const left = createHmac('sha256', key).update(given).digest();
  const right = createHmac('sha256', key).update(expected).digest();
  return timingSafeEqual(left, right);
}

function header(request: AuthRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

const denied = (reason: string, challenge?: string): AuthResult => ({ ok: false, status: 401, reason, challenge });

/**
 * Why a configuration lets nobody in (or everybody), for the deploy-time warning; undefined
 * when it is usable. A missing secret is never treated as "no authentication".
 */
export function receiverAuthProblem(settings: ReceiverAuthSettings | undefined, secrets: ReceiverSecrets): string | undefined {
  switch (settings?.mode) {
    case 'none':
      return 'anonymous access: anyone who can reach Node-RED can post to the receivers using this config';
    case 'basic':
      return secrets.username && secrets.password ? undefined : 'no username or password set: every request is refused';
    case 'bearer':
    case 'header':
    case 'query':
    case 'hmac':
      return secrets.token ? undefined : `no ${settings.mode === 'hmac' ? 'signing key' : 'token'} set: every request is refused`;
    default:
      return `unknown authentication mode "${String(settings?.mode)}": every request is refused`;
  }
}

export function checkReceiverAuth(settings: ReceiverAuthSettings | undefined, secrets: ReceiverSecrets, request: AuthRequest): AuthResult {
  if (!settings) return denied('receiver has no authentication configured');
  switch (settings.mode) {
    case 'none':
      return { ok: true };
    case 'basic': {
      const match = /^Basic\s+(.+)$/i.exec(header(request, 'authorization') ?? '');
      if (!match || !secrets.username || !secrets.password) return denied('basic credentials required', 'Basic realm="chis"');
      const decoded = Buffer.from(match[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const userOk = secretEquals(decoded.slice(0, Math.max(colon, 0)), secrets.username);
      const passOk = secretEquals(decoded.slice(colon + 1), secrets.password);
      return colon >= 0 && userOk && passOk ? { ok: true } : denied('invalid credentials', 'Basic realm="chis"');
    }
    case 'bearer': {
      const match = /^Bearer\s+(.+)$/i.exec(header(request, 'authorization') ?? '');
      if (!match || !secrets.token) return denied('bearer token required', 'Bearer');
      return secretEquals(match[1].trim(), secrets.token) ? { ok: true } : denied('invalid token', 'Bearer error="invalid_token"');
    }
    case 'header': {
      const value = header(request, settings.headerName || 'authorization');
      if (!value || !secrets.token) return denied(`header ${settings.headerName || 'authorization'} required`);
      return secretEquals(value, secrets.token) ? { ok: true } : denied('invalid token');
    }
    case 'query': {
      const value = request.query[settings.queryParam || 'token'];
      if (typeof value !== 'string' || !secrets.token) return denied(`query parameter ${settings.queryParam || 'token'} required`);
      return secretEquals(value, secrets.token) ? { ok: true } : denied('invalid token');
    }
    case 'hmac': {
      const given = header(request, settings.signatureHeader || 'x-signature');
      if (!given || !secrets.token) return denied('signature required');
      const digest = createHmac(settings.algorithm ?? 'sha256', secrets.token).update(request.rawBody).digest(settings.encoding ?? 'hex');
      return secretEquals(given, `${settings.signaturePrefix ?? ''}${digest}`) ? { ok: true } : denied('invalid signature');
    }
    default:
      return denied('unknown authentication mode');
  }
}
