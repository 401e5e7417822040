/**
 * OpenHIM's legacy API authentication (cores before 7.2.1, still accepted later): the client
 * asks `GET /authenticate/:username` for the user's salt and the server time, then sends
 * auth-username, auth-ts, auth-salt and auth-token headers where
 *   passwordHash = sha512(salt + password)        (core's stored token passport)
 *   auth-token   = sha512(passwordHash + salt + auth-ts)
 * as openhim-mediator-utils computes them. The salt and time are fetched for every request:
 * using the server's own clock keeps requests inside core's auth window (10 s by default)
 * even when the Node-RED host's clock drifts.
 */
import { createHash } from 'node:crypto';
import type { AuthProvider } from '../../core/auth';
import { IntegrationError, isIntegrationError } from '../../core/errors';
import { HttpClient, type HttpClientOptions } from '../../core/http-client';

export interface AuthenticateAnswer {
  salt: string;
  ts: string;
}

const sha512 = (text: string): string => createHash('sha512').update(text).digest('hex');

export function legacyPasswordHash(salt: string, password: string): string {
  return sha512(salt + password);
}

export function legacyAuthToken(passwordHash: string, salt: string, ts: string): string {
  return sha512(passwordHash + salt + ts);
}

export function legacyAuthHeaders(username: string, password: string, answer: AuthenticateAnswer): Record<string, string> {
  return {
    'auth-username': username,
    'auth-ts': answer.ts,
    'auth-salt': answer.salt,
    'auth-token': legacyAuthToken(legacyPasswordHash(answer.salt, password), answer.salt, answer.ts),
  };
}

export interface LegacyTokenAuth extends AuthProvider {
  /** Frees the connections of the salt requests. */
  close(): void;
}

/** `connection` is the API client's own options: the salt request goes to the same core. */
export function legacyTokenAuth(connection: HttpClientOptions, username: string, password: string): LegacyTokenAuth {
  // A client of its own: the API client calls apply() while holding one of its connection slots.
  const saltClient = new HttpClient({ ...connection, auth: undefined, onRequestComplete: undefined, maxConcurrent: 2 });
  const hashes = new Set<string>();
  return {
    async apply(headers) {
      let answer: AuthenticateAnswer;
      try {
        answer = (await saltClient.get<AuthenticateAnswer>(`authenticate/${encodeURIComponent(username)}`)).data;
      } catch (error) {
        if (isIntegrationError(error) && error.code === 'not-found') {
          throw new IntegrationError(`openhim: user ${username} is unknown to the core API (GET /authenticate answered 404)`, {
            code: 'auth', retryable: false, status: 404, system: connection.system, request: error.request,
          });
        }
        throw error;
      }
      if (typeof answer?.salt !== 'string' || typeof answer.ts !== 'string') {
        throw new IntegrationError('openhim: GET /authenticate answered without salt and ts', { code: 'remote-error', retryable: false, system: connection.system });
      }
      hashes.add(legacyPasswordHash(answer.salt, password));
      Object.assign(headers, legacyAuthHeaders(username, password, answer));
    },
    // The password hash alone is enough to forge tokens, so it is as secret as the password.
    secrets: () => [password, ...hashes],
    close: () => saltClient.close(),
  };
}
