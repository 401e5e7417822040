/**
 * A circuit breaker for one remote system: after `threshold` consecutive retryable failures it
 * opens and nothing is sent for `cooldownMs`; then one probe goes out (half-open), and its
 * outcome closes the circuit again or re-opens it for another cooldown. This spares a server
 * that is down (and the sender's retry budget) from a queue of 100,000 messages hammering it.
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive retryable failures that open the circuit. */
  threshold: number;
  /** How long the circuit stays open before a probe. */
  cooldownMs: number;
  now?: () => number;
}

export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? (() => Date.now());
  }

  /** The state, moving from open to half-open once the cooldown has passed. */
  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.cooldownMs) this.current = 'half-open';
    return this.current;
  }

  /** Milliseconds until the next probe may go out (0 unless open). */
  retryInMs(): number {
    return this.state === 'open' ? Math.max(0, this.openedAt + this.options.cooldownMs - this.now()) : 0;
  }

  /**
   * How many of `wanted` sends may start now: all of them when closed, one probe when
   * half-open and no probe is out yet, none otherwise. A granted probe must be followed by
   * recordSuccess, recordFailure or cancelProbe.
   */
  permits(wanted: number): number {
    if (wanted <= 0) return 0;
    const state = this.state;
    if (state === 'closed') return wanted;
    if (state === 'half-open' && !this.probing) {
      this.probing = true;
      return 1;
    }
    return 0;
  }

  /** A probe was granted but nothing was sent (the queue was empty). */
  cancelProbe(): void {
    this.probing = false;
  }

  /** The system answered: a success, or an error that is not its fault (bad input, validation). */
  recordSuccess(): void {
    this.current = 'closed';
    this.failures = 0;
    this.probing = false;
  }

  /** A retryable failure (timeout, unreachable, 5xx, 429). */
  recordFailure(): void {
    const state = this.state;
    this.probing = false;
    if (state === 'half-open') {
      this.open();
      return;
    }
    if (state === 'open') return;
    this.failures += 1;
    if (this.failures >= this.options.threshold) this.open();
  }

  private open(): void {
    this.current = 'open';
    this.openedAt = this.now();
    this.failures = 0;
  }
}
