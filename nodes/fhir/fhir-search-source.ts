/**
 * chis-fhir-search-source: polls a FHIR search for resources changed since the last poll
 * (`_lastUpdated`), follows the Bundle's pages, and emits each new resource version once (or
 * each page as an array), with a durable checkpoint so a restart neither re-sends nor skips.
 * Resources brought by `_include` ride along in msg.included. Any input message polls at once.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { badInput } from '../core/errors';
import { registerNodeType } from '../core/node-kit';
import { checkpointSettings, runPollingSource } from '../core/poller';
import { type FhirResource, assertType, parseQuery } from './api/client';
import { type SearchCheckpoint, includedFor, pollSearch } from './api/search-poll';
import type { FhirConfigNode } from './fhir-config';

interface SourceDef extends NodeDef {
  server: string;
  resourceType: string;
  /** Extra search parameters, e.g. "status=requested&owner=Practitioner/123". */
  params?: string;
  startAt?: 'beginning' | 'now';
  interval?: number | string;
  pageSize?: number | string;
  overlap?: number | string;
  output?: 'single' | 'page';
  checkpointAfter?: 'emit' | 'confirm';
  /** Seconds to wait for every message of a page to be confirmed (checkpointAfter 'confirm'). */
  confirmTimeout?: number | string;
}

/** Parameters the source sets itself. */
const RESERVED = ['_lastUpdated', '_sort', '_count'];

export default function register(RED: NodeAPI): void {
  function FhirSearchSource(this: Node, def: SourceDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as FhirConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no FHIR server configured' });
      return;
    }
    const params = parseQuery(def.params);
    try {
      assertType(def.resourceType);
      const reserved = RESERVED.find((name) => name in params);
      if (reserved) throw badInput(`${reserved} is set by the source itself: remove it from the search parameters`, 'params');
    } catch (error) {
      this.status({ fill: 'red', shape: 'ring', text: (error as Error).message });
      this.error((error as Error).message);
      return;
    }
    const intervalMs = Math.max(1, Number(def.interval) || 60) * 1000;
    const checkpoints = CheckpointStore.inUserDir(RED.settings.userDir as string | undefined);
    const key = `fhir-search-source-${this.id}`;
    runPollingSource(this, {
      label: 'FHIR',
      intervalMs,
      ...checkpointSettings(def),
      poll: ({ send, signal }) => {
        const emit = (resources: FhirResource[], included: FhirResource[]): Promise<void> => {
          if (def.output === 'page') return send([{ payload: resources, topic: def.resourceType, ...(included.length ? { included } : {}) } as NodeMessage], resources.length);
          // The request log and receipts follow a message by its resource id.
          return send(resources.map((resource) => ({ payload: resource, topic: `${resource.resourceType}/${resource.id}`, correlationId: resource.id, ...(included.length ? { included: includedFor(resource, included) } : {}) }) as NodeMessage));
        };
        return pollSearch(server.api(), {
          resourceType: def.resourceType,
          params,
          startAt: def.startAt === 'now' ? 'now' : 'beginning',
          overlapSeconds: def.overlap === undefined || def.overlap === '' ? undefined : Number(def.overlap),
          pageSize: Number(def.pageSize) || undefined,
          signal,
        }, {
          load: () => checkpoints.load<SearchCheckpoint>(key),
          save: (value) => checkpoints.save(key, value),
        }, emit);
      },
    });
  }
  registerNodeType(RED, 'chis-fhir-search-source', FhirSearchSource);
}
