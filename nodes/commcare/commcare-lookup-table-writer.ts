/**
 * chis-commcare-lookup-table-writer: keeps a CommCare lookup table in step with a list of rows
 * (e.g. the DHIS2 org unit hierarchy): each row is matched by its key field and created,
 * updated or left alone, so sending the same list again writes nothing.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { badInput } from '../core/errors';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { typedSetting } from '../core/typed-value';
import { compileValidator } from '../core/schema';
import { LOOKUP_ROWS_SCHEMA, type LookupRowInput, registerLookupTableSchemas, writeLookupRows } from './api/lookup-tables';
import type { CommcareConfigNode } from './commcare-config';

interface LookupTableWriterDef extends NodeDef {
  server: string;
  table: string;
  tableType?: string;
  keyField: string;
  createTable?: boolean;
  isGlobal?: boolean;
}

export default function register(RED: NodeAPI): void {
  registerLookupTableSchemas();
  const validate = compileValidator<LookupRowInput[]>(LOOKUP_ROWS_SCHEMA);

  function LookupTableWriter(this: Node, def: LookupTableWriterDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as CommcareConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no CommCare server configured' });
      return;
    }
    const status = new ActivityStatus(this, 'rows written');
    const table = typedSetting(RED, this, 'table', def.table, def.tableType);
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());
    const options = { keyField: String(def.keyField ?? ''), createTable: def.createTable !== false, isGlobal: def.isGlobal !== false };

    handleInput<NodeMessage>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const rows = validate(Array.isArray(msg.payload) ? msg.payload : [msg.payload]);
        const tag = await table.text(msg);
        if (!tag) throw badInput(`no lookup table to write: ${table.fixed ? 'choose one in the node' : `${table.source} is empty`}`, table.source);
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        const result = await writeLookupRows(client, tag, rows, { ...options, signal });
        msg.payload = result;
        status.succeed(result.created + result.updated);
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-commcare-lookup-table-writer', LookupTableWriter);
}
