/**
 * The embedded database behind the outbox and the request log: one SQLite file per purpose under
 * the Node-RED userDir (`chis-state/<name>.db`), in WAL mode so a `kill -9` never loses a
 * committed row. better-sqlite3 is the driver; where its native build does not match the running
 * Node.js (a Node 22 runtime with a module built for Node 20), Node's own `node:sqlite` serves,
 * so the package keeps working after a Node upgrade without a rebuild.
 */
import fs from 'node:fs';
import path from 'node:path';

export type SqlValue = string | number | bigint | null | Uint8Array;
export type SqlRow = Record<string, SqlValue>;

export interface SqlStatement {
  run(...params: SqlValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: SqlValue[]): SqlRow | undefined;
  all(...params: SqlValue[]): SqlRow[];
}

export interface SqlDatabase {
  readonly driver: 'better-sqlite3' | 'node:sqlite';
  readonly file: string;
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  /** Runs `work` in one IMMEDIATE transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(work: () => T): T;
  close(): void;
}

interface RawDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): SqlStatement;
  close(): unknown;
}

type Driver = { name: SqlDatabase['driver']; open(file: string): RawDatabase };

function betterSqlite(): Driver | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Database = require('better-sqlite3') as new (file: string) => RawDatabase;
    // Loading succeeds even when the native binding is for another Node ABI; opening proves it.
    new Database(':memory:').close();
    return { name: 'better-sqlite3', open: (file) => new Database(file) };
  } catch {
    return undefined;
  }
}

function nodeSqlite(): Driver | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { DatabaseSync } = require('node:sqlite') as { DatabaseSync: new (file: string) => RawDatabase };
    return { name: 'node:sqlite', open: (file) => new DatabaseSync(file) };
  } catch {
    return undefined;
  }
}

let driver: Driver | undefined;

function pickDriver(): Driver {
  driver ??= betterSqlite() ?? nodeSqlite();
  if (!driver) throw new Error('no SQLite driver: install better-sqlite3 (npm rebuild better-sqlite3) or run on Node.js 22.5 or later');
  return driver;
}

/** Opens (creating if needed) a SQLite file with the settings every store of this package uses. */
export function openDatabase(file: string): SqlDatabase {
  const chosen = pickDriver();
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const raw = chosen.open(file);
  // NORMAL is durable against a process crash in WAL mode; only a power cut can drop the last commit.
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
  let depth = 0;
  // Prepared once: parsing BEGIN/COMMIT for every enqueue and ack shows in a profile.
  const begin = raw.prepare('BEGIN IMMEDIATE');
  const commit = raw.prepare('COMMIT');
  const rollback = raw.prepare('ROLLBACK');
  return {
    driver: chosen.name,
    file,
    exec: (sql) => {
      raw.exec(sql);
    },
    prepare: (sql) => raw.prepare(sql),
    transaction<T>(work: () => T): T {
      if (depth > 0) return work();
      begin.run();
      depth += 1;
      try {
        const result = work();
        commit.run();
        return result;
      } catch (error) {
        rollback.run();
        throw error;
      } finally {
        depth -= 1;
      }
    },
    close: () => {
      raw.close();
    },
  };
}

const shared = new Map<string, { db: SqlDatabase; users: number }>();

/** Where this package keeps its state in a Node-RED userDir (checkpoints live beside it). */
export function stateDir(userDir: string | undefined): string {
  return path.join(userDir ?? process.cwd(), 'chis-state');
}

/**
 * One connection per file for the whole runtime, shared by the nodes that use it and closed when
 * the last of them lets go: several connections to one file in one process only add lock waits.
 */
export function acquireDatabase(userDir: string | undefined, name: string): { db: SqlDatabase; release(): void } {
  const file = path.join(stateDir(userDir), `${name}.db`);
  let entry = shared.get(file);
  if (!entry) {
    entry = { db: openDatabase(file), users: 0 };
    shared.set(file, entry);
  }
  entry.users += 1;
  const held = entry;
  let released = false;
  return {
    db: held.db,
    release: () => {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users === 0 && shared.get(file) === held) {
        shared.delete(file);
        held.db.close();
      }
    },
  };
}
