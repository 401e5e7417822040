/**
 * chis-dhis2-aggregate-writer: sends a data value set (period from a date if needed, category
 * option combos by name through a table) and reports DHIS2's conflicts per value.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { typedSetting } from '../core/typed-value';
import { compileValidator } from '../core/schema';
import { type ComboMapping, type DataValueSetInput, buildDataValueSet, writeDataValueSet } from './api/aggregate';
import { DATA_VALUE_SET_SCHEMA, registerDhis2Schemas } from './api/schemas';
import type { Dhis2ConfigNode } from './dhis2-config';

interface AggregateWriterDef extends NodeDef {
  server: string;
  dataSet?: string;
  dataSetType?: string;
  dryRun?: boolean;
  failOnConflicts?: boolean;
  comboMappings?: ComboMapping[];
}

type AggregateMsg = NodeMessage & { dryRun?: boolean };

export default function register(RED: NodeAPI): void {
  registerDhis2Schemas();
  const validate = compileValidator<DataValueSetInput>(DATA_VALUE_SET_SCHEMA);

  function Dhis2AggregateWriter(this: Node, def: AggregateWriterDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as Dhis2ConfigNode | null;
    const status = new ActivityStatus(this, 'sent');
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no DHIS2 server configured' });
      return;
    }
    const dataSet = typedSetting(RED, this, 'dataSet', def.dataSet, def.dataSetType);
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());
    const mappings = (Array.isArray(def.comboMappings) ? def.comboMappings : []).filter((row) => row?.name && row.categoryOptionCombo);

    handleInput<AggregateMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const input = validate(msg.payload);
        const set = buildDataValueSet({ ...input, dataSet: input.dataSet ?? (await dataSet.text(msg)) }, mappings);
        const dryRun = typeof msg.dryRun === 'boolean' ? msg.dryRun : def.dryRun === true;
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        msg.payload = await writeDataValueSet(client, set, { dryRun, failOnConflicts: def.failOnConflicts === true, signal });
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-dhis2-aggregate-writer', Dhis2AggregateWriter);
}
