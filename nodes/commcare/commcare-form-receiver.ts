/**
 * chis-commcare-form-receiver: the endpoint CommCare Data Forwarding ("Forward Forms") posts to.
 * Takes form JSON or XForm XML, ignores (with a 2xx) forms of other xmlns or applications and
 * the forms our own case writes generated, de-duplicates re-sent forms by form id and answers
 * 2xx only once the flow confirms the message (a chis-receipt node), so HQ retries otherwise.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { ReceivedRequest } from '../core/receiver';
import { ReceiverEndpoint } from '../core/receiver-endpoint';
import { registerNodeType } from '../core/node-kit';
import { type FormVerdict, judgeForm, splitList } from './api/form-intake';

interface FormReceiverDef extends NodeDef {
  path: string;
  auth: string;
  xmlns?: string | string[];
  appId?: string;
  ignoreOwnWrites?: boolean;
  receiptTimeoutMs?: number | string;
}

export const DEFAULT_PATH = '/commcare/forms';
const DEFAULT_RECEIPT_TIMEOUT_MS = 30_000;
/** Form JSON with many repeats can be large; attachments are not forwarded. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

export default function register(RED: NodeAPI): void {
  function FormReceiver(this: Node, def: FormReceiverDef): void {
    RED.nodes.createNode(this, def);
    const filters = { xmlns: splitList(def.xmlns), appId: def.appId?.trim() || undefined, ignoreOwnWrites: def.ignoreOwnWrites !== false };
    const timeout = Number(def.receiptTimeoutMs);
    // classify and toMessage see the same request object, one after the other.
    const verdicts = new WeakMap<ReceivedRequest, FormVerdict>();
    try {
      new ReceiverEndpoint(RED, this, {
        path: def.path?.trim() || DEFAULT_PATH,
        formats: ['json', 'xml'],
        authNodeId: def.auth,
        receiptTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_RECEIPT_TIMEOUT_MS,
        maxBodyBytes: MAX_BODY_BYTES,
        classify: (request) => {
          const verdict = judgeForm(request, filters);
          verdicts.set(request, verdict);
          if (verdict.kind === 'invalid') return { invalid: verdict.message };
          if (verdict.kind === 'ignore') return { id: verdict.id, skip: verdict.message };
          return { id: verdict.facts.id };
        },
        toMessage: (request) => {
          const verdict = verdicts.get(request);
          if (verdict?.kind !== 'accept') return { payload: request.body };
          return { payload: verdict.payload, form: verdict.facts, topic: verdict.facts.xmlns, correlationId: verdict.facts.id } as NodeMessage;
        },
        acceptedAnswer: (outcome, classified) => ({
          status: 200,
          body: outcome === 'skipped' ? { status: 'ignored', id: classified.id, reason: classified.skip } : { status: outcome, id: classified.id },
        }),
      });
    } catch (error) {
      this.status({ fill: 'red', shape: 'ring', text: (error as Error).message });
      this.error(error as Error);
    }
  }
  registerNodeType(RED, 'chis-commcare-form-receiver', FormReceiver);
}
