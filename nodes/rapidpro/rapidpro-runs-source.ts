/**
 * chis-rapidpro-runs-source: polls RapidPro for flow runs that completed since a durable
 * checkpoint (optionally of one flow), following `next` pages, and emits each completed run with
 * its values. The checkpoint moves after each page is sent, so a restart neither skips nor
 * re-sends. Any input message polls at once.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { registerNodeType } from '../core/node-kit';
import { type RunCheckpoint, pollRuns } from './api/runs';
import type { Run } from './api/types';
import type { RapidproConfigNode } from './rapidpro-config';

interface RunsSourceDef extends NodeDef {
  server: string;
  flow?: string;
  startAt?: 'beginning' | 'now';
  interval?: number | string;
}

const MAX_BACKOFF_MS = 5 * 60_000;

export default function register(RED: NodeAPI): void {
  function RunsSource(this: Node, def: RunsSourceDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as RapidproConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no RapidPro server configured' });
      return;
    }
    const flow = def.flow?.trim() || undefined;
    const intervalMs = Math.max(1, Number(def.interval) || 300) * 1000;
    const checkpoints = CheckpointStore.inUserDir(RED.settings.userDir as string | undefined);
    // The flow is part of the key: choosing another flow starts a new position.
    const key = `rapidpro-runs-source-${this.id}-${flow ?? 'all'}`;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let again = false;
    let failures = 0;
    let sent = 0;
    let lastError: string | undefined;

    const show = (polling: boolean): void => {
      const parts = [polling ? 'polling' : `sent ${sent}`];
      if (polling && sent) parts.push(`sent ${sent}`);
      if (lastError) parts.push(`last error: ${lastError}`);
      this.status({ fill: lastError ? 'red' : polling ? 'blue' : 'green', shape: lastError ? 'ring' : 'dot', text: parts.join(' · ') });
    };

    const emit = (runs: Run[]): void => {
      for (const run of runs) this.send({ payload: run, topic: run.flow?.uuid ?? 'rapidpro/runs', correlationId: run.uuid } as NodeMessage);
      sent += runs.length;
    };

    const schedule = (delayMs: number): void => {
      clearTimeout(timer);
      if (!controller.signal.aborted) timer = setTimeout(() => void poll(), delayMs);
    };

    const poll = (): Promise<void> => {
      // One poll at a time per checkpoint; a request during a poll runs right after it.
      if (running) {
        again = true;
        return running;
      }
      clearTimeout(timer);
      show(true);
      running = pollRuns(
        {
          client: server.api(),
          store: { load: () => checkpoints.load<RunCheckpoint>(key), save: (value) => checkpoints.save(key, value) },
          emit,
          signal: controller.signal,
        },
        { flow, startAt: def.startAt === 'now' ? 'now' : 'beginning' },
      )
        .then(() => {
          failures = 0;
          lastError = undefined;
        })
        .catch((error: { code?: string; message?: string }) => {
          if (controller.signal.aborted) return;
          failures += 1;
          lastError = error.code ?? 'error';
          this.warn(`RapidPro runs poll failed: ${error.message ?? String(error)}`);
        })
        .finally(() => {
          running = undefined;
          if (controller.signal.aborted) return;
          show(false);
          if (again) {
            again = false;
            schedule(0);
          } else {
            schedule(failures ? Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** failures) : intervalMs);
          }
        });
      return running;
    };

    this.on('input', (_msg: NodeMessage, _send: unknown, done: () => void) => {
      void poll();
      done();
    });
    this.on('close', (_removed: boolean, done: () => void) => {
      controller.abort(new Error('node closed'));
      clearTimeout(timer);
      void Promise.resolve(running).finally(() => done());
    });
    show(false);
    schedule(0);
  }
  registerNodeType(RED, 'chis-rapidpro-runs-source', RunsSource);
}
