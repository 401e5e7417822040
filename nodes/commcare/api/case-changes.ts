/**
 * Changed cases since a durable checkpoint, page by page. The list is ordered by `indexed_on`
 * (then case id) and filtered with `indexed_on.gte`; the checkpoint keeps the last stamp and
 * the ids already sent at that stamp, so a restart resumes exactly after the last page sent:
 * nothing skipped, nothing sent twice.
 */
import type { CommcareClient } from './client';
import { isOwnWriteCase } from './loop-marker';
import type { CaseFilters, CaseListPage, CommcareCase } from './types';

export interface CaseCheckpoint {
  indexedOn: string;
  /** Ids already sent whose indexed_on equals `indexedOn` (`gte` returns them again). */
  caseIds: string[];
}

export interface CheckpointAccess {
  load(): CaseCheckpoint | undefined;
  save(value: CaseCheckpoint): void;
}

export interface CasePollContext {
  client: CommcareClient;
  store: CheckpointAccess;
  /** Hands one page's cases to the flow; the checkpoint moves past them once it returns. */
  emit(cases: CommcareCase[]): unknown;
  signal?: AbortSignal;
}

export interface CasePollOptions {
  caseType?: string;
  ownerId?: string;
  includeClosed?: boolean;
  pageSize?: number;
  /** Leave out cases whose latest change is this package's own write. */
  ignoreOwnWrites?: boolean;
  /** Without a checkpoint: every case ('beginning') or only changes from now on. */
  startAt?: 'beginning' | 'now';
  now?: () => Date;
  /** Guards against a server that keeps answering with a next link. */
  maxPages?: number;
}

export interface CasePollResult {
  pages: number;
  emitted: number;
  ignored: number;
}

const DEFAULT_PAGE_SIZE = 100;

function nextOf(page: CaseListPage): { next?: string; cursor?: string } {
  if (typeof page.next === 'string' && page.next) return { next: page.next };
  if (page.next && typeof page.next === 'object' && typeof page.next.cursor === 'string' && page.next.cursor) return { cursor: page.next.cursor };
  return {};
}

/** The checkpoint after a page: its last stamp and the ids sent at that stamp. */
export function advanceCheckpoint(previous: CaseCheckpoint | undefined, cases: CommcareCase[]): CaseCheckpoint | undefined {
  if (cases.length === 0) return previous;
  const last = cases[cases.length - 1].indexed_on;
  const ids = cases.filter((record) => record.indexed_on === last).map((record) => record.case_id);
  const carried = previous && previous.indexedOn === last ? previous.caseIds : [];
  return { indexedOn: last, caseIds: [...new Set([...carried, ...ids])] };
}

export async function pollCases(context: CasePollContext, options: CasePollOptions = {}): Promise<CasePollResult> {
  let checkpoint = context.store.load();
  if (!checkpoint && options.startAt === 'now') {
    checkpoint = { indexedOn: (options.now?.() ?? new Date()).toISOString(), caseIds: [] };
    context.store.save(checkpoint);
    return { pages: 0, emitted: 0, ignored: 0 };
  }
  const filters: CaseFilters = { limit: options.pageSize ?? DEFAULT_PAGE_SIZE };
  if (options.caseType) filters.case_type = options.caseType;
  if (options.ownerId) filters.owner_id = options.ownerId;
  if (!options.includeClosed) filters.closed = false;
  if (checkpoint) filters['indexed_on.gte'] = checkpoint.indexedOn;

  const result: CasePollResult = { pages: 0, emitted: 0, ignored: 0 };
  const maxPages = options.maxPages ?? 10_000;
  let link: { next?: string; cursor?: string } | undefined;
  while (result.pages < maxPages) {
    if (context.signal?.aborted) break;
    const page = await context.client.listCasesPage(link ? { ...link, filters } : { filters }, { signal: context.signal });
    result.pages += 1;
    const cases = Array.isArray(page.cases) ? page.cases : [];
    const seen = checkpoint;
    const fresh = cases.filter((record) => !(seen && record.indexed_on === seen.indexedOn && seen.caseIds.includes(record.case_id)));
    const wanted = options.ignoreOwnWrites ? fresh.filter((record) => !isOwnWriteCase(record)) : fresh;
    result.ignored += fresh.length - wanted.length;
    if (wanted.length) await context.emit(wanted);
    result.emitted += wanted.length;
    const advanced = advanceCheckpoint(checkpoint, cases);
    if (advanced && advanced !== checkpoint) {
      checkpoint = advanced;
      context.store.save(checkpoint);
    }
    link = nextOf(page);
    if (!link.next && !link.cursor) break;
  }
  return result;
}
