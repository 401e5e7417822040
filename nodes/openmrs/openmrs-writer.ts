/**
 * chis-openmrs-writer: creates or updates a patient or a provider (with its person), creates an
 * encounter with its obs, or creates obs alone. Validates its input contract, looks up before it creates (a retried message
 * writes nothing twice) and appends what it wrote to msg.journal for a rollback node.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { typedSetting } from '../core/typed-value';
import { compileValidator } from '../core/schema';
import type { OpenmrsClient } from './api/client';
import { ENCOUNTER_SCHEMA, type EncounterInput, OBS_SCHEMA, type ObsOnlyInput, PATIENT_SCHEMA, PROVIDER_SCHEMA, type PatientInput, type ProviderInput, registerOpenmrsSchemas } from './api/schemas';
import { type JournalEntry, type WriteSettings, writeEncounter, writeObs, writePatient, writeProvider } from './api/writer';
import type { OpenmrsConfigNode } from './openmrs-config';

export type WriterOperation = 'patient' | 'encounter' | 'obs' | 'provider';

interface WriterDef extends NodeDef {
  server: string;
  operation: WriterOperation;
  location?: string;
  locationType?: string;
  keyConcept?: string;
}

type WriterMsg = NodeMessage & { journal?: JournalEntry[] };

const OPERATIONS: Record<WriterOperation, (client: OpenmrsClient, input: any, settings: WriteSettings) => Promise<{ payload: unknown; journal: JournalEntry[] }>> = {
  patient: (client, input: PatientInput, settings) => writePatient(client, input, settings),
  encounter: (client, input: EncounterInput, settings) => writeEncounter(client, input, settings),
  obs: (client, input: ObsOnlyInput, settings) => writeObs(client, input, settings),
  provider: (client, input: ProviderInput, settings) => writeProvider(client, input, settings),
};

export default function register(RED: NodeAPI): void {
  registerOpenmrsSchemas();
  const validators = {
    patient: compileValidator<PatientInput>(PATIENT_SCHEMA),
    encounter: compileValidator<EncounterInput>(ENCOUNTER_SCHEMA),
    obs: compileValidator<ObsOnlyInput>(OBS_SCHEMA),
    provider: compileValidator<ProviderInput>(PROVIDER_SCHEMA),
  };

  function OpenmrsWriter(this: Node, def: WriterDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as OpenmrsConfigNode | null;
    const operation: WriterOperation = def.operation in OPERATIONS ? def.operation : 'encounter';
    const status = new ActivityStatus(this, 'written');
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no OpenMRS server configured' });
      return;
    }
    const location = typedSetting(RED, this, 'location', def.location, def.locationType);
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());

    handleInput<WriterMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const input = validators[operation](msg.payload);
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        const result = await OPERATIONS[operation](client, input, {
          timeZone: server.timeZone(),
          location: await location.text(msg),
          keyConcept: def.keyConcept || undefined,
          signal,
        });
        msg.payload = result.payload;
        msg.journal = [...(Array.isArray(msg.journal) ? msg.journal : []), ...result.journal.map((entry) => ({ ...entry, configId: server.id }))];
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-openmrs-writer', OpenmrsWriter);
}
