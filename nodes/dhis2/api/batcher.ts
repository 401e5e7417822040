/**
 * Gathers items into batches: a batch leaves when it holds `maxSize` items or when its oldest
 * item has waited `maxWaitMs`. One batch runs at a time, so a later batch sees what an earlier
 * one stored. The runner answers each item: a value, an error, or "defer" (put it first in the
 * next batch, e.g. because it depends on another item of this batch).
 */

export type BatchAnswer<R> = { value: R } | { error: unknown } | { defer: true };

export interface BatcherOptions<T, R> {
  maxSize: number;
  maxWaitMs: number;
  run: (items: T[]) => Promise<Array<BatchAnswer<R>>>;
  /** Called whenever the number of waiting items changes (for a node's status). */
  onQueued?: (queued: number) => void;
}

interface Waiting<T, R> {
  item: T;
  since: number;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

/** Deferring the same item forever would hide a bug: after this many, it fails. */
const MAX_DEFERRALS = 5;

export class Batcher<T, R> {
  private queue: Array<Waiting<T, R> & { deferrals: number }> = [];
  private timer?: NodeJS.Timeout;
  private running = false;
  private closed = false;

  constructor(private readonly options: BatcherOptions<T, R>) {}

  get queued(): number {
    return this.queue.length;
  }

  submit(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new Error('batcher closed'));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, since: Date.now(), resolve, reject, deferrals: 0 });
      this.options.onQueued?.(this.queue.length);
      this.schedule();
    });
  }

  /** Fails every waiting item with `reason` and accepts no more. */
  close(reason: unknown): void {
    this.closed = true;
    clearTimeout(this.timer);
    const waiting = this.queue;
    this.queue = [];
    for (const entry of waiting) entry.reject(reason);
  }

  private schedule(): void {
    if (this.running || this.closed || this.queue.length === 0) return;
    clearTimeout(this.timer);
    const wait = this.options.maxWaitMs - (Date.now() - this.queue[0].since);
    if (this.queue.length >= this.options.maxSize || wait <= 0) {
      void this.flush();
      return;
    }
    this.timer = setTimeout(() => void this.flush(), wait);
  }

  private async flush(): Promise<void> {
    if (this.running || this.closed || this.queue.length === 0) return;
    clearTimeout(this.timer);
    this.running = true;
    const batch = this.queue.splice(0, Math.max(1, this.options.maxSize));
    this.options.onQueued?.(this.queue.length);
    let answers: Array<BatchAnswer<R>>;
    try {
      answers = await this.options.run(batch.map((entry) => entry.item));
    } catch (error) {
      answers = batch.map(() => ({ error }));
    }
    const deferred: typeof batch = [];
    batch.forEach((entry, index) => {
      const answer = answers[index] ?? { error: new Error('no answer for this item') };
      if ('defer' in answer && entry.deferrals < MAX_DEFERRALS && !this.closed) {
        entry.deferrals += 1;
        deferred.push(entry);
      } else if ('value' in answer) entry.resolve(answer.value);
      else entry.reject('error' in answer ? answer.error : new Error('deferred too many times'));
    });
    // Deferred items go first and count as old: they leave with the next batch at once.
    this.queue.unshift(...deferred.map((entry) => ({ ...entry, since: 0 })));
    this.running = false;
    this.options.onQueued?.(this.queue.length);
    this.schedule();
  }
}
