/**
 * chis-dhis2-read: reads DHIS2 when a message arrives (tracked entities of a program, events,
 * enrollments, data values or a metadata collection such as the org unit hierarchy), all pages
 * of it, and sends the message on with the items as one list. No checkpoint: every message
 * reads everything the settings select. For on-demand syncs, e.g. behind an OpenHIM channel.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { typedSetting } from '../core/typed-value';
import { DEFAULT_MAX_READ_ITEMS, type SourceQuery, type SourceResource, readAll } from './api/source';
import type { Dhis2ConfigNode } from './dhis2-config';

interface ReadDef extends NodeDef {
  server: string;
  resource?: SourceResource;
  program?: string;
  programType?: string;
  programStage?: string;
  trackedEntityType?: string;
  orgUnit?: string;
  orgUnitType?: string;
  ouMode?: string;
  dataSet?: string;
  dataSetType?: string;
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
    // Settings an implementer may take from the message (org unit of the request, ...).
    const perMessage = {
      program: typedSetting(RED, this, 'program', def.program, def.programType),
      orgUnit: typedSetting(RED, this, 'orgUnit', def.orgUnit, def.orgUnitType),
      dataSet: typedSetting(RED, this, 'dataSet', def.dataSet, def.dataSetType),
    };
    const fixedQuery: Omit<SourceQuery, 'startAfter' | 'program' | 'orgUnit' | 'dataSet'> = {
      resource,
      programStage: def.programStage || undefined,
      trackedEntityType: def.trackedEntityType || undefined,
      ouMode: def.ouMode || undefined,
      metadataType: def.metadataType || undefined,
      pageSize: positive(def.pageSize, 100),
    };
    const maxItems = positive(def.maxItems, DEFAULT_MAX_READ_ITEMS);
    const topic = resource === 'metadata' ? `dhis2/${fixedQuery.metadataType ?? 'metadata'}` : `dhis2/${resource}`;
    const status = new ActivityStatus(this, 'read');
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());

    handleInput<NodeMessage>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const query: Omit<SourceQuery, 'startAfter'> = {
          ...fixedQuery,
          program: await perMessage.program.text(msg),
          orgUnit: await perMessage.orgUnit.text(msg),
          dataSet: await perMessage.dataSet.text(msg),
        };
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        msg.payload = await readAll(client, query, { signal, maxItems });
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
