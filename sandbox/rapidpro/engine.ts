/**
 * A stand-in for mailroom: a flow start makes one run per contact, which completes after
 * `runDelayMs` with the flow's seeded results and then calls the configured webhook, either with
 * the flow editor's default "Call Webhook" body or with the legacy resthook body.
 */
import { randomUUID } from 'node:crypto';
import { authHeaders, sendOnce, type ClientConfig } from '../core';
import * as seed from './seed';
import { monotonicNow, tembaTime, type Contact, type Flow, type FlowStart, type RapidproStore, type Run, type RunResult } from './store';

const DEFAULT_RUN_DELAY_MS = 100;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF_MS = 200;

export interface DeliveryRecord {
  target: string;
  payload_id: string;
  attempt: number;
  status: number;
  time: string;
  url: string;
  error?: string;
}

/** Result overrides from the control route: a value, or {value, category, name}. */
export type ResultOverrides = Record<string, string | { value: string; category?: string; name?: string }>;

export class FlowEngine {
  deliveries: DeliveryRecord[] = [];
  runDelayMs = DEFAULT_RUN_DELAY_MS;
  private readonly timers = new Set<NodeJS.Timeout>();
  private generation = 0;

  constructor(private readonly store: () => RapidproStore, private readonly clients: Map<string, ClientConfig>) {}

  /** Cancels pending runs and retries and forgets recorded deliveries. */
  reset(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.generation += 1;
    this.deliveries = [];
  }

  private later(ms: number, action: () => void): void {
    const generation = this.generation;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (generation === this.generation) action();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  /** Queues the start: runs begin right away (waiting) and complete after runDelayMs. */
  launch(start: FlowStart, contacts: Contact[]): void {
    this.later(0, () => {
      const store = this.store();
      const flow = store.flows.get(start.flow);
      if (!flow) return;
      const runs: Run[] = [];
      for (const contact of contacts) {
        const hasRun = [...store.runs.values()].some((run) => run.flow === flow.uuid && run.contact === contact.uuid);
        if (!start.restartParticipants && hasRun) continue;
        if (start.excludeActive && contact.currentFlow) continue;
        runs.push(this.begin(flow, contact, start.uuid));
      }
      start.status = 'started';
      start.runCount = runs.length;
      start.modifiedOn = tembaTime(monotonicNow());
      this.later(this.runDelayMs, () => {
        for (const run of runs) this.complete(run);
        start.status = 'completed';
        start.modifiedOn = tembaTime(monotonicNow());
      });
    });
  }

  begin(flow: Flow, contact: Contact, startUuid: string | null): Run {
    const store = this.store();
    const now = tembaTime(monotonicNow());
    const run: Run = {
      id: store.id(),
      uuid: randomUUID(),
      flow: flow.uuid,
      contact: contact.uuid,
      start: startUuid,
      responded: false,
      path: [{ node: flow.nodes[0], time: now }],
      results: {},
      status: 'waiting',
      createdOn: now,
      modifiedOn: now,
      exitedOn: null,
    };
    store.runs.set(run.uuid, run);
    contact.currentFlow = flow.uuid;
    contact.modifiedOn = now;
    return run;
  }

  /** Completes a run with the flow's seeded results (or the given ones) and calls the webhook. */
  complete(run: Run, overrides?: ResultOverrides): void {
    const store = this.store();
    const flow = store.flows.get(run.flow);
    const contact = store.contacts.get(run.contact);
    if (!flow || !contact) return;
    const finished = monotonicNow();
    const now = tembaTime(finished);
    const node = flow.nodes[flow.nodes.length - 1];
    const results: Record<string, RunResult> = {};
    for (const result of flow.results) {
      results[result.key] = { name: result.name, value: result.value, category: result.category, node_uuid: node, created_on: now, input: result.input };
    }
    for (const [key, override] of Object.entries(overrides ?? {})) {
      const value = typeof override === 'string' ? override : override.value;
      const known = flow.results.find((result) => result.key === key);
      const category = typeof override === 'string' ? (known?.categories.find((c) => c.toLowerCase() === value.toLowerCase()) ?? 'Other') : override.category ?? 'Other';
      const name = typeof override === 'string' ? known?.name ?? key : override.name ?? known?.name ?? key;
      results[key] = { name, value, category, node_uuid: node, created_on: now, input: value };
    }
    run.results = results;
    run.path = flow.nodes.map((uuid, index) => ({ node: uuid, time: index === 0 ? run.path[0]?.time ?? now : now }));
    run.status = 'completed';
    run.responded = true;
    run.exitedOn = now;
    run.modifiedOn = now;
    if (contact.currentFlow === flow.uuid) contact.currentFlow = null;
    contact.lastSeenOn = now;
    contact.modifiedOn = now;
    this.callWebhook(run, flow, contact);
  }

  private callWebhook(run: Run, flow: Flow, contact: Contact): void {
    const config = this.clients.get('webhook');
    if (!config?.url) return;
    if (typeof config.flow === 'string' && config.flow !== flow.uuid) return;
    const payload = config.shape === 'resthook' ? resthookPayload(run, flow, contact) : defaultPayload(run, flow, contact);
    void this.deliver(config, run.uuid, JSON.stringify(payload));
  }

  private async deliver(config: ClientConfig, payloadId: string, body: string): Promise<void> {
    const generation = this.generation;
    const attempts = typeof config.attempts === 'number' ? config.attempts : DEFAULT_ATTEMPTS;
    const backoffMs = typeof config.backoffMs === 'number' ? config.backoffMs : DEFAULT_BACKOFF_MS;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const result = await sendOnce(String(config.url), body, { headers: { 'User-Agent': 'RapidProMailroom/sandbox' } }, authHeaders(config));
      if (generation !== this.generation) return;
      const record: DeliveryRecord = { target: 'webhook', payload_id: payloadId, attempt, status: result.status, time: result.time, url: result.url };
      if (result.error) record.error = result.error;
      this.deliveries.push(record);
      // client errors other than throttling are not worth another try
      const retryable = result.status === 0 || result.status === 429 || result.status >= 500;
      if (!retryable) return;
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempt - 1)).unref());
      if (generation !== this.generation) return;
    }
  }
}

/** The flow editor's default "Call Webhook" POST body. */
function defaultPayload(run: Run, flow: Flow, contact: Contact): Record<string, unknown> {
  return {
    contact: { uuid: contact.uuid, name: contact.name, urn: contact.urns[0] ?? null },
    flow: { uuid: flow.uuid, name: flow.name },
    results: Object.fromEntries(Object.entries(run.results).map(([key, result]) => [key, { value: result.value, category: result.category }])),
  };
}

function urnParts(urn: string | undefined): { display: string; path: string; scheme: string } | null {
  if (!urn) return null;
  const colon = urn.indexOf(':');
  return { display: urn.slice(colon + 1), path: urn.slice(colon + 1), scheme: urn.slice(0, colon) };
}

/** The legacy resthook body (goflow's call_resthook payload). */
function resthookPayload(run: Run, flow: Flow, contact: Contact): Record<string, unknown> {
  const channel = { address: seed.CHANNEL.address, name: seed.CHANNEL.name, uuid: seed.CHANNEL.uuid };
  const results = Object.values(run.results);
  const last = results[results.length - 1];
  return {
    channel,
    contact: { language: contact.language, name: contact.name, urn: contact.urns[0] ?? null, uuid: contact.uuid },
    flow: { name: flow.name, revision: 1, uuid: flow.uuid },
    input: {
      attachments: [],
      channel,
      created_on: last?.created_on ?? run.modifiedOn,
      text: last?.input ?? '',
      type: 'msg',
      urn: urnParts(contact.urns[0]),
      uuid: randomUUID(),
    },
    path: run.path.map((step) => ({ arrived_on: step.time, node_uuid: step.node })),
    results: Object.fromEntries(Object.entries(run.results).map(([key, result]) => [key, {
      category: result.category,
      category_localized: result.category,
      created_on: result.created_on,
      input: result.input,
      name: result.name,
      node_uuid: result.node_uuid,
      value: result.value,
    }])),
    run: { created_on: run.createdOn, uuid: run.uuid },
  };
}
