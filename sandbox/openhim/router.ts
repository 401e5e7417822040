/**
 * The OpenHIM router, where core acts as a client of mediators and upstream systems.
 *
 * Deviation: real core serves the router on its own port (5001 http / 5000 https) at the
 * request path itself; this sandbox serves it on the API port under the `/router` prefix, so
 * `POST /router/dhis2-sync` is matched against channel urlPatterns as `/dhis2-sync`.
 *
 * Steps follow core's koaMiddleware chain: basic client authentication, channel matching
 * (urlPattern + method, enabled channels in priority order), authorisation (allow roles or
 * clientID, or authType public), transaction storage, routing (primary route answers the
 * client; a response in application/json+openhim is unwrapped), then the final status.
 */
import http from 'node:http';
import type { SandboxApp, SandboxRequest, SandboxResponse } from '../core';
import { authenticateClient } from './auth';
import { ROUTER_TIMEOUT_MS } from './seed';
import { TRANSACTION_STATUS, objectId, type Doc, type OpenhimStore } from './store';

export const ROUTER_PREFIX = '/router';

interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Applies core's sed-like `s/from/to[/g]` pathTransform. */
export function transformPath(path: string, expression: string): string {
  const parts = expression.replace(/\\\//g, ':').split('/');
  const from = parts[1].replace(/:/g, '/');
  const to = (parts[2] ?? '').replace(/:/g, '/');
  return path.replace(new RegExp(from, parts[3] === 'g' ? 'g' : ''), to);
}

function destinationPath(route: Doc, requestPath: string): string {
  if (route.path) return route.path as string;
  if (route.pathTransform) return transformPath(requestPath, route.pathTransform as string);
  return requestPath;
}

function send(route: Doc, method: string, path: string, headers: http.OutgoingHttpHeaders, body: Buffer, timeoutMs: number): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: route.host as string,
      port: route.port as number,
      path,
      method,
      headers: { ...headers, 'content-length': body.length },
      auth: route.username && route.password ? `${route.username}:${route.password}` : undefined,
      timeout: timeoutMs,
    }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 500, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`Request took longer than ${timeoutMs}ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

function isMediatorResponse(upstream: Upstream): boolean {
  return String(upstream.headers['content-type'] ?? '').includes('application/json+openhim');
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  return typeof body === 'string' ? body : JSON.stringify(body);
}

function toIso(value: unknown): string {
  const time = value === undefined ? Number.NaN : Date.parse(String(value));
  return Number.isFinite(time) ? new Date(time).toISOString() : new Date().toISOString();
}

function stringHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) result[key] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return result;
}

/** Orchestrations as the transaction schema keeps them (timestamps become dates). */
function storedOrchestrations(orchestrations: unknown): Doc[] {
  if (!Array.isArray(orchestrations)) return [];
  return orchestrations.map((orchestration: Doc) => {
    const stored: Doc = { name: orchestration.name };
    if (orchestration.group !== undefined) stored.group = orchestration.group;
    if (orchestration.request) {
      stored.request = { ...orchestration.request, timestamp: toIso(orchestration.request.timestamp) };
      if (stored.request.port !== undefined) stored.request.port = String(stored.request.port);
      if (stored.request.body !== undefined) stored.request.body = bodyText(stored.request.body);
    }
    if (orchestration.response) {
      stored.response = { ...orchestration.response, timestamp: toIso(orchestration.response.timestamp) };
      if (stored.response.body !== undefined) stored.response.body = bodyText(stored.response.body);
    }
    if (orchestration.error) stored.error = orchestration.error;
    return stored;
  });
}

function matchChannel(store: OpenhimStore, method: string, path: string): Doc | undefined {
  return store.channelsInPriorityOrder().find((channel) => {
    try {
      return new RegExp(channel.urlPattern as string).test(path) && (channel.methods as string[]).includes(method);
    } catch {
      return false;
    }
  });
}

function authorised(channel: Doc, client: Doc | undefined): boolean {
  if (channel.authType === 'public') return true;
  if (!client) return false;
  const allow = channel.allow as string[];
  return allow.some((role) => (client.roles as string[]).includes(role)) || allow.includes(client.clientID);
}

/** core's setFinalStatus: the mediator's own status wins, otherwise derived from the HTTP statuses. */
function finalStatus(transaction: Doc, mediator: Doc | undefined): string {
  if (mediator?.status != null) return String(mediator.status);
  const status = transaction.response.status as number;
  const routes = transaction.routes as Doc[];
  const routeFailure = routes.some((route) => route.response.status >= 500 && route.response.status <= 599);
  const routesOk = routes.every((route) => route.response.status >= 200 && route.response.status <= 299);
  if (status >= 500 && status <= 599) return TRANSACTION_STATUS.failed;
  let result: string = TRANSACTION_STATUS.processing;
  if (routeFailure) result = TRANSACTION_STATUS.completedWithErrors;
  if (status >= 200 && status <= 299 && routesOk) result = TRANSACTION_STATUS.successful;
  if (status >= 400 && status <= 499 && routesOk) result = TRANSACTION_STATUS.completed;
  return result === TRANSACTION_STATUS.processing ? TRANSACTION_STATUS.completed : result;
}

async function routeRequest(store: OpenhimStore, req: SandboxRequest): Promise<SandboxResponse> {
  const path = req.path.slice(ROUTER_PREFIX.length) || '/';
  const client = authenticateClient(store, req);
  const channel = matchChannel(store, req.method, path);
  if (!channel) return { status: 404, body: 'Not Found' };
  if (!authorised(channel, client)) return { status: 401, headers: { 'WWW-Authenticate': 'Basic' }, body: 'Unauthorized' };

  const transactionId = objectId();
  const [host, port] = String(req.headers.host ?? '').split(':');
  const requestHeaders: Record<string, string> = { ...stringHeaders(req.headers), 'X-OpenHIM-TransactionID': transactionId };
  if (client) requestHeaders['X-OpenHIM-ClientID'] = client.clientID;
  const transaction: Doc = {
    _id: transactionId,
    status: TRANSACTION_STATUS.processing,
    clientID: client?._id,
    channelID: channel._id,
    clientIP: String(req.headers['x-forwarded-for'] ?? '127.0.0.1'),
    request: {
      host,
      port,
      path,
      headers: requestHeaders,
      querystring: req.query.toString(),
      body: req.rawBody.toString('utf8'),
      method: req.method,
      timestamp: new Date().toISOString(),
    },
    routes: [],
    orchestrations: [],
    childIDs: [],
    canRerun: true,
    autoRetry: false,
    wasRerun: false,
    __v: 0,
  };
  store.addTransaction(transaction);

  const forwardHeaders: Record<string, string> = { ...requestHeaders };
  delete forwardHeaders.host;
  const querystring = req.query.toString();
  const timeoutMs = (channel.timeout as number | undefined) ?? ROUTER_TIMEOUT_MS;
  const enabled = (channel.routes as Doc[]).filter((route) => route.status == null || route.status === 'enabled');
  const headersFor = (route: Doc): Record<string, string> => {
    const headers = { ...forwardHeaders };
    if (!route.forwardAuthHeader) delete headers.authorization;
    return headers;
  };
  const target = (route: Doc): string => destinationPath(route, path) + (querystring ? `?${querystring}` : '');

  const secondary = enabled.filter((route) => !route.primary).map(async (route) => {
    const timestamp = new Date().toISOString();
    const routeRecord: Doc = {
      name: route.name,
      request: { host: route.host, port: String(route.port), path: destinationPath(route, path), headers: headersFor(route), querystring, body: transaction.request.body, method: req.method, timestamp },
    };
    try {
      const upstream = await send(route, req.method, target(route), headersFor(route), req.rawBody, timeoutMs);
      if (isMediatorResponse(upstream)) {
        const mediator = JSON.parse(upstream.body.toString('utf8')) as Doc;
        routeRecord.response = { ...mediator.response, body: bodyText(mediator.response?.body), timestamp: toIso(mediator.response?.timestamp) };
        routeRecord.orchestrations = storedOrchestrations(mediator.orchestrations);
        if (mediator.properties) routeRecord.properties = mediator.properties;
      } else {
        routeRecord.response = { status: upstream.status, headers: stringHeaders(upstream.headers), body: upstream.body.toString('utf8'), timestamp: new Date().toISOString() };
      }
    } catch (error) {
      routeRecord.response = { status: 500, timestamp };
      routeRecord.error = { message: (error as Error).message, stack: (error as Error).stack };
    }
    (transaction.routes as Doc[]).push(routeRecord);
  });

  const primary = enabled.find((route) => route.primary);
  let answer: SandboxResponse;
  let mediator: Doc | undefined;
  try {
    if (!primary) throw new Error('Cannot route transaction: Channel contains no primary route');
    const upstream = await send(primary, req.method, target(primary), headersFor(primary), req.rawBody, timeoutMs);
    if (isMediatorResponse(upstream)) {
      mediator = JSON.parse(upstream.body.toString('utf8')) as Doc;
      const response = (mediator.response ?? {}) as Doc;
      const status = typeof response.status === 'string' ? Number.parseInt(response.status, 10) : Number(response.status);
      const headers = stringHeaders(response.headers as Doc | undefined);
      transaction.response = { status, headers, body: bodyText(response.body), timestamp: toIso(response.timestamp) };
      if (mediator.error != null) {
        transaction.error = mediator.error;
        transaction.autoRetry = true;
      }
      answer = { status, headers, body: transaction.response.body };
    } else {
      const headers = stringHeaders(upstream.headers);
      transaction.response = { status: upstream.status, headers, body: upstream.body.toString('utf8'), timestamp: new Date().toISOString() };
      answer = { status: upstream.status, headers, body: upstream.body };
    }
  } catch (error) {
    transaction.response = { status: 500, headers: {}, body: 'An internal server error occurred', timestamp: new Date().toISOString() };
    transaction.error = { message: (error as Error).message, stack: (error as Error).stack };
    transaction.autoRetry = true;
    answer = { status: 500, body: 'An internal server error occurred' };
  }
  if (mediator) {
    transaction.orchestrations = storedOrchestrations(mediator.orchestrations);
    if (mediator.properties) transaction.properties = mediator.properties;
  }
  await Promise.all(secondary);
  transaction.status = finalStatus(transaction, mediator);
  return withClientHeaders(answer, transactionId);
}

/** Headers that node sets itself are dropped, the content type is kept, the transaction id added. */
function withClientHeaders(answer: SandboxResponse, transactionId: string): SandboxResponse {
  const headers: Record<string, string> = {};
  let contentType: string | undefined;
  for (const [key, value] of Object.entries(answer.headers ?? {})) {
    const lower = key.toLowerCase();
    if (lower === 'content-type') contentType = value;
    else if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive', 'date'].includes(lower)) headers[key] = value;
  }
  headers['X-OpenHIM-TransactionID'] = transactionId;
  return { ...answer, headers, contentType: contentType ?? answer.contentType };
}

export function routerRoutes(app: SandboxApp, store: OpenhimStore): void {
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    app.route(method, `${ROUTER_PREFIX}/*`, (req) => routeRequest(store, req), { auth: false });
  }
}
