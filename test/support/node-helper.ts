/**
 * node-red-node-test-helper, set up for this package: the Node-RED chosen by runtime-env, a
 * temporary userDir for durable state, and access to the runtime's httpNode app so receiver
 * endpoints can be driven with supertest.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { nodeRedMain } from './runtime-env';

type NodeInit = (RED: any) => void | Promise<void>;

let initialised = false;
let capturedRED: any;
let userDir: string | undefined;

export { helper };

export function initHelper(): void {
  if (initialised) return;
  helper.init(nodeRedMain());
  initialised = true;
}

/** Loads node inits into a fresh runtime; returns the RED API the nodes were given. */
export async function loadFlow(inits: NodeInit[], flow: object[], credentials: Record<string, object> = {}): Promise<any> {
  initHelper();
  userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-node-test-'));
  helper.settings({ userDir });
  const wrapped = inits.map((init) => (RED: any) => {
    capturedRED = RED;
    return init(RED);
  });
  await helper.load(wrapped, flow, credentials);
  return capturedRED;
}

export async function unloadFlow(): Promise<void> {
  await helper.unload();
  if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  userDir = undefined;
}

/** The express app behind Node-RED's HTTP-in endpoints (httpNodeRoot) in the test runtime. */
export function httpNode(): any {
  return capturedRED.httpNode;
}

export function currentUserDir(): string {
  if (!userDir) throw new Error('no flow loaded');
  return userDir;
}

/** A look-up's outcome: which of its helper nodes got the message first ('found', 'none' or the Catch's 'error'). */
export type LookupOutcome = { port: 'found' | 'none' | 'error'; msg: any };

/**
 * Sends `msg` to node `target` of a flow whose outputs end in helper nodes `found` and `none`
 * and whose Catch ends in `caught`; resolves with the first of them to receive a message.
 */
export function firstOutcome(target: string, msg: Record<string, unknown>): Promise<LookupOutcome> {
  return new Promise((resolve) => {
    const ports = { found: helper.getNode('found'), none: helper.getNode('none'), error: helper.getNode('caught') };
    const listeners: Array<[any, (msg: any) => void]> = [];
    for (const [port, node] of Object.entries(ports)) {
      const listener = (received: any): void => {
        for (const [source, registered] of listeners) source.removeListener('input', registered);
        resolve({ port: port as LookupOutcome['port'], msg: received });
      };
      node.on('input', listener);
      listeners.push([node, listener]);
    }
    helper.getNode(target).receive(msg);
  });
}
