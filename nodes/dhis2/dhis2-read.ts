/**
 * chis-dhis2-read: reads DHIS2 when a message arrives (tracked entities of a program, events,
 * enrollments, data values or a metadata collection such as the org unit hierarchy), all pages
 * of it, and sends the message on with the items as one list. No checkpoint: every message
 * reads everything the settings select. For on-demand syncs, e.g. behind an OpenHIM channel.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { DEFAULT_MAX_READ_ITEMS, type SourceQuery, type SourceResource, readAll } from './api/source';
import type { Dhis2ConfigNode } from './dhis2-config';

interface ReadDef extends NodeDef {
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
  maxItems?: number | string;
}

const RESOURCES: SourceResource[] = ['trackedEntities', 'enrollments', 'events', 'dataValueSets', 'metadata'];

const positive = (value: unknown, fallback: number): number => Math.max(1, Math.floor(Number(value)) || fallback);

export default function register(RED: NodeAPI): void {
  function Dhis2Read(this: Node, def: ReadDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as Dhis2ConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no DHIS2 server configured' });
      return;
    }
    const resource: SourceResource = RESOURCES.includes(def.resource as SourceResource) ? (def.resource as SourceResource) : 'metadata';
    const query: Omit<SourceQuery, 'startAfter'> = {
      resource,
      program: def.program || undefined,
      programStage: def.programStage || undefined,
      trackedEntityType: def.trackedEntityType || undefined,
      orgUnit: def.orgUnit || undefined,
      ouMode: def.ouMode || undefined,
      dataSet: def.dataSet || undefined,
      metadataType: def.metadataType || undefined,
      pageSize: positive(def.pageSize, 100),
    };
    const maxItems = positive(def.maxItems, DEFAULT_MAX_READ_ITEMS);
    const topic = resource === 'metadata' ? `dhis2/${query.metadataType ?? 'metadata'}` : `dhis2/${resource}`;
    const status = new ActivityStatus(this, 'read');

    handleInput<NodeMessage>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        msg.payload = await readAll(server.api(), query, { signal, maxItems });
        msg.topic = topic;
        status.succeed((msg.payload as unknown[]).length);
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-dhis2-read', Dhis2Read);
}
