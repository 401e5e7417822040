/**
 * "outbox out": sends the messages of an outbox queue in the background. It claims a few due
 * messages at a time from disk, emits each with a fresh receipt (`msg._receipt`) and
 * `msg.outbox = { id, attempt, queue }`, and waits for the flow's verdict from a chis-receipt
 * node: after the writer (delivered), after a Catch node (retryable: backoff and retry;
 * permanent: dead letter). No verdict within the confirm timeout counts as retryable.
 * A circuit breaker pauses the queue while the remote system keeps failing.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CircuitBreaker } from './circuit-breaker';
import { registerNodeType } from './node-kit';
import { Outbox, OUTBOX_DEFAULTS, type ClaimedMessage } from './outbox';
import { claimQueue, OUTBOX_DATABASE, registerOutboxAdmin } from './outbox-admin';
import { openReceipt, settleReceipt, type ReceiptOutcome } from './receipts';
import { acquireDatabase } from './sqlite';

interface OutboxOutDef extends NodeDef {
  queue: string;
  concurrency: number | string;
  maxAttempts: number | string;
  backoffBaseMs: number | string;
  backoffMaxMs: number | string;
  breakerThreshold: number | string;
  breakerCooldownMs: number | string;
  confirmTimeoutMs: number | string;
}

const STATUS_INTERVAL_MS = 500;
/** The longest the sender sleeps without looking at the queue (retries fall due, dead letters are retried from another runtime view). */
const IDLE_POLL_MS = 5_000;

const positive = (value: unknown, fallback: number): number => (Number(value) > 0 ? Number(value) : fallback);

export interface OutboxSenderSettings {
  queue: string;
  concurrency: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
  confirmTimeoutMs: number;
}

export function senderSettings(def: Partial<OutboxOutDef>): OutboxSenderSettings {
  return {
    queue: (def.queue || '').trim(),
    concurrency: Math.floor(positive(def.concurrency, 4)),
    maxAttempts: Math.floor(positive(def.maxAttempts, OUTBOX_DEFAULTS.maxAttempts)),
    backoffBaseMs: positive(def.backoffBaseMs, OUTBOX_DEFAULTS.backoffBaseMs),
    backoffMaxMs: positive(def.backoffMaxMs, OUTBOX_DEFAULTS.backoffMaxMs),
    breakerThreshold: Math.floor(positive(def.breakerThreshold, 5)),
    breakerCooldownMs: positive(def.breakerCooldownMs, 30_000),
    confirmTimeoutMs: positive(def.confirmTimeoutMs, 120_000),
  };
}

export default function register(RED: NodeAPI): void {
  registerOutboxAdmin(RED);

  function OutboxOut(this: Node, def: OutboxOutDef): void {
    RED.nodes.createNode(this, def);
    const settings = senderSettings(def);
    const { queue } = settings;
    if (!queue) {
      this.status({ fill: 'red', shape: 'ring', text: 'no queue name' });
      return;
    }
    const { db, release } = acquireDatabase(RED.settings.userDir as string | undefined, OUTBOX_DATABASE);
    const outbox = new Outbox(db);
    const breaker = new CircuitBreaker({ threshold: settings.breakerThreshold, cooldownMs: settings.breakerCooldownMs });
    const slot = claimQueue(db.file, queue, { nodeId: this.id, breaker });
    if ('heldBy' in slot) {
      this.status({ fill: 'red', shape: 'ring', text: `queue "${queue}" is already sent by node ${slot.heldBy}: one outbox out per queue` });
      this.on('close', (_removed: boolean, done: () => void) => {
        release();
        done();
      });
      return;
    }

    const inFlight = new Map<number, string>();
    const counts = { sent: 0, dead: 0, retried: 0 };
    let lastError: string | undefined;
    let closed = false;
    let wakeTimer: NodeJS.Timeout | undefined;
    let pumping = false;

    const renderStatus = (): void => {
      if (closed) return;
      let depth: number;
      let dead: number;
      try {
        // Both cheap at 100,000 waiting: a kept count and an index range over the dead letters.
        depth = outbox.depth(queue);
        dead = outbox.deadCount(queue);
      } catch {
        // The store is briefly busy: show the previous status.
        return;
      }
      const waiting = Math.max(0, depth - inFlight.size);
      const state = breaker.state;
      if (state === 'open') {
        const seconds = Math.ceil(breaker.retryInMs() / 1000);
        this.status({ fill: 'red', shape: 'ring', text: `circuit open (retry in ${seconds} s) · queued ${waiting} · dead ${dead}${lastError ? ` · last: ${lastError}` : ''}` });
        return;
      }
      const parts = [`queued ${waiting}`, `sending ${inFlight.size}`, `sent ${counts.sent}`, `dead ${dead}`];
      if (state === 'half-open') parts.unshift('probing');
      const fill = dead ? 'yellow' : inFlight.size || waiting ? 'blue' : 'green';
      this.status({ fill, shape: 'dot', text: parts.join(' · ') });
    };
    const statusTimer = setInterval(renderStatus, STATUS_INTERVAL_MS);
    statusTimer.unref();

    const schedule = (delayMs: number): void => {
      if (closed) return;
      clearTimeout(wakeTimer);
      wakeTimer = setTimeout(pump, Math.max(0, Math.min(delayMs, IDLE_POLL_MS)));
      wakeTimer.unref();
    };

    const settle = (item: ClaimedMessage, outcome: ReceiptOutcome): void => {
      inFlight.delete(item.id);
      if (closed) return;
      try {
        if (outcome.accepted) {
          outbox.ack(item.id);
          counts.sent += 1;
          breaker.recordSuccess();
        } else {
          lastError = outcome.code;
          const result = outbox.fail(item.id, { code: outcome.code, message: outcome.message, status: outcome.status }, {
            retryable: outcome.retryable,
            maxAttempts: settings.maxAttempts,
            backoffBaseMs: settings.backoffBaseMs,
            backoffMaxMs: settings.backoffMaxMs,
            retryAfterMs: outcome.retryAfterMs,
          });
          if (result.state === 'dead') {
            counts.dead += 1;
            this.warn(`outbox "${queue}": message ${item.id} is a dead letter after ${item.attempt} attempt(s): ${outcome.code}: ${outcome.message}`);
          } else counts.retried += 1;
          if (outcome.retryable) breaker.recordFailure();
          else breaker.recordSuccess();
        }
      } catch (error) {
        this.error(`outbox "${queue}": could not record the outcome of message ${item.id}: ${(error as Error).message}`);
      }
      renderStatus();
      pump();
    };

    function emit(node: Node, item: ClaimedMessage): void {
      const receipt = openReceipt(settings.confirmTimeoutMs);
      inFlight.set(item.id, receipt.id);
      receipt.outcome.then((outcome) => settle(item, outcome), () => undefined);
      const msg = { ...item.msg, _receipt: receipt.id, outbox: { id: item.id, attempt: item.attempt, queue } } as NodeMessage;
      node.send(msg);
    }

    const node: Node = this as Node;
    function pump(): void {
      if (closed || pumping) return;
      pumping = true;
      try {
        const free = settings.concurrency - inFlight.size;
        if (free <= 0) return;
        const allowed = breaker.permits(free);
        if (allowed === 0) {
          if (breaker.state === 'open') schedule(breaker.retryInMs());
          return;
        }
        let claimed: ClaimedMessage[];
        try {
          claimed = outbox.claim(queue, allowed);
        } catch (error) {
          if (breaker.state === 'half-open') breaker.cancelProbe();
          node.error(`outbox "${queue}": could not read the queue: ${(error as Error).message}`);
          schedule(IDLE_POLL_MS);
          return;
        }
        if (claimed.length === 0) {
          if (breaker.state === 'half-open') breaker.cancelProbe();
          const due = outbox.nextDueAt(queue);
          schedule(due === undefined ? IDLE_POLL_MS : due - Date.now());
          return;
        }
        for (const item of claimed) emit(node, item);
        // More may be due than this batch: look again once the sends are under way.
        if (claimed.length === allowed && inFlight.size < settings.concurrency) schedule(0);
      } finally {
        pumping = false;
      }
    }

    const stopListening = outbox.onReady(queue, () => {
      if (inFlight.size < settings.concurrency) schedule(0);
    });
    try {
      const recovered = outbox.recover(queue);
      if (recovered) this.log(`outbox "${queue}": ${recovered} message(s) left in flight by the last run are sent again`);
    } catch (error) {
      this.error(`outbox "${queue}": recovery failed: ${(error as Error).message}`);
    }
    renderStatus();
    schedule(0);

    this.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(wakeTimer);
      clearInterval(statusTimer);
      stopListening();
      for (const [id, receiptId] of inFlight) {
        // Back to the queue for the next deploy; the flow may still finish it, which the writers' idempotency keys absorb.
        try {
          outbox.release(id);
        } catch {
          // recover() at the next start puts it back.
        }
        settleReceipt(receiptId, { accepted: false, code: 'unreachable', message: 'outbox out closed', retryable: true });
      }
      inFlight.clear();
      slot.release();
      release();
      done();
    });
  }
  registerNodeType(RED, 'chis-outbox-out', OutboxOut);
}
