/**
 * Outbound push, as CHT's mark_for_outbound transition and outbound schedule do it: each change
 * is hydrated and matched against every push's `relevant_to`; a relevant doc is mapped to a
 * payload and POSTed (10 s timeout) unless the SHA-256 of the payload equals the last one sent
 * for that doc and push. Failures are queued and retried (CHT: every 5 minutes; here every
 * `retryIntervalMs`, default 1 s) with the doc as it is at retry time, while it stays relevant.
 *
 * Configured with POST /_sandbox/clients:
 *   { name: "outbound", pushes: { <name>: { relevant_to, destination, mapping } },   // or `outbound: {...}`
 *     url?, auth?, credentials?: { <password_key>: <secret> }, retryIntervalMs?, timeoutMs? }
 * `url` stands in for each push's destination.base_url and `auth` for its destination.auth;
 * without them the push's own destination is used, its password_key/value_key looked up in
 * `credentials` (CHT's credential store). `relevant_to` may also be a `{type, form}` filter.
 */
import { createHash } from 'node:crypto';
import { authHeaders, sendOnce, type ClientConfig } from '../core';
import type { CouchDoc } from './couch';
import { evaluateExpression } from './expression';

type Json = Record<string, unknown>;

export interface PushConfig {
  relevant_to: string | { type?: string; form?: string };
  destination?: {
    base_url?: string;
    path?: string;
    auth?: { type?: string; username?: string; password_key?: string; name?: string; value_key?: string };
  };
  mapping: Record<string, string | { path?: string; expr?: unknown; optional?: boolean }>;
  cron?: string;
}

export interface OutboundSettings {
  pushes: Record<string, PushConfig>;
  client: ClientConfig;
  credentials: Record<string, string>;
  retryIntervalMs: number;
  timeoutMs: number;
}

export interface DeliveryRecord {
  push: string;
  doc_id: string;
  /** delivered: 2xx; failed: error or non-2xx (queued for retry); unchanged: same payload as last sent, skipped. */
  outcome: 'delivered' | 'failed' | 'unchanged';
  attempt: number;
  time: string;
  url?: string;
  status?: number;
  error?: string;
  hash?: string;
  payload?: Json;
}

export const OUTBOUND_CLIENT_NAMES = ['outbound', 'outbound-push'];
const DEFAULT_RETRY_INTERVAL_MS = 1000;
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_RECORDS = 10_000;

class OutboundError extends Error {}

export function parseOutboundConfig(client: ClientConfig): OutboundSettings {
  const pushes = (client.pushes ?? client.outbound ?? {}) as Record<string, PushConfig>;
  return {
    pushes,
    client,
    credentials: (client.credentials ?? {}) as Record<string, string>,
    retryIntervalMs: typeof client.retryIntervalMs === 'number' ? client.retryIntervalMs : DEFAULT_RETRY_INTERVAL_MS,
    timeoutMs: typeof client.timeoutMs === 'number' ? client.timeoutMs : DEFAULT_TIMEOUT_MS,
  };
}

export function isRelevant(push: PushConfig, doc: CouchDoc): boolean {
  const rule = push.relevant_to;
  if (!rule) return false;
  if (typeof rule === 'object') return (rule.type === undefined || doc.type === rule.type) && (rule.form === undefined || doc.form === rule.form);
  return Boolean(evaluateExpression(rule, { doc }));
}

/** A relevant_to that throws (a missing property, say) makes the push irrelevant, not the change fail. */
function relevantOrFalse(push: PushConfig, doc: CouchDoc): boolean {
  try {
    return isRelevant(push, doc);
  } catch {
    return false;
  }
}

/** object-path get over `{doc}`: undefined as soon as a segment is missing. */
function getPath(root: unknown, path: string): unknown {
  let current = root;
  for (const segment of path.split('.')) {
    if (current === null || current === undefined) return undefined;
    current = (current as Json)[segment];
  }
  return current;
}

/** object-path set: dotted keys build nested objects (arrays for numeric segments). */
function setPath(target: Json, path: string, value: unknown): void {
  const segments = path.split('.');
  let current: Json = target;
  segments.forEach((segment, index) => {
    if (index === segments.length - 1) {
      current[segment] = value;
      return;
    }
    if (current[segment] === undefined || current[segment] === null || typeof current[segment] !== 'object') {
      current[segment] = /^\d+$/.test(segments[index + 1]) ? [] : {};
    }
    current = current[segment] as Json;
  });
}

export function mapDocumentToPayload(doc: CouchDoc, push: PushConfig, name: string): Json {
  const payload: Json = {};
  for (const [dest, source] of Object.entries(push.mapping ?? {})) {
    const rule = typeof source === 'string' ? { path: source, required: true } : { path: source.path, expr: source.expr, required: !source.optional };
    let value: unknown;
    if (rule.expr) {
      try {
        // vm.runInNewContext, which CHT uses, only takes a string of code.
        if (typeof rule.expr !== 'string') throw new TypeError(`The "code" argument must be of type string. Received type ${typeof rule.expr} (${String(rule.expr)})`);
        value = evaluateExpression(rule.expr, { doc });
      } catch (error) {
        throw new OutboundError(`Mapping error for '${name}/${dest}' JS error on source document: '${doc._id}': ${String(error)}`);
      }
    } else if (rule.path) {
      value = getPath({ doc }, rule.path);
    } else {
      throw new OutboundError(`Mapping error for '${name}/${dest}' either 'expr' or 'path' is required: '${doc._id}'`);
    }
    if (rule.required && value === undefined) {
      const problem = rule.expr ? 'expr evaluated to undefined' : `cannot find '${rule.path}' on source document`;
      throw new OutboundError(`Mapping error for '${name}/${dest}' on source document '${doc._id}': ${problem}`);
    }
    if (value !== undefined) setPath(payload, dest, value);
  }
  return payload;
}

/** Key-sorted JSON, so the hash does not depend on property order (as CHT hashes payloads). */
function orderedStringify(value: unknown): string {
  if (Object.prototype.toString.call(value) === '[object Object]') {
    const entries = Object.keys(value as Json).sort().map((key) => `"${key}":${orderedStringify((value as Json)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export function payloadHash(payload: Json): string {
  return createHash('sha256').update(orderedStringify(JSON.parse(JSON.stringify(payload)))).digest('hex');
}

function joinUrl(base: string, path: string | undefined): string {
  if (!path) return base;
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

export class OutboundPusher {
  deliveries: DeliveryRecord[] = [];
  private settings?: OutboundSettings;
  private readonly lastHashes = new Map<string, string>();
  private readonly attempts = new Map<string, number>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private generation = 0;

  /** `load` gives the current hydrated doc for a retry, or undefined when it is gone. */
  constructor(private readonly load: (id: string) => Promise<CouchDoc | undefined>) {}

  get active(): boolean {
    return Boolean(this.settings && Object.keys(this.settings.pushes).length > 0);
  }

  configure(settings: OutboundSettings): void {
    this.settings = settings;
  }

  /** Forgets sent hashes, queued retries and recorded attempts (the config stays, like other clients). */
  reset(): void {
    this.generation += 1;
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    this.lastHashes.clear();
    this.attempts.clear();
    this.deliveries = [];
  }

  stop(): void {
    this.reset();
  }

  /** The realtime attempt for a changed (hydrated) doc, one push after the other as sentinel does. */
  async pushChange(doc: CouchDoc): Promise<void> {
    const settings = this.settings;
    if (!settings) return;
    for (const [name, push] of Object.entries(settings.pushes)) {
      if (relevantOrFalse(push, doc)) await this.attempt(name, push, doc, settings);
    }
  }

  private async attempt(name: string, push: PushConfig, doc: CouchDoc, settings: OutboundSettings): Promise<void> {
    const generation = this.generation;
    const key = `${name}\u0000${doc._id}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const base = { push: name, doc_id: doc._id, attempt };
    let payload: Json;
    let url: string | undefined;
    try {
      payload = mapDocumentToPayload(doc, push, name);
      const hash = payloadHash(payload);
      if (this.lastHashes.get(key) === hash) {
        this.record({ ...base, outcome: 'unchanged', time: new Date().toISOString(), hash });
        this.cancelRetry(key);
        return;
      }
      url = joinUrl(settings.client.url ?? push.destination?.base_url ?? '', push.destination?.path);
      if (!/^https?:\/\//.test(url)) throw new OutboundError(`no destination url for push '${name}'`);
      const headers = this.authFor(push, settings);
      const result = await sendOnce(url, JSON.stringify(payload), { timeoutMs: settings.timeoutMs, headers: { Accept: 'application/json' } }, headers);
      if (generation !== this.generation) return;
      const delivered = result.status >= 200 && result.status < 300;
      this.record({ ...base, outcome: delivered ? 'delivered' : 'failed', time: result.time, url, status: result.status, error: result.error, hash, payload });
      if (delivered) {
        this.lastHashes.set(key, hash);
        this.cancelRetry(key);
        return;
      }
    } catch (error) {
      if (generation !== this.generation) return;
      this.record({ ...base, outcome: 'failed', time: new Date().toISOString(), url, error: (error as Error).message });
    }
    this.scheduleRetry(key, name, doc._id, settings.retryIntervalMs);
  }

  private authFor(push: PushConfig, settings: OutboundSettings): Record<string, string> {
    if (settings.client.auth) return authHeaders(settings.client);
    const auth = push.destination?.auth;
    if (!auth) return {};
    const secret = (key: string | undefined): string => {
      const value = key ? settings.credentials[key] : undefined;
      if (!value) throw new OutboundError(`Credentials for '${key}' have not been configured. See the Outbound documentation.`);
      return value;
    };
    const type = String(auth.type ?? '').toLowerCase();
    if (type === 'basic') return { Authorization: `Basic ${Buffer.from(`${auth.username}:${secret(auth.password_key)}`).toString('base64')}` };
    if (type === 'header') {
      if (String(auth.name).toLowerCase() !== 'authorization') throw new OutboundError(`Unsupported header name '${auth.name}'. Supported: authorization`);
      return { authorization: secret(auth.value_key) };
    }
    if (!type) throw new OutboundError('No auth.type, either declare the type or omit the auth property');
    throw new OutboundError(`Invalid auth type '${auth.type}'. Supported: basic, header`);
  }

  private scheduleRetry(key: string, name: string, docId: string, intervalMs: number): void {
    if (this.retries.has(key)) return;
    const generation = this.generation;
    const timer = setTimeout(() => {
      this.retries.delete(key);
      if (generation !== this.generation) return;
      void this.retry(name, docId);
    }, intervalMs);
    timer.unref();
    this.retries.set(key, timer);
  }

  private cancelRetry(key: string): void {
    clearTimeout(this.retries.get(key));
    this.retries.delete(key);
  }

  /** A queued push is retried with the current config and doc, and dropped once no longer relevant. */
  private async retry(name: string, docId: string): Promise<void> {
    const settings = this.settings;
    const push = settings?.pushes[name];
    if (!settings || !push) return;
    const doc = await this.load(docId).catch(() => undefined);
    if (doc && relevantOrFalse(push, doc)) await this.attempt(name, push, doc, settings);
  }

  private record(entry: DeliveryRecord): void {
    if (entry.error === undefined) delete entry.error;
    this.deliveries.push(entry);
    if (this.deliveries.length > MAX_RECORDS) this.deliveries.splice(0, this.deliveries.length - MAX_RECORDS);
  }
}
