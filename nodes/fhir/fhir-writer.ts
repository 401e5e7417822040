/**
 * chis-fhir-writer: creates, updates (version-aware), conditionally creates or updates, deletes a
 * FHIR resource, or posts a transaction Bundle. Validates against the FHIR R4 schema before
 * sending (optional), outputs the stored resource and appends what it wrote to msg.journal.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { type JournalEntry, recordInJournal } from '../core/journal';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { typedSetting } from '../core/typed-value';
import { warmUpValidation } from './api/validation';
import { WRITERS, WRITE_OPERATIONS, type WriteOperation, type WrittenEntry } from './api/writer';
import type { FhirConfigNode } from './fhir-config';

interface WriterDef extends NodeDef {
  server: string;
  operation: WriteOperation;
  /** Conditional create/update: search built from the resource, e.g. identifier={{system}}|{{value}}. */
  criteria?: string;
  criteriaType?: string;
  validate?: boolean;
  versionAware?: boolean;
}

type WriterMsg = NodeMessage & { journal?: JournalEntry[]; fhir?: unknown };

export const DEFAULT_CRITERIA = 'identifier={{system}}|{{value}}';

export default function register(RED: NodeAPI): void {
  function FhirWriter(this: Node, def: WriterDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as FhirConfigNode | null;
    const operation: WriteOperation = WRITE_OPERATIONS.includes(def.operation) ? def.operation : 'create';
    const validate = def.validate !== false;
    const status = new ActivityStatus(this, 'written');
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no FHIR server configured' });
      return;
    }
    if (validate) {
      // Compile the schema in the background now, so the first message does not wait a second.
      setImmediate(() => {
        try {
          warmUpValidation();
        } catch (error) {
          this.warn((error as Error).message);
        }
      });
    }
    const criteria = typedSetting(RED, this, 'criteria', def.criteria, def.criteriaType);
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());

    handleInput<WriterMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        const result = await WRITERS[operation](client, msg.payload, {
          configId: server.id,
          criteria: (await criteria.text(msg)) || DEFAULT_CRITERIA,
          validate,
          versionAware: def.versionAware !== false,
          signal,
        });
        msg.payload = result.payload;
        msg.fhir = operation === 'transaction' ? { entries: result.written } : (result.written[0] as WrittenEntry);
        if (result.journal.length) recordInJournal(msg, ...result.journal);
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-fhir-writer', FhirWriter);
}
