/**
 * The durable outbox: messages bound for a remote system wait on disk (SQLite, WAL) until they
 * are delivered, so a receiver can answer its sender 2xx as soon as the message is stored, and
 * neither a remote outage nor a `kill -9` of Node-RED loses it. See docs/outbox.md.
 *
 * Usage (the API the outbox nodes and the benchmark use):
 *
 *   const { db, release } = acquireDatabase(userDir, 'outbox');
 *   const outbox = new Outbox(db);
 *   outbox.enqueue('openmrs', msg, { key: formId, maxDepth: 100_000 }); // -> { id, duplicate }
 *   outbox.recover('openmrs');                        // once at start: inflight rows -> ready
 *   for (const item of outbox.claim('openmrs', 10)) { // a small batch, read from disk
 *     ...send item.msg...
 *     outbox.ack(item.id);                            // or outbox.fail(item.id, error, { retryable })
 *   }
 *
 * Every method is synchronous (both SQLite drivers are) and keeps nothing per message in memory.
 */
import { EventEmitter } from 'node:events';
import { backoffDelay } from './retry';
import type { SqlDatabase, SqlRow, SqlStatement } from './sqlite';

export type OutboxState = 'ready' | 'inflight' | 'dead' | 'delivered';

export interface OutboxError {
  code: string;
  message: string;
  status?: number;
}

export interface ClaimedMessage {
  id: number;
  queue: string;
  key: string | null;
  /** 1 on the first delivery attempt. */
  attempt: number;
  msg: Record<string, unknown>;
}

export interface DeadLetter {
  id: number;
  queue: string;
  key: string | null;
  attempts: number;
  error: OutboxError | null;
  msg: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface QueueCounts {
  queue: string;
  ready: number;
  inflight: number;
  dead: number;
}

export interface FailOptions {
  /** Transient (timeout, 5xx, 429): retry later. Otherwise the message becomes a dead letter. */
  retryable: boolean;
  /** Including the first attempt; reaching it turns the next failure into a dead letter. */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A server's Retry-After: the next attempt waits at least this long. */
  retryAfterMs?: number;
  now?: number;
  random?: () => number;
}

export type FailResult = { state: 'ready'; nextAttemptAt: number } | { state: 'dead' } | { state: 'unknown' };

/** Thrown by enqueue when the queue is at its bound: the caller should ask the sender to retry. */
export class OutboxFullError extends Error {
  readonly code = 'rate-limited';
  constructor(readonly queue: string, readonly depth: number) {
    super(`outbox queue "${queue}" is full (${depth} messages waiting)`);
    this.name = 'OutboxFullError';
  }
}

export const OUTBOX_DEFAULTS = {
  maxAttempts: 10,
  backoffBaseMs: 1_000,
  backoffMaxMs: 300_000,
  /** How long the keys of delivered messages are kept to recognise a re-send. */
  deliveredRetentionMs: 7 * 24 * 3600_000,
};

/** Message properties that must not be stored: per-delivery handles and HTTP objects. */
const TRANSIENT_PROPERTIES = ['_receipt', '_msgid', 'req', 'res', 'outbox'];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  dedup_key TEXT,
  state TEXT NOT NULL,
  msg TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (queue, dedup_key)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox_messages (queue, state, next_attempt_at, id);
`;

/**
 * The number of waiting (ready + inflight) messages per queue, kept by triggers: the bound is
 * checked on every enqueue, and counting 100,000 index entries each time would cost milliseconds.
 */
const DEPTH_SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox_depth (queue TEXT PRIMARY KEY, waiting INTEGER NOT NULL);
DELETE FROM outbox_depth;
INSERT INTO outbox_depth (queue, waiting)
  SELECT queue, COUNT(*) FROM outbox_messages WHERE state IN ('ready', 'inflight') GROUP BY queue;
CREATE TRIGGER outbox_depth_insert AFTER INSERT ON outbox_messages WHEN NEW.state IN ('ready', 'inflight') BEGIN
  INSERT INTO outbox_depth (queue, waiting) VALUES (NEW.queue, 1) ON CONFLICT (queue) DO UPDATE SET waiting = waiting + 1;
END;
CREATE TRIGGER outbox_depth_delete AFTER DELETE ON outbox_messages WHEN OLD.state IN ('ready', 'inflight') BEGIN
  UPDATE outbox_depth SET waiting = waiting - 1 WHERE queue = OLD.queue;
END;
CREATE TRIGGER outbox_depth_leave AFTER UPDATE OF state ON outbox_messages
  WHEN OLD.state IN ('ready', 'inflight') AND NEW.state NOT IN ('ready', 'inflight') BEGIN
  UPDATE outbox_depth SET waiting = waiting - 1 WHERE queue = OLD.queue;
END;
CREATE TRIGGER outbox_depth_enter AFTER UPDATE OF state ON outbox_messages
  WHEN OLD.state NOT IN ('ready', 'inflight') AND NEW.state IN ('ready', 'inflight') BEGIN
  INSERT INTO outbox_depth (queue, waiting) VALUES (NEW.queue, 1) ON CONFLICT (queue) DO UPDATE SET waiting = waiting + 1;
END;
`;

/** Wake-ups between the nodes of one runtime ("queue X has new work"), keyed by file and queue. */
const signals = new EventEmitter();
signals.setMaxListeners(0);

export function serialiseMessage(msg: object): string {
  const copy: Record<string, unknown> = { ...(msg as Record<string, unknown>) };
  for (const property of TRANSIENT_PROPERTIES) delete copy[property];
  return JSON.stringify(copy);
}

function parseError(text: unknown): OutboxError | null {
  if (typeof text !== 'string' || !text) return null;
  try {
    return JSON.parse(text) as OutboxError;
  } catch {
    return { code: 'unknown', message: text };
  }
}

export class Outbox {
  private readonly statements = new Map<string, SqlStatement>();

  constructor(private readonly db: SqlDatabase) {
    db.exec(SCHEMA);
    // Once per file: the counts start from the rows, and the triggers keep them from then on.
    db.transaction(() => {
      const hasTriggers = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'outbox_depth_insert'").get();
      if (!hasTriggers) db.exec(DEPTH_SCHEMA);
    });
  }

  /** Prepared once per outbox: a statement per call would be garbage at thousands of messages a second. */
  private sql(text: string): SqlStatement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private signalName(queue: string): string {
    return `${this.db.file}\u0000${queue}`;
  }

  /** Calls `listener` whenever a message becomes ready in `queue` (in this runtime); returns an unsubscribe. */
  onReady(queue: string, listener: () => void): () => void {
    const name = this.signalName(queue);
    signals.on(name, listener);
    return () => signals.off(name, listener);
  }

  private notify(queue: string): void {
    signals.emit(this.signalName(queue));
  }

  /**
   * Stores a message durably. With a `key`, a message already stored (waiting, dead or
   * delivered within the retention period) under that key in that queue is not stored again.
   * Throws OutboxFullError when `maxDepth` messages are already waiting.
   */
  enqueue(queue: string, msg: object, options: { key?: string | null; maxDepth?: number; now?: number } = {}): { id: number; duplicate: boolean } {
    const now = options.now ?? Date.now();
    const key = options.key ?? null;
    const body = serialiseMessage(msg);
    const result = this.db.transaction(() => {
      if (key !== null) {
        const existing = this.sql('SELECT id FROM outbox_messages WHERE queue = ? AND dedup_key = ?').get(queue, key);
        if (existing) return { id: Number(existing.id), duplicate: true };
      }
      if (options.maxDepth !== undefined) {
        const depth = this.depth(queue);
        if (depth >= options.maxDepth) throw new OutboxFullError(queue, depth);
      }
      const inserted = this
        .sql("INSERT INTO outbox_messages (queue, dedup_key, state, msg, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, 'ready', ?, 0, ?, ?, ?)")
        .run(queue, key, body, now, now, now);
      return { id: Number(inserted.lastInsertRowid), duplicate: false };
    });
    if (!result.duplicate) this.notify(queue);
    return result;
  }

  /** Messages waiting to be delivered (ready or being sent), dead letters excluded. */
  depth(queue: string): number {
    const row = this.sql('SELECT waiting FROM outbox_depth WHERE queue = ?').get(queue);
    return Number(row?.waiting ?? 0);
  }

  /** Marks up to `limit` due messages as in flight and returns them, oldest due first. */
  claim(queue: string, limit: number, now: number = Date.now()): ClaimedMessage[] {
    if (limit <= 0) return [];
    return this.db.transaction(() => {
      const rows = this
        .sql("SELECT id, dedup_key, msg, attempts FROM outbox_messages WHERE queue = ? AND state = 'ready' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?")
        .all(queue, now, limit);
      const mark = this.sql("UPDATE outbox_messages SET state = 'inflight', attempts = attempts + 1, updated_at = ? WHERE id = ?");
      return rows.map((row) => {
        mark.run(now, row.id);
        return {
          id: Number(row.id),
          queue,
          key: (row.dedup_key as string | null) ?? null,
          attempt: Number(row.attempts) + 1,
          msg: JSON.parse(row.msg as string) as Record<string, unknown>,
        };
      });
    });
  }

  /** When the next ready message falls due (undefined when none is waiting). */
  nextDueAt(queue: string): number | undefined {
    const row = this.sql("SELECT MIN(next_attempt_at) AS due FROM outbox_messages WHERE queue = ? AND state = 'ready'").get(queue);
    return row?.due === null || row?.due === undefined ? undefined : Number(row.due);
  }

  /** Delivered: the payload goes; a keyed row stays (state delivered) to recognise re-sends. */
  ack(id: number, now: number = Date.now()): boolean {
    const row = this.sql("SELECT dedup_key FROM outbox_messages WHERE id = ? AND state = 'inflight'").get(id);
    if (!row) return false;
    if (row.dedup_key === null) this.sql('DELETE FROM outbox_messages WHERE id = ?').run(id);
    else this.sql("UPDATE outbox_messages SET state = 'delivered', msg = '{}', last_error = NULL, updated_at = ? WHERE id = ?").run(now, id);
    return true;
  }

  /**
   * A failed attempt: a retryable error under the attempt limit waits for its backoff
   * (exponential, jittered, capped; at least the server's Retry-After); anything else becomes a
   * dead letter, keeping the error and the message.
   */
  fail(id: number, error: OutboxError, options: FailOptions): FailResult {
    const now = options.now ?? Date.now();
    const row = this.sql("SELECT attempts, queue FROM outbox_messages WHERE id = ? AND state = 'inflight'").get(id);
    if (!row) return { state: 'unknown' };
    const attempts = Number(row.attempts);
    const maxAttempts = options.maxAttempts ?? OUTBOX_DEFAULTS.maxAttempts;
    const stored = JSON.stringify({ code: error.code, message: error.message, ...(error.status === undefined ? {} : { status: error.status }) });
    if (!options.retryable || attempts >= maxAttempts) {
      this.sql("UPDATE outbox_messages SET state = 'dead', last_error = ?, updated_at = ? WHERE id = ?").run(stored, now, id);
      return { state: 'dead' };
    }
    const delay = Math.max(
      options.retryAfterMs ?? 0,
      backoffDelay(attempts, {
        maxAttempts,
        baseDelayMs: options.backoffBaseMs ?? OUTBOX_DEFAULTS.backoffBaseMs,
        maxDelayMs: options.backoffMaxMs ?? OUTBOX_DEFAULTS.backoffMaxMs,
        maxRetryAfterMs: Number.POSITIVE_INFINITY,
        jitter: 0.2,
      }, options.random),
    );
    const nextAttemptAt = now + delay;
    this.sql("UPDATE outbox_messages SET state = 'ready', next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?").run(nextAttemptAt, stored, now, id);
    return { state: 'ready', nextAttemptAt };
  }

  /** Puts an in-flight message back without counting the attempt (its sender was stopped). */
  release(id: number, now: number = Date.now()): boolean {
    const changed = this
      .sql("UPDATE outbox_messages SET state = 'ready', attempts = MAX(0, attempts - 1), next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'inflight'")
      .run(now, now, id);
    return Number(changed.changes) > 0;
  }

  /**
   * At start of a single-instance runtime, rows left in flight by a crash go back to ready:
   * they may have reached the remote system, which is why writers use idempotency keys.
   */
  recover(queue: string, now: number = Date.now()): number {
    const changed = this
      .sql("UPDATE outbox_messages SET state = 'ready', next_attempt_at = ?, updated_at = ? WHERE queue = ? AND state = 'inflight'")
      .run(now, now, queue);
    const count = Number(changed.changes);
    if (count) this.notify(queue);
    return count;
  }

  /** Dead letters of a queue (an index range: cheap however long the queue). */
  deadCount(queue: string): number {
    return Number(this.sql("SELECT COUNT(*) AS n FROM outbox_messages WHERE queue = ? AND state = 'dead'").get(queue)?.n ?? 0);
  }

  counts(queue: string): QueueCounts {
    const counts: QueueCounts = { queue, ready: 0, inflight: 0, dead: 0 };
    for (const row of this.sql("SELECT state, COUNT(*) AS n FROM outbox_messages WHERE queue = ? AND state IN ('ready', 'inflight', 'dead') GROUP BY state").all(queue)) {
      counts[row.state as 'ready' | 'inflight' | 'dead'] = Number(row.n);
    }
    return counts;
  }

  /** Every queue that holds waiting messages or dead letters. */
  queues(): QueueCounts[] {
    const byQueue = new Map<string, QueueCounts>();
    for (const row of this.sql("SELECT queue, state, COUNT(*) AS n FROM outbox_messages WHERE state IN ('ready', 'inflight', 'dead') GROUP BY queue, state").all()) {
      const queue = row.queue as string;
      const counts = byQueue.get(queue) ?? { queue, ready: 0, inflight: 0, dead: 0 };
      counts[row.state as 'ready' | 'inflight' | 'dead'] = Number(row.n);
      byQueue.set(queue, counts);
    }
    return [...byQueue.values()].sort((a, b) => a.queue.localeCompare(b.queue));
  }

  deadLetters(options: { queue?: string; limit?: number; offset?: number } = {}): DeadLetter[] {
    const limit = Math.min(Math.max(1, options.limit ?? 50), 500);
    const offset = Math.max(0, options.offset ?? 0);
    const rows = options.queue
      ? this.sql("SELECT * FROM outbox_messages WHERE state = 'dead' AND queue = ? ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?").all(options.queue, limit, offset)
      : this.sql("SELECT * FROM outbox_messages WHERE state = 'dead' ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?").all(limit, offset);
    return rows.map(toDeadLetter);
  }

  deadLetter(id: number): DeadLetter | undefined {
    const row = this.sql("SELECT * FROM outbox_messages WHERE id = ? AND state = 'dead'").get(id);
    return row ? toDeadLetter(row) : undefined;
  }

  /** Sends a dead letter again from a fresh attempt count; false when there is no such dead letter. */
  retryDead(id: number, now: number = Date.now()): boolean {
    const row = this.sql("SELECT queue FROM outbox_messages WHERE id = ? AND state = 'dead'").get(id);
    if (!row) return false;
    this.sql("UPDATE outbox_messages SET state = 'ready', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?").run(now, now, id);
    this.notify(row.queue as string);
    return true;
  }

  /** Gives a dead letter up for good: it is deleted (its key too, so a later re-send is new). */
  discardDead(id: number): boolean {
    return Number(this.sql("DELETE FROM outbox_messages WHERE id = ? AND state = 'dead'").run(id).changes) > 0;
  }

  /** Forgets the keys of messages delivered before `now - retentionMs`. */
  purgeDelivered(retentionMs: number = OUTBOX_DEFAULTS.deliveredRetentionMs, now: number = Date.now()): number {
    return Number(this.sql("DELETE FROM outbox_messages WHERE state = 'delivered' AND updated_at < ?").run(now - retentionMs).changes);
  }
}

function toDeadLetter(row: SqlRow): DeadLetter {
  return {
    id: Number(row.id),
    queue: row.queue as string,
    key: (row.dedup_key as string | null) ?? null,
    attempts: Number(row.attempts),
    error: parseError(row.last_error),
    msg: JSON.parse(row.msg as string) as Record<string, unknown>,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
