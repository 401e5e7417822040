/**
 * The OpenMRS atomfeed module (ICT4H atomfeed): `/ws/atomfeed/<feed>/recent` is the working page
 * (entries oldest first); it links to itself as `via` (its page number) and to older pages with
 * `prev-archive`. Archived pages (`/ws/atomfeed/<feed>/<n>`) never change and link both ways
 * (`prev-archive`, `next-archive`). Like MOTECH's poller, a reader remembers the page it last
 * processed, follows `next-archive` until it reaches the working page, and — unlike MOTECH, which
 * compares timestamps — the id of the last entry it processed, so entries with equal timestamps
 * are neither skipped nor repeated.
 */
import { XMLParser } from 'fast-xml-parser';
import { IntegrationError } from '../../core/errors';

export interface FeedEntry {
  id: string;
  updated?: string;
  published?: string;
  /** The REST path of the changed resource, e.g. /openmrs/ws/rest/v1/patient/<uuid>?v=full. */
  content: string;
}

export interface FeedPage {
  /** This page's number: from `via` on the working page, from `self` on an archive. */
  page?: string;
  prevArchive?: string;
  nextArchive?: string;
  entries: FeedEntry[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  // Entity expansion is how XML bombs work; feed content needs none.
  processEntities: false,
  isArray: (name) => name === 'entry' || name === 'link',
  parseTagValue: false,
});

/** The page number at the end of a feed link (`…/atomfeed/patient/32` -> "32"). */
export function pageOfLink(href: unknown): string | undefined {
  if (typeof href !== 'string') return undefined;
  const last = href.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop();
  return last && last !== 'recent' ? last : undefined;
}

const textOf = (node: unknown): string | undefined => {
  if (typeof node === 'string') return node.trim();
  if (node && typeof node === 'object' && typeof (node as Record<string, unknown>)['#text'] === 'string') return ((node as Record<string, unknown>)['#text'] as string).trim();
  return undefined;
};

export function parseFeedPage(xml: string): FeedPage {
  let document: { feed?: { link?: Array<Record<string, unknown>>; entry?: Array<Record<string, unknown>> } };
  try {
    document = parser.parse(xml) as typeof document;
  } catch (error) {
    throw new IntegrationError(`openmrs atom feed is not valid XML: ${(error as Error).message}`, { code: 'remote-error', retryable: false, system: 'openmrs' });
  }
  const feed = document.feed;
  if (!feed || typeof feed !== 'object') throw new IntegrationError('openmrs atom feed: the response has no <feed> element', { code: 'remote-error', retryable: false, system: 'openmrs' });
  const links = new Map<string, string>();
  for (const link of feed.link ?? []) if (typeof link['@rel'] === 'string' && typeof link['@href'] === 'string') links.set(link['@rel'], link['@href']);
  const entries: FeedEntry[] = [];
  for (const entry of feed.entry ?? []) {
    const id = textOf(entry.id);
    const content = textOf(entry.content);
    if (!id || !content) continue;
    entries.push({ id, content, updated: textOf(entry.updated), published: textOf(entry.published) });
  }
  return {
    page: pageOfLink(links.get('via')) ?? pageOfLink(links.get('self')),
    prevArchive: pageOfLink(links.get('prev-archive')),
    nextArchive: pageOfLink(links.get('next-archive')),
    entries,
  };
}

/** The uuid in an entry's content path, for the given REST resource (patient, encounter). */
export function resourceUuidOf(entry: FeedEntry, resource: string): string | undefined {
  const match = new RegExp(`/${resource}/([0-9a-z-]{36})(?:[?/]|$)`, 'i').exec(entry.content);
  return match?.[1];
}

/** Where a feed reader stands: the last page it finished with, and the last entry it handled there. */
export interface FeedPosition {
  page: string;
  lastEntryId?: string;
}

/** The entries of `page` after `position` (all of them when the entry id is not on the page). */
export function entriesAfter(page: FeedPage, lastEntryId: string | undefined): FeedEntry[] {
  if (!lastEntryId) return page.entries;
  const index = page.entries.findIndex((entry) => entry.id === lastEntryId);
  // Not found: the feed was rebuilt. Re-sending a page beats skipping it (writers are idempotent).
  return index < 0 ? page.entries : page.entries.slice(index + 1);
}

export interface FeedReadOptions {
  /** Fetches a page: 'recent' or a page number. */
  fetchPage(page: string): Promise<FeedPage>;
  /** Handles the new entries of one page; the position is saved only after it resolves. */
  handle(entries: FeedEntry[], page: FeedPage): Promise<void>;
  /** Persists the position (checkpoint). */
  save(position: FeedPosition): Promise<void> | void;
  /** Without a position: 'beginning' walks back to the first archive; 'now' starts after the newest entry. */
  startAt: 'beginning' | 'now';
  /** Upper bound on pages per read (protects against a feed that links in circles). */
  maxPages?: number;
}

/**
 * One pass over the feed from `position` to the newest entry. Pages are handled oldest first,
 * and the position moves after each page, so a failure resumes at the page that failed.
 */
export async function readFeed(position: FeedPosition | undefined, options: FeedReadOptions): Promise<{ position?: FeedPosition; pages: number; entries: number }> {
  const maxPages = options.maxPages ?? 1000;
  let current = position;
  let pages = 0;
  let count = 0;
  let page: FeedPage;
  if (!current) {
    const recent = await options.fetchPage('recent');
    if (options.startAt === 'now') {
      if (!recent.page) return { pages: 1, entries: 0 };
      current = { page: recent.page, lastEntryId: recent.entries.at(-1)?.id };
      await options.save(current);
      return { position: current, pages: 1, entries: 0 };
    }
    page = recent;
    // Walk back to the oldest archive, then read forward.
    while (page.prevArchive && pages < maxPages) {
      page = await options.fetchPage(page.prevArchive);
      pages += 1;
    }
  } else {
    page = await options.fetchPage(current.page);
  }
  for (;;) {
    pages += 1;
    if (pages > maxPages) throw new IntegrationError(`openmrs atom feed: more than ${maxPages} pages in one pass`, { code: 'remote-error', retryable: false, system: 'openmrs' });
    const fresh = entriesAfter(page, current?.page === page.page ? current?.lastEntryId : undefined);
    if (fresh.length) {
      await options.handle(fresh, page);
      count += fresh.length;
    }
    const pageNumber = page.page ?? current?.page;
    if (pageNumber) {
      const next: FeedPosition = { page: pageNumber, lastEntryId: page.entries.at(-1)?.id ?? current?.lastEntryId };
      if (next.page !== current?.page || next.lastEntryId !== current?.lastEntryId) await options.save(next);
      current = next;
    }
    if (!page.nextArchive) break;
    page = await options.fetchPage(page.nextArchive);
  }
  return { position: current, pages, entries: count };
}
