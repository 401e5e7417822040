/**
 * A FIFO semaphore: at most `max` tasks run at once, the rest wait in arrival order. Remote
 * systems (especially small OpenMRS and DHIS2 servers) fall over under unbounded parallelism,
 * and the queue length is what a node shows as "n queued".
 */
import { abortReason } from './errors';

export interface LimiterStats {
  active: number;
  queued: number;
}

interface Waiter {
  start: () => void;
  cancel: (reason: Error) => void;
}

export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly listeners = new Set<(stats: LimiterStats) => void>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${max}`);
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Calls the listener on every change of active/queued; returns the unsubscribe function. */
  onChange(listener: (stats: LimiterStats) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs `task` once a slot is free. Aborting the signal while the task waits removes it from
   * the queue and rejects; once started, the task itself must honour the signal.
   */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<T>((resolve, reject) => {
      const execute = (): void => {
        this.running += 1;
        this.notify();
        Promise.resolve()
          .then(task)
          .then(resolve, reject)
          .finally(() => {
            this.running -= 1;
            this.startNext();
          });
      };
      if (this.running < this.max) {
        execute();
        return;
      }
      const onAbort = (): void => waiter.cancel(abortReason(signal as AbortSignal));
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          execute();
        },
        cancel: (reason) => {
          const index = this.waiting.indexOf(waiter);
          if (index < 0) return;
          this.waiting.splice(index, 1);
          this.notify();
          reject(reason);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.notify();
    });
  }

  private startNext(): void {
    const next = this.running < this.max ? this.waiting.shift() : undefined;
    if (next) next.start();
    else this.notify();
  }

  private notify(): void {
    const stats = { active: this.running, queued: this.waiting.length };
    for (const listener of this.listeners) {
      try {
        listener(stats);
      } catch {
        // A failing status display must not break the requests it reports on.
      }
    }
  }
}
