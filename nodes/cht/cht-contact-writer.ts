/**
 * chis-cht-contact-writer: creates people (POST /api/v1/people, `cht.person`) or places
 * (POST /api/v1/places, `cht.place`) under a parent place, creating new parents given as objects
 * on the way as CHT does. Every doc it created (parents, the contact, a place's new primary
 * contact) goes to msg.journal for a rollback node.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { type JournalEntry, recordInJournal } from '../core/journal';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { typedSetting } from '../core/typed-value';
import { compileValidator } from '../core/schema';
import { type ContactInput, PERSON_SCHEMA, PLACE_SCHEMA, registerChtSchemas } from './api/schemas';
import { writePerson, writePlace } from './api/writes';
import type { ChtConfigNode } from './cht-config';

interface ContactWriterDef extends NodeDef {
  server: string;
  kind?: 'person' | 'place';
  contactType?: string;
  contactTypeType?: string;
  parent?: string;
  parentType?: string;
  mark?: boolean;
}

type WriterMsg = NodeMessage & { journal?: JournalEntry[]; correlationId?: string };

export default function register(RED: NodeAPI): void {
  registerChtSchemas();
  const validatePerson = compileValidator<ContactInput>(PERSON_SCHEMA);
  const validatePlace = compileValidator<ContactInput>(PLACE_SCHEMA);

  function ContactWriter(this: Node, def: ContactWriterDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as ChtConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no CHT server configured' });
      return;
    }
    const status = new ActivityStatus(this, 'created');
    const kind = def.kind === 'place' ? 'place' : 'person';
    const contactType = typedSetting(RED, this, 'contactType', def.contactType, def.contactTypeType);
    const parent = typedSetting(RED, this, 'parent', def.parent, def.parentType);
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());

    handleInput<WriterMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const defaults = { contactType: await contactType.text(msg), parent: await parent.text(msg) };
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        const context = { configId: server.id, signal, mark: def.mark !== false };
        const outcome = kind === 'place'
          ? await writePlace(client, validatePlace(msg.payload), defaults, context)
          : await writePerson(client, validatePerson(msg.payload), defaults, context);
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
  registerNodeType(RED, 'chis-cht-contact-writer', ContactWriter);
}
