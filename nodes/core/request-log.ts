/**
 * The request log: every exchange the shared HTTP client makes (each attempt of each call) kept
 * in the embedded database (`chis-state/request-log.db`), so an implementer can answer "what did
 * we send, and what did the server say?" from the editor: time, system, method, URL, status,
 * duration, the message's correlation id and both bodies, cut at a configured size and redacted.
 *
 * Recording is on the path of every request, so `record()` only queues the entry; redaction,
 * truncation and the insert happen in one transaction per batch (every FLUSH_INTERVAL_MS or
 * FLUSH_BATCH entries, and on close).
 *
 * One log per runtime, set up by `ensureRequestLog(RED)` (called from registerNodeType), which
 * also serves the editor's endpoint:
 *
 *   GET /chis/request-log?correlationId=&status=&system=&limit=50
 *   -> 200 { entries: [{ id, time, system, method, url, status, durationMs, correlationId, requestBody, responseBody, error }] }
 *
 * `status` is an exact code (500), a class (5xx, 4xx) or `error` (no response: network failure,
 * timeout; status null).
 */
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { NodeAPI } from 'node-red';
import { adminRoutes, needsPermission } from './lookups';
import { REDACTED, redactUrl } from './redact';
import { type ExchangeReport, setExchangeSink } from './request-context';
import { type SqlDatabase, type SqlStatement, type SqlValue, acquireDatabase } from './sqlite';

export const REQUEST_LOG_DATABASE = 'request-log';

export interface RequestLogSettings {
  /** Default true. */
  enabled: boolean;
  /** Each body is cut to this many UTF-8 bytes; 0 keeps no bodies. Default 4096. */
  maxBodyBytes: number;
  /** Entries older than this are deleted (hourly). Default 7. */
  retentionDays: number;
}

export const DEFAULT_REQUEST_LOG_SETTINGS: Readonly<RequestLogSettings> = { enabled: true, maxBodyBytes: 4096, retentionDays: 7 };

/** What the HTTP client reports; bodies as text, not yet redacted. */
export type RequestLogInput = Omit<ExchangeReport, 'secrets'> & { secrets?: readonly string[] };

export interface RequestLogEntry {
  id: number;
  /** ISO time the request was sent. */
  time: string;
  system: string;
  method: string;
  url: string;
  /** null: no response (network failure, timeout). */
  status: number | null;
  durationMs: number;
  attempt: number;
  correlationId: string | null;
  requestBody: string | null;
  responseBody: string | null;
  error: string | null;
}

export interface RequestLogQuery {
  correlationId?: string;
  /** '500', '5xx', '4xx', 'error' (no response). */
  status?: string | number;
  system?: string;
  /** Default 50, at most MAX_SEARCH_LIMIT. */
  limit?: number;
}

export interface RequestLogOptions {
  settings?: Partial<RequestLogSettings>;
  flushIntervalMs?: number;
  flushBatch?: number;
  /** Told once per failed flush (the entries of that batch are dropped: the log must not grow without bound). */
  onError?: (error: Error) => void;
}

const FLUSH_INTERVAL_MS = 100;
const FLUSH_BATCH = 500;
export const MAX_SEARCH_LIMIT = 1000;
const DEFAULT_SEARCH_LIMIT = 50;
const DAY_MS = 86_400_000;
/** Bodies are cut to the kept size plus this before redaction. */
const CUT_MARGIN = 1024;

/** The names under which credentials sit, as redact.ts recognises them in objects. */
const CREDENTIAL_NAME = String.raw`[^"\\=&\s<>/]*(?:pass(?:word)?|secret|token|authorization|cookie|api[-_]?key|credential)[^"\\=&\s<>/]*`;
/** Most bodies name no credential at all: one cheap scan spares them the patterns below. */
const CREDENTIAL_WORD = /pass|secret|token|authori[sz]ation|cookie|api[-_]?key|credential/i;
/** Values under credential names: `"password": "..."`, `password=...`, `<password>...</password>`, `Authorization: ...`. */
const TEXT_PATTERNS: Array<[RegExp, string]> = [
  [new RegExp(String.raw`("${CREDENTIAL_NAME}"\s*:\s*)(?:"(?:[^"\\]|\\.)*"?|[^,}\]\s]+)`, 'gi'), `$1"${REDACTED}"`],
  [new RegExp(String.raw`((?:^|[?&;\s])${CREDENTIAL_NAME}=)[^&;\s]*`, 'gi'), `$1${REDACTED}`],
  [new RegExp(String.raw`(<(${CREDENTIAL_NAME})(?:\s[^>]*)?>)[^<]*`, 'gi'), `$1${REDACTED}`],
  [/^((?:proxy-)?authorization|cookie|set-cookie|x-api-key)(\s*:\s*)[^\r\n]*/gim, `$1$2${REDACTED}`],
];

export class RequestLog {
  private settings: RequestLogSettings;
  private pending: RequestLogInput[] = [];
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly insert: SqlStatement;
  private readonly pruneOlder: SqlStatement;
  private readonly searches = new Map<string, SqlStatement>();
  private readonly flushIntervalMs: number;
  private readonly flushBatch: number;

  constructor(private readonly db: SqlDatabase, private readonly options: RequestLogOptions = {}) {
    this.settings = { ...DEFAULT_REQUEST_LOG_SETTINGS, ...options.settings };
    this.flushIntervalMs = options.flushIntervalMs ?? FLUSH_INTERVAL_MS;
    this.flushBatch = options.flushBatch ?? FLUSH_BATCH;
    db.exec(`
CREATE TABLE IF NOT EXISTS request_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  system TEXT NOT NULL,
  method TEXT NOT NULL,
  url TEXT NOT NULL,
  status INTEGER,
  duration_ms INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  correlation_id TEXT,
  request_body TEXT,
  response_body TEXT,
  error TEXT
);
CREATE INDEX IF NOT EXISTS request_log_time ON request_log (time);
CREATE INDEX IF NOT EXISTS request_log_correlation ON request_log (correlation_id, id);
CREATE INDEX IF NOT EXISTS request_log_status ON request_log (status, id);
`);
    this.insert = db.prepare(
      'INSERT INTO request_log (time, system, method, url, status, duration_ms, attempt, correlation_id, request_body, response_body, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.pruneOlder = db.prepare('DELETE FROM request_log WHERE time < ?');
  }

  get file(): string {
    return this.db.file;
  }

  configure(settings: Partial<RequestLogSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  /** Queues one exchange; cheap enough for every request. */
  record(entry: RequestLogInput): void {
    if (this.closed) return;
    this.pending.push(entry);
    if (this.pending.length >= this.flushBatch) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.flushIntervalMs).unref();
  }

  /** Writes the queued entries in one transaction; returns how many were written. */
  flush(): number {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || !this.pending.length) return 0;
    const batch = this.pending;
    this.pending = [];
    const maxBytes = this.settings.maxBodyBytes;
    try {
      this.db.transaction(() => {
        for (const entry of batch) {
          const secrets = entry.secrets ?? [];
          this.insert.run(
            entry.time,
            entry.system,
            entry.method,
            redactBodyText(redactUrl(entry.url), secrets),
            entry.status ?? null,
            Math.round(entry.durationMs),
            entry.attempt,
            entry.correlationId ?? null,
            logBody(entry.requestBody, secrets, maxBytes),
            logBody(entry.responseBody, secrets, maxBytes),
            entry.error ?? null,
          );
        }
      });
      return batch.length;
    } catch (error) {
      this.options.onError?.(error as Error);
      return 0;
    }
  }

  /** Newest first. Queued entries are written first, so what was just sent is found. */
  search(query: RequestLogQuery = {}): RequestLogEntry[] {
    if (!this.closed) this.flush();
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (query.correlationId) {
      conditions.push('correlation_id = ?');
      params.push(query.correlationId);
    }
    if (query.system) {
      conditions.push('system = ?');
      params.push(query.system);
    }
    const status = parseStatusFilter(query.status);
    if (status === 'none') {
      conditions.push('status IS NULL');
    } else if (status) {
      conditions.push('status >= ? AND status <= ?');
      params.push(status.from, status.to);
    }
    const limit = Math.min(MAX_SEARCH_LIMIT, Math.max(1, Math.floor(Number(query.limit) || DEFAULT_SEARCH_LIMIT)));
    params.push(limit);
    const sql = `SELECT * FROM request_log${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    let statement = this.searches.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.searches.set(sql, statement);
    }
    return statement.all(...params).map(toEntry);
  }

  /** Deletes entries older than the retention period; returns how many. */
  prune(now: number = Date.now()): number {
    if (this.closed) return 0;
    this.flush();
    return Number(this.pruneOlder.run(now - this.settings.retentionDays * DAY_MS).changes);
  }

  /** Writes what is queued; later records are ignored. The database itself belongs to whoever opened it. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }
}

/** An invalid filter matches nothing rather than everything: a typo must not look like "all fine". */
export function parseStatusFilter(value: string | number | undefined): { from: number; to: number } | 'none' | undefined {
  if (value === undefined || value === '') return undefined;
  const text = String(value).trim().toLowerCase();
  if (text === 'error') return 'none';
  const exact = /^\d{3}$/.exec(text);
  if (exact) return { from: Number(text), to: Number(text) };
  const range = /^([1-5])xx$/.exec(text);
  if (range) return { from: Number(range[1]) * 100, to: Number(range[1]) * 100 + 99 };
  return { from: -1, to: -1 };
}

function toEntry(row: Record<string, SqlValue>): RequestLogEntry {
  const text = (value: SqlValue | undefined): string | null => (value === null || value === undefined ? null : String(value));
  return {
    id: Number(row.id),
    time: new Date(Number(row.time)).toISOString(),
    system: String(row.system),
    method: String(row.method),
    url: String(row.url),
    status: row.status === null || row.status === undefined ? null : Number(row.status),
    durationMs: Number(row.duration_ms),
    attempt: Number(row.attempt),
    correlationId: text(row.correlation_id),
    requestBody: text(row.request_body),
    responseBody: text(row.response_body),
    error: text(row.error),
  };
}

/**
 * A body as stored: credentials redacted, then cut to `maxBytes` UTF-8 bytes with a marker.
 * Redaction works on the text (a parse and deep copy costs ten times more), and only on the part
 * that is kept, so a large body costs no more than a small one.
 */
export function logBody(body: string | undefined, secrets: readonly string[], maxBytes: number): string | null {
  if (body === undefined || body === '' || maxBytes <= 0) return null;
  // A secret cut in half at the edge would escape the value match, hence the margin.
  const kept = body.length > maxBytes + CUT_MARGIN ? body.slice(0, maxBytes + CUT_MARGIN) : body;
  return truncateBytes(redactBodyText(kept, secrets), maxBytes, body.length * 3 <= maxBytes ? undefined : Buffer.byteLength(body));
}

/** Known secrets (verbatim, URL-encoded, base64) and values under credential names, in JSON, forms, XML or header lines. */
export function redactBodyText(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const form of secretForms(secrets)) if (result.includes(form)) result = result.split(form).join(REDACTED);
  if (!CREDENTIAL_WORD.test(result)) return result;
  for (const [pattern, replacement] of TEXT_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

const formsBySecrets = new Map<string, string[]>();
const MAX_CACHED_SECRET_SETS = 64;
const MIN_SECRET_LENGTH = 4;

/**
 * Each secret as it may appear on the wire (verbatim, URL-encoded, base64), longest first, as
 * redact.ts's redactText finds them; cached, because a client sends the same few credentials
 * thousands of times and working out their forms costs more than the search itself.
 */
function secretForms(secrets: readonly string[]): string[] {
  if (!secrets.length) return [];
  const key = secrets.join('\u0000');
  let forms = formsBySecrets.get(key);
  if (!forms) {
    const found = new Set<string>();
    for (const secret of secrets) {
      if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
      const base64 = Buffer.from(secret, 'utf8').toString('base64');
      for (const form of [secret, encodeURIComponent(secret), base64, base64.replace(/=+$/, '')]) found.add(form);
    }
    forms = [...found].sort((a, b) => b.length - a.length);
    if (formsBySecrets.size >= MAX_CACHED_SECRET_SETS) formsBySecrets.delete(formsBySecrets.keys().next().value as string);
    formsBySecrets.set(key, forms);
  }
  return forms;
}

/** Cuts to `maxBytes` UTF-8 bytes; the marker gives `totalBytes` (the original body's size) or the text's own. */
export function truncateBytes(text: string, maxBytes: number, totalBytes?: number): string {
  // Most bodies are far below the limit: skip the byte count when even 3 bytes a character fits.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  // A multi-byte character cut in two decodes as U+FFFD; drop it.
  const cut = bytes.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
  return `${cut}… [truncated: ${totalBytes ?? bytes.length} bytes]`;
}

// ---- one log per runtime ----

interface OpenLog {
  log: RequestLog;
  userDir: string | undefined;
  release(): void;
  pruneTimer: NodeJS.Timeout;
}

const PRUNE_INTERVAL_MS = 60 * 60_000;

let open: OpenLog | undefined;
let latest: NodeAPI | undefined;
const watchedEvents = new WeakSet<object>();
const servedApps = new WeakSet<object>();

export function requestLogSettings(RED: Pick<NodeAPI, 'settings'>): RequestLogSettings {
  const given = ((RED.settings as unknown as Record<string, unknown>)?.chisRequestLog ?? {}) as Partial<Record<keyof RequestLogSettings, unknown>>;
  const number = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback);
  return {
    enabled: given.enabled !== false,
    maxBodyBytes: Math.floor(number(given.maxBodyBytes, DEFAULT_REQUEST_LOG_SETTINGS.maxBodyBytes)),
    retentionDays: number(given.retentionDays, DEFAULT_REQUEST_LOG_SETTINGS.retentionDays),
  };
}

/** The log of this runtime, if open. */
export function currentRequestLog(): RequestLog | undefined {
  return open?.log;
}

/**
 * Opens the runtime's request log (idempotent: every node type registration calls it), hooks it
 * to the HTTP client, prunes it hourly, serves the editor's endpoint, and closes it when the
 * flows stop (a full stop: shutdown, full deploy) to reopen it when they start again.
 */
export function ensureRequestLog(RED: NodeAPI): RequestLog | undefined {
  latest = RED;
  serveEndpoint(RED);
  watchRuntime(RED);
  const settings = requestLogSettings(RED);
  if (!settings.enabled) {
    closeRequestLog();
    return undefined;
  }
  const userDir = RED.settings?.userDir as string | undefined;
  if (open && open.userDir === userDir) {
    open.log.configure(settings);
    return open.log;
  }
  closeRequestLog();
  try {
    const { db, release } = acquireDatabase(userDir, REQUEST_LOG_DATABASE);
    let warned = false;
    const log = new RequestLog(db, {
      settings,
      onError: (error) => {
        if (warned) return;
        warned = true;
        RED.log?.warn(`request log: could not write entries (${error.message}); further failures are not reported`);
      },
    });
    const prune = (): void => {
      try {
        log.prune();
      } catch (error) {
        RED.log?.warn(`request log: prune failed: ${(error as Error).message}`);
      }
    };
    prune();
    const pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS).unref();
    open = { log, userDir, release, pruneTimer };
    setExchangeSink((report) => log.record(report));
    return log;
  } catch (error) {
    // The log observes; a runtime without a working SQLite still runs its flows.
    RED.log?.warn(`request log disabled: ${(error as Error).message}`);
    return undefined;
  }
}

/** Flushes and closes the runtime's log, and releases its database. */
export function closeRequestLog(): void {
  const closing = open;
  if (!closing) return;
  open = undefined;
  setExchangeSink(undefined);
  clearInterval(closing.pruneTimer);
  try {
    closing.log.close();
  } finally {
    closing.release();
  }
}

function watchRuntime(RED: NodeAPI): void {
  const events = (RED as { events?: EventEmitter }).events;
  if (!events || watchedEvents.has(events)) return;
  watchedEvents.add(events);
  events.on('flows:stopped', (event: { type?: string } | undefined) => {
    if (!event?.type || event.type === 'full') closeRequestLog();
    else open?.log.flush();
  });
  events.on('flows:started', () => {
    // A test runtime whose userDir was removed after it stopped is gone: do not recreate it.
    const userDir = latest?.settings?.userDir as string | undefined;
    if (latest && !open && (userDir === undefined || fs.existsSync(userDir))) ensureRequestLog(latest);
  });
}

function serveEndpoint(RED: NodeAPI): void {
  const app = RED.httpAdmin as unknown as object | undefined;
  if (!app || servedApps.has(app)) return;
  servedApps.add(app);
  adminRoutes(RED).get('/chis/request-log', needsPermission(RED, 'chis-request-log.read'), (req: any, res: any) => {
    const query = req.query as Record<string, unknown>;
    const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
    try {
      const entries = (open?.log.search({ correlationId: text(query.correlationId), status: text(query.status), system: text(query.system), limit: Number(query.limit) || undefined }) ?? []).map(
        (entry) => ({
          id: entry.id,
          time: entry.time,
          system: entry.system,
          method: entry.method,
          url: entry.url,
          status: entry.status,
          durationMs: entry.durationMs,
          correlationId: entry.correlationId,
          requestBody: entry.requestBody,
          responseBody: entry.responseBody,
          error: entry.error,
        }),
      );
      res.json({ entries });
    } catch (error) {
      res.status(500).json({ error: `request log: ${(error as Error).message}` });
    }
  });
}
