import { timingSafeEqual } from 'node:crypto';
import type { AuthCheck, SandboxRequest, SandboxResponse } from './app';

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Credentials from a Basic Authorization header, or undefined. */
export function basicCredentials(req: SandboxRequest): { username: string; password: string } | undefined {
  const header = String(req.headers.authorization ?? '');
  const match = /^Basic\s+(.+)$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Accepts Basic auth with these credentials; otherwise answers with `denied` (401 by default). */
export function basicAuth(username: string, password: string, denied?: SandboxResponse): AuthCheck {
  return (req) => {
    const creds = basicCredentials(req);
    if (creds && same(creds.username, username) && same(creds.password, password)) return undefined;
    return denied ?? { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="sandbox"' }, body: { error: 'Unauthorized' } };
  };
}

/** Accepts an exact Authorization header value such as "Token abc" or "Bearer xyz". */
export function authorizationHeader(expected: string, denied?: SandboxResponse): AuthCheck {
  return (req) => {
    const value = String(req.headers.authorization ?? '');
    if (same(value, expected)) return undefined;
    return denied ?? { status: 401, body: { error: 'Unauthorized' } };
  };
}

/** Passes when any of the checks passes; answers with the first check's denial otherwise. */
export function anyOf(...checks: AuthCheck[]): AuthCheck {
  return (req) => {
    let first: SandboxResponse | undefined;
    for (const check of checks) {
      const denied = check(req);
      if (!denied) return undefined;
      first ??= denied;
    }
    return first;
  };
}
