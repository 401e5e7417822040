/**
 * chis-dhis2-source: polls DHIS2 for changed tracked entities, enrollments, events, data values
 * or metadata and emits each item (or each page) with a durable checkpoint, so a restart neither
 * skips nor re-reads a whole history. Any input message polls at once.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { registerNodeType } from '../core/node-kit';
import { type SourcePosition, type SourceQuery, type SourceResource, pollChanges } from './api/source';
import type { Json } from './api/types';
import type { Dhis2ConfigNode } from './dhis2-config';

interface SourceDef extends NodeDef {
  server: string;
  resource?: SourceResource;
  program?: string;
  programStage?: string;
  trackedEntityType?: string;
  orgUnit?: string;
  ouMode?: string;
  dataSet?: string;
  metadataType?: string;
  pageSize?: number | string;
  startAfter?: string;
  interval?: number | string;
  output?: 'single' | 'page';
}

const RESOURCES: SourceResource[] = ['trackedEntities', 'enrollments', 'events', 'dataValueSets', 'metadata'];
const MAX_BACKOFF_MS = 5 * 60_000;
/** The field naming an item, per resource, for msg.topic. */
const ID_FIELDS: Record<SourceResource, string[]> = {
  trackedEntities: ['trackedEntity', 'trackedEntityInstance'],
  enrollments: ['enrollment'],
  events: ['event'],
  dataValueSets: [],
  metadata: ['id'],
};

export default function register(RED: NodeAPI): void {
  function Dhis2Source(this: Node, def: SourceDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as Dhis2ConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no DHIS2 server configured' });
      return;
    }
    const resource: SourceResource = RESOURCES.includes(def.resource as SourceResource) ? (def.resource as SourceResource) : 'events';
    const query: SourceQuery = {
      resource,
      program: def.program || undefined,
      programStage: def.programStage || undefined,
      trackedEntityType: def.trackedEntityType || undefined,
      orgUnit: def.orgUnit || undefined,
      ouMode: def.ouMode || undefined,
      dataSet: def.dataSet || undefined,
      metadataType: def.metadataType || undefined,
      pageSize: Math.max(1, Math.floor(Number(def.pageSize)) || 100),
      startAfter: def.startAfter || undefined,
    };
    const intervalMs = Math.max(1, Number(def.interval) || 300) * 1000;
    const checkpoints = CheckpointStore.inUserDir(RED.settings.userDir as string | undefined);
    const key = `dhis2-source-${this.id}-${resource}`;
    const topic = resource === 'metadata' ? `dhis2/${query.metadataType ?? 'metadata'}` : `dhis2/${resource}`;
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

    const emit = (items: Json[]): void => {
      if (def.output === 'page') {
        this.send({ topic, payload: items } as NodeMessage);
      } else {
        for (const item of items) {
          const id = ID_FIELDS[resource].map((field) => item[field]).find((value) => typeof value === 'string');
          this.send({ topic: typeof id === 'string' ? id : topic, payload: item, ...(typeof id === 'string' ? { correlationId: id } : {}) } as NodeMessage);
        }
      }
      sent += items.length;
    };

    const schedule = (delayMs: number): void => {
      clearTimeout(timer);
      if (!controller.signal.aborted) timer = setTimeout(() => void poll(), delayMs);
    };

    const poll = (): Promise<void> => {
      // A poll asked for while one runs follows it: never two at once on one checkpoint.
      if (running) {
        again = true;
        return running;
      }
      clearTimeout(timer);
      show(true);
      running = pollChanges(
        {
          client: server.api(),
          load: () => checkpoints.load<SourcePosition>(key),
          save: (position) => checkpoints.save(key, position),
          emit,
          signal: controller.signal,
        },
        query,
      )
        .then(() => {
          failures = 0;
          lastError = undefined;
        })
        .catch((error: { code?: string; message?: string }) => {
          if (controller.signal.aborted) return;
          failures += 1;
          lastError = error.code ?? 'error';
          this.warn(`DHIS2 poll failed: ${error.message ?? String(error)}`);
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
  registerNodeType(RED, 'chis-dhis2-source', Dhis2Source);
}
