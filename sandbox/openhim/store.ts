/**
 * In-memory OpenHIM data with the document shapes core's mongoose models give them: `_id`
 * ObjectIds on documents and sub-documents, schema defaults filled in, unknown keys dropped
 * (mongoose strict mode) and route ports cast to numbers.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  DEMO_CLIENT_ID, DEMO_CLIENT_OBJECT_ID, DEMO_CLIENT_PASSWORD, DEMO_CLIENT_ROLE, DEMO_CLIENT_SALT,
  ROOT_EMAIL, ROOT_PASSWORD, ROOT_PASSWORD_SALT, ROOT_USER_ID,
} from './seed';

export type Doc = Record<string, any>;

let counter = randomBytes(3).readUIntBE(0, 3);
const processPart = randomBytes(5).toString('hex');

/** A MongoDB ObjectId: 4 bytes of seconds, 5 random bytes, a 3-byte counter. */
export function objectId(): string {
  counter = (counter + 1) % 0xffffff;
  const seconds = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return `${seconds}${processPart}${counter.toString(16).padStart(6, '0')}`;
}

export const OBJECT_ID = /^[0-9a-f]{24}$/i;

export function sha512(text: string): string {
  return createHash('sha512').update(text).digest('hex');
}

export class ValidationError extends Error {
  override name = 'ValidationError';
}

export const TRANSACTION_STATUS = {
  processing: 'Processing',
  successful: 'Successful',
  completed: 'Completed',
  completedWithErrors: 'Completed with error(s)',
  failed: 'Failed',
} as const;

const ROUTE_KEYS = ['name', 'type', 'cert', 'status', 'secured', 'host', 'port', 'path', 'pathTransform', 'primary', 'username', 'password', 'forwardAuthHeader', 'waitPrimaryResponse', 'statusCodesCheck', 'kafkaClientId', 'kafkaTopic'];
const CHANNEL_KEYS = ['name', 'description', 'urlPattern', 'isAsynchronousProcess', 'maxBodyAgeDays', 'lastBodyCleared', 'timeout', 'methods', 'type', 'priority', 'tcpPort', 'tcpHost', 'pollingSchedule', 'requestBody', 'responseBody', 'allow', 'whitelist', 'authType', 'routes', 'matchContentTypes', 'matchContentRegex', 'matchContentXpath', 'matchContentJson', 'matchContentValue', 'properties', 'txViewAcl', 'txViewFullAcl', 'txRerunAcl', 'alerts', 'status', 'rewriteUrls', 'addAutoRewriteRules', 'rewriteUrlsConfig', 'autoRetryEnabled', 'autoRetryPeriodMinutes', 'autoRetryMaxAttempts', 'updatedBy'];
const CHANNEL_ARRAYS = ['methods', 'allow', 'whitelist', 'matchContentTypes', 'properties', 'txViewAcl', 'txViewFullAcl', 'txRerunAcl', 'alerts', 'rewriteUrlsConfig'];
const MEDIATOR_KEYS = ['urn', 'version', 'name', 'description', 'endpoints', 'defaultChannelConfig', 'configDefs', 'config', '_configModifiedTS', '_uptime', '_lastHeartbeat'];
const CONFIG_DEF_KEYS = ['param', 'displayName', 'description', 'type', 'values', 'template', 'array'];
const CLIENT_KEYS = ['clientID', 'clientDomain', 'name', 'roles', 'customTokenID', 'passwordAlgorithm', 'passwordHash', 'passwordSalt', 'certFingerprint', 'organization', 'location', 'softwareName', 'description', 'contactPerson', 'contactPersonEmail'];
export const CONFIG_PARAM_TYPES = ['string', 'bool', 'number', 'option', 'bigstring', 'map', 'struct', 'password'];
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

function pick(source: Doc, keys: string[]): Doc {
  const result: Doc = {};
  for (const key of keys) if (source[key] !== undefined) result[key] = source[key];
  return result;
}

/** Mongoose casts a numeric string to Number; anything else fails the cast. */
function castNumber(value: unknown, path: string, errors: string[]): unknown {
  if (value === undefined || typeof value === 'number') return value;
  const number = Number(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(number)) return number;
  errors.push(`${path}: Cast to Number failed for value "${String(value)}" (type ${typeof value}) at path "${path.split('.').pop()}"`);
  return value;
}

export function shapeRoute(input: Doc, path: string, errors: string[], keepId = false): Doc {
  const route = pick(input ?? {}, ROUTE_KEYS);
  if (!route.name) errors.push(`${path}.name: Path \`name\` is required.`);
  route.type ??= 'http';
  route.status ??= 'enabled';
  route.forwardAuthHeader ??= false;
  route.port = castNumber(route.port, `${path}.port`, errors);
  if (route.port === undefined) delete route.port;
  return { ...route, _id: keepId && input?._id ? input._id : objectId() };
}

export function shapeChannel(input: Doc, path: string, errors: string[], keepIds = false): Doc {
  const channel = pick(input ?? {}, CHANNEL_KEYS);
  if (!channel.name) errors.push(`${path ? `${path}.` : ''}name: Path \`name\` is required.`);
  if (!channel.urlPattern) errors.push(`${path ? `${path}.` : ''}urlPattern: Path \`urlPattern\` is required.`);
  for (const key of CHANNEL_ARRAYS) channel[key] ??= [];
  channel.routes = (Array.isArray(channel.routes) ? channel.routes : []).map((route: Doc, index: number) =>
    shapeRoute(route, `${path ? `${path}.` : ''}routes.${index}`, errors, keepIds));
  channel.isAsynchronousProcess ??= false;
  channel.type ??= 'http';
  channel.authType ??= 'private';
  channel.status ??= 'enabled';
  channel.rewriteUrls ??= false;
  channel.addAutoRewriteRules ??= true;
  channel.autoRetryEnabled ??= false;
  channel.autoRetryPeriodMinutes ??= 60;
  for (const method of channel.methods as unknown[]) {
    if (!HTTP_METHODS.includes(String(method))) errors.push(`${path ? `${path}.` : ''}methods: \`${String(method)}\` is not a valid enum value for path \`methods\`.`);
  }
  return { ...channel, _id: keepIds && input?._id ? input._id : objectId() };
}

export function shapeMediator(input: Doc, errors: string[]): Doc {
  const mediator = pick(input, MEDIATOR_KEYS);
  if (!mediator.name) errors.push('name: Path `name` is required.');
  mediator.endpoints = (Array.isArray(mediator.endpoints) ? mediator.endpoints : []).map((route: Doc, index: number) =>
    shapeRoute(route, `endpoints.${index}`, errors));
  mediator.defaultChannelConfig = (Array.isArray(mediator.defaultChannelConfig) ? mediator.defaultChannelConfig : []).map((channel: Doc, index: number) =>
    shapeChannel(channel, `defaultChannelConfig.${index}`, errors));
  mediator.configDefs = (Array.isArray(mediator.configDefs) ? mediator.configDefs : []).map((def: Doc, index: number) => {
    const shaped = pick(def ?? {}, CONFIG_DEF_KEYS);
    if (shaped.type !== undefined && !CONFIG_PARAM_TYPES.includes(shaped.type)) {
      errors.push(`configDefs.${index}.type: \`${String(shaped.type)}\` is not a valid enum value for path \`type\`.`);
    }
    shaped.values ??= [];
    shaped.template ??= [];
    return { ...shaped, _id: objectId() };
  });
  return mediator;
}

export function shapeClient(input: Doc, errors: string[]): Doc {
  const client = pick(input, CLIENT_KEYS);
  if (!client.clientID) errors.push('clientID: Path `clientID` is required.');
  if (!client.name) errors.push('name: Path `name` is required.');
  client.roles = Array.isArray(client.roles) ? client.roles : [];
  return client;
}

export interface User {
  _id: string;
  email: string;
  groups: string[];
  /** The token passport: sha512(salt + password), as core stores it. */
  passwordAlgorithm: string;
  passwordSalt: string;
  passwordHash: string;
}

export class OpenhimStore {
  readonly users = new Map<string, User>();
  readonly mediators = new Map<string, Doc>();
  readonly channels = new Map<string, Doc>();
  readonly clients = new Map<string, Doc>();
  readonly clientsByClientId = new Map<string, Doc>();
  /** Oldest first; the API lists them newest first. */
  transactions: Doc[] = [];
  readonly transactionsById = new Map<string, Doc>();

  reset(): void {
    this.users.clear();
    this.mediators.clear();
    this.channels.clear();
    this.clients.clear();
    this.clientsByClientId.clear();
    this.transactions = [];
    this.transactionsById.clear();
    this.users.set(ROOT_EMAIL.toLowerCase(), {
      _id: ROOT_USER_ID,
      email: ROOT_EMAIL,
      groups: ['admin'],
      passwordAlgorithm: 'sha512',
      passwordSalt: ROOT_PASSWORD_SALT,
      passwordHash: sha512(ROOT_PASSWORD_SALT + ROOT_PASSWORD),
    });
    this.addClient({
      _id: DEMO_CLIENT_OBJECT_ID,
      clientID: DEMO_CLIENT_ID,
      name: 'Demo client',
      roles: [DEMO_CLIENT_ROLE],
      passwordAlgorithm: 'sha512',
      passwordSalt: DEMO_CLIENT_SALT,
      passwordHash: sha512(DEMO_CLIENT_PASSWORD + DEMO_CLIENT_SALT),
      __v: 0,
    });
  }

  addClient(client: Doc): void {
    this.clients.set(client._id, client);
    this.clientsByClientId.set(client.clientID, client);
  }

  addChannel(channel: Doc): void {
    this.channels.set(channel._id, channel);
  }

  /** Enabled channels in core's priority order: lowest priority number first, unprioritised last. */
  channelsInPriorityOrder(): Doc[] {
    return [...this.channels.values()]
      .filter((channel) => channel.status === 'enabled')
      .sort((a, b) => (a.priority ?? Number.POSITIVE_INFINITY) - (b.priority ?? Number.POSITIVE_INFINITY));
  }

  addTransaction(transaction: Doc): void {
    this.transactions.push(transaction);
    this.transactionsById.set(transaction._id, transaction);
  }
}
