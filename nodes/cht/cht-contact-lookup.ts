/**
 * chis-cht-contact-lookup: finds a CHT person or place by `_id`, by phone, or by one of its
 * fields, and emits it in msg.contact (all matches in msg.contacts) on the first output, or the
 * message unchanged on the second when CHT has none. Reads only: nothing is written to CHT.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { badInput } from '../core/errors';
import { typedSetting } from '../core/typed-value';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { CONTACT_LOOKUP_MODES, type ContactLookupBy, lookupContacts } from './api/contact-lookup';
import type { ChtConfigNode } from './cht-config';

interface ContactLookupDef extends NodeDef {
  server: string;
  by?: ContactLookupBy;
  value?: string;
  valueType?: string;
  field?: string;
  contactType?: string;
  withLineage?: boolean;
  outputProperty?: string;
}

type LookupMsg = NodeMessage & { contacts?: unknown[]; correlationId?: string };

export default function register(RED: NodeAPI): void {
  function ContactLookup(this: Node, def: ContactLookupDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as ChtConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no CHT server configured' });
      return;
    }
    const status = new ActivityStatus(this, 'found');
    const by: ContactLookupBy = CONTACT_LOOKUP_MODES.includes(def.by as ContactLookupBy) ? (def.by as ContactLookupBy) : 'id';
    const valueType = def.valueType || 'msg';
    const valueExpression = def.value || 'payload';
    const outputProperty = def.outputProperty?.trim() || 'contact';
    const setting = typedSetting(RED, this, 'value', valueExpression, valueType);

    handleInput<LookupMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const value = await setting.value(msg);
        if (typeof value !== 'string' && typeof value !== 'number') {
          throw badInput(`the contact ${by} must be text (got ${value === undefined ? 'nothing' : typeof value} from ${valueType}.${valueExpression})`, `${valueType}.${valueExpression}`);
        }
        const contacts = await lookupContacts(server.api(), {
          by,
          value: String(value),
          field: def.field,
          contactType: def.contactType,
          withLineage: def.withLineage === true,
          signal,
        });
        status.succeed();
        if (contacts.length === 0) {
          send([null, msg]);
          return;
        }
        RED.util.setMessageProperty(msg, outputProperty, contacts[0], true);
        msg.contacts = contacts;
        msg.correlationId = contacts[0]._id;
        send([msg, null]);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-cht-contact-lookup', ContactLookup);
}
