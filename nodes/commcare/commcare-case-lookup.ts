/**
 * chis-commcare-case-lookup: reads one case by case id or external id and puts it on the
 * message, e.g. to find the OpenMRS patient (the case's external_id) of a forwarded visit form.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { badInput, IntegrationError } from '../core/errors';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { typedSetting } from '../core/typed-value';
import type { CommcareConfigNode } from './commcare-config';

interface CaseLookupDef extends NodeDef {
  server: string;
  /** Where the id is: a JSONata-free dotted msg path such as "form.caseIds.0". */
  idProperty: string;
  /** Older flows have none: idProperty was always a msg path. */
  idPropertyType?: string;
  by: 'case_id' | 'external_id';
  /** Where to put the case, e.g. "case". */
  outputProperty: string;
}

export default function register(RED: NodeAPI): void {
  function CaseLookup(this: Node, def: CaseLookupDef): void {
    RED.nodes.createNode(this, def);
    const config = RED.nodes.getNode(def.server) as CommcareConfigNode | null;
    const status = new ActivityStatus(this, 'found');
    if (!config) {
      this.status({ fill: 'red', shape: 'ring', text: 'no CommCare server configured' });
    }
    // Before typed inputs, idProperty was always a msg path: that stays the default.
    const idSetting = typedSetting(RED, this, 'idProperty', def.idProperty || 'form.caseIds.0', def.idPropertyType || 'msg');
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());
    handleInput(this, async (msg: NodeMessage, send, { signal }) => {
      if (!config) throw new IntegrationError('no CommCare server configured', { code: 'bad-input' });
      status.begin();
      try {
        const id = await idSetting.value(msg);
        if (typeof id !== 'string' || !id.trim()) throw badInput(`${idSetting.source} must hold a ${def.by === 'external_id' ? 'external id' : 'case id'}`, idSetting.source);
        const client = config.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        const found = def.by === 'external_id'
          ? await client.getCaseByExternalId(id, { signal })
          : await client.getCase(id, { signal });
        if (!found) throw new IntegrationError(`no CommCare case with ${def.by} ${id}`, { code: 'not-found', system: 'commcare', retryable: false });
        RED.util.setMessageProperty(msg, def.outputProperty || 'case', found, true);
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-commcare-case-lookup', CaseLookup);
}
