/**
 * CouchDB's _changes endpoint over PouchDB: feed=normal|longpoll|continuous with since (a number
 * or "now"), limit, descending, include_docs, style, heartbeat, timeout, and the built-in filters
 * _doc_ids, _selector and _view (doc_ids and selector may come in a POST body).
 */
import type http from 'node:http';
import type { ChangeRow, MedicDb } from './couch';

/** Stop functions of the live feeds, so a reset can end them. */
export type ActiveFeeds = Set<() => void>;

/** CouchDB's chttpd changes_timeout: a feed without heartbeat ends after a minute without changes. */
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_HEARTBEAT_MS = 60_000;

interface FeedParams {
  feed: string;
  options: Record<string, unknown>;
  since: number | 'now';
  limit?: number;
  heartbeatMs?: number;
  timeoutMs: number;
}

class BadRequest extends Error {}

export async function serveChanges(db: MedicDb, req: http.IncomingMessage, res: http.ServerResponse, feeds: ActiveFeeds): Promise<void> {
  let params: FeedParams;
  try {
    params = parseParams(new URL(req.url ?? '/', 'http://sandbox').searchParams, await readJsonBody(req));
  } catch (error) {
    sendJson(res, 400, { error: 'bad_request', reason: (error as Error).message });
    return;
  }
  try {
    if (params.feed === 'continuous') serveContinuous(db, req, res, params, feeds);
    else if (params.feed === 'longpoll') await serveLongpoll(db, req, res, params, feeds);
    else sendJson(res, 200, await oneShot(db, params));
  } catch (error) {
    const status = (error as { status?: number }).status ?? 500;
    const body = { error: (error as { name?: string }).name ?? 'error', reason: (error as Error).message };
    if (!res.headersSent) sendJson(res, status, body);
    else res.end();
  }
}

function parseParams(query: URLSearchParams, body: Record<string, unknown>): FeedParams {
  const feed = query.get('feed') ?? 'normal';
  if (!['normal', 'longpoll', 'continuous'].includes(feed)) throw new BadRequest(`Invalid feed: ${feed}`);
  const options: Record<string, unknown> = {};
  const flag = (name: string): boolean => query.get(name) === 'true';
  if (flag('include_docs')) options.include_docs = true;
  if (flag('descending')) options.descending = true;
  if (flag('conflicts')) options.conflicts = true;
  if (flag('attachments')) options.attachments = true;
  if (query.get('style') === 'all_docs') options.style = 'all_docs';
  const limit = optionalNumber(query, 'limit');
  if (limit !== undefined) options.limit = Math.max(1, limit);
  const sinceText = query.get('since') ?? '0';
  // CouchDB 2+ sequences look like "12-g1AAAA"; PouchDB's are plain numbers.
  const since = sinceText === 'now' ? 'now' : Number.parseInt(sinceText, 10);
  if (since !== 'now' && Number.isNaN(since)) throw new BadRequest(`Invalid since: ${sinceText}`);
  const filter = query.get('filter');
  if (filter) {
    options.filter = filter;
    if (filter === '_doc_ids') {
      const ids = body.doc_ids ?? parseJsonParam(query, 'doc_ids');
      if (!Array.isArray(ids)) throw new BadRequest('filter=_doc_ids needs a doc_ids array');
      options.doc_ids = ids;
    } else if (filter === '_selector') {
      if (!body.selector || typeof body.selector !== 'object') throw new BadRequest('filter=_selector needs a selector in the body');
      options.selector = body.selector;
    } else if (filter === '_view') {
      options.view = query.get('view');
    }
  }
  const heartbeatText = query.get('heartbeat');
  const heartbeatMs = heartbeatText === null ? undefined : heartbeatText === 'true' ? DEFAULT_HEARTBEAT_MS : Number(heartbeatText);
  return { feed, options, since, limit, heartbeatMs: heartbeatMs && heartbeatMs > 0 ? heartbeatMs : undefined, timeoutMs: optionalNumber(query, 'timeout') ?? DEFAULT_TIMEOUT_MS };
}

async function oneShot(db: MedicDb, params: FeedParams): Promise<{ results: ChangeRow[]; last_seq: number; pending: number }> {
  const result = await db.changes({ ...params.options, since: params.since });
  let pending = 0;
  if (params.limit !== undefined && !params.options.descending) {
    const rest = await db.changes({ ...params.options, include_docs: false, limit: undefined, since: result.last_seq });
    pending = rest.results.length;
  }
  return { results: result.results, last_seq: result.last_seq, pending };
}

async function serveLongpoll(db: MedicDb, req: http.IncomingMessage, res: http.ServerResponse, params: FeedParams, feeds: ActiveFeeds): Promise<void> {
  const first = await oneShot(db, params);
  if (first.results.length > 0) {
    sendJson(res, 200, first);
    return;
  }
  // Nothing yet: hold the request until a change arrives or the timeout passes.
  if (params.heartbeatMs) res.writeHead(200, { 'Content-Type': 'application/json' });
  const collected: ChangeRow[] = [];
  let flushScheduled = false;
  const live = db.changes({ ...params.options, since: first.last_seq, live: true });
  let done = false;
  const finish = (lastSeq: number): void => {
    if (done) return;
    done = true;
    stop();
    const body = JSON.stringify({ results: collected, last_seq: lastSeq, pending: 0 });
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(`${body}\n`);
  };
  const timers = startTimers(res, params, () => finish(first.last_seq), params.heartbeatMs === undefined);
  const stop = (): void => {
    timers.clear();
    live.cancel();
    feeds.delete(stopAndEnd);
  };
  const stopAndEnd = (): void => {
    stop();
    res.end();
  };
  feeds.add(stopAndEnd);
  req.on('close', stop);
  live.on('change', (change) => {
    collected.push(change);
    if (params.limit !== undefined && collected.length >= params.limit) {
      finish(change.seq);
      return;
    }
    // Changes written together (a _bulk_docs) arrive in one tick: answer with all of them.
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => finish(collected[collected.length - 1].seq));
  });
  live.on('error', () => stopAndEnd());
}

function serveContinuous(db: MedicDb, req: http.IncomingMessage, res: http.ServerResponse, params: FeedParams, feeds: ActiveFeeds): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let lastSeq: number | undefined;
  let sent = 0;
  const live = db.changes({ ...params.options, since: params.since, live: true });
  let done = false;
  const finish = async (): Promise<void> => {
    if (done) return;
    done = true;
    stop();
    const seq = lastSeq ?? (await db.info().catch(() => ({ update_seq: 0 }))).update_seq;
    res.end(`${JSON.stringify({ last_seq: seq, pending: 0 })}\n`);
  };
  const timers = startTimers(res, params, () => { void finish(); }, params.heartbeatMs === undefined);
  const stop = (): void => {
    timers.clear();
    live.cancel();
    feeds.delete(stopAndEnd);
  };
  const stopAndEnd = (): void => {
    stop();
    res.end();
  };
  feeds.add(stopAndEnd);
  req.on('close', stop);
  live.on('change', (change) => {
    lastSeq = change.seq;
    sent += 1;
    res.write(`${JSON.stringify(change)}\n`);
    timers.activity();
    if (params.limit !== undefined && sent >= params.limit) void finish();
  });
  live.on('error', () => stopAndEnd());
}

/**
 * Heartbeats keep the feed open indefinitely (CouchDB ignores the timeout then); without them the
 * feed ends `timeout` ms after the last change.
 */
function startTimers(res: http.ServerResponse, params: FeedParams, onTimeout: () => void, useTimeout: boolean): { clear(): void; activity(): void } {
  let timeout: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (!useTimeout) return;
    clearTimeout(timeout);
    timeout = setTimeout(onTimeout, params.timeoutMs);
  };
  arm();
  const heartbeat = params.heartbeatMs
    ? setInterval(() => {
      if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('\n');
    }, params.heartbeatMs)
    : undefined;
  return {
    clear: () => {
      clearTimeout(timeout);
      clearInterval(heartbeat);
    },
    activity: arm,
  };
}

function optionalNumber(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new BadRequest(`Invalid ${name}: ${text}`);
  return value;
}

function parseJsonParam(query: URLSearchParams, name: string): unknown {
  const text = query.get(name);
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest(`Invalid JSON in ${name}`);
  }
}

function readJsonBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  if (req.method !== 'POST') return Promise.resolve({});
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (!text) return resolve({});
      try {
        const parsed = JSON.parse(text) as unknown;
        resolve(parsed && typeof parsed === 'object' ? parsed as Record<string, unknown> : {});
      } catch {
        reject(new BadRequest('invalid_json'));
      }
    });
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}
