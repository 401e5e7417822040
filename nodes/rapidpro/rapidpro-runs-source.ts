/**
 * chis-rapidpro-runs-source: polls RapidPro for flow runs that completed since a durable
 * checkpoint (optionally of one flow), following `next` pages, and emits each completed run with
 * its values. The checkpoint moves after each page is sent, so a restart neither skips nor
 * re-sends. Any input message polls at once.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { registerNodeType } from '../core/node-kit';
import { checkpointSettings, runPollingSource } from '../core/poller';
import { type RunCheckpoint, pollRuns } from './api/runs';
import type { Run } from './api/types';
import type { RapidproConfigNode } from './rapidpro-config';

interface RunsSourceDef extends NodeDef {
  server: string;
  flow?: string;
  startAt?: 'beginning' | 'now';
  interval?: number | string;
  checkpointAfter?: 'emit' | 'confirm';
  /** Seconds to wait for every message of a page to be confirmed (checkpointAfter 'confirm'). */
  confirmTimeout?: number | string;
}

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
    runPollingSource(this, {
      label: 'RapidPro runs',
      intervalMs,
      ...checkpointSettings(def),
      poll: ({ send, signal }) =>
        pollRuns(
          {
            client: server.api(),
            store: { load: () => checkpoints.load<RunCheckpoint>(key), save: (value) => checkpoints.save(key, value) },
            emit: (runs: Run[]) => send(runs.map((run) => ({ payload: run, topic: run.flow?.uuid ?? 'rapidpro/runs', correlationId: run.uuid }) as NodeMessage)),
            signal,
          },
          { flow, startAt: def.startAt === 'now' ? 'now' : 'beginning' },
        ),
    });
  }
  registerNodeType(RED, 'chis-rapidpro-runs-source', RunsSource);
}
