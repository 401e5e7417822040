/**
 * Polling a FHIR search for changes with `_lastUpdated`, durably.
 *
 * A server stamps `meta.lastUpdated` when a write starts, but the write may become visible only
 * when its transaction commits, after later-stamped writes were already seen. A plain
 * `_lastUpdated=gt<last seen>` would skip it. So each poll re-reads an overlap window before the
 * checkpoint, and skips the id+version pairs already sent; the checkpoint keeps those pairs for
 * the window, and is saved after every page, so a restart mid-poll re-sends nothing and misses
 * nothing.
 */
import type { FhirClient, FhirResource, SearchPage, SearchParams } from './client';

export interface SearchCheckpoint {
  /** The search this checkpoint belongs to; another search starts afresh. */
  query: string;
  /** Resources changed after this instant (minus the overlap) are read on the next poll. */
  since?: string;
  /** Where a "from now on" source started: the overlap never reaches back before it. */
  floor?: string;
  /** "Type/id/versionId" -> lastUpdated, for what was sent within the overlap window. */
  sent: Record<string, string>;
}

export interface CheckpointAccess {
  load(): SearchCheckpoint | undefined;
  save(checkpoint: SearchCheckpoint): void;
}

export interface PollSettings {
  resourceType: string;
  params: SearchParams;
  /** First poll without a checkpoint: everything that matches, or only what changes from now on. */
  startAt: 'beginning' | 'now';
  /** Seconds re-read before the checkpoint. Default 60. */
  overlapSeconds?: number;
  pageSize?: number;
  signal?: AbortSignal;
}

export interface PollResult {
  emitted: number;
  skipped: number;
  pages: number;
}

const DEFAULT_OVERLAP_SECONDS = 60;

export function queryKey(settings: Pick<PollSettings, 'resourceType' | 'params'>): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(settings.params)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) pairs.push(`${key}=${String(item)}`);
  }
  return `${settings.resourceType}?${pairs.sort().join('&')}`;
}

export function versionKey(resource: FhirResource): string {
  return `${resource.resourceType}/${resource.id}/${resource.meta?.versionId ?? resource.meta?.lastUpdated ?? ''}`;
}

function lastUpdatedOf(resource: FhirResource): string | undefined {
  const value = resource.meta?.lastUpdated;
  return typeof value === 'string' && Number.isFinite(Date.parse(value)) ? value : undefined;
}

function later(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/** Pages split into matches and `_include`d resources; a search without `_include` has none of the latter. */
async function* pagesOf(client: FhirClient, resourceType: string, params: SearchParams, signal?: AbortSignal): AsyncGenerator<SearchPage, void, undefined> {
  if (params._include !== undefined) {
    yield* client.searchPagesWithIncluded(resourceType, params, { signal });
    return;
  }
  for await (const matches of client.searchPages(resourceType, params, { signal })) yield { matches, included: [] };
}

/**
 * One poll: emits each new resource version (page by page, in the server's order) and advances
 * the checkpoint. `emit` gets each page, with the resources `_include` brought along (they do
 * not move the checkpoint); it runs before that page is recorded as sent, so a crash between the
 * two re-sends the page rather than losing it.
 */
export async function pollSearch(client: FhirClient, settings: PollSettings, store: CheckpointAccess, emit: (resources: FhirResource[], included: FhirResource[]) => unknown): Promise<PollResult> {
  const query = queryKey(settings);
  const overlapMs = Math.max(0, settings.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS) * 1000;
  const saved = store.load();
  let checkpoint: SearchCheckpoint = saved && saved.query === query ? { ...saved, sent: { ...saved.sent } } : { query, sent: {} };

  if (!checkpoint.since && settings.startAt === 'now' && !(saved && saved.query === query)) {
    // The server's clock, not ours: the searchset Bundle's own timestamp.
    const bundle = await client.searchBundle(settings.resourceType, { ...settings.params, _summary: 'count' }, { signal: settings.signal });
    const start = (bundle.meta?.lastUpdated as string | undefined) ?? new Date().toISOString();
    checkpoint = { query, since: start, floor: start, sent: {} };
    store.save(checkpoint);
    return { emitted: 0, skipped: 0, pages: 0 };
  }

  const params: SearchParams = { ...settings.params, _sort: '_lastUpdated' };
  if (settings.pageSize) params._count = settings.pageSize;
  if (checkpoint.since) {
    const from = Math.max(Date.parse(checkpoint.since) - overlapMs, checkpoint.floor ? Date.parse(checkpoint.floor) : Number.NEGATIVE_INFINITY);
    params._lastUpdated = `gt${new Date(from).toISOString()}`;
  }

  let newest = checkpoint.since;
  // While the server returns pages in _lastUpdated order, the checkpoint advances page by page
  // (a large first poll stays small on disk); otherwise only once the last page is in.
  let inOrder = true;
  const result: PollResult = { emitted: 0, skipped: 0, pages: 0 };
  for await (const { matches: page, included } of pagesOf(client, settings.resourceType, params, settings.signal)) {
    result.pages += 1;
    const fresh = page.filter((resource) => !(versionKey(resource) in checkpoint.sent));
    result.skipped += page.length - fresh.length;
    if (fresh.length) await emit(fresh, included);
    result.emitted += fresh.length;
    for (const resource of page) {
      const updated = lastUpdatedOf(resource);
      if (updated && newest && Date.parse(updated) < Date.parse(newest) - overlapMs) inOrder = false;
      newest = later(newest, updated);
      checkpoint.sent[versionKey(resource)] = updated ?? new Date().toISOString();
    }
    if (inOrder) advance(checkpoint, newest, overlapMs);
    store.save(checkpoint);
  }
  advance(checkpoint, newest, overlapMs);
  store.save(checkpoint);
  return result;
}

/** Moves `since` to the newest change seen and forgets what the next poll will not re-read. */
function advance(checkpoint: SearchCheckpoint, newest: string | undefined, overlapMs: number): void {
  checkpoint.since = newest;
  if (!newest) return;
  const horizon = Date.parse(newest) - overlapMs;
  for (const [key, updated] of Object.entries(checkpoint.sent)) if (Date.parse(updated) <= horizon) delete checkpoint.sent[key];
}

/** The `_include`d resources that `resource` references ("Type/id", relative or absolute). */
export function includedFor(resource: FhirResource, included: FhirResource[]): FhirResource[] {
  if (!included.length) return [];
  const references = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'reference' && typeof child === 'string') references.add(child.split('/').slice(-2).join('/'));
        else walk(child);
      }
    }
  };
  walk(resource);
  return included.filter((candidate) => references.has(`${candidate.resourceType}/${candidate.id}`));
}
