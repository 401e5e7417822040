/**
 * chis-cht-changes-source: follows the medic database's `_changes` feed from a durable `since`
 * checkpoint and emits one message per kept document (filtered by type and form, optionally
 * with its contact and parent lineage hydrated). The checkpoint moves past a change only after it
 * was sent, so a restart or a dropped connection neither skips nor repeats a change.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { registerNodeType } from '../core/node-kit';
import { checkpointSettings, confirmingSender } from '../core/poller';
import { type EmittedChange, type FollowerState, followChanges } from './api/changes';
import type { Seq } from './api/types';
import type { ChtConfigNode } from './cht-config';

interface ChangesSourceDef extends NodeDef {
  server: string;
  types?: string | string[];
  forms?: string | string[];
  hydrate?: boolean;
  ignoreOwnWrites?: boolean;
  startAt?: 'beginning' | 'now';
  batchSize?: number | string;
  checkpointAfter?: 'emit' | 'confirm';
  /** Seconds to wait for a change to be confirmed (checkpointAfter 'confirm'). */
  confirmTimeout?: number | string;
}

export function splitList(value: string | string[] | undefined): string[] {
  const items = Array.isArray(value) ? value : String(value ?? '').split(',');
  return items.map((item) => String(item).trim()).filter(Boolean);
}

const shortSeq = (seq: Seq): string => String(seq).split('-')[0];

export default function register(RED: NodeAPI): void {
  function ChangesSource(this: Node, def: ChangesSourceDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as ChtConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no CHT server configured' });
      return;
    }
    const filter = { types: splitList(def.types), forms: splitList(def.forms), ignoreOwnWrites: def.ignoreOwnWrites !== false };
    const checkpoints = CheckpointStore.inUserDir(RED.settings.userDir as string | undefined);
    // The filters are part of the key: changing them starts a new position rather than reusing one.
    const key = `cht-changes-${this.id}-${filter.types.join('+')}-${filter.forms.join('+')}`;
    const controller = new AbortController();
    let sent = 0;
    let skipped = 0;

    const show = (state: FollowerState): void => {
      if (state.kind === 'following') {
        const parts = [`following · seq ${shortSeq(state.seq)}`];
        if (sent) parts.push(`sent ${sent}`);
        if (skipped) parts.push(`skipped ${skipped}`);
        this.status({ fill: 'green', shape: 'dot', text: parts.join(' · ') });
        return;
      }
      const code = (state.error as { code?: string } | undefined)?.code ?? 'error';
      this.status({ fill: 'yellow', shape: 'ring', text: `reconnecting in ${Math.ceil(state.delayMs / 1000)}s (${code}, ${state.failures} failed)` });
      if (state.failures === 1 || state.failures % 10 === 0) this.warn(`CHT changes feed: ${(state.error as Error)?.message ?? String(state.error)}`);
    };

    const { checkpointAfter, confirmTimeoutMs } = checkpointSettings(def);
    // After confirmation, `since` moves past a change only once the flow accepted it; a refusal
    // makes the feed reconnect (with backoff) from the last confirmed change.
    const sender = confirmingSender((msg) => this.send(msg), checkpointAfter, confirmTimeoutMs);
    const emit = async (change: EmittedChange): Promise<void> => {
      await sender.send([{ payload: change.doc, topic: change.topic, seq: change.seq, correlationId: change.doc._id } as NodeMessage]);
      sent += 1;
    };

    const running = followChanges({
      client: {
        changes: (request) => server.api().changes(request),
        currentSeq: (options) => server.api().currentSeq(options),
        getDocs: (ids, options) => server.api().getDocs(ids, options),
      },
      checkpoint: { load: () => checkpoints.load<Seq>(key), save: (seq) => checkpoints.save(key, seq) },
      startAt: def.startAt === 'now' ? 'now' : 'beginning',
      filter,
      hydrate: def.hydrate !== false,
      batchSize: Math.max(1, Math.min(1000, Number(def.batchSize) || 100)),
      emit,
      onState: show,
      onSkipped: (count) => { skipped += count; },
      signal: controller.signal,
    }).catch((error: Error) => this.error(`CHT changes feed stopped: ${error.message}`));

    this.on('close', (_removed: boolean, done: () => void) => {
      controller.abort(new Error('node closed'));
      sender.cancel();
      void running.finally(() => done());
    });
    this.status({ fill: 'grey', shape: 'ring', text: 'connecting' });
  }
  registerNodeType(RED, 'chis-cht-changes-source', ChangesSource);
}
