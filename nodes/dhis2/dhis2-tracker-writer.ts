/**
 * chis-dhis2-tracker-writer: imports tracked entities, enrollments and events. Gathers messages
 * into batches (one import per batch), gives every object a UID before sending, finds existing
 * people by a unique attribute, and answers each message with its own success or error.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { IntegrationError, badInput } from '../core/errors';
import { type JournalEntry, recordInJournal } from '../core/journal';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { compileValidator } from '../core/schema';
import { typedSetting } from '../core/typed-value';
import { Batcher } from './api/batcher';
import type { AtomicMode } from './api/client';
import { registerDhis2Schemas, TRACKER_SCHEMA } from './api/schemas';
import { type TrackerOutcome, type TrackerResult, writeTrackerBatch } from './api/tracker';
import type { TrackerPayload } from './api/types';
import type { Dhis2ConfigNode } from './dhis2-config';

interface TrackerWriterDef extends NodeDef {
  server: string;
  atomicMode?: AtomicMode;
  uniqueAttribute?: string;
  batchSize?: number | string;
  batchWaitMs?: number | string;
  /** Where new objects' UIDs come from (e.g. msg.correlationId, the form id); empty: random. */
  uidKey?: string;
  uidKeyType?: string;
}

type WriterMsg = NodeMessage & { journal?: JournalEntry[] };

const positive = (value: unknown, fallback: number, min = 1): number => {
  const parsed = Math.floor(Number(value));
  return Number.isFinite(parsed) && parsed >= min ? parsed : fallback;
};

export default function register(RED: NodeAPI): void {
  registerDhis2Schemas();
  const validate = compileValidator<TrackerPayload>(TRACKER_SCHEMA);

  function Dhis2TrackerWriter(this: Node, def: TrackerWriterDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as Dhis2ConfigNode | null;
    const status = new ActivityStatus(this, 'imported');
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no DHIS2 server configured' });
      return;
    }
    const atomicMode: AtomicMode = def.atomicMode === 'ALL' ? 'ALL' : 'OBJECT';
    const uidKey = typedSetting(RED, this, 'uidKey', def.uidKey, def.uidKeyType);
    const uidKeys = new WeakMap<TrackerPayload, string>();
    const closing = new AbortController();
    const batcher = new Batcher<TrackerPayload, TrackerOutcome>({
      maxSize: positive(def.batchSize, 50),
      maxWaitMs: positive(def.batchWaitMs, 500, 0),
      run: async (payloads) => {
        const outcomes = await writeTrackerBatch(server.api(), payloads, {
          atomicMode,
          uniqueAttribute: def.uniqueAttribute || undefined,
          configId: server.id,
          signal: closing.signal,
          uidKeyOf: (payload) => uidKeys.get(payload),
        });
        return outcomes.map((outcome) => ('defer' in outcome ? { defer: true as const } : { value: outcome }));
      },
      onQueued: (queued) => status.setQueued(queued),
    });
    this.on('close', () => {
      closing.abort(new Error('node closed'));
      const error = new IntegrationError('node closed before the import', { code: 'unreachable', retryable: true, system: 'dhis2' });
      error.name = 'AbortError';
      batcher.close(error);
    });

    handleInput<WriterMsg>(this, async (msg, send) => {
      status.begin();
      try {
        const payload = validate(msg.payload);
        const key = await uidKey.text(msg);
        // The same key for every message would give them all the same UIDs: one event, rewritten.
        if (key && uidKey.fixed) throw badInput('UIDs from: a fixed text would give every message the same UIDs; use a message property such as msg.correlationId (the form id)', 'uidKey');
        if (key) uidKeys.set(payload, key);
        const outcome = await batcher.submit(payload);
        if ('defer' in outcome) throw new IntegrationError('dhis2: message could not be placed in a batch', { code: 'remote-error', system: 'dhis2' });
        // Written objects go into the journal even when the message fails: a rollback must see them.
        if (outcome.journal.length) recordInJournal(msg, ...outcome.journal);
        if ('error' in outcome) throw outcome.error;
        msg.payload = outcome.result satisfies TrackerResult;
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-dhis2-tracker-writer', Dhis2TrackerWriter);
}
