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
}

const MAX_BACKOFF_MS = 5 * 60_000;
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
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let again = false;
    let failures = 0;
    let sent = 0;
    let lastError: string | undefined;

    const show = (state: 'polling' | 'idle'): void => {
      const parts = [state === 'polling' ? 'polling' : `sent ${sent}`];
      if (state === 'polling' && sent) parts.push(`sent ${sent}`);
      if (lastError) parts.push(`last error: ${lastError}`);
      this.status({ fill: lastError ? 'red' : state === 'polling' ? 'blue' : 'green', shape: lastError ? 'ring' : 'dot', text: parts.join(' · ') });
    };

    const emit = (resources: FhirResource[], included: FhirResource[]): void => {
      const extra = included.length ? { included } : {};
      if (def.output === 'page') {
        this.send({ payload: resources, topic: def.resourceType, ...extra } as NodeMessage);
      } else {
        // The request log and receipts follow a message by its resource id.
        for (const resource of resources) {
          this.send({ payload: resource, topic: `${resource.resourceType}/${resource.id}`, correlationId: resource.id, ...(included.length ? { included: includedFor(resource, included) } : {}) } as NodeMessage);
        }
      }
      sent += resources.length;
    };

    const pollOnce = () =>
      pollSearch(server.api(), {
        resourceType: def.resourceType,
        params,
        startAt: def.startAt === 'now' ? 'now' : 'beginning',
        overlapSeconds: def.overlap === undefined || def.overlap === '' ? undefined : Number(def.overlap),
        pageSize: Number(def.pageSize) || undefined,
        signal: controller.signal,
      }, {
        load: () => checkpoints.load<SearchCheckpoint>(key),
        save: (value) => checkpoints.save(key, value),
      }, emit);

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
      show('polling');
      running = pollOnce()
        .then(() => {
          failures = 0;
          lastError = undefined;
        })
        .catch((error: { code?: string; message?: string }) => {
          if (controller.signal.aborted) return;
          failures += 1;
          lastError = error.code ?? 'error';
          this.warn(`FHIR poll failed: ${error.message ?? String(error)}`);
        })
        .finally(() => {
          running = undefined;
          if (controller.signal.aborted) return;
          show('idle');
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
    show('idle');
    schedule(0);
  }
  registerNodeType(RED, 'chis-fhir-search-source', FhirSearchSource);
}
