/**
 * chis-cht-outbound-receiver: the endpoint a CHT outbound push posts to. Authenticates the push
 * (CHT sends `basic`, or a `header` auth whose value is the Authorization header), answers 2xx
 * only once the flow confirms, and tells re-sends apart: CHT posts a doc again whenever its
 * mapped payload changes, so a changed payload is emitted as an update of that doc, while an
 * identical re-send of the last accepted payload is acknowledged without being emitted again.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { Classified } from '../core/receiver-endpoint';
import { ReceiverEndpoint } from '../core/receiver-endpoint';
import { registerNodeType } from '../core/node-kit';
import { type OutboundDelivery, PayloadVersions, classifyDelivery, findDocId, parseIdProperties } from './api/outbound';

interface OutboundReceiverDef extends NodeDef {
  path: string;
  auth: string;
  idProperty?: string;
  receiptTimeoutMs?: number | string;
}

interface ClassifiedDelivery extends Classified {
  delivery?: OutboundDelivery;
}

export const DEFAULT_PATH = '/cht/outbound';
const DEFAULT_RECEIPT_TIMEOUT_MS = 30_000;
const MAX_BODY_BYTES = 5 * 1024 * 1024;

export default function register(RED: NodeAPI): void {
  function OutboundReceiver(this: Node, def: OutboundReceiverDef): void {
    RED.nodes.createNode(this, def);
    const idProperties = parseIdProperties(def.idProperty);
    const versions = PayloadVersions.inUserDir(RED.settings.userDir as string | undefined, `cht-outbound-${this.id}`);
    const timeout = Number(def.receiptTimeoutMs);
    try {
      new ReceiverEndpoint(RED, this, {
        path: def.path?.trim() || DEFAULT_PATH,
        formats: ['json'],
        authNodeId: def.auth,
        receiptTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_RECEIPT_TIMEOUT_MS,
        maxBodyBytes: MAX_BODY_BYTES,
        classify: (request): ClassifiedDelivery => {
          if (!request.body || typeof request.body !== 'object') return { invalid: 'an outbound push payload must be a JSON object or array' };
          const delivery = classifyDelivery(request.body, findDocId(request.body, idProperties), versions);
          return { id: delivery.dedupeId, delivery };
        },
        toMessage: (request, classified) => {
          const delivery = (classified as ClassifiedDelivery).delivery as OutboundDelivery;
          const cht: Record<string, unknown> = { payloadHash: delivery.payloadHash, resend: delivery.resend };
          if (delivery.docId) cht.docId = delivery.docId;
          return { payload: request.body, topic: delivery.docId, cht, ...(delivery.docId ? { correlationId: delivery.docId } : {}) } as NodeMessage;
        },
        acceptedAnswer: (outcome, classified) => {
          const delivery = (classified as ClassifiedDelivery).delivery;
          // Only now is this payload the doc's last accepted one: a failed delivery leaves it as it was.
          if (outcome === 'accepted' && delivery?.docId && delivery.version !== undefined) {
            versions.set(delivery.docId, { version: delivery.version, hash: delivery.payloadHash });
          }
          return { status: 200, body: { status: outcome, id: delivery?.docId, payloadHash: delivery?.payloadHash } };
        },
      });
    } catch (error) {
      this.status({ fill: 'red', shape: 'ring', text: (error as Error).message });
      this.error(error as Error);
    }
  }
  registerNodeType(RED, 'chis-cht-outbound-receiver', OutboundReceiver);
}
