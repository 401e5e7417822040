/** Closed-loop load: `concurrency` workers each run one message after another until `count` are done. */
export interface LoadRun {
  elapsedMs: number;
  latenciesMs: number[];
  failures: number;
  firstError?: string;
}

export async function runLoad(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<LoadRun> {
  const latenciesMs: number[] = [];
  let next = 0;
  let failures = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const sent = performance.now();
      try {
        await task(index);
        latenciesMs.push(performance.now() - sent);
      } catch (error) {
        failures += 1;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { elapsedMs: performance.now() - started, latenciesMs, failures, firstError };
}

export const perSecond = (count: number, elapsedMs: number): number => (count * 1000) / elapsedMs;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` is true; returns the time it became true (performance.now()). */
export async function until(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 25): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return performance.now();
    if (performance.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
