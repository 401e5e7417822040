/**
 * /channels, /clients, /transactions and the public /authenticate/:username, with core's
 * plain-text success and error bodies (src/api/channels.js, clients.js, transactions.js).
 */
import { randomUUID } from 'node:crypto';
import type { SandboxApp, SandboxRequest, SandboxResponse } from '../core';
import { AUDIT_USER } from './mediators';
import { OBJECT_ID, objectId, sha512, shapeChannel, shapeClient, type Doc, type OpenhimStore } from './store';

const TIMEOUT_MESSAGE = 'Channel property timeoutSeconds has to be a number greater than 1 and less than an 3600';
const MAX_BODY_AGE_MESSAGE = "Channel property maxBodyAgeDays has to be a number that's valid and requestBody or responseBody must be true.";
const PATH_MESSAGE = 'Channel cannot have both path and pathTransform. pathTransform must be of the form s/from/to[/g]';

function text(status: number, body: string): SandboxResponse {
  return { status, body };
}

function bodyObject(req: SandboxRequest): Doc {
  return (req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? structuredClone(req.body) : {}) as Doc;
}

function primaryCount(routes: Doc[]): number {
  return routes.filter((route) => (route.status == null || route.status === 'enabled') && route.primary).length;
}

function pathValid(channel: Doc): boolean {
  return !(channel.routes as Doc[] | undefined ?? []).some((route) =>
    (route.path && route.pathTransform) || (route.pathTransform && !/s\/.*\/.*/.test(route.pathTransform)));
}

function methodProblem(channel: Doc): string | undefined {
  const methods = (channel.methods ?? []) as string[];
  if (methods.length === 0) return undefined;
  if (!/http/i.test(channel.type ?? 'http')) return "Channel method can't be defined if channel type is not http";
  const repeats = [...new Set(methods.filter((method, index) => methods.indexOf(method) !== index))].sort();
  return repeats.length ? `Channel methods can't be repeated. Repeated methods are ${repeats.join(', ')}` : undefined;
}

function timeoutValid(channel: Doc): boolean {
  return channel.timeout == null || (typeof channel.timeout === 'number' && channel.timeout > 0 && channel.timeout <= 3_600_000);
}

function maxBodyAgeValid(channel: Doc): boolean {
  if (channel.maxBodyAgeDays == null) return true;
  if (!channel.requestBody && !channel.responseBody) return false;
  return typeof channel.maxBodyAgeDays === 'number' && channel.maxBodyAgeDays > 0 && channel.maxBodyAgeDays < 36500;
}

/** The checks addChannel and updateChannel share, in core's order; returns the 400 body. */
function channelProblem(channel: Doc, routesGiven: boolean): string | undefined {
  if (!pathValid(channel)) return PATH_MESSAGE;
  if (channel.priority != null && channel.priority < 1) return 'Channel priority cannot be below 1 (= Highest priority)';
  const method = methodProblem(channel);
  if (method) return method;
  if (!timeoutValid(channel)) return TIMEOUT_MESSAGE;
  if (routesGiven) {
    const primaries = primaryCount(channel.routes as Doc[]);
    if (primaries === 0) return 'Channel must have a primary route';
    if (primaries > 1) return 'Channel cannot have a multiple primary routes';
  }
  return maxBodyAgeValid(channel) ? undefined : MAX_BODY_AGE_MESSAGE;
}

function addChannel(store: OpenhimStore, req: SandboxRequest): SandboxResponse {
  const errors: string[] = [];
  const channel = shapeChannel(bodyObject(req), '', errors);
  channel.updatedBy = { ...AUDIT_USER };
  const problem = channelProblem(channel, true);
  if (problem) return text(400, problem);
  if (errors.length) return text(400, `Could not add channel via the API: ValidationError: Channel validation failed: ${errors.join(', ')}`);
  store.addChannel({ ...channel, __v: 0 });
  return text(201, 'Channel successfully created');
}

function updateChannel(store: OpenhimStore, req: SandboxRequest): SandboxResponse {
  const id = req.params.channelId;
  const existing = store.channels.get(id);
  if (!existing) {
    return text(500, `Could not update channel by id: ${id} via the API: TypeError: Cannot read properties of null (reading 'set')`);
  }
  const changes = bodyObject(req);
  delete changes._id;
  const errors: string[] = [];
  const merged = shapeChannel({ ...existing, ...changes }, '', errors, true);
  const problem = channelProblem(merged, changes.routes != null);
  if (problem) return text(400, problem);
  if (errors.length) return text(500, `Could not update channel by id: ${id} via the API: ValidationError: Validation failed: ${errors.join(', ')}`);
  store.addChannel({ ...merged, _id: id, updatedBy: { ...AUDIT_USER }, __v: existing.__v ?? 0 });
  return text(200, 'The channel was successfully updated');
}

function removeChannel(store: OpenhimStore, req: SandboxRequest): SandboxResponse {
  const id = req.params.channelId;
  const channel = store.channels.get(id);
  // Channels with transactions are only flagged, so the transactions keep their channel.
  if (channel && store.transactions.some((transaction) => transaction.channelID === id)) {
    channel.status = 'deleted';
  } else {
    store.channels.delete(id);
  }
  return text(200, 'The channel was successfully deleted');
}

function addClient(store: OpenhimStore, req: SandboxRequest): SandboxResponse {
  const body = bodyObject(req);
  // Sandbox convenience: a plain `password` is hashed the way the console does it (sha512 of
  // password + salt). Real core drops unknown keys, so real callers must send the hash fields.
  if (typeof body.password === 'string' && !body.passwordHash) {
    body.passwordAlgorithm = 'sha512';
    body.passwordSalt = randomUUID();
    body.passwordHash = sha512(body.password + body.passwordSalt);
  }
  if (body.clientID && Array.isArray(body.roles) && body.roles.includes(body.clientID)) {
    return text(400, `ClientID '${body.clientID}' cannot be the same as a role name.`);
  }
  const errors: string[] = [];
  const client = shapeClient(body, errors);
  if (errors.length) return text(400, `Client validation failed: ${errors.join(', ')}`);
  if (store.clientsByClientId.has(client.clientID)) {
    return text(400, `E11000 duplicate key error collection: openhim.clients index: clientID_1 dup key: { clientID: "${client.clientID}" }`);
  }
  store.addClient({ ...client, _id: objectId(), __v: 0 });
  return text(201, 'Client successfully created');
}

/** core's default projection: no bodies, headers, routes or orchestrations. */
function withoutDetails(transaction: Doc): Doc {
  const { orchestrations: _orchestrations, routes: _routes, ...rest } = transaction;
  const request = { ...(transaction.request as Doc) };
  const response = transaction.response ? { ...(transaction.response as Doc) } : undefined;
  delete request.body;
  delete request.headers;
  if (response) {
    delete response.body;
    delete response.headers;
  }
  return { ...rest, request, ...(response ? { response } : {}) };
}

function withoutBodies(transaction: Doc): Doc {
  const strip = (part: Doc | undefined): Doc | undefined => {
    if (!part) return part;
    const { body: _body, ...rest } = part;
    return rest;
  };
  const stripMessage = (message: Doc): Doc => ({ ...message, request: strip(message.request), response: strip(message.response) });
  return {
    ...stripMessage(transaction),
    routes: (transaction.routes as Doc[]).map(stripMessage),
    orchestrations: (transaction.orchestrations as Doc[]).map(stripMessage),
  };
}

/** The subset of core's mongo filter language that callers use: equality, $in, date ranges, 2xx-style statuses. */
function matchesFilters(transaction: Doc, filters: Doc): boolean {
  for (const [key, expected] of Object.entries(filters)) {
    if (key === 'properties') {
      const [name] = Object.keys(expected as Doc);
      const props = (transaction.properties ?? {}) as Doc;
      if ((expected as Doc)[name] === null ? !(name in props) : props[name] !== (expected as Doc)[name]) return false;
      continue;
    }
    const actual = key.split('.').reduce<any>((value, part) => value?.[part], transaction);
    if (key === 'request.path' || key === 'request.querystring') {
      if (!new RegExp(String(expected), 'i').test(String(actual ?? ''))) return false;
    } else if (key === 'response.status' && /^[1-5]xx$/i.test(String(expected))) {
      const hundred = Number(String(expected)[0]) * 100;
      if (!(actual >= hundred && actual < hundred + 100)) return false;
    } else if (key === 'request.timestamp') {
      const range = (typeof expected === 'string' ? JSON.parse(expected) : expected) as Doc;
      const time = Date.parse(actual);
      if (range.$gte && time < Date.parse(range.$gte)) return false;
      if (range.$gt && time <= Date.parse(range.$gt)) return false;
      if (range.$lte && time > Date.parse(range.$lte)) return false;
      if (range.$lt && time >= Date.parse(range.$lt)) return false;
    } else if (expected && typeof expected === 'object' && Array.isArray((expected as Doc).$in)) {
      if (!((expected as Doc).$in as unknown[]).map(String).includes(String(actual))) return false;
    } else if (String(actual) !== String(expected)) {
      return false;
    }
  }
  return true;
}

function listTransactions(store: OpenhimStore, req: SandboxRequest): SandboxResponse {
  let filters: Doc = {};
  try {
    filters = req.query.has('filters') ? JSON.parse(req.query.get('filters')!) as Doc : {};
  } catch (error) {
    return text(500, `Could not retrieve transactions via the API: ${String(error)}`);
  }
  const limit = Number(req.query.get('filterLimit') ?? 0) || 0;
  const page = Number(req.query.get('filterPage') ?? 0) || 0;
  const representation = req.query.get('filterRepresentation') ?? '';
  const matching: Doc[] = [];
  // Newest first, as core sorts by request.timestamp descending; filterLimit 0 means no limit.
  let skip = page * limit;
  for (let index = store.transactions.length - 1; index >= 0; index -= 1) {
    const transaction = store.transactions[index];
    if (!matchesFilters(transaction, filters)) continue;
    if (skip > 0) {
      skip -= 1;
      continue;
    }
    matching.push(transaction);
    if (limit > 0 && matching.length >= limit) break;
  }
  if (representation === 'bulkrerun') {
    return { status: 200, body: { count: store.transactions.filter((transaction) => matchesFilters(transaction, filters)).length } };
  }
  const shape = representation === 'full' || representation === 'fulltruncate' ? (transaction: Doc) => transaction
    : representation === 'simpledetails' ? withoutBodies : withoutDetails;
  return { status: 200, body: matching.map(shape) };
}

export function apiRoutes(app: SandboxApp, store: OpenhimStore): void {
  app.get('/authenticate/:username', (req) => {
    const user = store.users.get(req.params.username.toLowerCase());
    if (!user) return text(404, `Could not find user by email ${req.params.username}`);
    return { status: 200, body: { salt: user.passwordSalt, ts: new Date().toISOString() } };
  }, { auth: false });

  // Like core, flagged-deleted channels are still listed (the console hides them).
  app.get('/channels', () => ({ status: 200, body: [...store.channels.values()] }));
  app.post('/channels', (req) => addChannel(store, req));
  app.get('/channels/:channelId', (req) => {
    const channel = store.channels.get(req.params.channelId);
    return channel ? { status: 200, body: channel } : text(404, `We could not find a channel with Id:'${req.params.channelId}'.`);
  });
  app.put('/channels/:channelId', (req) => updateChannel(store, req));
  app.delete('/channels/:channelId', (req) => removeChannel(store, req));

  app.get('/clients', () => ({ status: 200, body: [...store.clients.values()] }));
  app.post('/clients', (req) => addClient(store, req));
  app.get('/clients/:clientId', (req) => {
    const id = req.params.clientId;
    const client = req.query.get('byNamedClientID') === 'true' ? store.clientsByClientId.get(id) : store.clients.get(id);
    return client ? { status: 200, body: client } : text(404, `Client with id ${id} could not be found.`);
  });

  app.get('/transactions', (req) => listTransactions(store, req));
  app.get('/transactions/:transactionId', (req) => {
    const id = req.params.transactionId;
    const transaction = OBJECT_ID.test(id) ? store.transactionsById.get(id) : undefined;
    return transaction ? { status: 200, body: transaction } : text(404, `Could not find transaction with ID: ${id}`);
  });
}
