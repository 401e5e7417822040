/**
 * chis-rapidpro-webhook-receiver: the URL a RapidPro flow's "Call Webhook" (or resthook) posts
 * to. Reads both bodies into one shape, ignores (with a 2xx) flows it was not asked for,
 * de-duplicates re-sent payloads by run UUID or content hash, and answers 2xx only once the
 * flow confirms the message (a chis-receipt node), so RapidPro's webhook result says whether
 * the data arrived.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { registerNodeType } from '../core/node-kit';
import type { ReceivedRequest } from '../core/receiver';
import { ReceiverEndpoint } from '../core/receiver-endpoint';
import { type WebhookReading, readWebhookPayload, webhookPayloadId } from './api/webhook';

interface WebhookReceiverDef extends NodeDef {
  path: string;
  auth: string;
  flows?: string[] | string;
  receiptTimeoutMs?: number | string;
}

export const DEFAULT_PATH = '/rapidpro/webhook';
/** RapidPro gives a webhook call 10 s before it records a timeout: answer well within it. */
const DEFAULT_RECEIPT_TIMEOUT_MS = 8_000;
const MAX_BODY_BYTES = 1024 * 1024;

export function flowFilter(flows: string[] | string | undefined): Set<string> {
  const list = Array.isArray(flows) ? flows : typeof flows === 'string' ? flows.split(/[\s,]+/) : [];
  return new Set(list.map((uuid) => String(uuid).trim().toLowerCase()).filter(Boolean));
}

export default function register(RED: NodeAPI): void {
  function WebhookReceiver(this: Node, def: WebhookReceiverDef): void {
    RED.nodes.createNode(this, def);
    const wanted = flowFilter(def.flows);
    const timeout = Number(def.receiptTimeoutMs);
    // classify and toMessage see the same request object, one after the other.
    const readings = new WeakMap<ReceivedRequest, WebhookReading>();
    try {
      new ReceiverEndpoint(RED, this, {
        path: def.path?.trim() || DEFAULT_PATH,
        formats: ['json'],
        authNodeId: def.auth,
        receiptTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_RECEIPT_TIMEOUT_MS,
        maxBodyBytes: MAX_BODY_BYTES,
        classify: (request) => {
          const reading = readWebhookPayload(request.body);
          readings.set(request, reading);
          if (!reading.ok) return { invalid: reading.error };
          const id = webhookPayloadId(reading.payload);
          if (wanted.size && !wanted.has(reading.payload.flow.uuid.toLowerCase())) return { id, skip: `flow ${reading.payload.flow.name ?? reading.payload.flow.uuid} is not one this receiver takes` };
          return { id };
        },
        toMessage: (request) => {
          const reading = readings.get(request);
          if (!reading?.ok) return { payload: request.body };
          return { payload: reading.payload, topic: reading.payload.flow.uuid, correlationId: reading.payload.run?.uuid ?? webhookPayloadId(reading.payload) } as NodeMessage;
        },
      });
    } catch (error) {
      this.status({ fill: 'red', shape: 'ring', text: (error as Error).message });
      this.error(error as Error);
    }
  }
  registerNodeType(RED, 'chis-rapidpro-webhook-receiver', WebhookReceiver);
}
