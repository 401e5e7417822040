/**
 * chis-rapidpro-contact-writer: upserts a contact by URN (name, language, groups, custom
 * fields) in one atomic RapidPro request, so a retried message never makes a second contact.
 * What it wrote goes to msg.journal for a rollback node.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { type JournalEntry, recordInJournal } from '../core/journal';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { compileValidator } from '../core/schema';
import { CONTACT_SCHEMA, type ContactInput, type GroupMode, contactJournalEntry, upsertContact } from './api/contacts';
import { registerRapidproSchemas } from './api/schemas';
import type { RapidproConfigNode } from './rapidpro-config';

interface ContactWriterDef extends NodeDef {
  server: string;
  groupMode?: GroupMode;
  createMissingFields?: boolean;
}

type WriterMsg = NodeMessage & { journal?: JournalEntry[] };

export default function register(RED: NodeAPI): void {
  registerRapidproSchemas();
  const validate = compileValidator<ContactInput>(CONTACT_SCHEMA);

  function ContactWriter(this: Node, def: ContactWriterDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as RapidproConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no RapidPro server configured' });
      return;
    }
    const status = new ActivityStatus(this, 'written');
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());

    handleInput<WriterMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const input = validate(msg.payload);
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        const result = await upsertContact(client, input, {
          groupMode: def.groupMode === 'replace' ? 'replace' : 'add',
          createMissingFields: def.createMissingFields === true,
          defaultCountryCode: server.defaultCountryCode,
          signal,
        });
        msg.payload = result.contact;
        recordInJournal(msg, contactJournalEntry(result, server.id));
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-rapidpro-contact-writer', ContactWriter);
}
