/**
 * chis-commcare-case-lookup: reads one case by case id or external id and puts it on the
 * message, e.g. to find the OpenMRS patient (the case's external_id) of a forwarded visit form.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { badInput, IntegrationError } from '../core/errors';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import type { CommcareConfigNode } from './commcare-config';

interface CaseLookupDef extends NodeDef {
  server: string;
  /** Where the id is: a JSONata-free dotted msg path such as "form.caseIds.0". */
  idProperty: string;
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
    handleInput(this, async (msg: NodeMessage, send, { signal }) => {
      if (!config) throw new IntegrationError('no CommCare server configured', { code: 'bad-input' });
      const id = RED.util.getMessageProperty(msg, def.idProperty || 'form.caseIds.0');
      if (typeof id !== 'string' || !id.trim()) throw badInput(`msg.${def.idProperty} must hold a ${def.by === 'external_id' ? 'external id' : 'case id'}`, `msg.${def.idProperty}`);
      status.begin();
      try {
        const found = def.by === 'external_id'
          ? await config.api().getCaseByExternalId(id, { signal })
          : await config.api().getCase(id, { signal });
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
