import { createHash } from 'node:crypto';
import type { SandboxRequest } from './app';

export interface LoggedRequest {
  seq: number;
  time: string;
  method: string;
  path: string;
  query: string;
  status: number;
  durationMs: number;
  bodyHash?: string;
  /** Parsed body, kept so tests can assert what was sent. Large bodies are dropped. */
  body?: unknown;
}

const MAX_ENTRIES = 200_000;
const MAX_KEPT_BODY = 64 * 1024;

/** In-memory log of every request a sandbox answered, for assertions like "no duplicate creates". */
export class RequestLog {
  private entries: LoggedRequest[] = [];
  private seq = 0;

  add(req: SandboxRequest, status: number, started: number): void {
    const entry: LoggedRequest = {
      seq: ++this.seq,
      time: new Date(started).toISOString(),
      method: req.method,
      path: req.path,
      query: req.query.toString(),
      status,
      durationMs: Date.now() - started,
    };
    if (req.rawBody.length > 0) {
      entry.bodyHash = createHash('sha256').update(req.rawBody).digest('hex');
      if (req.rawBody.length <= MAX_KEPT_BODY) entry.body = req.body;
    }
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
  }

  clear(): void {
    this.entries = [];
  }

  /** Filters: method, path (regex), status, since (seq). */
  query(params: URLSearchParams): LoggedRequest[] {
    const method = params.get('method')?.toUpperCase();
    const path = params.get('path');
    const pathRegex = path ? new RegExp(path) : undefined;
    const status = params.get('status');
    const since = Number(params.get('since') ?? 0);
    return this.entries.filter((entry) =>
      entry.seq > since &&
      (!method || entry.method === method) &&
      (!pathRegex || pathRegex.test(entry.path)) &&
      (!status || String(entry.status) === status));
  }
}
