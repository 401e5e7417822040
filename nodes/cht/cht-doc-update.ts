/**
 * chis-cht-doc-update: updates an existing document of the medic database by id. The given
 * fields are merged onto the latest revision; when someone else wrote the doc in between
 * (a `_rev` conflict) it re-reads, merges again and retries. The previous values go to
 * msg.journal so a rollback can put them back.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { type JournalEntry, recordInJournal } from '../core/journal';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { compileValidator } from '../core/schema';
import { DEFAULT_UPDATE_ATTEMPTS } from './api/doc-update';
import { DOC_UPDATE_SCHEMA, registerChtSchemas } from './api/schemas';
import { writeDocUpdate } from './api/writes';
import type { ChtConfigNode } from './cht-config';

interface DocUpdateDef extends NodeDef {
  server: string;
  maxAttempts?: number | string;
  mark?: boolean;
}

type UpdateMsg = NodeMessage & { journal?: JournalEntry[]; correlationId?: string };

export default function register(RED: NodeAPI): void {
  registerChtSchemas();
  const validate = compileValidator<{ _id: string; [field: string]: unknown }>(DOC_UPDATE_SCHEMA);

  function DocUpdate(this: Node, def: DocUpdateDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as ChtConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no CHT server configured' });
      return;
    }
    const status = new ActivityStatus(this, 'updated');
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());
    const maxAttempts = Math.max(1, Math.min(20, Number(def.maxAttempts) || DEFAULT_UPDATE_ATTEMPTS));

    handleInput<UpdateMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const { _id: id, ...changes } = validate(msg.payload);
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        const outcome = await writeDocUpdate(client, id, changes, { configId: server.id, signal, maxAttempts, mark: def.mark !== false });
        msg.payload = outcome.result.doc;
        (msg as UpdateMsg & { cht?: unknown }).cht = { id, rev: outcome.result.rev, attempts: outcome.result.attempts };
        msg.correlationId ??= id;
        recordInJournal(msg, ...outcome.journal);
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-cht-doc-update', DocUpdate);
}
