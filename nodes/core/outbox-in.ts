/**
 * "outbox in": stores each message durably in a named outbox queue, then confirms the
 * receiver's receipt, so the sender hears 2xx only once the message is safe on disk. Past the
 * queue's bound (or when the store fails) the receipt is rejected as retryable: the sender gets
 * 503 with Retry-After and sends again later. A chis-outbox-out node on the same queue sends.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { IntegrationError } from './errors';
import { handleInput, registerNodeType } from './node-kit';
import { Outbox, OutboxFullError } from './outbox';
import { OUTBOX_DATABASE } from './outbox-admin';
import { settleReceipt } from './receipts';
import { acquireDatabase } from './sqlite';

interface OutboxInDef extends NodeDef {
  queue: string;
  key: string;
  keyType: 'msg' | 'none';
  maxQueued: number | string;
  retryAfterSeconds: number | string;
}

type InMsg = NodeMessage & { _receipt?: string; outbox?: unknown };

const STATUS_REFRESH_MS = 1_000;

/** The dedup key of a message: a string or number at `path`, or none. */
export function dedupKeyOf(RED: Pick<NodeAPI, 'util'>, msg: NodeMessage, keyType: OutboxInDef['keyType'], path: string): string | null {
  if (keyType !== 'msg' || !path) return null;
  const value = RED.util.getMessageProperty(msg, path) as unknown;
  return typeof value === 'string' && value ? value : typeof value === 'number' ? String(value) : null;
}

export default function register(RED: NodeAPI): void {
  function OutboxIn(this: Node, def: OutboxInDef): void {
    RED.nodes.createNode(this, def);
    const queue = (def.queue || '').trim();
    const maxQueued = Number(def.maxQueued) > 0 ? Number(def.maxQueued) : 10_000;
    const retryAfterMs = (Number(def.retryAfterSeconds) > 0 ? Number(def.retryAfterSeconds) : 60) * 1000;
    if (!queue) {
      this.status({ fill: 'red', shape: 'ring', text: 'no queue name' });
      return;
    }
    const { db, release } = acquireDatabase(RED.settings.userDir as string | undefined, OUTBOX_DATABASE);
    const outbox = new Outbox(db);
    let shown = -1;
    let rejected = 0;
    const render = (): void => {
      let depth: number;
      try {
        depth = outbox.depth(queue);
      } catch {
        return;
      }
      if (depth === shown) return;
      shown = depth;
      const full = depth >= maxQueued;
      const text = `queued ${depth}${full ? ` (full: answering 503)` : ''}${rejected ? ` · refused ${rejected}` : ''}`;
      this.status({ fill: full ? 'red' : depth ? 'blue' : 'green', shape: 'dot', text });
    };
    render();
    const refresh = setInterval(render, STATUS_REFRESH_MS);
    refresh.unref();

    handleInput<InMsg>(this, async (msg, send) => {
      const key = dedupKeyOf(RED, msg, def.keyType, def.key);
      let stored: { id: number; duplicate: boolean };
      try {
        stored = outbox.enqueue(queue, msg, { key, maxDepth: maxQueued });
      } catch (error) {
        rejected += 1;
        shown = -1;
        render();
        const full = error instanceof OutboxFullError;
        const failure = new IntegrationError(full ? error.message : `the outbox could not store the message: ${(error as Error).message}`, {
          code: full ? 'rate-limited' : 'remote-error',
          retryable: true,
          retryAfterMs,
        });
        if (msg._receipt) {
          settleReceipt(msg._receipt, { accepted: false, code: failure.code, message: failure.message, retryable: true, retryAfterMs });
        }
        throw failure;
      }
      if (msg._receipt) {
        settleReceipt(msg._receipt, { accepted: true, detail: { outbox: stored.id, duplicate: stored.duplicate } });
        // Settled here: a confirm node further on must not answer the sender a second time.
        delete msg._receipt;
      }
      msg.outbox = { id: stored.id, queue, duplicate: stored.duplicate };
      render();
      send(msg);
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(refresh);
      release();
      done();
    });
  }
  registerNodeType(RED, 'chis-outbox-in', OutboxIn);
}
