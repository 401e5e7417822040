/**
 * The OpenMRS atomfeed module (ICT4H atomfeed): every patient and encounter change appends an event;
 * events are served in chunks of 5. `/recent` is the newest (working) chunk; numbered pages are
 * archives linked with `prev-archive`/`next-archive`, and `via` names the page's own number.
 */
import { randomUUID } from 'node:crypto';
import type { SandboxResponse } from '../core';
import { atomTimestamp } from './dates';

export const CHUNK_SIZE = 5;

export type FeedName = 'patient' | 'encounter';

interface FeedEvent {
  id: string;
  timestamp: number;
  content: string;
}

const FEED_TITLES: Record<FeedName, { title: string; entryTitle: string }> = {
  patient: { title: 'Patient AOP', entryTitle: 'Patient' },
  encounter: { title: 'Encounter AOP', entryTitle: 'Encounter' },
};

export class AtomFeeds {
  private readonly events: Record<FeedName, FeedEvent[]> = { patient: [], encounter: [] };
  /** Feed ids stay stable across resets, as the atomfeed module derives them from its config. */
  private readonly feedIds: Record<FeedName, string> = { patient: randomUUID(), encounter: randomUUID() };

  clear(): void {
    this.events.patient = [];
    this.events.encounter = [];
  }

  record(feed: FeedName, uuid: string, timestamp = Date.now()): void {
    this.events[feed].push({ id: randomUUID(), timestamp, content: `/openmrs/ws/rest/v1/${feed}/${uuid}?v=full` });
  }

  count(feed: FeedName): number {
    return this.events[feed].length;
  }

  /** The newest page number: a new chunk starts once the previous one holds CHUNK_SIZE events. */
  workingPage(feed: FeedName): number {
    return Math.max(1, Math.ceil(this.events[feed].length / CHUNK_SIZE));
  }

  render(feed: FeedName, page: string, origin: string): SandboxResponse {
    const working = this.workingPage(feed);
    const recent = page === 'recent';
    const number = recent ? working : Number(page);
    // The module answers both cases with a 500 carrying these exception texts; clients match on them.
    if (!Number.isInteger(number) || number <= 0) return feedError('AtomFeedRuntimeException: feedId must not be null and must be greater than 0');
    if (number > working) return feedError('AtomFeedRuntimeException: feed does not exist');
    const base = `${origin}/openmrs/ws/atomfeed/${feed}`;
    const chunk = this.events[feed].slice((number - 1) * CHUNK_SIZE, number * CHUNK_SIZE);
    const links = [`  <link rel="self" type="application/atom+xml" href="${base}/${recent ? 'recent' : number}" />`];
    links.push(`  <link rel="via" type="application/atom+xml" href="${base}/${number}" />`);
    if (number > 1) links.push(`  <link rel="prev-archive" type="application/atom+xml" href="${base}/${number - 1}" />`);
    if (number < working) links.push(`  <link rel="next-archive" type="application/atom+xml" href="${base}/${number + 1}" />`);
    const updated = chunk.length ? chunk[chunk.length - 1].timestamp : Date.now();
    const { title, entryTitle } = FEED_TITLES[feed];
    const entries = chunk.map((event) => [
      '  <entry>',
      `    <title>${entryTitle}</title>`,
      `    <category term="${feed}" />`,
      `    <id>tag:atomfeed.ict4h.org:${event.id}</id>`,
      `    <updated>${atomTimestamp(event.timestamp)}</updated>`,
      `    <published>${atomTimestamp(event.timestamp)}</published>`,
      `    <content type="application/vnd.atomfeed+xml"><![CDATA[${event.content}]]></content>`,
      '  </entry>',
    ].join('\n'));
    const xml = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<feed xmlns="http://www.w3.org/2005/Atom">',
      `  <title>${title}</title>`,
      ...links,
      '  <author>',
      '    <name>OpenMRS</name>',
      '  </author>',
      `  <id>${this.feedIds[feed]}+${number}</id>`,
      '  <generator uri="https://github.com/ICT4H/atomfeed">OpenMRS Feed Publisher</generator>',
      `  <updated>${atomTimestamp(updated)}</updated>`,
      ...entries,
      '</feed>',
      '',
    ].join('\n');
    return { status: 200, body: xml, contentType: 'application/atom+xml;charset=UTF-8' };
  }
}

function feedError(message: string): SandboxResponse {
  return { status: 500, body: `org.ict4h.atomfeed.server.exceptions.${message}`, contentType: 'text/plain; charset=utf-8' };
}
