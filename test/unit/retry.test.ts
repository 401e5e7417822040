import assert from 'node:assert/strict';
import FakeTimers, { type Clock } from '@sinonjs/fake-timers';
import { IntegrationError, isIntegrationError } from '../../nodes/core/errors';
import { DEFAULT_RETRY, type RetryPolicy, backoffDelay, parseRetryAfter, withRetry } from '../../nodes/core/retry';

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 10_000, jitter: 0 };
const transient = (retryAfterMs?: number, code: 'remote-error' | 'rate-limited' = 'remote-error'): IntegrationError =>
  new IntegrationError('temporarily unavailable', { code, status: code === 'rate-limited' ? 429 : 503, retryAfterMs });

describe('retry', () => {
  describe('backoffDelay', () => {
    const middle = (): number => 0.5;

    it('grows exponentially from the base delay and stops at the cap', () => {
      assert.deepEqual([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, policy, middle)), [100, 200, 400, 800, 1_000, 1_000]);
    });

    it('keeps jitter within +/- the jitter fraction and under the cap', () => {
      const jittered = { ...policy, jitter: 0.2 };
      assert.equal(backoffDelay(3, jittered, () => 0), 320);
      assert.equal(backoffDelay(3, jittered, () => 0.999999), 480);
      for (let i = 0; i < 200; i += 1) {
        const delay = backoffDelay(3, jittered);
        assert.ok(delay >= 320 && delay <= 480, String(delay));
      }
      assert.equal(backoffDelay(10, jittered, () => 0.999999), 1_000);
    });

    it('has sensible defaults', () => {
      assert.deepEqual(DEFAULT_RETRY, { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 30_000, maxRetryAfterMs: 120_000, jitter: 0.2 });
    });
  });

  describe('parseRetryAfter', () => {
    const now = Date.UTC(2024, 0, 1, 12, 0, 0);

    it('reads delay-seconds', () => {
      assert.equal(parseRetryAfter('120', now), 120_000);
      assert.equal(parseRetryAfter(' 0 ', now), 0);
      assert.equal(parseRetryAfter('1.5', now), 1_500);
    });

    it('reads an HTTP-date relative to now, never negative', () => {
      assert.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30_000);
      assert.equal(parseRetryAfter(new Date(now - 30_000).toUTCString(), now), 0);
    });

    it('ignores missing and unusable values', () => {
      for (const value of [undefined, '', 'soon', '-5']) assert.equal(parseRetryAfter(value, now), undefined, String(value));
    });
  });

  describe('withRetry', () => {
    let clock: Clock;
    beforeEach(() => {
      clock = FakeTimers.install({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    });
    afterEach(() => clock.uninstall());

    /** Runs fn under withRetry, recording at which fake time each attempt started. */
    function attemptsAt(failures: unknown[], options: Partial<Parameters<typeof withRetry>[1]> = {}) {
      const times: number[] = [];
      const result = withRetry(
        async (attempt) => {
          times.push(Date.now());
          if (attempt <= failures.length) throw failures[attempt - 1];
          return 'done';
        },
        { policy, shouldRetry: () => true, ...options },
      );
      result.catch(() => undefined);
      return { times, result };
    }

    it('waits the exponential backoff between attempts', async () => {
      const delays: number[] = [];
      const { times, result } = attemptsAt([transient(), transient(), transient()], { onRetry: (_error, _attempt, delayMs) => delays.push(delayMs) });
      await clock.tickAsync(5_000);
      assert.equal(await result, 'done');
      assert.deepEqual(times, [0, 100, 300, 700]);
      assert.deepEqual(delays, [100, 200, 400]);
    });

    it('gives up after maxAttempts with the last error', async () => {
      const errors = [1, 2, 3, 4, 5].map((n) => new Error(`failure ${n}`));
      const { times, result } = attemptsAt(errors);
      await clock.tickAsync(10_000);
      await assert.rejects(result, /failure 5/);
      assert.equal(times.length, 5);
    });

    it('does not retry what shouldRetry rejects', async () => {
      const { times, result } = attemptsAt([new Error('permanent')], { shouldRetry: () => false });
      await clock.tickAsync(1_000);
      await assert.rejects(result, /permanent/);
      assert.equal(times.length, 1);
    });

    it('waits exactly the Retry-After a server asks for, seconds or date', async () => {
      const seconds = attemptsAt([transient(parseRetryAfter('5', Date.now()), 'rate-limited')]);
      await clock.tickAsync(4_999);
      assert.equal(seconds.times.length, 1);
      await clock.tickAsync(1);
      assert.equal(await seconds.result, 'done');
      assert.deepEqual(seconds.times, [0, 5_000]);

      const start = Date.now();
      const date = attemptsAt([transient(parseRetryAfter(new Date(start + 7_000).toUTCString(), start))]);
      await clock.tickAsync(7_000);
      assert.equal(await date.result, 'done');
      assert.deepEqual(date.times, [start, start + 7_000]);
    });

    it('fails fast as rate-limited when Retry-After exceeds the cap', async () => {
      for (const code of ['rate-limited', 'remote-error'] as const) {
        const { times, result } = attemptsAt([transient(60_000, code)]);
        const error = await result.then(
          () => assert.fail('should reject'),
          (failure: unknown) => failure,
        );
        assert.ok(isIntegrationError(error));
        assert.equal(error.code, 'rate-limited');
        assert.equal(error.retryAfterMs, 60_000);
        assert.equal(error.retryable, true);
        assert.equal(times.length, 1);
        assert.equal(clock.countTimers(), 0, 'nothing was scheduled');
      }
    });

    it('stops waiting when the signal aborts', async () => {
      const controller = new AbortController();
      const { times, result } = attemptsAt([transient()], { signal: controller.signal });
      await clock.tickAsync(50);
      const reason = new Error('node closed');
      controller.abort(reason);
      await assert.rejects(result, (error) => error === reason);
      assert.equal(times.length, 1);
      assert.equal(clock.countTimers(), 0);
    });

    it('lets delayFor override the wait', async () => {
      const { times, result } = attemptsAt([transient(), transient()], { delayFor: (_error, attempt) => attempt * 1_000 });
      await clock.tickAsync(3_000);
      await result;
      assert.deepEqual(times, [0, 1_000, 3_000]);
    });
  });
});
