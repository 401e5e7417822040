/**
 * The mediator registration body (`POST /mediators`) built from what an implementer types in
 * the editor: one endpoint (this Node-RED's HTTP path) and, optionally, one default channel
 * whose primary route points at that endpoint.
 */
import { badInput } from '../../core/errors';
import type { ChannelDef, ConfigDef, MediatorRegistration, RouteDef } from './types';

export interface DefaultChannelSettings {
  name: string;
  /** A regular expression on the request path, e.g. ^/dhis2-sync$ */
  urlPattern: string;
  methods: string[];
  /** Client roles or client ids allowed to call the channel. */
  allow: string[];
}

export interface MediatorSettings {
  urn: string;
  version: string;
  name: string;
  description?: string;
  /** Where OpenHIM reaches this mediator, e.g. http://nodered:1880/openhim/dhis2-sync */
  endpointUrl: string;
  channel?: DefaultChannelSettings;
  /** Basic credentials the channel's route sends to the endpoint (the receiver's own). */
  routeCredentials?: { username: string; password: string };
  configDefs?: ConfigDef[];
  config?: Record<string, unknown>;
}

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** "a, b c" -> ["a", "b", "c"]; arrays are trimmed and emptied of blanks. */
export function splitList(value: string | string[] | undefined): string[] {
  const items = Array.isArray(value) ? value : String(value ?? '').split(/[\s,]+/);
  return items.map((item) => String(item).trim()).filter(Boolean);
}

interface EndpointParts {
  host: string;
  port: number;
  path: string;
  secured: boolean;
}

export function endpointParts(endpointUrl: string): EndpointParts {
  let url: URL;
  try {
    url = new URL(endpointUrl);
  } catch {
    throw badInput(`endpoint URL "${endpointUrl}" is not a URL`, 'endpointUrl');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badInput('endpoint URL must start with http:// or https://', 'endpointUrl');
  if (url.username || url.password) throw badInput('endpoint URL must not contain credentials: use the authentication node', 'endpointUrl');
  const secured = url.protocol === 'https:';
  return { host: url.hostname, port: url.port ? Number(url.port) : secured ? 443 : 80, path: url.pathname || '/', secured };
}

export function validateMediatorSettings(settings: MediatorSettings): void {
  if (!settings.urn?.trim()) throw badInput('the mediator needs a URN, e.g. urn:mediator:dhis2-sync', 'urn');
  if (!SEMVER.test(settings.version?.trim() ?? '')) throw badInput('the mediator version must be in SemVer form x.y.z (core refuses anything else)', 'version');
  endpointParts(settings.endpointUrl);
  if (settings.channel) {
    if (!settings.channel.name.trim()) throw badInput('the default channel needs a name', 'channelName');
    try {
      new RegExp(settings.channel.urlPattern);
    } catch {
      throw badInput(`the channel URL pattern "${settings.channel.urlPattern}" is not a regular expression`, 'urlPattern');
    }
    if (!settings.channel.urlPattern.trim()) throw badInput('the default channel needs a URL pattern, e.g. ^/dhis2-sync$', 'urlPattern');
    const unknown = settings.channel.methods.filter((method) => !HTTP_METHODS.has(method));
    if (unknown.length) throw badInput(`unknown HTTP method(s) for the channel: ${unknown.join(', ')}`, 'methods');
  }
  if (settings.configDefs !== undefined && !Array.isArray(settings.configDefs)) throw badInput('configDefs must be a JSON array', 'configDefs');
  if (settings.config !== undefined && (typeof settings.config !== 'object' || settings.config === null || Array.isArray(settings.config))) {
    throw badInput('config must be a JSON object', 'config');
  }
}

export function buildRegistration(settings: MediatorSettings): MediatorRegistration {
  validateMediatorSettings(settings);
  const parts = endpointParts(settings.endpointUrl);
  const name = settings.name.trim() || settings.urn.trim();
  // Registration files (mediator-utils, the Java engine) give endpoint ports as strings.
  const endpoint: RouteDef = { name, host: parts.host, port: String(parts.port), path: parts.path, primary: true, type: 'http' };
  if (parts.secured) endpoint.secured = true;
  const registration: MediatorRegistration = {
    urn: settings.urn.trim(),
    version: settings.version.trim(),
    name,
    description: settings.description?.trim() || name,
    endpoints: [endpoint],
    defaultChannelConfig: settings.channel ? [defaultChannel(settings.channel, name, parts, settings.routeCredentials)] : [],
  };
  if (settings.configDefs?.length) registration.configDefs = settings.configDefs;
  if (settings.config && settings.configDefs?.length) registration.config = settings.config;
  return registration;
}

function defaultChannel(channel: DefaultChannelSettings, mediatorName: string, parts: EndpointParts, credentials: MediatorSettings['routeCredentials']): ChannelDef {
  const route: RouteDef = { name: mediatorName, host: parts.host, port: parts.port, path: parts.path, primary: true, type: 'http' };
  if (parts.secured) route.secured = true;
  if (credentials) {
    route.username = credentials.username;
    route.password = credentials.password;
  }
  return {
    name: channel.name.trim(),
    urlPattern: channel.urlPattern.trim(),
    type: 'http',
    methods: channel.methods.length ? channel.methods : ['POST'],
    allow: channel.allow,
    routes: [route],
  };
}
