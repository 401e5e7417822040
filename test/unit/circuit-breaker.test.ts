import assert from 'node:assert/strict';
import FakeTimers, { type Clock } from '@sinonjs/fake-timers';
import { CircuitBreaker } from '../../nodes/core/circuit-breaker';

describe('circuit breaker', () => {
  let clock: Clock & { uninstall(): void };
  beforeEach(() => {
    clock = FakeTimers.install({ now: 1_000_000, toFake: ['Date'] }) as Clock & { uninstall(): void };
  });
  afterEach(() => clock.uninstall());

  it('stays closed below the threshold and lets every send through', () => {
    const breaker = new CircuitBreaker({ threshold: 3, cooldownMs: 30_000 });
    breaker.recordFailure();
    breaker.recordFailure();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.permits(8), 8);
  });

  it('counts only consecutive failures: a success in between starts again', () => {
    const breaker = new CircuitBreaker({ threshold: 3, cooldownMs: 30_000 });
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    assert.equal(breaker.state, 'closed');
  });

  it('opens after N consecutive failures and sends nothing during the cooldown', () => {
    const breaker = new CircuitBreaker({ threshold: 3, cooldownMs: 30_000 });
    for (let i = 0; i < 3; i += 1) breaker.recordFailure();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.permits(4), 0);
    assert.equal(breaker.retryInMs(), 30_000);
    clock.tick(29_999);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.retryInMs(), 1);
    assert.equal(breaker.permits(4), 0);
  });

  it('lets exactly one probe through after the cooldown, and closes when it succeeds', () => {
    const breaker = new CircuitBreaker({ threshold: 2, cooldownMs: 10_000 });
    breaker.recordFailure();
    breaker.recordFailure();
    clock.tick(10_000);
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.permits(5), 1, 'one probe');
    assert.equal(breaker.permits(5), 0, 'no second probe while the first is out');
    breaker.recordSuccess();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.permits(5), 5);
  });

  it('re-opens for another full cooldown when the probe fails', () => {
    const breaker = new CircuitBreaker({ threshold: 1, cooldownMs: 10_000 });
    breaker.recordFailure();
    clock.tick(10_000);
    assert.equal(breaker.permits(1), 1);
    clock.tick(2_000);
    breaker.recordFailure();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.retryInMs(), 10_000);
    clock.tick(10_000);
    assert.equal(breaker.state, 'half-open');
  });

  it('gives the probe back when there was nothing to send', () => {
    const breaker = new CircuitBreaker({ threshold: 1, cooldownMs: 1_000 });
    breaker.recordFailure();
    clock.tick(1_000);
    assert.equal(breaker.permits(3), 1);
    breaker.cancelProbe();
    assert.equal(breaker.permits(3), 1, 'the next look may probe');
  });

  it('ignores late failures of sends started before it opened', () => {
    const breaker = new CircuitBreaker({ threshold: 2, cooldownMs: 10_000 });
    breaker.recordFailure();
    breaker.recordFailure();
    clock.tick(5_000);
    breaker.recordFailure();
    assert.equal(breaker.retryInMs(), 5_000, 'the cooldown is not extended');
  });
});
