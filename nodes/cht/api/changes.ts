/**
 * Following the medic database's `_changes` feed from a durable `since` checkpoint: longpoll
 * requests with `include_docs`, filtering by doc type and form, optional hydration of contact and
 * parent lineage, and reconnection with backoff when a request fails or the connection drops.
 *
 * Never skipping a change: the checkpoint only moves past a change once it has been emitted (or
 * deliberately left out by the filter). A request that fails, even halfway through its answer,
 * is simply asked again from the same checkpoint, so at worst a change is re-read, never lost.
 */
import { abortReason, isIntegrationError } from '../../core/errors';
import { DEFAULT_RETRY, type RetryPolicy, backoffDelay, sleep as defaultSleep } from '../../core/retry';
import type { ChtClient } from './client';
import { hydrateDoc, idsToHydrate, typeOf } from './lineage';
import { isOwnWrite } from './loop-marker';
import type { ChangeRow, ChtDoc, Seq } from './types';

export interface ChangesFilter {
  /** Doc types to keep (`data_record`, `person`, `clinic`, a configured `contact_type`...); none = all. */
  types?: string[];
  /** Report forms to keep (only reports are filtered by form); none = all. */
  forms?: string[];
  /** Leave out documents this package wrote (see loop-marker). */
  ignoreOwnWrites?: boolean;
}

export interface CheckpointAccess {
  load(): Seq | undefined;
  save(seq: Seq): void;
}

export interface EmittedChange {
  seq: Seq;
  id: string;
  doc: ChtDoc;
  /** `data_record/<form>` for reports, the contact type or doc type otherwise. */
  topic: string;
}

export type FollowerState =
  | { kind: 'following'; seq: Seq }
  | { kind: 'reconnecting'; delayMs: number; error: unknown; failures: number };

export interface FollowOptions {
  client: Pick<ChtClient, 'changes' | 'currentSeq' | 'getDocs'>;
  checkpoint: CheckpointAccess;
  /** Without a checkpoint: every change since the database began, or only those from now on. */
  startAt?: 'beginning' | 'now';
  filter?: ChangesFilter;
  hydrate?: boolean;
  batchSize?: number;
  /** How long each longpoll waits for changes. */
  longpollMs?: number;
  /** Called for each kept change, in feed order; the checkpoint moves past it once it resolves. */
  emit(change: EmittedChange): unknown;
  onState?(state: FollowerState): void;
  /** Counts changes the filter left out (own writes included). */
  onSkipped?(count: number): void;
  signal: AbortSignal;
  backoff?: Partial<RetryPolicy>;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const DEFAULT_BATCH = 100;
const DEFAULT_LONGPOLL_MS = 30_000;
/** Reconnecting never waits longer than a minute: a feed should catch up soon after CHT is back. */
const DEFAULT_BACKOFF: RetryPolicy = { ...DEFAULT_RETRY, baseDelayMs: 1_000, maxDelayMs: 60_000, maxAttempts: Number.POSITIVE_INFINITY };

export function topicOf(doc: ChtDoc): string {
  const type = typeOf(doc) ?? 'unknown';
  return type === 'data_record' && typeof doc.form === 'string' && doc.form ? `data_record/${doc.form}` : type;
}

/** Whether a change's document passes the filter. Deletions and design docs never do. */
export function wanted(row: ChangeRow, filter: ChangesFilter = {}): boolean {
  const doc = row.doc;
  if (!doc || row.deleted || doc._deleted || row.id.startsWith('_design/')) return false;
  if (filter.types?.length) {
    const type = typeOf(doc);
    if (!filter.types.includes(String(doc.type)) && !(type && filter.types.includes(type))) return false;
  }
  if (filter.forms?.length && doc.type === 'data_record') {
    const form = String(doc.form ?? '').toLowerCase();
    if (!filter.forms.some((candidate) => candidate.toLowerCase() === form)) return false;
  }
  if (filter.ignoreOwnWrites && isOwnWrite(doc)) return false;
  return true;
}

/** The starting point: the checkpoint, or (first run) 0 or the current sequence, saved at once. */
export async function initialSeq(options: Pick<FollowOptions, 'client' | 'checkpoint' | 'startAt' | 'signal'>): Promise<Seq> {
  const saved = options.checkpoint.load();
  if (saved !== undefined) return saved;
  const start = options.startAt === 'now' ? await options.client.currentSeq({ signal: options.signal }) : 0;
  options.checkpoint.save(start);
  return start;
}

/**
 * Handles one answer of the feed: emits the kept changes in order, moving the checkpoint past
 * each, then past the whole answer. Returns the new `since`.
 */
export async function processPage(
  rows: ChangeRow[],
  lastSeq: Seq,
  options: Pick<FollowOptions, 'client' | 'checkpoint' | 'filter' | 'hydrate' | 'emit' | 'onSkipped' | 'signal'>,
): Promise<Seq> {
  const kept = rows.filter((row) => wanted(row, options.filter));
  if (rows.length > kept.length) options.onSkipped?.(rows.length - kept.length);
  // Hydration happens before anything is emitted: if it fails, the whole answer is asked again.
  const lineage = options.hydrate && kept.length ? await options.client.getDocs(idsToHydrate(kept.map((row) => row.doc as ChtDoc)), { signal: options.signal }) : undefined;
  let saved: Seq | undefined;
  for (const row of kept) {
    if (options.signal.aborted) throw abortReason(options.signal);
    const doc = lineage ? hydrateDoc(row.doc as ChtDoc, lineage) : (row.doc as ChtDoc);
    await options.emit({ seq: row.seq, id: row.id, doc, topic: topicOf(doc) });
    options.checkpoint.save(row.seq);
    saved = row.seq;
  }
  // Past the changes the filter left out too (and past an empty answer's last_seq).
  if (lastSeq !== saved) options.checkpoint.save(lastSeq);
  return lastSeq;
}

/** Follows the feed until the signal aborts. Failures are reported and retried, never thrown. */
export async function followChanges(options: FollowOptions): Promise<void> {
  const wait = options.sleep ?? defaultSleep;
  const policy: RetryPolicy = { ...DEFAULT_BACKOFF, ...options.backoff };
  let failures = 0;
  let since: Seq | undefined;
  while (!options.signal.aborted) {
    try {
      if (since === undefined) {
        since = await initialSeq(options);
        options.onState?.({ kind: 'following', seq: since });
      }
      const page = await options.client.changes({
        since,
        limit: options.batchSize ?? DEFAULT_BATCH,
        timeoutMs: options.longpollMs ?? DEFAULT_LONGPOLL_MS,
        includeDocs: true,
        signal: options.signal,
      });
      const results = Array.isArray(page?.results) ? page.results : [];
      since = await processPage(results, page?.last_seq ?? results[results.length - 1]?.seq ?? since, options);
      failures = 0;
      options.onState?.({ kind: 'following', seq: since });
    } catch (error) {
      if (options.signal.aborted) return;
      failures += 1;
      const delayMs = (isIntegrationError(error) ? error.retryAfterMs : undefined) ?? backoffDelay(failures, policy);
      options.onState?.({ kind: 'reconnecting', delayMs, error, failures });
      try {
        await wait(delayMs, options.signal);
      } catch {
        return;
      }
    }
  }
}
