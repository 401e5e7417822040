/**
 * chis-openmrs-source: polls OpenMRS for changed patients (atom feed, FHIR _lastUpdated, or a
 * saved search) and emits each one (or each page as an array) with a durable checkpoint, so a
 * restart neither re-sends nor skips. Any input message triggers a poll at once.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { badInput } from '../core/errors';
import { registerNodeType } from '../core/node-kit';
import { checkpointSettings, runPollingSource } from '../core/poller';
import type { FeedPosition } from './api/atom-feed';
import { type FhirPosition, type PollContext, type SearchPosition, pollAtomFeed, pollFhirLastUpdated, pollSavedSearch } from './api/patient-changes';
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
  checkpointAfter?: 'emit' | 'confirm';
  /** Seconds to wait for every message of a page to be confirmed (checkpointAfter 'confirm'). */
  confirmTimeout?: number | string;
}

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

    runPollingSource(this, {
      label: 'OpenMRS',
      intervalMs,
      ...checkpointSettings(def),
      poll: ({ send, signal }) => {
        const emit = (patients: Patient[]): Promise<void> =>
          def.output === 'batch'
            ? send([{ payload: patients, topic: 'openmrs/patients' } as NodeMessage], patients.length)
            : send(patients.map((patient) => ({ payload: patient, topic: patient.uuid, correlationId: patient.uuid }) as NodeMessage));
        const contextFor = <T>(): PollContext<T> => ({
          client: server.api(),
          store: { load: () => checkpoints.load<T>(key), save: (value: T) => checkpoints.save(key, value) },
          emit,
          ignoreUser: def.ignoreOwnChanges ? server.username() : undefined,
          signal,
        });
        if (mode === 'fhir') return pollFhirLastUpdated(contextFor<FhirPosition>(), { startAt });
        if (mode === 'search') {
          const query = parseSearchQuery(def.searchQuery);
          if (!def.report && !query) throw badInput('saved search mode needs a report uuid or a patient search', 'report');
          return pollSavedSearch(contextFor<SearchPosition>(), { report: def.report || undefined, query, uuidColumn: def.uuidColumn || undefined });
        }
        return pollAtomFeed(contextFor<FeedPosition>(), { startAt });
      },
    });
  }
  registerNodeType(RED, 'chis-openmrs-source', OpenmrsSource);
}
