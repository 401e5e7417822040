/**
 * Redaction for everything that leaves the HTTP client: error messages, request-log records,
 * debug output. Credentials are recognised by where they sit (header names, URL userinfo and
 * query parameters, object keys) and by value (the secrets an auth provider knows).
 */

export const REDACTED = '[redacted]';

const SENSITIVE_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);
const SENSITIVE_HEADER_PATTERN = /token|secret|api[-_]?key|password|session/i;
const SENSITIVE_QUERY_PARAMS = new Set(['api_key', 'apikey', 'token', 'access_token', 'password', 'key', 'secret', 'signature']);
const SENSITIVE_KEY = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|credential/i;
/** Replacing shorter strings would mangle ordinary text while hiding next to nothing. */
const MIN_SECRET_LENGTH = 4;
const MAX_DEPTH = 20;

export function isSensitiveHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SENSITIVE_HEADERS.has(lower) || SENSITIVE_HEADER_PATTERN.test(lower);
}

export function redactHeaders<T>(headers: Record<string, T>): Record<string, T | string> {
  const copy: Record<string, T | string> = {};
  for (const [name, value] of Object.entries(headers)) copy[name] = isSensitiveHeader(name) ? REDACTED : value;
  return copy;
}

/**
 * Hides URL userinfo and credential-carrying query parameters. Works on relative URLs too and
 * leaves everything else byte-for-byte as it was, so the URL stays recognisable in logs.
 */
export function redactUrl(url: string): string {
  const withoutUserinfo = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, `$1${REDACTED}@`);
  const queryStart = withoutUserinfo.indexOf('?');
  if (queryStart < 0) return withoutUserinfo;
  const hashStart = withoutUserinfo.indexOf('#', queryStart);
  const queryEnd = hashStart < 0 ? withoutUserinfo.length : hashStart;
  const query = withoutUserinfo
    .slice(queryStart + 1, queryEnd)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 0) return pair;
      return SENSITIVE_QUERY_PARAMS.has(decodeComponent(pair.slice(0, equals)).toLowerCase()) ? `${pair.slice(0, equals)}=${REDACTED}` : pair;
    })
    .join('&');
  return `${withoutUserinfo.slice(0, queryStart + 1)}${query}${withoutUserinfo.slice(queryEnd)}`;
}

/**
 * The credentials a URL carries (userinfo password, credential query values), decoded, so they
 * can be scrubbed where a server echoes them back in a body.
 */
export function credentialsInUrl(url: string): string[] {
  const found: string[] = [];
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]*)@/i.exec(url)?.[1];
  if (userinfo?.includes(':')) {
    const decoded = decodeComponent(userinfo);
    found.push(decoded, decoded.slice(decoded.indexOf(':') + 1));
  }
  const query = /\?([^#]*)/.exec(url)?.[1] ?? '';
  for (const pair of query.split('&')) {
    const equals = pair.indexOf('=');
    if (equals > 0 && SENSITIVE_QUERY_PARAMS.has(decodeComponent(pair.slice(0, equals)).toLowerCase())) found.push(decodeComponent(pair.slice(equals + 1)));
  }
  return found;
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Each secret as it may appear on the wire: verbatim, URL-encoded and base64 (Basic auth). */
function secretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
    const base64 = Buffer.from(secret, 'utf8').toString('base64');
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(base64);
    forms.add(base64.replace(/=+$/, ''));
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * Authorization values by their shape, for text whose secrets nobody listed: a server that
 * echoes the request's Authorization header in its error body, an error built from it.
 * Only shapes that cannot be ordinary words: base64 after Basic, a token after Bearer,
 * user:key after ApiKey.
 */
const AUTHORIZATION_VALUE = /\b(Basic|Bearer|ApiKey)(\s+)(?!\[redacted\])([A-Za-z0-9+/_.~@:-]{8,}=*)/g;

export function redactAuthorizationValues(text: string): string {
  return text.replace(AUTHORIZATION_VALUE, (whole, scheme: string, space: string, value: string) => {
    if (scheme === 'ApiKey' && !value.includes(':')) return whole;
    if (scheme === 'Basic' && !/^[A-Za-z0-9+/]+=*$/.test(value)) return whole;
    return `${scheme}${space}${REDACTED}`;
  });
}

/**
 * Replaces every known secret in a text, including the base64 of each; auth providers list
 * "user:password" among their secrets so a Basic Authorization value is caught whole.
 * Authorization values are removed by shape as well.
 */
export function redactText(text: string, secrets: readonly string[]): string {
  return redactAuthorizationValues(replaceForms(text, secretForms(secrets)));
}

function replaceForms(text: string, forms: readonly string[]): string {
  let result = text;
  for (const form of forms) result = result.split(form).join(REDACTED);
  return result;
}

/**
 * A deep copy safe to log: values under credential-like keys are replaced, strings have known
 * secrets removed, cycles and excessive depth are cut, binary data is summarised.
 */
export function redactDeep(value: unknown, secrets: readonly string[] = []): unknown {
  const forms = secretForms(secrets);
  const seen = new WeakSet<object>();
  const visit = (current: unknown, depth: number): unknown => {
    if (typeof current === 'string') return redactAuthorizationValues(replaceForms(current, forms));
    if (current === null || typeof current !== 'object') return typeof current === 'function' ? undefined : current;
    if (current instanceof Date) return new Date(current.getTime());
    if (Buffer.isBuffer(current) || ArrayBuffer.isView(current)) return `[binary ${current.byteLength} bytes]`;
    if (seen.has(current)) return '[circular]';
    if (depth >= MAX_DEPTH) return '[truncated]';
    seen.add(current);
    try {
      if (Array.isArray(current)) return current.map((item) => visit(item, depth + 1));
      // Errors keep their useful own fields; their enumerable props alone would drop the message.
      const source: Record<string, unknown> =
        current instanceof Error ? { name: current.name, message: current.message, ...(current as unknown as Record<string, unknown>) } : (current as Record<string, unknown>);
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(source)) copy[key] = SENSITIVE_KEY.test(key) ? REDACTED : visit(item, depth + 1);
      return copy;
    } finally {
      // Only ancestors count as cycles: the same object twice side by side is copied twice.
      seen.delete(current);
    }
  };
  return visit(value, 0);
}
