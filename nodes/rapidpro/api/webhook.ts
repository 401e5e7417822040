/**
 * What a RapidPro flow posts to a webhook, read into one shape whichever body the flow sends:
 * - the flow editor's default "Call Webhook" body:
 *   `{contact: {uuid, name, urn}, flow: {uuid, name}, results: {key: {value, category}}}`;
 * - the legacy resthook body (goflow's call_resthook): contact, flow, path, results (with name,
 *   node, input...), run, input and channel.
 * Also the id that tells a re-sent payload from a new one.
 */
import { createHash } from 'node:crypto';

export type WebhookShape = 'default' | 'resthook';

export interface WebhookResult {
  value: string | null;
  category: string | null;
  name?: string;
}

export interface WebhookPayload {
  contact: { uuid: string; name: string | null; urn: string | null; urns?: string[] };
  flow: { uuid: string; name: string | null };
  results: Record<string, WebhookResult>;
  run?: { uuid: string; created_on?: string };
  input?: Record<string, unknown>;
  channel?: { uuid?: string; name?: string; address?: string };
  shape: WebhookShape;
}

export type WebhookReading = { ok: true; payload: WebhookPayload } | { ok: false; error: string };

const isRecord = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : null);

function readResults(raw: unknown): Record<string, WebhookResult> | undefined {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) return undefined;
  const results: Record<string, WebhookResult> = {};
  for (const [key, entry] of Object.entries(raw)) {
    // A custom body may send bare values: keep them as values without a category.
    if (!isRecord(entry)) {
      results[key] = { value: text(entry), category: null };
      continue;
    }
    const result: WebhookResult = { value: text(entry.value), category: text(entry.category) };
    if (typeof entry.name === 'string') result.name = entry.name;
    results[key] = result;
  }
  return results;
}

/** Reads a webhook body; says what is wrong when it is not one a RapidPro flow sends. */
export function readWebhookPayload(body: unknown): WebhookReading {
  if (!isRecord(body)) return { ok: false, error: 'the body must be a JSON object from a RapidPro flow webhook' };
  const contact = body.contact;
  const flow = body.flow;
  if (!isRecord(contact) || typeof contact.uuid !== 'string' || !contact.uuid) return { ok: false, error: 'contact.uuid is missing: is the flow sending the default webhook body?' };
  if (!isRecord(flow) || typeof flow.uuid !== 'string' || !flow.uuid) return { ok: false, error: 'flow.uuid is missing: is the flow sending the default webhook body?' };
  const results = readResults(body.results);
  if (!results) return { ok: false, error: 'results must be an object of {value, category} by result key' };

  const payload: WebhookPayload = {
    contact: { uuid: contact.uuid, name: text(contact.name), urn: text(contact.urn) },
    flow: { uuid: flow.uuid, name: text(flow.name) },
    results,
    shape: Array.isArray(body.path) ? 'resthook' : 'default',
  };
  if (Array.isArray(contact.urns)) payload.contact.urns = contact.urns.filter((urn): urn is string => typeof urn === 'string');
  if (isRecord(body.run) && typeof body.run.uuid === 'string' && body.run.uuid) {
    payload.run = { uuid: body.run.uuid };
    if (typeof body.run.created_on === 'string') payload.run.created_on = body.run.created_on;
  }
  if (isRecord(body.input)) payload.input = body.input;
  if (isRecord(body.channel)) {
    const channel = body.channel;
    payload.channel = {};
    for (const key of ['uuid', 'name', 'address'] as const) if (typeof channel[key] === 'string') payload.channel[key] = channel[key] as string;
  }
  return { ok: true, payload };
}

/** JSON with object keys sorted, so the same content always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/**
 * The id a re-sent payload shares with the first: the run's UUID when the body has one
 * (resthook, or a body that adds `run`), otherwise a hash of contact, flow and results.
 */
export function webhookPayloadId(payload: WebhookPayload): string {
  if (payload.run) return `run:${payload.run.uuid}`;
  const results = Object.fromEntries(Object.entries(payload.results).map(([key, result]) => [key, { value: result.value, category: result.category }]));
  const digest = createHash('sha256').update(canonical([payload.contact.uuid, payload.flow.uuid, results])).digest('hex');
  return `hash:${digest}`;
}
