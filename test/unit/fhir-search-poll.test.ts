import assert from 'node:assert/strict';
import type { FhirClient, FhirResource, SearchParams } from '../../nodes/fhir/api/client';
import { type SearchCheckpoint, pollSearch, queryKey } from '../../nodes/fhir/api/search-poll';

const task = (id: string, version: string, lastUpdated: string): FhirResource => ({ resourceType: 'Task', id, meta: { versionId: version, lastUpdated }, status: 'requested', intent: 'order' });

/** A server stand-in: answers each search with the next scripted list of pages. */
function fakeClient(answers: FhirResource[][][], serverTime = '2024-06-01T12:00:00.000Z') {
  const searches: SearchParams[] = [];
  const client = {
    async *searchPages(_type: string, params: SearchParams) {
      searches.push(params);
      for (const page of answers.shift() ?? []) yield page;
    },
    async searchBundle() {
      return { resourceType: 'Bundle', meta: { lastUpdated: serverTime } };
    },
  } as unknown as FhirClient;
  return { client, searches };
}

function memoryStore() {
  let saved: SearchCheckpoint | undefined;
  return { load: () => (saved ? structuredClone(saved) : undefined), save: (value: SearchCheckpoint) => { saved = structuredClone(value); }, get: () => saved };
}

const settings = { resourceType: 'Task', params: { status: 'requested' }, startAt: 'beginning' as const, overlapSeconds: 60 };

describe('FHIR _lastUpdated polling', () => {
  it('re-reads an overlap window and sends late-committed changes once, skipping what was sent', async () => {
    const a = task('a', '1', '2024-06-01T10:00:00.000Z');
    const b = task('b', '1', '2024-06-01T10:05:00.000Z');
    // "late" was stamped before b but became visible only after the first poll.
    const late = task('late', '1', '2024-06-01T10:04:30.000Z');
    const c = task('c', '1', '2024-06-01T10:06:00.000Z');
    const { client, searches } = fakeClient([[[a], [b]], [[late, b, c]]]);
    const store = memoryStore();
    const emitted: string[] = [];
    const emit = (resources: FhirResource[]) => emitted.push(...resources.map((resource) => resource.id!));

    assert.deepEqual(await pollSearch(client, settings, store, emit), { emitted: 2, skipped: 0, pages: 2 });
    assert.equal(store.get()?.since, b.meta!.lastUpdated);
    assert.deepEqual(searches[0], { status: 'requested', _sort: '_lastUpdated' });

    const second = await pollSearch(client, settings, store, emit);
    assert.deepEqual(second, { emitted: 2, skipped: 1, pages: 1 });
    assert.deepEqual(emitted, ['a', 'b', 'late', 'c']);
    assert.equal(searches[1]._lastUpdated, 'gt2024-06-01T10:04:00.000Z', 'the checkpoint minus the overlap');
    // Only what the next poll re-reads is remembered.
    assert.deepEqual(Object.keys(store.get()!.sent), ['Task/c/1']);
  });

  it('sends a new version of a resource already sent', async () => {
    const v1 = task('a', '1', '2024-06-01T10:00:00.000Z');
    const v2 = task('a', '2', '2024-06-01T10:00:10.000Z');
    const { client } = fakeClient([[[v1]], [[v1, v2]]]);
    const store = memoryStore();
    const emitted: string[] = [];
    const emit = (resources: FhirResource[]) => emitted.push(...resources.map((resource) => `${resource.id}@${resource.meta?.versionId}`));
    await pollSearch(client, settings, store, emit);
    await pollSearch(client, settings, store, emit);
    assert.deepEqual(emitted, ['a@1', 'a@2']);
  });

  it('a failure part-way keeps the pages already sent: the next poll sends only the rest', async () => {
    const pages = [[task('a', '1', '2024-06-01T10:00:00.000Z')], [task('b', '1', '2024-06-01T10:01:00.000Z')]];
    const { client } = fakeClient([pages, pages]);
    const store = memoryStore();
    const emitted: string[] = [];
    let fail = true;
    const emit = (resources: FhirResource[]) => {
      if (resources[0].id === 'b' && fail) {
        fail = false;
        throw new Error('crash');
      }
      emitted.push(...resources.map((resource) => resource.id!));
    };
    await assert.rejects(pollSearch(client, settings, store, emit), /crash/);
    await pollSearch(client, settings, store, emit);
    assert.deepEqual(emitted, ['a', 'b']);
  });

  it('"now" starts at the server time without sending what exists; another search starts afresh', async () => {
    const { client, searches } = fakeClient([[[task('new', '1', '2024-06-01T12:00:01.000Z')]]]);
    const store = memoryStore();
    const emitted: string[] = [];
    const emit = (resources: FhirResource[]) => emitted.push(...resources.map((resource) => resource.id!));
    assert.equal((await pollSearch(client, { ...settings, startAt: 'now' }, store, emit)).emitted, 0);
    assert.equal(store.get()?.since, '2024-06-01T12:00:00.000Z');
    await pollSearch(client, { ...settings, startAt: 'now' }, store, emit);
    assert.deepEqual(emitted, ['new']);
    assert.equal(searches[0]._lastUpdated, 'gt2024-06-01T12:00:00.000Z', 'the overlap never reaches back before the start');
    assert.notEqual(queryKey({ resourceType: 'Task', params: { status: 'ready' } }), store.get()?.query);
  });
});
