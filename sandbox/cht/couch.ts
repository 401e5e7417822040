/**
 * The medic database: a real CouchDB-compatible server (express-pouchdb over an in-memory
 * PouchDB), so documents, revisions, conflicts, _all_docs, _bulk_docs, _find and views behave
 * as they do on CHT's CouchDB. `_changes` is served by changes-feed.ts because express-pouchdb's
 * longpoll ignores `timeout` and sends a single change.
 */
import type http from 'node:http';
import PouchCore from 'pouchdb-core';
import memoryAdapter from 'pouchdb-adapter-memory';
import mapReduce from 'pouchdb-mapreduce';
import expressPouchDB from 'express-pouchdb';
import { serveChanges, type ActiveFeeds } from './changes-feed';

export interface CouchDoc {
  _id: string;
  _rev?: string;
  _deleted?: boolean;
  [key: string]: unknown;
}

export interface WriteResult {
  ok: boolean;
  id: string;
  rev: string;
}

export interface ChangeRow {
  id: string;
  seq: number;
  changes: Array<{ rev: string }>;
  deleted?: boolean;
  doc?: CouchDoc;
}

export interface ChangesResult {
  results: ChangeRow[];
  last_seq: number;
}

/** A live or one-shot changes request: a promise for one-shot, an event emitter for live. */
export interface ChangesFeed extends Promise<ChangesResult> {
  on(event: 'change', listener: (change: ChangeRow) => void): ChangesFeed;
  on(event: 'complete' | 'error', listener: (value: unknown) => void): ChangesFeed;
  cancel(): void;
}

export interface ViewRow {
  id: string;
  key: unknown;
  value: unknown;
  doc?: CouchDoc;
}

export interface MedicDb {
  get(id: string): Promise<CouchDoc>;
  put(doc: CouchDoc): Promise<WriteResult>;
  post(doc: Omit<CouchDoc, '_id'> & { _id?: string }): Promise<WriteResult>;
  bulkDocs(docs: CouchDoc[]): Promise<Array<WriteResult | { error: string }>>;
  allDocs(options: { keys?: string[]; include_docs?: boolean }): Promise<{ rows: Array<{ id: string; key: string; doc?: CouchDoc; error?: string }> }>;
  query(view: string, options: { key?: unknown; startkey?: unknown; endkey?: unknown; include_docs?: boolean; limit?: number }): Promise<{ rows: ViewRow[] }>;
  changes(options: Record<string, unknown>): ChangesFeed;
  info(): Promise<{ update_seq: number; doc_count: number }>;
  destroy(): Promise<unknown>;
}

interface PouchConstructor {
  new (name: string): MedicDb;
  allDbs(): Promise<string[]>;
  listeners(event: string): Array<(...args: unknown[]) => void>;
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
  plugin(plugin: unknown): PouchConstructor;
  defaults(options: Record<string, unknown>): PouchConstructor;
  __dbCacheMap?: Map<string, MedicDb>;
}

interface ExpressPouchApp {
  (req: http.IncomingMessage, res: http.ServerResponse): void;
  setPouchDB(pouch: PouchConstructor): Promise<void>;
}

const BasePouch = (PouchCore as PouchConstructor).plugin(memoryAdapter).plugin(mapReduce);

/** The memory adapter keys its stores by name process-wide, so every instance and reset gets its own prefix. */
let instanceCounter = 0;

export const DB_NAME = 'medic';
const DB_EVENTS = ['created', 'destroyed'];

export class CouchServer {
  db!: MedicDb;
  private couch!: ExpressPouchApp;
  private readonly instance = ++instanceCounter;
  private generation = 0;
  private readonly feeds: ActiveFeeds = new Set();

  /** Destroys the database (ending open feeds) and starts an empty one. */
  async recreate(): Promise<void> {
    for (const stop of [...this.feeds]) stop();
    const previous = this.db;
    this.generation += 1;
    const Pouch = BasePouch.defaults({ adapter: 'memory', prefix: `cht${this.instance}-${this.generation}-` });
    // minimumForPouchDB leaves out the config and log infrastructure, which would write files.
    const couch = expressPouchDB({ mode: 'minimumForPouchDB', overrideMode: { include: ['routes/find'] } }) as ExpressPouchApp;
    const listenersBefore = new Set(DB_EVENTS.flatMap((event) => BasePouch.listeners(event)));
    await couch.setPouchDB(Pouch);
    const db = new Pouch(DB_NAME);
    // express-pouchdb caches one instance per name; seeding the cache makes it serve ours, so
    // live changes listeners (sentinel, feeds) see writes made over HTTP.
    Pouch.__dbCacheMap = new Map([[DB_NAME, db]]);
    await db.info();
    await Pouch.allDbs();
    // Its database list listens to every PouchDB class's created/destroyed events (one shared
    // emitter): once medic is listed, drop those listeners so other instances and resets do not
    // add or remove "medic" from this list, and they do not pile up.
    for (const event of DB_EVENTS) {
      for (const listener of BasePouch.listeners(event)) if (!listenersBefore.has(listener)) BasePouch.removeListener(event, listener);
    }
    this.db = db;
    this.couch = couch;
    if (previous) await previous.destroy().catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const stop of [...this.feeds]) stop();
  }

  /** Raw handler for everything under /medic, after the kit has checked auth and faults. */
  readonly handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === `/${DB_NAME}/_changes`) {
      void serveChanges(this.db, req, res, this.feeds);
      return;
    }
    if (path === `/${DB_NAME}` && req.method === 'DELETE') {
      // Deleting the database would leave the sandbox without one; POST /_sandbox/reset rebuilds it.
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'forbidden', reason: 'the sandbox medic database cannot be deleted; use POST /_sandbox/reset' }));
      return;
    }
    this.couch(req, res);
  };
}
