/**
 * chis-openhim-response: answers the OpenHIM request a chis-openhim-mediator-in node emitted,
 * in application/json+openhim: the response (msg.payload, msg.statusCode), the transaction
 * status, the orchestrations recorded on the message and msg.properties. After a Catch node
 * it answers status Failed with the error's summary.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { settleReceipt } from '../core/receipts';
import { takeRecording } from '../core/request-context';
import { collectOrchestrations, type OrchestrationCarrier } from './api/orchestrations';
import { buildMediatorResponse, failedMediatorResponse, isTransactionStatus } from './api/mediator-response';
import type { MediatorResponse, TransactionStatus } from './api/types';
import { discardAnswer, storeAnswer } from './pending-answers';

interface ResponseDef extends NodeDef {
  /** 'auto' = from msg.openhim.status, msg.error or the HTTP status. */
  status?: 'auto' | TransactionStatus;
  includeOrchestrations?: boolean;
}

export type ResponseMsg = NodeMessage & OrchestrationCarrier & {
  _receipt?: string;
  _openhimReply?: string;
  _recordRequests?: unknown;
  openhim?: { urn?: string; status?: unknown };
  statusCode?: unknown;
  properties?: Record<string, unknown>;
  error?: { message?: string; code?: string };
};

export function mediatorAnswer(msg: ResponseMsg, options: { status: 'auto' | TransactionStatus; includeOrchestrations: boolean }): MediatorResponse {
  const urn = String(msg.openhim?.urn ?? '');
  // Calls recorded for this request by any node of the flow (see nodes/core/request-context.ts).
  const recorded = typeof msg._recordRequests === 'string' ? takeRecording(msg._recordRequests) : [];
  const carrier = recorded.length ? { ...msg, _requestRecords: [...(msg._requestRecords ?? []), ...recorded] } : msg;
  const orchestrations = options.includeOrchestrations ? collectOrchestrations(carrier) : [];
  const properties = msg.properties && typeof msg.properties === 'object' ? msg.properties : {};
  if (msg.error && options.status === 'auto') {
    // A Catch node's msg.error.message is the error's toString(): "Error: <message>".
    const message = String(msg.error.message ?? '').replace(/^Error: /, '');
    return failedMediatorResponse(urn, { message, code: msg.error.code }, orchestrations, properties);
  }
  const explicit = options.status !== 'auto' ? options.status : isTransactionStatus(msg.openhim?.status) ? msg.openhim.status : undefined;
  const statusCode = Number(msg.statusCode);
  return buildMediatorResponse({
    urn,
    status: explicit,
    httpStatus: Number.isInteger(statusCode) && statusCode >= 100 && statusCode <= 599 ? statusCode : 200,
    body: msg.payload,
    orchestrations,
    properties,
  });
}

export default function register(RED: NodeAPI): void {
  function OpenhimResponse(this: Node, def: ResponseDef): void {
    RED.nodes.createNode(this, def);
    const activity = new ActivityStatus(this, 'answered');
    const options = { status: def.status && (def.status === 'auto' || isTransactionStatus(def.status)) ? def.status : 'auto' as const, includeOrchestrations: def.includeOrchestrations !== false };
    handleInput<ResponseMsg>(this, async (msg, send) => {
      if (!msg._receipt || !msg._openhimReply) {
        this.status({ fill: 'yellow', shape: 'ring', text: 'message is not from an OpenHIM mediator-in node' });
        send(msg);
        return;
      }
      activity.begin();
      const answer = mediatorAnswer(msg, options);
      storeAnswer(msg._openhimReply, answer);
      if (!settleReceipt(msg._receipt, { accepted: true })) {
        discardAnswer(msg._openhimReply);
        activity.fail({ code: 'no-receipt' });
        this.status({ fill: 'yellow', shape: 'ring', text: 'request already answered or timed out' });
      } else if (answer.status === 'Failed') {
        activity.fail({ code: msg.error?.code ?? 'Failed' });
      } else {
        activity.succeed();
      }
      send(msg);
    });
  }
  registerNodeType(RED, 'chis-openhim-response', OpenhimResponse);
}
