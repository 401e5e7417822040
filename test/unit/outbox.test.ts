import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Outbox, OutboxFullError, serialiseMessage } from '../../nodes/core/outbox';
import { openDatabase, type SqlDatabase } from '../../nodes/core/sqlite';

describe('outbox (SQLite)', function () {
  this.timeout(60_000);
  let dir: string;
  let db: SqlDatabase;
  let outbox: Outbox;
  const T0 = 1_700_000_000_000;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-outbox-'));
    db = openDatabase(path.join(dir, 'outbox.db'));
    outbox = new Outbox(db);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores a message without its per-delivery handles and hands it out once', () => {
    const { id, duplicate } = outbox.enqueue('q', { payload: { a: 1 }, form: { id: 'f1' }, _msgid: 'm', _receipt: 'r', req: {}, res: {} }, { now: T0 });
    assert.equal(duplicate, false);
    assert.equal(outbox.depth('q'), 1);
    const [claimed] = outbox.claim('q', 10, T0);
    assert.equal(claimed.id, id);
    assert.equal(claimed.attempt, 1);
    assert.deepEqual(claimed.msg, { payload: { a: 1 }, form: { id: 'f1' } });
    assert.deepEqual(outbox.claim('q', 10, T0), [], 'an in-flight message is not handed out twice');
    assert.equal(outbox.depth('q'), 1, 'in flight still counts as waiting');
    assert.equal(outbox.ack(id), true);
    assert.equal(outbox.depth('q'), 0);
    assert.equal(outbox.ack(id), false, 'a second ack changes nothing');
  });

  it('stores a re-sent message once per dedup key, also after it was delivered', () => {
    const first = outbox.enqueue('q', { payload: 1 }, { key: 'form-1' });
    const again = outbox.enqueue('q', { payload: 1 }, { key: 'form-1' });
    assert.deepEqual(again, { id: first.id, duplicate: true });
    assert.equal(outbox.enqueue('other', { payload: 1 }, { key: 'form-1' }).duplicate, false, 'keys are per queue');
    const [claimed] = outbox.claim('q', 1);
    outbox.ack(claimed.id);
    assert.equal(outbox.enqueue('q', { payload: 1 }, { key: 'form-1' }).duplicate, true, 'a re-send after delivery is recognised');
    assert.equal(outbox.depth('q'), 0);
    assert.equal(outbox.purgeDelivered(0, Date.now() + 1), 1, 'delivered keys are forgotten after the retention period');
    assert.equal(outbox.enqueue('q', { payload: 1 }, { key: 'form-1' }).duplicate, false);
  });

  it('refuses messages past the bound, not duplicates of stored ones', () => {
    outbox.enqueue('q', { payload: 1 }, { key: 'a', maxDepth: 2 });
    outbox.enqueue('q', { payload: 2 }, { key: 'b', maxDepth: 2 });
    assert.throws(() => outbox.enqueue('q', { payload: 3 }, { key: 'c', maxDepth: 2 }), (error: unknown) => error instanceof OutboxFullError && error.code === 'rate-limited' && error.depth === 2);
    assert.equal(outbox.enqueue('q', { payload: 1 }, { key: 'a', maxDepth: 2 }).duplicate, true);
    assert.equal(outbox.depth('q'), 2);
  });

  it('retries a retryable failure after an exponential backoff, capped, at least Retry-After', () => {
    const { id } = outbox.enqueue('q', { payload: 1 }, { now: T0 });
    const noJitter = () => 0.5;
    const delays: number[] = [];
    let now = T0;
    for (let attempt = 1; attempt <= 6; attempt += 1) {
      const [claimed] = outbox.claim('q', 1, now);
      assert.equal(claimed.attempt, attempt);
      const result = outbox.fail(id, { code: 'unreachable', message: 'down' }, { retryable: true, maxAttempts: 20, backoffBaseMs: 1_000, backoffMaxMs: 10_000, now, random: noJitter });
      assert.equal(result.state, 'ready');
      const next = (result as { nextAttemptAt: number }).nextAttemptAt;
      delays.push(next - now);
      assert.deepEqual(outbox.claim('q', 1, next - 1), [], 'not due before its backoff');
      now = next;
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    outbox.claim('q', 1, now);
    const waited = outbox.fail(id, { code: 'rate-limited', message: '429', status: 429 }, { retryable: true, maxAttempts: 20, backoffBaseMs: 1_000, backoffMaxMs: 10_000, retryAfterMs: 60_000, now, random: noJitter });
    assert.deepEqual(waited, { state: 'ready', nextAttemptAt: now + 60_000 });
  });

  it('jitters the backoff so a queue of failures does not retry in lock-step', () => {
    const next = new Set<number>();
    for (let i = 0; i < 20; i += 1) {
      const { id } = outbox.enqueue('q', { payload: i }, { now: T0 });
      outbox.claim('q', 1, T0);
      next.add((outbox.fail(id, { code: 'timeout', message: 't' }, { retryable: true, backoffBaseMs: 10_000, now: T0 }) as { nextAttemptAt: number }).nextAttemptAt);
    }
    assert.ok(next.size > 10, `spread: ${next.size} distinct times`);
  });

  it('makes a permanent failure a dead letter with its error and payload, and one that ran out of attempts too', () => {
    const bad = outbox.enqueue('q', { payload: { name: 'x' } }, { key: 'bad' });
    outbox.claim('q', 1);
    assert.deepEqual(outbox.fail(bad.id, { code: 'validation', message: 'Patient is required', status: 400 }, { retryable: false }), { state: 'dead' });
    const flaky = outbox.enqueue('q', { payload: { name: 'y' } });
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const [claimed] = outbox.claim('q', 1, Date.now() + attempt * 1_000_000);
      assert.equal(claimed.id, flaky.id);
      const result = outbox.fail(flaky.id, { code: 'timeout', message: 'slow' }, { retryable: true, maxAttempts: 3, now: Date.now() + attempt * 1_000_000 });
      assert.equal(result.state, attempt < 3 ? 'ready' : 'dead');
    }
    assert.deepEqual(outbox.counts('q'), { queue: 'q', ready: 0, inflight: 0, dead: 2 });
    assert.equal(outbox.depth('q'), 0, 'dead letters do not count against the bound');
    assert.equal(outbox.deadCount('q'), 2);
    const letters = outbox.deadLetters({ queue: 'q' });
    const badLetter = letters.find((letter) => letter.id === bad.id);
    assert.deepEqual(badLetter?.error, { code: 'validation', message: 'Patient is required', status: 400 });
    assert.deepEqual(badLetter?.msg, { payload: { name: 'x' } });
    assert.equal(badLetter?.key, 'bad');
    assert.equal(letters.find((letter) => letter.id === flaky.id)?.attempts, 3);
  });

  it('retries and discards dead letters', () => {
    const a = outbox.enqueue('q', { payload: 'a' }, { key: 'a' });
    const b = outbox.enqueue('q', { payload: 'b' }, { key: 'b' });
    outbox.claim('q', 2);
    outbox.fail(a.id, { code: 'bad-input', message: 'x' }, { retryable: false });
    outbox.fail(b.id, { code: 'bad-input', message: 'x' }, { retryable: false });
    assert.equal(outbox.retryDead(a.id), true);
    assert.equal(outbox.retryDead(a.id), false, 'no longer a dead letter');
    const [again] = outbox.claim('q', 5);
    assert.equal(again.id, a.id);
    assert.equal(again.attempt, 1, 'a retried dead letter starts a fresh attempt count');
    assert.equal(outbox.discardDead(b.id), true);
    assert.equal(outbox.discardDead(b.id), false);
    assert.equal(outbox.deadLetters().length, 0);
    assert.equal(outbox.enqueue('q', { payload: 'b' }, { key: 'b' }).duplicate, false, 'a discarded key is free again');
  });

  it('recovers messages left in flight by a crash, keeping every committed row', () => {
    for (let i = 0; i < 5; i += 1) outbox.enqueue('q', { payload: i }, { key: `k${i}` });
    const claimed = outbox.claim('q', 3);
    outbox.ack(claimed[0].id);
    // A crash: the connection goes away without anything else happening.
    db.close();
    db = openDatabase(path.join(dir, 'outbox.db'));
    outbox = new Outbox(db);
    assert.deepEqual(outbox.counts('q'), { queue: 'q', ready: 2, inflight: 2, dead: 0 });
    assert.equal(outbox.recover('q'), 2);
    const after = outbox.claim('q', 10);
    assert.deepEqual(after.map((item) => item.msg.payload).sort(), [1, 2, 3, 4]);
  });

  it('signals waiting senders when a message becomes ready', () => {
    let signals = 0;
    const stop = outbox.onReady('q', () => { signals += 1; });
    outbox.enqueue('q', { payload: 1 }, { key: 'x' });
    outbox.enqueue('q', { payload: 1 }, { key: 'x' });
    outbox.enqueue('other', { payload: 1 });
    stop();
    outbox.enqueue('q', { payload: 2 });
    assert.equal(signals, 1, 'one new message in this queue while listening');
  });

  it('lists queues with their counts', () => {
    outbox.enqueue('b', { payload: 1 });
    outbox.enqueue('a', { payload: 1 });
    outbox.enqueue('a', { payload: 2 });
    outbox.claim('a', 1);
    assert.deepEqual(outbox.queues(), [
      { queue: 'a', ready: 1, inflight: 1, dead: 0 },
      { queue: 'b', ready: 1, inflight: 0, dead: 0 },
    ]);
  });

  it('serialises a message as plain JSON', () => {
    assert.equal(serialiseMessage({ payload: 1, _msgid: 'x', outbox: { id: 1 } }), '{"payload":1}');
  });

  it('drains 20,000 messages in small batches with flat memory and an exact count', () => {
    const total = 20_000;
    const body = 'x'.repeat(500);
    db.transaction(() => {
      for (let i = 0; i < total; i += 1) outbox.enqueue('bulk', { payload: { i, body } }, { key: `form-${i}` });
    });
    assert.equal(outbox.depth('bulk'), total);
    // Measure what stays reachable (after a collection), not garbage waiting for the collector.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let peak = heapBefore;
    const seen = new Set<number>();
    let delivered = 0;
    for (;;) {
      const batch = outbox.claim('bulk', 100);
      if (batch.length === 0) break;
      for (const item of batch) {
        seen.add(item.msg.payload ? (item.msg.payload as { i: number }).i : -1);
        outbox.ack(item.id);
        delivered += 1;
      }
      if (delivered % 2_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
    }
    assert.equal(delivered, total);
    assert.equal(seen.size, total, 'every message exactly once');
    assert.equal(outbox.depth('bulk'), 0);
    // The queue holds ~10 MB of payloads; holding them in memory would show as a growth of that
    // size. (The set of 20,000 seen numbers is the test's own, well under 1 MB.)
    const growth = peak - heapBefore;
    assert.ok(growth < 4 * 1024 * 1024, `heap grew by ${(growth / 1024 / 1024).toFixed(1)} MB while draining`);
  });
});
