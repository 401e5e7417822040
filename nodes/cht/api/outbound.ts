/**
 * CHT outbound push, seen from the receiving end. CHT maps a doc to a payload and POSTs it; it
 * keeps the SHA-256 of the last payload sent per doc and push, and sends again whenever the
 * mapped payload changes (and retries failures every few minutes). So a second delivery for the
 * same doc is an update, not a duplicate, unless its payload is identical to the last one
 * accepted (a retry after a lost answer).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** JSON with keys sorted at every level, so the hash does not depend on property order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function payloadHash(payload: unknown): string {
  return createHash('sha256').update(canonicalJson(payload)).digest('hex');
}

function valueAt(value: unknown, dotted: string): unknown {
  let current = value;
  for (const key of dotted.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** The doc id in a mapped payload: the first of the given (dotted) properties that holds one. */
export function findDocId(payload: unknown, properties: string[]): string | undefined {
  for (const property of properties) {
    const value = valueAt(payload, property);
    if ((typeof value === 'string' && value.trim()) || typeof value === 'number') return String(value).trim();
  }
  return undefined;
}

export function parseIdProperties(text: string | undefined): string[] {
  const list = String(text ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  return list.length ? list : ['id', '_id'];
}

export interface PayloadVersion {
  /** How many distinct payloads of this doc were accepted. */
  version: number;
  hash: string;
}

/**
 * The last accepted payload hash per doc id, kept durably (an append-only file of JSON lines,
 * fsynced, compacted when it grows), so a restart still recognises a re-send.
 */
export class PayloadVersions {
  private readonly latest = new Map<string, PayloadVersion>();
  private lines = 0;

  constructor(private readonly file: string, private readonly capacity = 200_000) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (!fs.existsSync(file)) return;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const [docId, version, hash] = JSON.parse(line) as [string, number, string];
        this.remember(docId, { version, hash });
        this.lines += 1;
      } catch {
        // A line cut short by a crash mid-write: the entry before it still holds.
      }
    }
  }

  static inUserDir(userDir: string | undefined, name: string): PayloadVersions {
    return new PayloadVersions(path.join(userDir ?? process.cwd(), 'chis-state', 'seen', `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.versions`));
  }

  get(docId: string): PayloadVersion | undefined {
    return this.latest.get(docId);
  }

  set(docId: string, entry: PayloadVersion): void {
    this.remember(docId, entry);
    const handle = fs.openSync(this.file, 'a');
    try {
      fs.writeSync(handle, `${JSON.stringify([docId, entry.version, entry.hash])}\n`);
      fs.fsyncSync(handle);
    } finally {
      fs.closeSync(handle);
    }
    this.lines += 1;
    if (this.lines > this.latest.size * 2 + 1_000) this.compact();
  }

  /** Newest entries last, so the oldest are dropped first beyond capacity. */
  private remember(docId: string, entry: PayloadVersion): void {
    this.latest.delete(docId);
    this.latest.set(docId, entry);
    if (this.latest.size > this.capacity) this.latest.delete(this.latest.keys().next().value as string);
  }

  private compact(): void {
    const temp = `${this.file}.tmp`;
    fs.writeFileSync(temp, [...this.latest].map(([docId, entry]) => `${JSON.stringify([docId, entry.version, entry.hash])}\n`).join(''));
    fs.renameSync(temp, this.file);
    this.lines = this.latest.size;
  }
}

export interface OutboundDelivery {
  docId?: string;
  payloadHash: string;
  /** The doc had an accepted payload before: this one is an update of it. */
  resend: boolean;
  /** The de-duplication id: identical for an identical re-send of the last accepted payload. */
  dedupeId: string;
  /** The version this payload becomes once accepted. */
  version?: number;
}

/** How one delivery relates to what was accepted before for its doc. */
export function classifyDelivery(payload: unknown, docId: string | undefined, versions: Pick<PayloadVersions, 'get'>): OutboundDelivery {
  const hash = payloadHash(payload);
  if (!docId) return { payloadHash: hash, resend: false, dedupeId: `#${hash}` };
  const last = versions.get(docId);
  if (last && last.hash === hash) return { docId, payloadHash: hash, resend: true, dedupeId: `${docId}#${last.version}#${hash}`, version: last.version };
  const version = (last?.version ?? 0) + 1;
  return { docId, payloadHash: hash, resend: Boolean(last), dedupeId: `${docId}#${version}#${hash}`, version };
}
