/**
 * chis-openmrs-source: polls OpenMRS for changed patients (atom feed, FHIR _lastUpdated, or a
 * saved search) and emits each one (or each page as an array) with a durable checkpoint, so a
 * restart neither re-sends nor skips. Any input message triggers a poll at once.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { badInput } from '../core/errors';
import { registerNodeType } from '../core/node-kit';
import type { FeedPosition } from './api/atom-feed';
import { type FhirPosition, type PollContext, type PollResult, type SearchPosition, pollAtomFeed, pollFhirLastUpdated, pollSavedSearch } from './api/patient-changes';
import type { Patient } from './api/types';
import type { OpenmrsConfigNode } from './openmrs-config';

export type SourceMode = 'feed' | 'fhir' | 'search';

interface SourceDef extends NodeDef {
  server: string;
  mode: SourceMode;
  startAt?: 'beginning' | 'now';
  /** reportingrest report / saved search uuid (search mode). */
  report?: string;
  /** A REST patient search instead of a report, e.g. "q=Otieno" (search mode). */
  searchQuery?: string;
  uuidColumn?: string;
  interval?: number | string;
  output?: 'single' | 'batch';
  ignoreOwnChanges?: boolean;
}

const MAX_BACKOFF_MS = 5 * 60_000;

export function parseSearchQuery(text: string | undefined): Record<string, string> | undefined {
  if (!text?.trim()) return undefined;
  return Object.fromEntries(new URLSearchParams(text.trim().replace(/^\?/, '')));
}

export default function register(RED: NodeAPI): void {
  function OpenmrsSource(this: Node, def: SourceDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as OpenmrsConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no OpenMRS server configured' });
      return;
    }
    const mode: SourceMode = def.mode === 'fhir' || def.mode === 'search' ? def.mode : 'feed';
    if (mode === 'fhir' && server.apiStyle === 'rest') {
      this.status({ fill: 'red', shape: 'ring', text: 'FHIR mode: set the server API to FHIR or both' });
      return;
    }
    const intervalMs = Math.max(1, Number(def.interval) || 60) * 1000;
    const startAt = def.startAt === 'now' ? 'now' : 'beginning';
    const checkpoints = CheckpointStore.inUserDir(RED.settings.userDir as string | undefined);
    const key = `openmrs-source-${this.id}-${mode}`;
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

    const emit = (patients: Patient[]): void => {
      if (def.output === 'batch') {
        this.send({ payload: patients, topic: 'openmrs/patients' } as NodeMessage);
      } else {
        for (const patient of patients) this.send({ payload: patient, topic: patient.uuid, correlationId: patient.uuid } as NodeMessage);
      }
      sent += patients.length;
    };

    const contextFor = <T>(): PollContext<T> => ({
      client: server.api(),
      store: { load: () => checkpoints.load<T>(key), save: (value: T) => checkpoints.save(key, value) },
      emit,
      ignoreUser: def.ignoreOwnChanges ? server.username() : undefined,
      signal: controller.signal,
    });

    const pollOnce = async (): Promise<PollResult> => {
      if (mode === 'fhir') return pollFhirLastUpdated(contextFor<FhirPosition>(), { startAt });
      if (mode === 'search') {
        const query = parseSearchQuery(def.searchQuery);
        if (!def.report && !query) throw badInput('saved search mode needs a report uuid or a patient search', 'report');
        return pollSavedSearch(contextFor<SearchPosition>(), { report: def.report || undefined, query, uuidColumn: def.uuidColumn || undefined });
      }
      return pollAtomFeed(contextFor<FeedPosition>(), { startAt });
    };

    const schedule = (delayMs: number): void => {
      clearTimeout(timer);
      if (!controller.signal.aborted) timer = setTimeout(() => void poll(), delayMs);
    };

    const poll = (): Promise<void> => {
      // A poll requested while one runs happens right after it: never two at once on one checkpoint.
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
        .catch((error: { code?: string; message?: string; name?: string }) => {
          if (controller.signal.aborted) return;
          failures += 1;
          lastError = error.code ?? 'error';
          this.warn(`OpenMRS poll failed: ${error.message ?? String(error)}`);
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
  registerNodeType(RED, 'chis-openmrs-source', OpenmrsSource);
}
