/**
 * How a client authenticates. Providers add headers to each request, may refresh once after a
 * 401, and list their secrets so the client can scrub them from everything it reports.
 */
import https from 'node:https';
import axios from 'axios';
import { IntegrationError, classifyNetworkError, classifyStatus } from './errors';
import { redactText, redactUrl } from './redact';

export interface AuthProvider {
  apply(headers: Record<string, string>): Promise<void> | void;
  /** Called once on 401; return true to retry the request once. */
  refresh?(): Promise<boolean>;
  /** Values to scrub from errors and logs. */
  secrets(): string[];
}

export function basicAuth(username: string, password: string): AuthProvider {
  const value = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  return {
    apply(headers) {
      headers.Authorization = value;
    },
    // "user:password" so its base64 (the header value) is recognised too.
    secrets: () => [password, `${username}:${password}`],
  };
}

/**
 * A fixed credential header, e.g. `Authorization: Token x` (RapidPro), `ApiKey user:key`
 * (CommCare), `ApiToken x` (DHIS2) or `X-Api-Key: x`.
 */
export function headerAuth(name: string, value: string): AuthProvider {
  const credential = value.includes(' ') ? value.slice(value.indexOf(' ') + 1) : value;
  const afterColon = credential.includes(':') ? credential.slice(credential.indexOf(':') + 1) : undefined;
  const secrets = [value, credential, ...(afterColon ? [afterColon] : [])];
  return {
    apply(headers) {
      headers[name] = value;
    },
    secrets: () => secrets,
  };
}

export function bearerAuth(token: string): AuthProvider {
  return headerAuth('Authorization', `Bearer ${token}`);
}

export interface AccessToken {
  accessToken: string;
  /** Lifetime from now; without it the token is kept until a 401. */
  expiresInSec?: number;
}

export interface OAuth2ClientCredentialsOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  /** Renew this long before the stated expiry, so a token does not expire in flight. */
  expirySkewMs?: number;
  timeoutMs?: number;
  rejectUnauthorized?: boolean;
  /** For token endpoints that are not standard RFC 6749 client-credentials. */
  fetchToken?: () => Promise<AccessToken>;
}

/** Previously issued tokens stay in the redaction list for a while: in-flight logs may hold them. */
const REMEMBERED_TOKENS = 5;

export function oauth2ClientCredentials(options: OAuth2ClientCredentialsOptions): AuthProvider {
  const skewMs = options.expirySkewMs ?? 30_000;
  const issued: string[] = [];
  let current: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const fetchToken = options.fetchToken ?? (() => requestClientCredentialsToken(options));

  // Concurrent requests share one token request instead of each fetching their own.
  const obtain = (): Promise<string> => {
    pending ??= fetchToken()
      .then(({ accessToken, expiresInSec }) => {
        issued.push(accessToken);
        if (issued.length > REMEMBERED_TOKENS) issued.shift();
        const expiresAt = expiresInSec === undefined ? Number.POSITIVE_INFINITY : Date.now() + expiresInSec * 1000 - skewMs;
        current = { token: accessToken, expiresAt };
        return accessToken;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };

  return {
    async apply(headers) {
      const token = current && Date.now() < current.expiresAt ? current.token : await obtain();
      headers.Authorization = `Bearer ${token}`;
    },
    async refresh() {
      current = undefined;
      await obtain();
      return true;
    },
    secrets: () => [options.clientSecret, `${options.clientId}:${options.clientSecret}`, ...issued],
  };
}

async function requestClientCredentialsToken(options: OAuth2ClientCredentialsOptions): Promise<AccessToken> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (options.scope) form.set('scope', options.scope);
  const request = { method: 'POST', url: redactUrl(options.tokenUrl) };
  let response;
  try {
    response = await axios.post(options.tokenUrl, form.toString(), {
      auth: { username: options.clientId, password: options.clientSecret },
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      timeout: options.timeoutMs ?? 30_000,
      httpsAgent: options.rejectUnauthorized === false ? new https.Agent({ rejectUnauthorized: false }) : undefined,
      validateStatus: () => true,
    });
  } catch (error) {
    // The axios error holds the request config (with the client secret): report only its class.
    const network = classifyNetworkError(error);
    throw new IntegrationError(`token request to ${request.url} failed: ${network.reason}`, { code: network.code, retryable: network.retryable, request });
  }
  const body = response.data as { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
  if (response.status >= 400 || typeof body?.access_token !== 'string') {
    const { code, retryable } = response.status >= 400 ? classifyStatus(response.status) : { code: 'auth' as const, retryable: false };
    // RFC 6749 error codes ("invalid_client") are safe to show and say what is wrong.
    const reason = typeof body?.error === 'string' ? `: ${redactText(body.error, [options.clientSecret, `${options.clientId}:${options.clientSecret}`])}` : '';
    throw new IntegrationError(`token request to ${request.url} failed: HTTP ${response.status}${reason}`, { code, retryable, status: response.status, request });
  }
  const expiresIn = Number(body.expires_in);
  return { accessToken: body.access_token, expiresInSec: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined };
}
