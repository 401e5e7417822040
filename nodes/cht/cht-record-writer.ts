/**
 * chis-cht-record-writer: creates a report through POST /api/v2/records from
 * `{form, from?, reported_date?, fields}` (`cht.record`), stamped with the loop marker, and
 * records the created data_record in msg.journal for a rollback node.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { type JournalEntry, recordInJournal } from '../core/journal';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { typedSetting } from '../core/typed-value';
import { compileValidator } from '../core/schema';
import { RECORD_SCHEMA, type RecordInput, registerChtSchemas } from './api/schemas';
import { writeRecord } from './api/writes';
import type { ChtConfigNode } from './cht-config';

interface RecordWriterDef extends NodeDef {
  server: string;
  form?: string;
  formType?: string;
  mark?: boolean;
}

type WriterMsg = NodeMessage & { journal?: JournalEntry[]; correlationId?: string };

export default function register(RED: NodeAPI): void {
  registerChtSchemas();
  const validate = compileValidator<RecordInput>(RECORD_SCHEMA);

  function RecordWriter(this: Node, def: RecordWriterDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as ChtConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no CHT server configured' });
      return;
    }
    const status = new ActivityStatus(this, 'created');
    const formSetting = typedSetting(RED, this, 'form', def.form, def.formType);
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());

    handleInput<WriterMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const defaultForm = await formSetting.text(msg);
        const payload = msg.payload as Record<string, unknown> | undefined;
        const needsDefaultForm = defaultForm && payload && typeof payload === 'object' && !Array.isArray(payload) && payload.form === undefined;
        const input = validate(needsDefaultForm ? { ...payload, form: defaultForm } : payload);
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        const outcome = await writeRecord(client, input, { configId: server.id, signal, mark: def.mark !== false });
        msg.payload = outcome.result;
        // A message that came in with a correlation id (from a receiver or source) keeps it.
        msg.correlationId ??= outcome.result.id;
        recordInJournal(msg, ...outcome.journal);
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-cht-record-writer', RecordWriter);
}
