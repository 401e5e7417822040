import assert from 'node:assert/strict';
import { type FeedPage, type FeedPosition, entriesAfter, pageOfLink, parseFeedPage, readFeed, resourceUuidOf } from '../../nodes/openmrs/api/atom-feed';
import { requireSamples, sampleText } from '../support/samples';

/** A feed like the atomfeed module serves: chunks of 5, newest chunk = recent. */
function fakeFeed(events: string[]) {
  const fetched: string[] = [];
  const working = () => Math.max(1, Math.ceil(events.length / 5));
  const fetchPage = async (page: string): Promise<FeedPage> => {
    fetched.push(page);
    const number = page === 'recent' ? working() : Number(page);
    if (number > working()) throw Object.assign(new Error('feed does not exist'), { code: 'remote-error' });
    return {
      page: String(number),
      prevArchive: number > 1 ? String(number - 1) : undefined,
      nextArchive: number < working() ? String(number + 1) : undefined,
      entries: events.slice((number - 1) * 5, number * 5).map((id) => ({ id, content: `/openmrs/ws/rest/v1/patient/${id}?v=full` })),
    };
  };
  return { fetchPage, fetched };
}

async function read(events: string[], position: FeedPosition | undefined, startAt: 'beginning' | 'now' = 'beginning') {
  const feed = fakeFeed(events);
  const handled: string[] = [];
  const saved: FeedPosition[] = [];
  const result = await readFeed(position, {
    startAt,
    fetchPage: feed.fetchPage,
    handle: async (entries) => { handled.push(...entries.map((entry) => entry.id)); },
    save: (next) => { saved.push(next); },
  });
  return { handled, saved, result, fetched: feed.fetched };
}

const ids = (count: number, from = 1) => Array.from({ length: count }, (_, index) => `e${index + from}`);

describe('openmrs atom feed', () => {
  it('parses the feed MOTECH documents: links, entries and their REST paths', function () {
    requireSamples(this);
    const page = parseFeedPage(sampleText('openmrs-rest/atomfeed-patient-recent.xml'));
    assert.equal(page.page, '32');
    assert.equal(page.prevArchive, '31');
    assert.equal(page.nextArchive, undefined);
    assert.equal(page.entries.length, 3);
    assert.equal(page.entries[0].id, 'tag:atomfeed.ict4h.org:6fdab6f5-2cd2-4207-b8bb-c2884d6179f6');
    assert.equal(resourceUuidOf(page.entries[0], 'patient'), 'e8aa08f6-86cd-42f9-8924-1b3ea021aeb4');
    assert.equal(resourceUuidOf(page.entries[0], 'encounter'), undefined);
  });

  it('reads page numbers from links and rejects documents that are not feeds', () => {
    assert.equal(pageOfLink('http://x/openmrs/ws/atomfeed/patient/7'), '7');
    assert.equal(pageOfLink('http://x/openmrs/ws/atomfeed/patient/recent'), undefined);
    assert.throws(() => parseFeedPage('<html><body>login</body></html>'), (error: any) => error.code === 'remote-error');
    const archive = parseFeedPage('<feed xmlns="http://www.w3.org/2005/Atom"><link rel="self" href="http://h/openmrs/ws/atomfeed/patient/3"/><link rel="next-archive" href="http://h/openmrs/ws/atomfeed/patient/4"/></feed>');
    assert.deepEqual(archive, { page: '3', prevArchive: undefined, nextArchive: '4', entries: [] });
  });

  it('starts at the beginning: walks back through prev-archive, then reads every page oldest first', async () => {
    const { handled, saved, fetched } = await read(ids(12), undefined);
    assert.deepEqual(handled, ids(12));
    assert.deepEqual(fetched, ['recent', '2', '1', '2', '3']);
    assert.deepEqual(saved.at(-1), { page: '3', lastEntryId: 'e12' });
  });

  it('starting "now" emits nothing and remembers the newest entry', async () => {
    const { handled, saved } = await read(ids(7), undefined, 'now');
    assert.deepEqual(handled, []);
    assert.deepEqual(saved, [{ page: '2', lastEntryId: 'e7' }]);
  });

  it('continues from the remembered page and entry, across archives that filled up meanwhile', async () => {
    const first = await read(ids(7), undefined);
    const position = first.saved.at(-1);
    assert.deepEqual(position, { page: '2', lastEntryId: 'e7' });
    const second = await read(ids(13), position);
    assert.deepEqual(second.handled, ids(6, 8));
    assert.deepEqual(second.fetched, ['2', '3']);
    assert.deepEqual(second.saved.at(-1), { page: '3', lastEntryId: 'e13' });
    const third = await read(ids(13), second.saved.at(-1));
    assert.deepEqual(third.handled, []);
    assert.deepEqual(third.saved, []);
  });

  it('keeps its position when handling a page fails, so the page is read again', async () => {
    const feed = fakeFeed(ids(8));
    const saved: FeedPosition[] = [];
    await assert.rejects(readFeed({ page: '1', lastEntryId: 'e2' }, {
      startAt: 'beginning',
      fetchPage: feed.fetchPage,
      handle: async (entries) => { if (entries[0].id === 'e6') throw new Error('downstream failed'); },
      save: (position) => { saved.push(position); },
    }), /downstream failed/);
    assert.deepEqual(saved, [{ page: '1', lastEntryId: 'e5' }]);
  });

  it('re-reads a whole page whose remembered entry is gone (feed rebuilt) rather than skip it', () => {
    const page: FeedPage = { page: '1', entries: [{ id: 'x1', content: '' }, { id: 'x2', content: '' }] };
    assert.deepEqual(entriesAfter(page, 'x1').map((entry) => entry.id), ['x2']);
    assert.deepEqual(entriesAfter(page, 'gone').map((entry) => entry.id), ['x1', 'x2']);
  });
});
