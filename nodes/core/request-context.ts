/**
 * What the shared HTTP client knows about the message it works for, without any node passing it:
 *
 * - Per-message request recording: while a node handles a message that carries a recording id
 *   (`msg._recordRequests = "<id>"`, set for example by an OpenHIM mediator endpoint), every HTTP
 *   exchange the client makes on its behalf is added to that recording, already redacted. The
 *   recording lives here, keyed by the id, so it survives Node-RED cloning, splitting and joining
 *   the message. Whoever answers the request takes it.
 * - The correlation id (`msg.correlationId`, else `msg._msgid`) that ties each exchange in the
 *   request log to the source record (form id, case id, doc id).
 * - The runtime-wide exchange sink: the request log, when one is open.
 *
 * AsyncLocalStorage carries the message's scope through the node's async work.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ErrorCode } from './errors';
import type { HttpMethod, RequestRecord } from './http-client';

export interface RecordedExchange extends RequestRecord {
  startedAt: string;
}

/** One exchange as the client saw it, for the request log: bodies as sent and received, not yet redacted. */
export interface ExchangeReport {
  /** Epoch milliseconds when the request was sent. */
  time: number;
  system: string;
  method: HttpMethod;
  /** Already redacted. */
  url: string;
  /** null when no response arrived (network failure, timeout, abort). */
  status: number | null;
  durationMs: number;
  attempt: number;
  error?: ErrorCode;
  correlationId?: string;
  requestBody?: string;
  responseBody?: string;
  /** The credentials this exchange carried, for the log to scrub from the bodies. */
  secrets: readonly string[];
}

export type ExchangeSink = (report: ExchangeReport) => void;

interface MessageScope {
  exchanges?: RecordedExchange[];
  correlationId?: string;
}

interface Recording {
  exchanges: RecordedExchange[];
  createdAt: number;
}

/** Recordings nobody took (a request that was never answered) are dropped after this. */
const ABANDONED_AFTER_MS = 15 * 60_000;

const context = new AsyncLocalStorage<MessageScope>();
const recordings = new Map<string, Recording>();
let sink: ExchangeSink | undefined;

export function runRecording<T>(exchanges: RecordedExchange[], work: () => T): T {
  return context.run({ ...context.getStore(), exchanges }, work);
}

/** Runs a node's handling of one message with its correlation id (and recording, if any) in scope. */
export function runForMessage<T>(scope: { correlationId?: string; exchanges?: RecordedExchange[] }, work: () => T): T {
  return context.run(scope, work);
}

/** The correlation id of the message being handled, if any. */
export function currentCorrelationId(): string | undefined {
  return context.getStore()?.correlationId;
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

/** Whether an exchange now would be recorded: redacting a record costs a deep copy, so skip it when not. */
export function isRecording(): boolean {
  return context.getStore()?.exchanges !== undefined;
}

/** Called by the HTTP client after every exchange; a no-op outside a recording. */
export function noteExchange(record: RequestRecord): void {
  const exchanges = context.getStore()?.exchanges;
  if (exchanges) exchanges.push({ ...record, startedAt: new Date(Date.now() - record.durationMs).toISOString() });
}

/** Where every exchange of the runtime goes (the request log); undefined stops reporting. */
export function setExchangeSink(next: ExchangeSink | undefined): void {
  sink = next;
}

/**
 * Called by the HTTP client after every exchange (each attempt), tagged with the message's
 * correlation id. The sink is an observer: its failure must not fail the request.
 */
export function reportExchange(report: Omit<ExchangeReport, 'correlationId'>): void {
  if (!sink) return;
  try {
    sink({ ...report, correlationId: currentCorrelationId() });
  } catch {
    // The request log only observes.
  }
}
