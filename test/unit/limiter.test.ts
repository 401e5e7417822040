import assert from 'node:assert/strict';
import { ConcurrencyLimiter, type LimiterStats } from '../../nodes/core/limiter';

interface Deferred {
  promise: Promise<string>;
  resolve: (value: string) => void;
  reject: (error: Error) => void;
}

function deferred(): Deferred {
  let resolve!: (value: string) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ConcurrencyLimiter', () => {
  it('runs at most max tasks at once and starts the rest in arrival order', async () => {
    const limiter = new ConcurrencyLimiter(2);
    const tasks = [0, 1, 2, 3, 4].map(() => deferred());
    const started: number[] = [];
    const results = tasks.map((task, index) =>
      limiter
        .run(() => {
          started.push(index);
          return task.promise;
        })
        .catch(() => 'rejected'),
    );
    await settle();
    assert.deepEqual(started, [0, 1]);
    assert.equal(limiter.active, 2);
    assert.equal(limiter.queued, 3);

    tasks[1].resolve('one');
    await settle();
    assert.deepEqual(started, [0, 1, 2]);
    tasks[0].reject(new Error('zero failed'));
    await settle();
    assert.deepEqual(started, [0, 1, 2, 3], 'a failed task frees its slot too');
    tasks[2].resolve('two');
    tasks[3].resolve('three');
    tasks[4].resolve('four');

    assert.deepEqual(await Promise.all(results), ['rejected', 'one', 'two', 'three', 'four']);
    assert.equal(limiter.active, 0);
    assert.equal(limiter.queued, 0);
  });

  it('reports every change of active and queued', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const seen: LimiterStats[] = [];
    const unsubscribe = limiter.onChange((stats) => seen.push(stats));
    const first = deferred();
    const a = limiter.run(() => first.promise);
    const b = limiter.run(async () => 'b');
    first.resolve('a');
    await Promise.all([a, b]);
    await settle();
    assert.deepEqual(seen, [
      { active: 1, queued: 0 },
      { active: 1, queued: 1 },
      { active: 1, queued: 0 },
      { active: 0, queued: 0 },
    ]);
    unsubscribe();
    await limiter.run(async () => 'c');
    assert.equal(seen.length, 4);
  });

  it('removes queued work whose signal aborts, without disturbing the rest', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const blocker = deferred();
    const running = limiter.run(() => blocker.promise);
    const controller = new AbortController();
    let cancelledRan = false;
    const cancelled = limiter.run(async () => {
      cancelledRan = true;
      return 'never';
    }, controller.signal);
    const after = limiter.run(async () => 'after');
    assert.equal(limiter.queued, 2);

    const reason = new Error('node closed');
    controller.abort(reason);
    await assert.rejects(cancelled, (error) => error === reason);
    assert.equal(limiter.queued, 1);

    blocker.resolve('blocker');
    assert.deepEqual(await Promise.all([running, after]), ['blocker', 'after']);
    assert.equal(cancelledRan, false);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(limiter.run(async () => 'x', controller.signal), { name: 'AbortError' });
    assert.equal(limiter.active, 0);
  });

  it('rejects a limit below one', () => {
    assert.throws(() => new ConcurrencyLimiter(0), RangeError);
    assert.throws(() => new ConcurrencyLimiter(1.5), RangeError);
  });
});
