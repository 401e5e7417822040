import assert from 'node:assert/strict';
import { BatchQueue } from '../../nodes/commcare/batch-queue';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('commcare batch queue', () => {
  it('sends full batches at once and the rest after the wait, one batch at a time', async () => {
    const batches: number[][] = [];
    let running = 0;
    let overlapped = false;
    const queue = new BatchQueue<number, string>(async (items) => {
      running += 1;
      overlapped ||= running > 1;
      batches.push(items);
      await sleep(5);
      running -= 1;
      return items.map((item) => `done ${item}`);
    }, { maxItems: 3, maxWaitMs: 20 });
    const results = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((item) => queue.add(item)));
    assert.deepEqual(batches, [[1, 2, 3], [4, 5, 6], [7]]);
    assert.deepEqual(results, ['done 1', 'done 2', 'done 3', 'done 4', 'done 5', 'done 6', 'done 7']);
    assert.equal(overlapped, false);
  });

  it('rejects every item of a failed batch, leaves out aborted items and reports what waits', async () => {
    const pending: number[] = [];
    const queue = new BatchQueue<number, number>(async (items) => {
      if (items.includes(0)) throw new Error('remote down');
      return items;
    }, { maxItems: 10, maxWaitMs: 10, onPending: (count) => pending.push(count) });
    const aborted = new AbortController();
    const [failed, cancelled] = await Promise.allSettled([queue.add(0), queue.add(1, aborted.signal), (aborted.abort(new Error('closing')), queue.add(2))]);
    assert.equal(failed.status === 'rejected' && failed.reason.message, 'remote down');
    assert.equal(cancelled.status === 'rejected' && cancelled.reason.message, 'closing');
    assert.deepEqual(pending, [1, 2, 3, 0]);
    queue.add(5).catch(() => undefined);
    queue.close();
    await assert.rejects(queue.add(6), /queue closed/);
  });
});
