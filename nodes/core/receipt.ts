/**
 * "Confirm to sender": settles the receipt of a message that a receiver node emitted. Put it
 * where the message is safe (after the writer); put another after a Catch node to tell the
 * sender to retry (retryable errors) or give up (bad input).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { ActivityStatus, handleInput, registerNodeType } from './node-kit';
import { settleReceipt, type ReceiptOutcome } from './receipts';
import type { ErrorCode } from './errors';

interface ReceiptDef extends NodeDef {
  outcome: 'auto' | 'accept' | 'reject';
}

type ErrorMsg = NodeMessage & { _receipt?: string; error?: { message?: string; code?: ErrorCode; cause?: { retryable?: boolean; status?: number; retryAfterMs?: number } } };

const RETRYABLE: ReadonlySet<string> = new Set(['timeout', 'unreachable', 'rate-limited', 'remote-error']);

export function outcomeFor(msg: ErrorMsg, mode: ReceiptDef['outcome']): ReceiptOutcome {
  const failed = mode === 'reject' || (mode === 'auto' && msg.error !== undefined);
  if (!failed) return { accepted: true };
  const code = msg.error?.code ?? 'remote-error';
  const retryable = msg.error?.cause?.retryable ?? RETRYABLE.has(code);
  const outcome: ReceiptOutcome = { accepted: false, code, message: msg.error?.message ?? 'rejected by the flow', retryable };
  const cause = msg.error?.cause;
  if (typeof cause?.status === 'number') outcome.status = cause.status;
  if (typeof cause?.retryAfterMs === 'number') outcome.retryAfterMs = cause.retryAfterMs;
  return outcome;
}

export default function register(RED: NodeAPI): void {
  function Receipt(this: Node, def: ReceiptDef): void {
    RED.nodes.createNode(this, def);
    const status = new ActivityStatus(this, 'confirmed');
    handleInput<ErrorMsg>(this, async (msg, send) => {
      if (!msg._receipt) {
        this.status({ fill: 'yellow', shape: 'ring', text: 'message has no receipt (not from a receiver?)' });
        send(msg);
        return;
      }
      status.begin();
      const outcome = outcomeFor(msg, def.outcome || 'auto');
      const settled = settleReceipt(msg._receipt, outcome);
      if (settled && !outcome.accepted) status.fail({ code: outcome.code });
      else status.succeed();
      if (!settled) this.status({ fill: 'yellow', shape: 'ring', text: 'receipt already settled or timed out' });
      send(msg);
    });
  }
  registerNodeType(RED, 'chis-receipt', Receipt);
}
