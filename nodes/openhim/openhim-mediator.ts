/**
 * chis-openhim-mediator: registers this Node-RED flow as an OpenHIM mediator. On deploy it
 * registers (retrying with backoff until core answers), installs the default channel when it
 * is missing, fetches the mediator config and heartbeats every few seconds. The mediator-in
 * nodes that use it show its state and emit the config core sends.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { badInput } from '../core/errors';
import { registerNodeType } from '../core/node-kit';
import type { ReceiverAuthConfigNode } from '../core/receiver-auth-config';
import type { MediatorConfig } from './api/client';
import { MediatorSession, type MediatorState } from './api/mediator-session';
import { buildRegistration, splitList, type MediatorSettings } from './api/registration';
import type { ConfigDef } from './api/types';
import type { OpenhimConfigNode } from './openhim-config';

export interface OpenhimMediatorDef extends NodeDef {
  server: string;
  urn: string;
  version: string;
  description?: string;
  endpointUrl: string;
  /** chis-receiver-auth: how OpenHIM authenticates to the endpoint (basic goes into the route). */
  auth: string;
  installChannel?: boolean;
  channelName?: string;
  urlPattern?: string;
  methods?: string;
  allow?: string;
  heartbeatSeconds?: number | string;
  configDefs?: string;
  config?: string;
}

export interface MediatorListener {
  onState?(state: MediatorState): void;
  onConfig?(config: MediatorConfig): void;
}

export interface OpenhimMediatorNode extends Node {
  urn: string;
  endpointUrl: string;
  authNodeId: string;
  state(): MediatorState | undefined;
  /** Returns the unsubscribe function; a config already received is passed on at once. */
  subscribe(listener: MediatorListener): () => void;
}

const DEFAULT_HEARTBEAT_SECONDS = 10;

function parseJson<T>(text: string | undefined, field: string): T | undefined {
  if (!text?.trim()) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw badInput(`${field} is not valid JSON: ${(error as Error).message}`, field);
  }
}

export function mediatorSettings(def: OpenhimMediatorDef, authNode: ReceiverAuthConfigNode | null): MediatorSettings {
  const secrets = authNode?.secrets() ?? {};
  const basic = authNode?.settings.mode === 'basic' && secrets.username && secrets.password;
  return {
    urn: def.urn,
    version: def.version,
    name: def.name,
    description: def.description,
    endpointUrl: def.endpointUrl,
    channel: def.channelName?.trim()
      ? { name: def.channelName, urlPattern: def.urlPattern ?? '', methods: splitList(def.methods).map((method) => method.toUpperCase()), allow: splitList(def.allow) }
      : undefined,
    routeCredentials: basic ? { username: secrets.username!, password: secrets.password! } : undefined,
    configDefs: parseJson<ConfigDef[]>(def.configDefs, 'configDefs'),
    config: parseJson<Record<string, unknown>>(def.config, 'config'),
  };
}

export default function register(RED: NodeAPI): void {
  function OpenhimMediator(this: OpenhimMediatorNode, def: OpenhimMediatorDef): void {
    RED.nodes.createNode(this, def);
    this.urn = String(def.urn ?? '').trim();
    this.endpointUrl = String(def.endpointUrl ?? '').trim();
    this.authNodeId = def.auth;
    const listeners = new Set<MediatorListener>();
    let lastProblem: string | undefined;
    const seconds = Number(def.heartbeatSeconds);
    const session = new MediatorSession({
      client: () => {
        const server = RED.nodes.getNode(def.server) as OpenhimConfigNode | null;
        if (!server) throw badInput('the mediator has no OpenHIM server configured', 'server');
        return server.api();
      },
      registration: () => buildRegistration(mediatorSettings(def, RED.nodes.getNode(def.auth) as ReceiverAuthConfigNode | null)),
      installChannels: def.installChannel !== false && def.channelName?.trim() ? [def.channelName.trim()] : [],
      heartbeatMs: (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_HEARTBEAT_SECONDS) * 1000,
      onState: (state) => {
        // Once per new problem, not on every failed heartbeat.
        const problem = state.phase === 'failing' ? state.error?.message : undefined;
        if (problem && problem !== lastProblem) this.warn(`OpenHIM mediator ${this.urn}: ${problem}`);
        lastProblem = problem;
        for (const listener of listeners) listener.onState?.(state);
      },
      onConfig: (config) => {
        for (const listener of listeners) listener.onConfig?.(config);
      },
    });
    this.state = () => session.state;
    this.subscribe = (listener) => {
      listeners.add(listener);
      if (session.config) listener.onConfig?.(session.config);
      return () => listeners.delete(listener);
    };
    session.start();
    this.on('close', (_removed: boolean, done: () => void) => {
      listeners.clear();
      session.stop().then(done, done);
    });
  }
  registerNodeType(RED, 'chis-openhim-mediator', OpenhimMediator);
}
