/**
 * Per-message request recording: while a node handles a message that asks for it
 * (`msg._recordRequests = true`, set for example by an OpenHIM mediator endpoint), every HTTP
 * exchange the shared client makes on its behalf is added to `msg._requestRecords`, already
 * redacted. AsyncLocalStorage carries the message's record list through the node's async work,
 * so no writer needs to know about it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestRecord } from './http-client';

export interface RecordedExchange extends RequestRecord {
  startedAt: string;
}

const context = new AsyncLocalStorage<RecordedExchange[]>();

export function runRecording<T>(records: RecordedExchange[], work: () => T): T {
  return context.run(records, work);
}

/** Called by the HTTP client after every exchange; a no-op outside a recording. */
export function noteExchange(record: RequestRecord): void {
  const records = context.getStore();
  if (records) records.push({ ...record, startedAt: new Date(Date.now() - record.durationMs).toISOString() });
}
