/**
 * The OpenHIM core documents this package sends and reads: mediator registrations (as in
 * jembi/openhim-mediator-utils configs), channels, and the `application/json+openhim`
 * mediator response with its orchestrations.
 */

/** Final transaction statuses a mediator may report (core's transaction model enum). */
export type TransactionStatus = 'Processing' | 'Successful' | 'Completed' | 'Completed with error(s)' | 'Failed';

export const TRANSACTION_STATUSES: readonly TransactionStatus[] = ['Processing', 'Successful', 'Completed', 'Completed with error(s)', 'Failed'];

export interface RouteDef {
  name: string;
  host: string;
  /** Registration samples send endpoint ports as strings; core casts them to numbers. */
  port: string | number;
  path?: string;
  pathTransform?: string;
  primary?: boolean;
  type?: 'http';
  secured?: boolean;
  username?: string;
  password?: string;
  forwardAuthHeader?: boolean;
}

export interface ChannelDef {
  name: string;
  urlPattern: string;
  description?: string;
  type?: 'http';
  methods?: string[];
  allow?: string[];
  authType?: 'private' | 'public';
  routes: RouteDef[];
  timeout?: number;
  [key: string]: unknown;
}

export type ConfigParamType = 'string' | 'bool' | 'number' | 'option' | 'bigstring' | 'map' | 'struct' | 'password';

export interface ConfigDef {
  param: string;
  displayName?: string;
  description?: string;
  type: ConfigParamType;
  values?: string[];
  template?: ConfigDef[];
  array?: boolean;
}

export interface MediatorRegistration {
  urn: string;
  version: string;
  name: string;
  description?: string;
  endpoints: RouteDef[];
  defaultChannelConfig?: ChannelDef[];
  configDefs?: ConfigDef[];
  config?: Record<string, unknown>;
}

export interface OrchestrationRequest {
  host?: string;
  port?: string;
  path: string;
  headers?: Record<string, string>;
  querystring?: string;
  body?: string;
  method: string;
  timestamp: string;
}

export interface OrchestrationResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  timestamp: string;
}

/** One upstream call made while handling a routed request, shown in OpenHIM's transaction log. */
export interface Orchestration {
  name: string;
  request: OrchestrationRequest;
  response?: OrchestrationResponse;
  error?: { message: string };
}

export interface MediatorResponse {
  'x-mediator-urn': string;
  status: TransactionStatus;
  response: {
    status: number;
    headers: Record<string, string>;
    body: string;
    timestamp: string;
  };
  orchestrations: Orchestration[];
  properties: Record<string, string>;
}
