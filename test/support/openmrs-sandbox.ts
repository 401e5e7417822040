/**
 * The OpenMRS sandbox as node tests use it: a freshly seeded simulator on a free port, the
 * `chis-openmrs-config` node that points at it and the demo user's credentials for loadFlow.
 * `useOpenmrsSandbox()` gives every test of a describe its own sandbox and Node-RED test server.
 */
import type { SandboxApp } from '../../sandbox/core';
import { create } from '../../sandbox/openmrs';
import { PASSWORD, USERNAME } from '../../sandbox/openmrs/seed';
import { helper, unloadFlow } from './node-helper';

/** The config node's id in the flows built here: nodes refer to it as `server: 'server'`. */
export const OPENMRS_CONFIG_ID = 'server';

/** The demo user, filed under the config node's id as loadFlow expects credentials. */
export const OPENMRS_CREDENTIALS = { [OPENMRS_CONFIG_ID]: { username: USERNAME, password: PASSWORD } };

/** A chis-openmrs-config node for `baseUrl` with the REST API; `settings` add to or replace its fields. */
export function openmrsConfigNode(baseUrl: string, settings: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: OPENMRS_CONFIG_ID, type: 'chis-openmrs-config', baseUrl, apiStyle: 'rest', ...settings };
}

export interface OpenmrsSandbox {
  /** The running simulator, for its in-memory state. */
  readonly app: SandboxApp;
  /** Where it listens, e.g. http://127.0.0.1:4711: the /_sandbox control API (faults, requests) lives here. */
  readonly root: string;
  /** What a config node's baseUrl names: the root's /openmrs. */
  readonly baseUrl: string;
  readonly credentials: typeof OPENMRS_CREDENTIALS;
  /** A chis-openmrs-config node on this sandbox (see openmrsConfigNode). */
  config(settings?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

/** Starts a seeded OpenMRS sandbox on a free port. */
export async function startOpenmrsSandbox(): Promise<OpenmrsSandbox> {
  const app = create();
  const root = `http://127.0.0.1:${await app.listen(0)}`;
  const baseUrl = `${root}/openmrs`;
  return {
    app,
    root,
    baseUrl,
    credentials: OPENMRS_CREDENTIALS,
    config: (settings) => openmrsConfigNode(baseUrl, settings),
    stop: () => app.close(),
  };
}

/**
 * Registers hooks in the calling describe: before each test a new sandbox and the Node-RED test
 * server start; after it the flow is unloaded and both stop. Returns a view of the current test's
 * sandbox (each test sees its own, so no state leaks between tests); the hooks stop it.
 */
export function useOpenmrsSandbox(): Omit<OpenmrsSandbox, 'stop'> {
  let current: OpenmrsSandbox | undefined;
  const running = (): OpenmrsSandbox => {
    if (!current) throw new Error('the OpenMRS sandbox runs only while a test does');
    return current;
  };
  beforeEach(async () => {
    current = await startOpenmrsSandbox();
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    await current?.stop();
    current = undefined;
  });
  return {
    get app() { return running().app; },
    get root() { return running().root; },
    get baseUrl() { return running().baseUrl; },
    credentials: OPENMRS_CREDENTIALS,
    config: (settings) => running().config(settings),
  };
}
