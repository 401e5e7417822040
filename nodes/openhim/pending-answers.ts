/**
 * The full application/json+openhim answers waiting for their HTTP response. The core receipt
 * protocol settles a receipt with accepted/rejected only, so chis-openhim-response leaves the
 * body here under the request's reply id before it settles the receipt, and the mediator-in
 * endpoint takes it when it answers. The reply id travels in `msg._openhimReply`.
 */
import { randomUUID } from 'node:crypto';
import type { MediatorResponse } from './api/types';

const answers = new Map<string, MediatorResponse>();

export function newReplyId(): string {
  return randomUUID();
}

export function storeAnswer(replyId: string, answer: MediatorResponse): void {
  answers.set(replyId, answer);
}

/** The stored answer, removed; undefined when the flow confirmed without a response node. */
export function takeAnswer(replyId: string): MediatorResponse | undefined {
  const answer = answers.get(replyId);
  answers.delete(replyId);
  return answer;
}

/** Drops an answer whose request was already answered (receipt timed out or settled). */
export function discardAnswer(replyId: string): void {
  answers.delete(replyId);
}
