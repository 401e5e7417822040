/**
 * Per-message request recording: while a node handles a message that carries a recording id
 * (`msg._recordRequests = "<id>"`, set for example by an OpenHIM mediator endpoint), every HTTP
 * exchange the shared client makes on its behalf is added to that recording, already redacted.
 * AsyncLocalStorage carries the recording through the node's async work, so no writer needs to
 * know about it; the recording lives here, keyed by the id, so it survives Node-RED cloning,
 * splitting and joining the message. Whoever answers the request takes it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestRecord } from './http-client';

export interface RecordedExchange extends RequestRecord {
  startedAt: string;
}

interface Recording {
  exchanges: RecordedExchange[];
  createdAt: number;
}

/** Recordings nobody took (a request that was never answered) are dropped after this. */
const ABANDONED_AFTER_MS = 15 * 60_000;

const context = new AsyncLocalStorage<RecordedExchange[]>();
const recordings = new Map<string, Recording>();

export function runRecording<T>(exchanges: RecordedExchange[], work: () => T): T {
  return context.run(exchanges, work);
}

/** The recording of one id, created on first use. */
export function recordingFor(id: string): RecordedExchange[] {
  let recording = recordings.get(id);
  if (!recording) {
    const now = Date.now();
    for (const [key, old] of recordings) if (now - old.createdAt > ABANDONED_AFTER_MS) recordings.delete(key);
    recording = { exchanges: [], createdAt: now };
    recordings.set(id, recording);
  }
  return recording.exchanges;
}

/** Removes and returns a recording (empty when nothing was recorded). */
export function takeRecording(id: string): RecordedExchange[] {
  const recording = recordings.get(id);
  recordings.delete(id);
  return recording?.exchanges ?? [];
}

/** Called by the HTTP client after every exchange; a no-op outside a recording. */
export function noteExchange(record: RequestRecord): void {
  const exchanges = context.getStore();
  if (exchanges) exchanges.push({ ...record, startedAt: new Date(Date.now() - record.durationMs).toISOString() });
}
