/**
 * Receipts tie a receiver's pending HTTP answer to the point in the flow where the message is
 * safe (written, or queued durably). The sender gets a 2xx only then, so a failure makes it
 * retry instead of silently losing the message. The receipt id travels in `msg._receipt`, a
 * plain string that survives Node-RED's message cloning.
 */
import { randomUUID } from 'node:crypto';
import type { ErrorCode } from './errors';

export type ReceiptOutcome =
  | { accepted: true; detail?: Record<string, unknown> }
  | {
    accepted: false;
    code: ErrorCode | 'no-receipt';
    message: string;
    retryable: boolean;
    /** The remote system's HTTP status, when one answered. */
    status?: number;
    /** When a retryable rejection should be tried again (an outbox over its bound, a 429). */
    retryAfterMs?: number;
  };

interface Pending {
  resolve(outcome: ReceiptOutcome): void;
  timer: NodeJS.Timeout;
}

const pending = new Map<string, Pending>();

/** Opens a receipt; it settles with the flow's outcome, or as not accepted after `timeoutMs`. */
export function openReceipt(timeoutMs: number): { id: string; outcome: Promise<ReceiptOutcome> } {
  const id = randomUUID();
  const outcome = new Promise<ReceiptOutcome>((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve({ accepted: false, code: 'no-receipt', message: `the flow did not confirm the message within ${timeoutMs} ms`, retryable: true });
    }, timeoutMs);
    pending.set(id, { resolve, timer });
  });
  return { id, outcome };
}

/** Settles a receipt; false when it was already settled or timed out. */
export function settleReceipt(id: string, outcome: ReceiptOutcome): boolean {
  const entry = pending.get(id);
  if (!entry) return false;
  pending.delete(id);
  clearTimeout(entry.timer);
  entry.resolve(outcome);
  return true;
}

/** Cancels every open receipt of a closing receiver so its senders retry later. */
export function cancelReceipts(ids: Iterable<string>): void {
  for (const id of ids) settleReceipt(id, { accepted: false, code: 'unreachable', message: 'receiver closed', retryable: true });
}

/** The Retry-After header (whole seconds) a sender gets with a 503. */
export function retryAfterSeconds(outcome: Extract<ReceiptOutcome, { accepted: false }>, fallbackSeconds = 60): string {
  const ms = outcome.retryAfterMs;
  return String(ms !== undefined && Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : fallbackSeconds);
}

/** The HTTP status a sender should see for a rejected message: retry later, or give up. */
export function rejectionStatus(outcome: Extract<ReceiptOutcome, { accepted: false }>): number {
  if (outcome.retryable) return 503;
  return outcome.code === 'bad-input' || outcome.code === 'validation' || outcome.code === 'not-found' ? 422 : 500;
}
