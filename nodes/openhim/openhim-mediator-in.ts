/**
 * chis-openhim-mediator-in: the HTTP endpoint OpenHIM routes a channel's requests to. Checks
 * the route's credentials (the mediator's chis-receiver-auth), emits the request with
 * msg.openhim = {transactionId, clientId, urn, ...} and holds the HTTP request open until a
 * chis-openhim-response (or chis-receipt) node answers it. A second output emits the mediator
 * config whenever core sends it (after registration, and when an admin changes it).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from 'node-red';
import type { ReceivedRequest } from '../core/receiver';
import { type Classified, ReceiverEndpoint } from '../core/receiver-endpoint';
import { registerNodeType } from '../core/node-kit';
import { OPENHIM_CONTENT_TYPE, buildMediatorResponse } from './api/mediator-response';
import { describeMediatorState } from './mediator-status';
import { newReplyId, takeAnswer } from './pending-answers';
import type { OpenhimMediatorNode } from './openhim-mediator';

interface MediatorInDef extends NodeDef {
  mediator: string;
  path?: string;
  receiptTimeoutMs?: number | string;
}

export interface OpenhimRequestInfo {
  transactionId?: string;
  clientId?: string;
  urn: string;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
}

/** Under core's default router timeout (60 s), so core records our answer rather than its own. */
const DEFAULT_RECEIPT_TIMEOUT_MS = 55_000;
const STATUS_REFRESH_MS = 5_000;

/** The endpoint URL's path as Node-RED's httpNode app sees it (without httpNodeRoot). */
export function receiverPath(endpointUrl: string, httpNodeRoot: string | undefined): string {
  let path = '/';
  try {
    path = new URL(endpointUrl).pathname;
  } catch {
    return path;
  }
  const root = `/${String(httpNodeRoot ?? '/').replace(/^\/+|\/+$/g, '')}`;
  return root !== '/' && path.startsWith(`${root}/`) ? path.slice(root.length) : path;
}

export default function register(RED: NodeAPI): void {
  function OpenhimMediatorIn(this: Node, def: MediatorInDef): void {
    RED.nodes.createNode(this, def);
    const mediator = RED.nodes.getNode(def.mediator) as OpenhimMediatorNode | null;
    if (!mediator) {
      this.status({ fill: 'red', shape: 'ring', text: 'no mediator configured' });
      return;
    }
    const path = def.path?.trim() || receiverPath(mediator.endpointUrl, RED.settings.httpNodeRoot as string | undefined);
    const timeout = Number(def.receiptTimeoutMs);

    // The status line joins the mediator's state and the endpoint's counts.
    let receiverStatus: NodeStatus = {};
    const render = (): void => {
      const state = describeMediatorState(mediator.state());
      const healthy = state.fill === 'green';
      this.status({
        fill: healthy ? receiverStatus.fill ?? 'green' : state.fill,
        shape: healthy ? receiverStatus.shape ?? 'dot' : state.shape,
        text: [state.text, receiverStatus.text].filter(Boolean).join(' · '),
      });
    };
    const statusProxy = new Proxy(this, {
      get(target, property) {
        if (property === 'status') {
          return (status: NodeStatus) => {
            receiverStatus = status;
            render();
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });

    const replies = new WeakMap<Classified, string>();
    const unsubscribe = mediator.subscribe({
      onState: render,
      onConfig: (config) => this.send([null, { topic: 'openhim-config', payload: config, openhim: { urn: mediator.urn } } as NodeMessage]),
    });
    const refresh = setInterval(render, STATUS_REFRESH_MS);
    refresh.unref();
    this.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(refresh);
      unsubscribe();
      done();
    });

    try {
      new ReceiverEndpoint(RED, statusProxy, {
        path,
        formats: ['json', 'xml', 'form'],
        authNodeId: mediator.authNodeId,
        receiptTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_RECEIPT_TIMEOUT_MS,
        // A rerun in the console is a new transaction, so there is nothing to de-duplicate.
        classify: () => {
          const classified: Classified = {};
          replies.set(classified, newReplyId());
          return classified;
        },
        toMessage: (request: ReceivedRequest, classified) => {
          const openhim: OpenhimRequestInfo = {
            transactionId: request.headers['x-openhim-transactionid'],
            clientId: request.headers['x-openhim-clientid'],
            urn: mediator.urn,
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers,
          };
          // _recordRequests: every call the flow's nodes make for this message becomes an
          // orchestration in OpenHIM's transaction log (see nodes/core/request-context.ts).
          const replyId = replies.get(classified);
          return { payload: request.body, topic: request.path, openhim, correlationId: openhim.transactionId ?? replyId, _openhimReply: replyId, _recordRequests: replyId } as NodeMessage;
        },
        acceptedAnswer: (_outcome, classified) => {
          const replyId = replies.get(classified);
          // Confirmed by a plain chis-receipt node: still answer in OpenHIM's format.
          const answer = (replyId ? takeAnswer(replyId) : undefined) ?? buildMediatorResponse({ urn: mediator.urn, httpStatus: 200, body: { status: 'accepted' } });
          return { status: answer.response.status, contentType: OPENHIM_CONTENT_TYPE, body: JSON.stringify(answer) };
        },
      });
    } catch (error) {
      this.status({ fill: 'red', shape: 'ring', text: (error as Error).message });
      this.error(error as Error);
    }
  }
  registerNodeType(RED, 'chis-openhim-mediator-in', OpenhimMediatorIn);
}
