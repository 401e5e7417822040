/**
 * Gathers single messages into batches: a batch is sent when it holds `maxItems` or when the
 * first of its items has waited `maxWaitMs`. Batches run one after the other, so two batches
 * never race on the same record. Each caller gets back its own item's result.
 */

interface Entry<TIn, TOut> {
  item: TIn;
  signal?: AbortSignal;
  resolve(value: TOut): void;
  reject(error: unknown): void;
}

export interface BatchQueueOptions {
  maxItems: number;
  maxWaitMs: number;
  /** Called whenever the number of waiting items changes (for a node's "n queued"). */
  onPending?(pending: number): void;
}

export class BatchQueue<TIn, TOut> {
  private current: Array<Entry<TIn, TOut>> = [];
  private timer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private waiting = 0;
  private closed = false;

  /** `run` gets the items of one batch and answers one result per item, in order. */
  constructor(private readonly run: (items: TIn[]) => Promise<TOut[]>, private readonly options: BatchQueueOptions) {}

  /** Items accepted but not yet handed to `run`. */
  get pending(): number {
    return this.waiting;
  }

  add(item: TIn, signal?: AbortSignal): Promise<TOut> {
    if (this.closed) return Promise.reject(abortError('queue closed'));
    return new Promise<TOut>((resolve, reject) => {
      this.current.push({ item, signal, resolve, reject });
      this.setWaiting(this.waiting + 1);
      if (this.current.length >= Math.max(1, this.options.maxItems)) this.cut();
      else this.timer ??= setTimeout(() => this.cut(), Math.max(0, this.options.maxWaitMs));
    });
  }

  /** Rejects everything not yet sent (node close); a batch in flight finishes. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of this.current) entry.reject(abortError('node closed'));
    this.current = [];
    this.setWaiting(0);
  }

  private cut(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.current;
    this.current = [];
    if (batch.length === 0) return;
    this.chain = this.chain.then(() => this.send(batch));
  }

  private async send(batch: Array<Entry<TIn, TOut>>): Promise<void> {
    this.setWaiting(Math.max(0, this.waiting - batch.length));
    const live = batch.filter((entry) => {
      if (!this.closed && !entry.signal?.aborted) return true;
      entry.reject(this.closed ? abortError('node closed') : entry.signal?.reason ?? abortError('aborted'));
      return false;
    });
    if (live.length === 0) return;
    try {
      const results = await this.run(live.map((entry) => entry.item));
      live.forEach((entry, index) => entry.resolve(results[index]));
    } catch (error) {
      for (const entry of live) entry.reject(error);
    }
  }

  private setWaiting(count: number): void {
    if (count === this.waiting) return;
    this.waiting = count;
    this.options.onPending?.(count);
  }
}

function abortError(message: string): Error {
  const error = new Error(message);
  error.name = 'AbortError';
  return error;
}
