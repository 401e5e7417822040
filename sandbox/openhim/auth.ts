/**
 * API authentication as core does it: the deprecated token scheme (auth-username, auth-ts,
 * auth-salt, auth-token headers) when any auth-* header is present, else HTTP Basic.
 * Failures are a bare 401: core sets the status but never a body detail.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { basicCredentials, type AuthCheck, type SandboxRequest, type SandboxResponse } from '../core';
import { sha512, type OpenhimStore, type User } from './store';
import { AUTH_WINDOW_SECONDS } from './seed';

export const UNAUTHORIZED: SandboxResponse = { status: 401, body: 'Unauthorized' };

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function header(req: SandboxRequest, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value ?? '';
}

/**
 * token = sha512(passwordHash + auth-salt + auth-ts), where passwordHash = sha512(salt + password)
 * is the stored token passport and auth-ts is hashed exactly as sent (openhim-mediator-utils
 * sends Date#toString(), newer clients an ISO string).
 */
function tokenUser(store: OpenhimStore, req: SandboxRequest): User | undefined {
  const email = header(req, 'auth-username');
  const ts = header(req, 'auth-ts');
  const salt = header(req, 'auth-salt');
  const token = header(req, 'auth-token');
  if (!email || !ts || !salt || !token) return undefined;
  const requestTime = Date.parse(ts);
  if (!Number.isFinite(requestTime) || Math.abs(Date.now() - requestTime) > AUTH_WINDOW_SECONDS * 1000) return undefined;
  const user = store.users.get(email.toLowerCase());
  if (!user) return undefined;
  const expected = createHash(user.passwordAlgorithm).update(user.passwordHash).update(salt).update(ts).digest('hex');
  return same(token, expected) ? user : undefined;
}

function basicUser(store: OpenhimStore, req: SandboxRequest): User | undefined {
  const credentials = basicCredentials(req);
  if (!credentials) return undefined;
  const user = store.users.get(credentials.username.toLowerCase());
  return user && same(sha512(user.passwordSalt + credentials.password), user.passwordHash) ? user : undefined;
}

export function apiAuth(store: OpenhimStore): AuthCheck {
  return (req) => {
    const usesToken = ['auth-username', 'auth-ts', 'auth-salt', 'auth-token'].some((name) => req.headers[name] !== undefined);
    if (usesToken) return tokenUser(store, req) ? undefined : UNAUTHORIZED;
    if (/^Basic /i.test(header(req, 'authorization'))) return basicUser(store, req) ? undefined : UNAUTHORIZED;
    return UNAUTHORIZED;
  };
}

/** Router-side client authentication: Basic against the client's passwordHash (crypto algorithms only). */
export function authenticateClient(store: OpenhimStore, req: SandboxRequest): Record<string, any> | undefined {
  const credentials = basicCredentials(req);
  if (!credentials) return undefined;
  const client = store.clientsByClientId.get(credentials.username);
  if (!client?.passwordHash || !client.passwordAlgorithm || !client.passwordSalt) return undefined;
  let computed: string;
  try {
    computed = createHash(client.passwordAlgorithm).update(credentials.password).update(client.passwordSalt).digest('hex');
  } catch {
    return undefined; // bcrypt hashes are not supported by the sandbox
  }
  return same(computed, client.passwordHash) ? client : undefined;
}
