import assert from 'node:assert/strict';
import FakeTimers, { type Clock } from '@sinonjs/fake-timers';
import type { NodeMessage } from 'node-red';
import { Poller, type PollerState, UnconfirmedError, checkpointSettings, confirmingSender } from '../../nodes/core/poller';
import { settleReceipt } from '../../nodes/core/receipts';

type ReceiptMsg = NodeMessage & { _receipt: string };

describe('poller', () => {
  let clock: Clock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => clock.uninstall());

  /** A poller whose polls are recorded and fail while `failing` is set. */
  function recorded(intervalMs = 1_000, maxBackoffMs = 8_000) {
    const polls: number[] = [];
    const states: PollerState[] = [];
    const control = { failing: false as false | (() => never) };
    const poller = new Poller({
      intervalMs,
      maxBackoffMs,
      poll: () => {
        polls.push(clock.now);
        if (control.failing) control.failing();
      },
      onState: (state) => states.push(state),
    });
    return { poller, polls, states, control };
  }

  it('polls at start and then every interval', async () => {
    const { poller, polls } = recorded();
    poller.start();
    await clock.tickAsync(3_500);
    assert.deepEqual(polls, [0, 1_000, 2_000, 3_000]);
    await poller.stop();
  });

  it('backs off exponentially after failures, up to the cap, and resets after a success', async () => {
    const { poller, polls, states, control } = recorded();
    control.failing = () => {
      throw Object.assign(new Error('no token configured'), { code: 'auth' });
    };
    poller.start();
    await clock.tickAsync(2_000 + 4_000 + 8_000 + 8_000 + 1);
    assert.deepEqual(polls, [0, 2_000, 6_000, 14_000, 22_000]);
    const idle = states.filter((state) => state.kind === 'idle');
    assert.deepEqual(idle.map((state) => state.kind === 'idle' && state.nextPollMs), [2_000, 4_000, 8_000, 8_000, 8_000]);
    assert.deepEqual(idle[0].kind === 'idle' && idle[0].error, { code: 'auth', message: 'no token configured' });

    control.failing = false;
    await clock.tickAsync(8_000 + 1_000);
    assert.deepEqual(polls.slice(5), [30_000, 31_000]);
    const last = states.at(-1);
    assert.ok(last?.kind === 'idle' && last.failures === 0 && last.error === undefined);
    await poller.stop();
  });

  it('turns a synchronous throw into a failed poll, never an escaping exception', async () => {
    const states: PollerState[] = [];
    const poller = new Poller({ intervalMs: 1_000, poll: () => { throw new TypeError('Invalid URL'); }, onState: (state) => states.push(state) });
    await poller.pollNow();
    assert.deepEqual(states.at(-1), { kind: 'idle', failures: 1, error: { code: 'error', message: 'Invalid URL' }, nextPollMs: 2_000 });
    await poller.stop();
  });

  it('never runs two polls at once: a poll asked for during one follows right after it', async () => {
    let active = 0;
    let most = 0;
    let count = 0;
    const poller = new Poller({
      intervalMs: 60_000,
      poll: async () => {
        count += 1;
        active += 1;
        most = Math.max(most, active);
        await new Promise((resolve) => setTimeout(resolve, 500));
        active -= 1;
      },
    });
    const first = poller.pollNow();
    void poller.pollNow();
    void poller.pollNow();
    await clock.tickAsync(500);
    await first;
    await clock.tickAsync(501);
    assert.equal(count, 2, 'the requests during the first poll make one more poll');
    assert.equal(most, 1);
    await clock.tickAsync(59_000);
    assert.equal(count, 2, 'then the interval again');
    await clock.tickAsync(1_001);
    assert.equal(count, 3);
    const stopping = poller.stop();
    await clock.tickAsync(500);
    await stopping;
  });

  it('stops on close: waits for the running poll, aborts its signal and polls no more', async () => {
    let seen: AbortSignal | undefined;
    let count = 0;
    const poller = new Poller({
      intervalMs: 1_000,
      poll: (signal) => new Promise<void>((resolve) => {
        count += 1;
        seen = signal;
        signal.addEventListener('abort', () => resolve());
      }),
    });
    poller.start();
    await clock.tickAsync(0);
    await poller.stop(new Error('node closed'));
    assert.equal(seen?.aborted, true);
    await clock.tickAsync(10_000);
    assert.equal(count, 1);
    await poller.pollNow();
    assert.equal(count, 1, 'a stopped poller ignores "poll now"');
  });

  describe('confirmingSender', () => {
    it('after emitting: sends and resolves at once, without receipts', async () => {
      const sent: NodeMessage[] = [];
      await confirmingSender((msg) => sent.push(msg), 'emit').send([{ payload: 1 }, { payload: 2 }]);
      assert.deepEqual(sent, [{ payload: 1 }, { payload: 2 }]);
    });

    it('after confirmation: resolves only once every message is accepted', async () => {
      const sent: ReceiptMsg[] = [];
      let resolved = false;
      const sending = confirmingSender((msg) => sent.push(msg as ReceiptMsg), 'confirm', 5_000).send([{ payload: 1 }, { payload: 2 }]).then(() => { resolved = true; });
      assert.equal(sent.length, 2);
      assert.notEqual(sent[0]._receipt, sent[1]._receipt);
      settleReceipt(sent[0]._receipt, { accepted: true });
      await clock.tickAsync(0);
      assert.equal(resolved, false, 'one message is still unconfirmed');
      settleReceipt(sent[1]._receipt, { accepted: true });
      await sending;
      assert.equal(resolved, true);
    });

    it('after confirmation: rejects when one message is refused', async () => {
      const sent: ReceiptMsg[] = [];
      const sending = confirmingSender((msg) => sent.push(msg as ReceiptMsg), 'confirm', 5_000).send([{ payload: 1 }, { payload: 2 }]);
      settleReceipt(sent[0]._receipt, { accepted: true });
      settleReceipt(sent[1]._receipt, { accepted: false, code: 'validation', message: 'bad phone', retryable: false });
      await assert.rejects(sending, (error: UnconfirmedError) => error.code === 'validation' && /1 of 2 messages not confirmed: bad phone/.test(error.message));
    });

    it('after confirmation: rejects when the confirmation does not come in time', async () => {
      const sending = confirmingSender(() => undefined, 'confirm', 5_000).send([{ payload: 1 }]);
      const outcome = assert.rejects(sending, (error: UnconfirmedError) => error.code === 'unconfirmed');
      await clock.tickAsync(5_000);
      await outcome;
    });

    it('cancel settles the open receipts, so a closing source does not wait for the timeout', async () => {
      const sender = confirmingSender(() => undefined, 'confirm', 60_000);
      const sending = sender.send([{ payload: 1 }]);
      sender.cancel();
      await assert.rejects(sending, (error: UnconfirmedError) => error.code === 'unreachable');
    });
  });

  it('reads the editor settings with safe defaults', () => {
    assert.deepEqual(checkpointSettings({}), { checkpointAfter: 'emit', confirmTimeoutMs: 30_000 });
    assert.deepEqual(checkpointSettings({ checkpointAfter: 'confirm', confirmTimeout: '5' }), { checkpointAfter: 'confirm', confirmTimeoutMs: 5_000 });
    assert.deepEqual(checkpointSettings({ checkpointAfter: 'later', confirmTimeout: -1 }), { checkpointAfter: 'emit', confirmTimeoutMs: 30_000 });
  });
});
