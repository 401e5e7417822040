/**
 * HTTP receivers on Node-RED's httpNode app. One dispatcher middleware per runtime routes
 * requests to the registered receivers, so a receiver can be removed on redeploy without
 * editing Express's router stack.
 *
 * Order of checks: route -> authentication -> content type -> size -> parse. Nothing that
 * fails a check reaches the flow, and malformed bodies get a 400 that says what was wrong.
 */
import type { NodeAPI } from 'node-red';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { checkReceiverAuth, type ReceiverAuthSettings, type ReceiverSecrets } from './receiver-auth';

export type BodyFormat = 'json' | 'xml' | 'form';

export interface ReceivedRequest {
  method: string;
  path: string;
  format: BodyFormat;
  body: unknown;
  rawBody: Buffer;
  /** Request headers without Authorization, cookies or signature headers. */
  headers: Record<string, string>;
  query: Record<string, string>;
}

export interface ReceiverAnswer {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface ReceiverOptions {
  method: 'post' | 'put';
  path: string;
  formats: BodyFormat[];
  auth: { settings?: ReceiverAuthSettings; secrets: ReceiverSecrets };
  maxBodyBytes?: number;
  handle(request: ReceivedRequest): Promise<ReceiverAnswer>;
  /** Called for requests rejected before the handler (auth, size, format), for the node status. */
  onRejected?(status: number, reason: string): void;
}

type Middleware = (req: IncomingMessage & { body?: unknown; _body?: boolean }, res: ServerResponse, next: () => void) => void;
interface HttpApp { use(middleware: Middleware): void }

const registries = new WeakMap<object, Map<string, ReceiverOptions>>();
/** Per httpNode app: whether the flows are running (receivers register while they start). */
const flowsRunning = new WeakMap<object, boolean>();
const STARTING_RETRY_AFTER_SECONDS = 5;
/** Per runtime event emitter: the httpNode app whose start-up it tells. */
const guardedApps = new WeakMap<object, object>();
const DEFAULT_MAX_BODY = 1024 * 1024;
/**
 * Real payloads (CommCare forms, FHIR bundles) nest a few dozen levels at most; deeper bodies
 * would overflow the stack later, in Node-RED's message cloning or JSON.stringify.
 */
export const MAX_NESTING = 100;
const SENSITIVE_HEADER = /authorization|cookie|token|signature|secret|api-?key/i;

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

export function normalisePath(path: string): string {
  const trimmed = `/${path.trim().replace(/^\/+/, '').replace(/\/+$/, '')}`;
  return trimmed.toLowerCase();
}

function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${normalisePath(path)}`;
}

function registry(RED: NodeAPI): Map<string, ReceiverOptions> {
  const app = RED.httpNode as unknown as HttpApp;
  let routes = registries.get(app);
  if (!routes) {
    const created = new Map<string, ReceiverOptions>();
    routes = created;
    registries.set(app, created);
    app.use((req, res, next) => {
      const url = new URL(req.url ?? '/', 'http://receiver');
      const options = created.get(routeKey(req.method ?? 'GET', url.pathname));
      if (!options) {
        // Between the HTTP listener coming up and the flows starting (or a full redeploy), a
        // sender would get a 404 that CHT and RapidPro treat as final: tell it to come back.
        if (flowsRunning.get(app) === false && (req.method === 'POST' || req.method === 'PUT')) {
          reply(res, { status: 503, body: { error: 'Node-RED is starting its flows: try again shortly' }, headers: { 'Retry-After': String(STARTING_RETRY_AFTER_SECONDS) } });
          return;
        }
        next();
        return;
      }
      void serve(options, req, res, url);
    });
  }
  return routes;
}

/**
 * Called when the package loads, before any flow starts: installs the receivers' dispatcher so
 * that senders posting while the flows start get 503 with Retry-After instead of a 404.
 */
export function prepareReceivers(RED: NodeAPI): void {
  const app = RED.httpNode as unknown as HttpApp | undefined;
  const events = (RED as { events?: { on(event: string, listener: (event?: { type?: string }) => void): void } }).events;
  if (!app || !events || flowsRunning.has(app)) return;
  registry(RED);
  flowsRunning.set(app, false);
  // One runtime serves one httpNode app at a time (test runtimes replace it): listen once per emitter.
  const listening = guardedApps.has(events);
  guardedApps.set(events, app);
  if (listening) return;
  const setRunning = (running: boolean): void => {
    const current = guardedApps.get(events);
    if (current) flowsRunning.set(current, running);
  };
  events.on('flows:started', () => setRunning(true));
  events.on('flows:stopped', (event) => {
    if (!event?.type || event.type === 'full') setRunning(false);
  });
}

/** Registers a receiver; returns the function that removes it (call it on node close). */
export function registerReceiver(RED: NodeAPI, options: ReceiverOptions): () => void {
  const routes = registry(RED);
  const key = routeKey(options.method, options.path);
  if (routes.has(key)) throw new Error(`another receiver already listens on ${key}`);
  routes.set(key, options);
  return () => {
    if (routes.get(key) === options) routes.delete(key);
  };
}

function reply(res: ServerResponse, answer: ReceiverAnswer): void {
  let payload = '';
  let contentType = answer.contentType;
  if (typeof answer.body === 'string') {
    payload = answer.body;
    contentType ??= 'text/plain; charset=utf-8';
  } else if (answer.body !== undefined) {
    payload = JSON.stringify(answer.body);
    contentType ??= 'application/json';
  }
  res.writeHead(answer.status, { ...answer.headers, ...(contentType ? { 'Content-Type': contentType } : {}), 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      resolve('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function formatOf(contentType: string): BodyFormat | undefined {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'application/xml' || type === 'text/xml' || type.endsWith('+xml')) return 'xml';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  return undefined;
}

/** Parses a body of a known format, or throws an Error whose message can be shown to the sender. */
export function parseBody(format: BodyFormat, raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(raw)) throw new Error('body is not valid UTF-8');
  switch (format) {
    case 'json': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        // V8 quotes part of the body in its message; the body may be patient data and the
        // reason ends up in the node status, so only the reason is kept.
        const reason = (error as Error).message
          .replace(/token '[\s\S]{1,2}'/, 'character')
          .replace(/,?\s*(\.\.\.)?"[\s\S]*$/, '') || 'not valid JSON';
        // eslint-disable-next-line preserve-caught-error -- the cause would carry the quoted body along
        throw new Error(`malformed JSON: ${reason}`);
      }
      return withinNesting(parsed);
    }
    case 'xml': {
      // DTDs are where XXE and entity-expansion attacks live; form submissions never need one.
      if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new Error('XML with a DOCTYPE or ENTITY declaration is not accepted');
      const valid = XMLValidator.validate(text);
      if (valid !== true) throw new Error(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
      let parsed: unknown;
      try {
        parsed = xmlParser.parse(text);
      } catch (error) {
        // eslint-disable-next-line preserve-caught-error -- only the parser's reason is for the sender
        throw new Error(`malformed XML: ${(error as Error).message}`);
      }
      return withinNesting(parsed);
    }
    case 'form':
      return Object.fromEntries(new URLSearchParams(text));
    default:
      throw new Error('unsupported body format');
  }
}

/** Measured with an explicit stack: recursion is what a deeply nested body attacks. */
function withinNesting(value: unknown): unknown {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= MAX_NESTING) throw new Error(`body is nested more than ${MAX_NESTING} levels deep`);
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return value;
}

async function serve(options: ReceiverOptions, req: IncomingMessage & { body?: unknown; _body?: boolean }, res: ServerResponse, url: URL): Promise<void> {
  const reject = (status: number, message: string, headers?: Record<string, string>): void => {
    options.onRejected?.(status, message);
    reply(res, { status, body: { error: message }, headers });
  };
  try {
    const query = Object.fromEntries(url.searchParams);
    const contentType = String(req.headers['content-type'] ?? '');
    const format = formatOf(contentType);
    // A body parser earlier in the stack (httpNodeMiddleware) may already have consumed the stream.
    const preParsed = req._body ? req.body : undefined;
    const raw = preParsed === undefined
      ? await readBody(req, options.maxBodyBytes ?? DEFAULT_MAX_BODY)
      : Buffer.from(typeof preParsed === 'string' || Buffer.isBuffer(preParsed) ? preParsed : JSON.stringify(preParsed));
    const auth = checkReceiverAuth(options.auth.settings, options.auth.secrets, { headers: req.headers, query, rawBody: raw === 'too-large' ? Buffer.alloc(0) : raw });
    if (!auth.ok) {
      reject(auth.status, 'unauthorized', auth.challenge ? { 'WWW-Authenticate': auth.challenge } : undefined);
      return;
    }
    if (raw === 'too-large') {
      reject(413, `body larger than ${options.maxBodyBytes ?? DEFAULT_MAX_BODY} bytes`);
      return;
    }
    if (!format || !options.formats.includes(format)) {
      reject(415, `content type must be one of: ${options.formats.map((f) => ({ json: 'application/json', xml: 'application/xml', form: 'application/x-www-form-urlencoded' })[f]).join(', ')}`);
      return;
    }
    let body: unknown;
    try {
      body = parseBody(format, raw);
    } catch (error) {
      reject(400, (error as Error).message);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!SENSITIVE_HEADER.test(name) && value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const answer = await options.handle({ method: (req.method ?? 'POST').toUpperCase(), path: url.pathname, format, body, rawBody: raw, headers, query });
    reply(res, answer);
  } catch (error) {
    options.onRejected?.(500, (error as Error).message);
    if (!res.headersSent) reply(res, { status: 500, body: { error: 'receiver failed to accept the message' } });
  }
}
