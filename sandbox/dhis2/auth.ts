/**
 * DHIS2 authentication: HTTP Basic for users, `Authorization: ApiToken d2pat_...` for personal
 * access tokens. Failures answer with DHIS2's 401 WebMessage.
 */
import { timingSafeEqual } from 'node:crypto';
import { basicCredentials, type AuthCheck, type SandboxRequest } from '../core';
import { DEMO_API_TOKEN, USERS, type SandboxUser } from './seed';
import { webMessage } from './web-message';

const TOKENS = new Map<string, SandboxUser>([[DEMO_API_TOKEN, USERS[0]]]);

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

type Identification = { user: SandboxUser } | { error: string };

function identify(req: SandboxRequest): Identification {
  const header = String(req.headers.authorization ?? '');
  const token = /^ApiToken\s+(\S+)$/i.exec(header);
  if (token) {
    const user = TOKENS.get(token[1]);
    return user ? { user } : { error: 'The API token does not exists.' };
  }
  const credentials = basicCredentials(req);
  if (credentials) {
    const user = USERS.find((candidate) => candidate.username === credentials.username);
    if (user && same(user.password, credentials.password)) return { user };
  }
  return { error: 'Unauthorized' };
}

export const dhis2Auth: AuthCheck = (req) => {
  const result = identify(req);
  if ('user' in result) return undefined;
  return {
    status: 401,
    headers: { 'WWW-Authenticate': 'Basic realm="DHIS2"' },
    body: webMessage(401, 'ERROR', result.error),
  };
};

/** The authenticated user; only called from routes that passed `dhis2Auth`. */
export function currentUser(req: SandboxRequest): SandboxUser {
  const result = identify(req);
  if (!('user' in result)) throw new Error('currentUser called on an unauthenticated request');
  return result.user;
}
