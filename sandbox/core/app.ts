/**
 * The sandbox server kit: a tiny router on node:http with the control API that every
 * simulator shares (reset, fault injection, request log, outbound client config).
 *
 * It deliberately avoids a framework: the sandboxes must outrun the nodes they test
 * (issue: >= 3,000 GET/s on one core), and plain http keeps the per-request cost low.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { FaultInjector, type FaultSpec } from './faults';
import { RequestLog } from './request-log';

export interface SandboxRequest {
  method: string;
  /** Path without the query string, percent-decoded per segment. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON for JSON bodies, the text for any other body, undefined when empty. */
  body: unknown;
  rawBody: Buffer;
  /** Values of `:name` segments in the matched route pattern. */
  params: Record<string, string>;
  /** Origin the client used, e.g. http://127.0.0.1:8081, for building absolute links. */
  origin: string;
}

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
  /** Defaults to application/json for objects, text/plain for strings. */
  contentType?: string;
}

export type Handler = (req: SandboxRequest) => SandboxResponse | Promise<SandboxResponse>;

/** A plain node:http handler (e.g. express-pouchdb) given the unread request stream. */
export type RawHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Returns undefined when the caller is authenticated, otherwise the response to send. */
export type AuthCheck = (req: SandboxRequest) => SandboxResponse | undefined;

export interface ClientConfig {
  /** Which outbound behaviour this configures, e.g. "forwarding", "outbound-push", "webhook". */
  name: string;
  url?: string;
  auth?: { type: 'basic'; username: string; password: string } | { type: 'header'; name: string; value: string } | { type: 'none' };
  [key: string]: unknown;
}

interface Route {
  method: string;
  regex: RegExp;
  keys: string[];
  handler: Handler;
  auth: boolean;
}

export interface SandboxOptions {
  /** Short system name for logs, e.g. "openmrs". */
  name: string;
  auth: AuthCheck;
  /** Empties the data and re-seeds it. Called once at construction and on POST /_sandbox/reset. */
  reset: () => void | Promise<void>;
  /** Called when POST /_sandbox/clients configures an outbound behaviour. */
  onClientConfig?: (config: ClientConfig) => void | Promise<void>;
  /** Largest accepted body; bigger bodies get 413. */
  maxBodyBytes?: number;
  /**
   * The system's own error format for errors the kit produces (malformed body, injected faults,
   * unknown routes), e.g. a FHIR OperationOutcome. Defaults to `{error: message}` JSON.
   */
  errorBody?: (status: number, message: string) => SandboxResponse;
}

export class SandboxApp {
  readonly name: string;
  readonly faults = new FaultInjector();
  readonly log = new RequestLog();
  readonly clients = new Map<string, ClientConfig>();
  private readonly routes: Route[] = [];
  private readonly controls = new Map<string, Handler>();
  private readonly mounts: Array<{ prefix: string; handler: RawHandler }> = [];
  private readonly sockets = new Set<Socket>();
  private server?: http.Server;
  private readonly options: SandboxOptions;
  private ready: Promise<void>;

  constructor(options: SandboxOptions) {
    this.options = options;
    this.name = options.name;
    this.ready = Promise.resolve(options.reset());
  }

  /** Registers a route. Pattern segments starting with ':' capture; a trailing '*' matches the rest. */
  route(method: string, pattern: string, handler: Handler, opts: { auth?: boolean } = {}): this {
    const keys: string[] = [];
    const source = pattern
      .split('/')
      .map((segment) => {
        if (segment === '*') {
          keys.push('rest');
          return '(.*)';
        }
        if (segment.startsWith(':')) {
          keys.push(segment.slice(1));
          return '([^/]+)';
        }
        return segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.routes.push({ method: method.toUpperCase(), regex: new RegExp(`^${source}/?$`), keys, handler, auth: opts.auth !== false });
    return this;
  }

  get(pattern: string, handler: Handler, opts?: { auth?: boolean }): this { return this.route('GET', pattern, handler, opts); }
  post(pattern: string, handler: Handler, opts?: { auth?: boolean }): this { return this.route('POST', pattern, handler, opts); }
  put(pattern: string, handler: Handler, opts?: { auth?: boolean }): this { return this.route('PUT', pattern, handler, opts); }
  delete(pattern: string, handler: Handler, opts?: { auth?: boolean }): this { return this.route('DELETE', pattern, handler, opts); }

  /**
   * Adds a system-specific control route under /_sandbox (no auth), e.g. to trigger an outbound
   * delivery or read what a simulated client sent: `app.control('GET', '/_sandbox/deliveries', ...)`.
   */
  control(method: string, path: string, handler: Handler): this {
    this.controls.set(`${method.toUpperCase()} ${path.replace(/\/$/, '')}`, handler);
    return this;
  }

  /**
   * Hands every request under `prefix` to a plain node:http handler, after auth and faults.
   * Used where a real implementation serves the API (CouchDB via express-pouchdb).
   */
  mount(prefix: string, handler: RawHandler): this {
    this.mounts.push({ prefix, handler });
    return this;
  }

  async reset(): Promise<void> {
    this.faults.clear();
    this.log.clear();
    this.ready = Promise.resolve(this.options.reset());
    await this.ready;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await this.ready;
    const server = http.createServer((req, res) => { void this.dispatch(req, res); });
    server.keepAliveTimeout = 65_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  private errorResponse(status: number, message: string, headers?: Record<string, string>): SandboxResponse {
    const response = this.options.errorBody?.(status, message) ?? { status, body: { error: message } };
    return { ...response, status, headers: { ...response.headers, ...headers } };
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    let request: SandboxRequest | undefined;
    const mount = this.mounts.find((candidate) => (req.url ?? '').startsWith(candidate.prefix));
    if (mount) {
      await this.dispatchMounted(mount.handler, req, res, started);
      return;
    }
    try {
      const rawBody = await readBody(req, this.options.maxBodyBytes ?? 10 * 1024 * 1024);
      request = toSandboxRequest(req, rawBody);
      if (request.path.startsWith('/_sandbox/')) {
        send(res, await this.controlRoute(request));
        return;
      }
      const fault = this.faults.match(request.method, request.path);
      if (fault?.latencyMs) await delay(fault.latencyMs);
      if (fault?.afterHandler) {
        await this.answerThenFail(request, res, fault, started);
        return;
      }
      if (fault?.hang) {
        this.log.add(request, 0, started);
        return; // never answer: the client must time out
      }
      if (fault?.reset) {
        this.log.add(request, 0, started);
        req.socket.destroy();
        return;
      }
      if (fault?.status) {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
        const response = this.errorResponse(fault.status, `injected fault ${fault.status}`, headers);
        this.log.add(request, fault.status, started);
        send(res, response);
        return;
      }
      const response = await this.handle(request);
      this.log.add(request, response.status, started);
      send(res, response);
    } catch (error) {
      const status = (error as { status?: number }).status ?? 500;
      const response = this.errorResponse(status, (error as Error).message);
      if (request) this.log.add(request, status, started);
      if (!res.headersSent) send(res, response);
    }
  }

  /**
   * The after-handler fault: the real handler runs (its change is committed and logged with its
   * real status), then the client gets a dropped connection or an injected error instead.
   */
  private async answerThenFail(request: SandboxRequest, res: http.ServerResponse, fault: FaultSpec, started: number): Promise<void> {
    const response = await this.handle(request);
    this.log.add(request, response.status, started);
    if (fault.hang) return; // committed, and the client waits until it times out
    if (fault.reset) {
      res.socket?.destroy();
      return;
    }
    const status = fault.status ?? 502;
    const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {};
    send(res, this.errorResponse(status, `injected fault ${status} after the change was made`, headers));
  }

  private async dispatchMounted(handler: RawHandler, req: http.IncomingMessage, res: http.ServerResponse, started: number): Promise<void> {
    const request = toSandboxRequest(req, Buffer.alloc(0), false);
    res.on('finish', () => this.log.add(request, res.statusCode, started));
    const denied = this.options.auth(request);
    if (denied) {
      send(res, denied);
      return;
    }
    const fault = this.faults.match(request.method, request.path);
    if (fault?.latencyMs) await delay(fault.latencyMs);
    if (fault?.afterHandler) {
      // The mounted handler answers by itself: let it make its change, then cut the answer off.
      res.writeHead = (() => { req.socket.destroy(); return res; }) as typeof res.writeHead;
      handler(req, res);
      return;
    }
    if (fault?.hang) return;
    if (fault?.reset) {
      this.log.add(request, 0, started);
      req.socket.destroy();
      return;
    }
    if (fault?.status) {
      send(res, this.errorResponse(fault.status, `injected fault ${fault.status}`, fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {}));
      return;
    }
    handler(req, res);
  }

  private async handle(request: SandboxRequest): Promise<SandboxResponse> {
    let pathMatched = false;
    for (const route of this.routes) {
      const match = route.regex.exec(request.path);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== request.method && !(route.method === 'GET' && request.method === 'HEAD')) continue;
      if (route.auth) {
        const denied = this.options.auth(request);
        if (denied) return denied;
      }
      route.keys.forEach((key, index) => { request.params[key] = decodeURIComponent(match[index + 1] ?? ''); });
      return route.handler(request);
    }
    return pathMatched
      ? this.errorResponse(405, `${request.method} not allowed on ${request.path}`)
      : this.errorResponse(404, `no route for ${request.method} ${request.path}`);
  }

  private async controlRoute(req: SandboxRequest): Promise<SandboxResponse> {
    const route = `${req.method} ${req.path.replace(/\/$/, '')}`;
    switch (route) {
      case 'POST /_sandbox/reset':
        await this.reset();
        return { status: 200, body: { reset: true, system: this.name } };
      case 'POST /_sandbox/faults': {
        const specs = (Array.isArray(req.body) ? req.body : [req.body]) as FaultSpec[];
        const ids = specs.map((spec) => this.faults.add(spec));
        return { status: 201, body: { ids } };
      }
      case 'GET /_sandbox/faults':
        return { status: 200, body: this.faults.list() };
      case 'DELETE /_sandbox/faults':
        this.faults.clear();
        return { status: 200, body: { cleared: true } };
      case 'GET /_sandbox/requests':
        return { status: 200, body: this.log.query(req.query) };
      case 'DELETE /_sandbox/requests':
        this.log.clear();
        return { status: 200, body: { cleared: true } };
      case 'POST /_sandbox/clients': {
        const config = req.body as ClientConfig;
        if (!config || typeof config.name !== 'string') return { status: 400, body: { error: 'client config needs a name' } };
        this.clients.set(config.name, config);
        await this.options.onClientConfig?.(config);
        return { status: 200, body: { configured: config.name } };
      }
      case 'GET /_sandbox/clients':
        return { status: 200, body: [...this.clients.values()].map(({ auth, ...rest }) => ({ ...rest, auth: auth?.type })) };
      case 'GET /_sandbox/health':
        return { status: 200, body: { system: this.name, ok: true } };
      default: {
        const custom = this.controls.get(route);
        return custom ? custom(req) : { status: 404, body: { error: `unknown sandbox control ${route}` } };
      }
    }
  }
}

function toSandboxRequest(req: http.IncomingMessage, rawBody: Buffer, parseBody = true): SandboxRequest {
  const host = req.headers.host ?? '127.0.0.1';
  const url = new URL(req.url ?? '/', `http://${host}`);
  const contentType = String(req.headers['content-type'] ?? '');
  let body: unknown;
  if (parseBody && rawBody.length > 0) {
    const text = rawBody.toString('utf8');
    if (/json/i.test(contentType) || (!contentType && /^\s*[[{]/.test(text))) {
      try {
        body = JSON.parse(text);
      } catch {
        throw Object.assign(new Error('malformed JSON body'), { status: 400 });
      }
    } else if (/x-www-form-urlencoded/i.test(contentType)) {
      body = Object.fromEntries(new URLSearchParams(text));
    } else {
      body = text;
    }
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body,
    rawBody,
    params: {},
    origin: `http://${host}`,
  };
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, response: SandboxResponse): void {
  let payload: string | Buffer = '';
  let contentType = response.contentType;
  if (Buffer.isBuffer(response.body)) {
    payload = response.body;
    contentType ??= 'application/octet-stream';
  } else if (typeof response.body === 'string') {
    payload = response.body;
    contentType ??= 'text/plain; charset=utf-8';
  } else if (response.body !== undefined) {
    payload = JSON.stringify(response.body);
    contentType ??= 'application/json';
  }
  const headers: Record<string, string | number> = { ...response.headers, 'Content-Length': Buffer.byteLength(payload) };
  if (contentType) headers['Content-Type'] = contentType;
  res.writeHead(response.status, headers);
  res.end(payload);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
