/**
 * Completed flow runs since a durable checkpoint. Runs are read oldest change first with
 * `after=<modified_on>` (inclusive), following `next` pages; the checkpoint keeps the last
 * modified_on and the runs already seen at that instant, and moves after every page, so a
 * restart neither skips nor re-sends. Runs still waiting are passed over: completing changes
 * their modified_on, so they come back in a later poll.
 */
import type { RapidproClient } from './client';
import type { Run } from './types';

export interface RunCheckpoint {
  after: string;
  /** Runs at exactly `after` already handled (`after` returns them again). */
  runUuids: string[];
}

export interface RunPollContext {
  client: RapidproClient;
  store: { load(): RunCheckpoint | undefined; save(value: RunCheckpoint): void };
  /** Hands one page's completed runs to the flow; the checkpoint moves past the page once it resolves. */
  emit(runs: Run[]): unknown;
  signal?: AbortSignal;
}

export interface RunPollOptions {
  flow?: string;
  /** Without a checkpoint: every run ('beginning') or only runs changed from now on. */
  startAt?: 'beginning' | 'now';
  now?: () => Date;
}

export interface RunPollResult {
  pages: number;
  emitted: number;
  passed: number;
}

export const isCompleted = (run: Run): boolean => run.exit_type === 'completed';

/** The checkpoint after a page: its last modified_on and the runs seen at that instant. */
export function advanceRunCheckpoint(previous: RunCheckpoint | undefined, runs: Run[]): RunCheckpoint | undefined {
  if (runs.length === 0) return previous;
  const last = runs[runs.length - 1].modified_on;
  const atLast = runs.filter((run) => run.modified_on === last).map((run) => run.uuid);
  const carried = previous && previous.after === last ? previous.runUuids : [];
  return { after: last, runUuids: [...new Set([...carried, ...atLast])] };
}

export async function pollRuns(context: RunPollContext, options: RunPollOptions = {}): Promise<RunPollResult> {
  let checkpoint = context.store.load();
  if (!checkpoint && options.startAt === 'now') {
    // The server's newest run rather than this machine's clock: the two clocks may differ.
    const latest = await context.client.latestRun({ flow: options.flow }, { signal: context.signal });
    context.store.save(latest ? { after: latest.modified_on, runUuids: [latest.uuid] } : { after: (options.now?.() ?? new Date()).toISOString(), runUuids: [] });
    return { pages: 0, emitted: 0, passed: 0 };
  }
  const result: RunPollResult = { pages: 0, emitted: 0, passed: 0 };
  for await (const runs of context.client.runPages({ flow: options.flow, after: checkpoint?.after }, { signal: context.signal })) {
    result.pages += 1;
    const seen = checkpoint;
    const fresh = runs.filter((run) => !(seen && run.modified_on === seen.after && seen.runUuids.includes(run.uuid)));
    const completed = fresh.filter(isCompleted);
    result.passed += fresh.length - completed.length;
    if (completed.length) await context.emit(completed);
    result.emitted += completed.length;
    const advanced = advanceRunCheckpoint(checkpoint, runs);
    if (advanced && advanced !== checkpoint) {
      checkpoint = advanced;
      context.store.save(checkpoint);
    }
    if (context.signal?.aborted) break;
  }
  return result;
}
