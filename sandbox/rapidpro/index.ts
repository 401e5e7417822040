/**
 * RapidPro simulator: API v2 (contacts, groups, fields, flows, flow_starts, runs) with DRF's
 * auth and throttling answers, and a small flow engine that completes runs and calls webhooks.
 */
import { timingSafeEqual } from 'node:crypto';
import { SandboxApp, basicCredentials, type ClientConfig, type Handler, type SandboxRequest, type SandboxResponse } from '../core';
import { Endpoints } from './endpoints';
import { FlowEngine, type ResultOverrides } from './engine';
import * as seed from './seed';
import { normalizeUrn, RapidproStore } from './store';

export const DEFAULT_PORT = 8084;
export const BASE_PATH = '/api/v2';

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * RapidPro lists session auth first, which has no WWW-Authenticate challenge, so DRF turns
 * every authentication failure into a 403.
 */
function tokenAuth(req: SandboxRequest): SandboxResponse | undefined {
  const header = String(req.headers.authorization ?? '');
  const token = /^Token(?:\s+(.*))?$/i.exec(header);
  if (token) {
    const parts = (token[1] ?? '').trim().split(/\s+/).filter(Boolean);
    if (parts.length === 0) return { status: 403, body: { detail: 'Invalid token header. No credentials provided.' } };
    if (parts.length > 1) return { status: 403, body: { detail: 'Invalid token header. Token string should not contain spaces.' } };
    return same(parts[0], seed.API_TOKEN) ? undefined : { status: 403, body: { detail: 'Invalid token' } };
  }
  const basic = basicCredentials(req);
  if (basic) {
    return same(basic.username, seed.USER_EMAIL) && same(basic.password, seed.API_TOKEN) ? undefined : { status: 403, body: { detail: 'Invalid token or email' } };
  }
  return { status: 403, body: { detail: 'Authentication credentials were not provided.' } };
}

/** DRF's ScopedRateThrottle, scoped to the workspace, over a one-second window. */
class Throttle {
  perSecond = 0;
  private history: number[] = [];

  reset(): void {
    this.history = [];
  }

  check(): SandboxResponse | undefined {
    if (!this.perSecond) return undefined;
    const now = Date.now();
    this.history = this.history.filter((time) => time > now - 1000);
    if (this.history.length >= this.perSecond) {
      const wait = Math.max(1, Math.ceil((this.history[0] + 1000 - now) / 1000));
      return {
        status: 429,
        headers: { 'Retry-After': String(wait) },
        body: { detail: `Request was throttled. Expected available in ${wait} second${wait === 1 ? '' : 's'}.` },
      };
    }
    this.history.push(now);
    return undefined;
  }
}

export function create(): SandboxApp {
  const clients = new Map<string, ClientConfig>();
  const throttle = new Throttle();
  let store!: RapidproStore;
  const engine = new FlowEngine(() => store, clients);
  const endpoints = new Endpoints(() => store, engine);

  const app = new SandboxApp({
    name: 'rapidpro',
    auth: tokenAuth,
    reset: () => {
      engine.reset();
      throttle.reset();
      store = new RapidproStore();
    },
    onClientConfig: (config) => {
      clients.set(config.name, config);
      if (config.name === 'rate-limit') throttle.perSecond = Number(config.perSecond ?? 0) || 0;
      if (config.name === 'flow-engine' && typeof config.runDelayMs === 'number') engine.runDelayMs = config.runDelayMs;
    },
  });

  const api = (handler: Handler): Handler => (req) => throttle.check() ?? handler(req);
  app.get('/api/v2/contacts.json', api(endpoints.listContacts));
  app.post('/api/v2/contacts.json', api(endpoints.writeContact));
  app.delete('/api/v2/contacts.json', api(endpoints.deleteContact));
  app.get('/api/v2/groups.json', api(endpoints.listGroups));
  app.post('/api/v2/groups.json', api(endpoints.writeGroup));
  app.delete('/api/v2/groups.json', api(endpoints.deleteGroup));
  app.get('/api/v2/fields.json', api(endpoints.listFields));
  app.post('/api/v2/fields.json', api(endpoints.writeField));
  app.get('/api/v2/flows.json', api(endpoints.listFlows));
  app.get('/api/v2/flow_starts.json', api(endpoints.listStarts));
  app.post('/api/v2/flow_starts.json', api(endpoints.createStart));
  app.get('/api/v2/runs.json', api(endpoints.listRuns));

  // Makes a contact complete a run of a flow right away (and so fires the webhook)
  app.control('POST', '/_sandbox/runs', (req) => {
    const body = (req.body ?? {}) as { contact?: string; flow?: string; results?: ResultOverrides };
    const contact = typeof body.contact === 'string'
      ? store.contacts.get(body.contact) ?? (normalizeUrn(body.contact) ? store.contactByUrn(normalizeUrn(body.contact) as string) : undefined)
      : undefined;
    const flow = typeof body.flow === 'string' ? store.flows.get(body.flow) : undefined;
    if (!contact || !contact.isActive) return { status: 400, body: { error: 'contact must be the UUID or URN of an active contact' } };
    if (!flow) return { status: 400, body: { error: 'flow must be the UUID of a flow' } };
    if (body.results !== undefined && (typeof body.results !== 'object' || body.results === null)) return { status: 400, body: { error: 'results must be an object' } };
    const run = engine.begin(flow, contact, null);
    engine.complete(run, body.results);
    return { status: 201, body: store.runJson(run, true) };
  });
  app.control('GET', '/_sandbox/deliveries', () => ({ status: 200, body: engine.deliveries }));
  app.control('DELETE', '/_sandbox/deliveries', () => {
    engine.deliveries = [];
    return { status: 200, body: { cleared: true } };
  });

  return app;
}
