/**
 * chis-dhis2-source: polls DHIS2 for changed tracked entities, enrollments, events, data values
 * or metadata and emits each item (or each page) with a durable checkpoint, so a restart neither
 * skips nor re-reads a whole history. Any input message polls at once.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { registerNodeType } from '../core/node-kit';
import { checkpointSettings, runPollingSource } from '../core/poller';
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
  checkpointAfter?: 'emit' | 'confirm';
  /** Seconds to wait for every message of a page to be confirmed (checkpointAfter 'confirm'). */
  confirmTimeout?: number | string;
}

const RESOURCES: SourceResource[] = ['trackedEntities', 'enrollments', 'events', 'dataValueSets', 'metadata'];
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
    const emit = (send: (messages: NodeMessage[], count?: number) => Promise<void>, items: Json[]): Promise<void> => {
      if (def.output === 'page') return send([{ topic, payload: items } as NodeMessage], items.length);
      return send(items.map((item) => {
        const id = ID_FIELDS[resource].map((field) => item[field]).find((value) => typeof value === 'string');
        return { topic: typeof id === 'string' ? id : topic, payload: item, ...(typeof id === 'string' ? { correlationId: id } : {}) } as NodeMessage;
      }));
    };

    runPollingSource(this, {
      label: 'DHIS2',
      intervalMs,
      ...checkpointSettings(def),
      poll: ({ send, signal }) =>
        pollChanges(
          {
            client: server.api(),
            load: () => checkpoints.load<SourcePosition>(key),
            save: (position) => checkpoints.save(key, position),
            emit: (items) => emit(send, items),
            signal,
          },
          query,
        ),
    });
  }
  registerNodeType(RED, 'chis-dhis2-source', Dhis2Source);
}
