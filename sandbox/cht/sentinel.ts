/**
 * The part of CHT's sentinel the sandbox needs, run over the medic changes feed one change at a
 * time: generate_shortcode_on_contacts (patient_id for people, place_id for places) and
 * mark_for_outbound. Like sentinel, both see the same in-memory doc and it is saved once, so a
 * new person's push already carries its patient_id.
 */
import type { ChangeRow, ChangesFeed, CouchDoc, CouchServer, MedicDb } from './couch';
import { isPerson, isPlace, type Contacts } from './contacts';
import type { OutboundPusher } from './outbound';

export class Sentinel {
  private feed?: ChangesFeed;
  private queue: Promise<void> = Promise.resolve();
  private generation = 0;
  private processedSeq = 0;

  constructor(private readonly couch: CouchServer, private readonly contacts: Contacts, private readonly pusher: OutboundPusher) {}

  /** Watches changes after the current sequence (seeded docs are already processed). */
  async start(): Promise<void> {
    this.stop();
    const generation = this.generation;
    const db = this.couch.db;
    const { update_seq } = await db.info();
    this.processedSeq = update_seq;
    this.feed = db.changes({ live: true, since: update_seq, include_docs: true });
    this.feed.on('change', (change: ChangeRow) => {
      this.queue = this.queue
        .then(() => (generation === this.generation ? this.process(change, db) : undefined))
        .catch(() => undefined)
        .then(() => {
          if (generation === this.generation) this.processedSeq = Math.max(this.processedSeq, change.seq);
        });
    });
    this.feed.on('error', () => undefined);
  }

  stop(): void {
    this.generation += 1;
    this.feed?.cancel();
    this.feed = undefined;
    this.queue = Promise.resolve();
  }

  /** Resolves once every change up to the database's current sequence (sentinel's own saves included) is processed. */
  async idle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { update_seq } = await this.couch.db.info();
      if (this.processedSeq >= update_seq) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async process(change: ChangeRow, db: MedicDb): Promise<void> {
    const doc = change.doc;
    if (!doc || change.deleted || doc._id.startsWith('_design/')) return;
    const updated: CouchDoc = { ...doc };
    let changed = false;
    if (isPerson(doc) && !doc.patient_id) {
      updated.patient_id = await this.contacts.uniqueShortcode();
      changed = true;
    } else if (isPlace(doc) && !doc.place_id) {
      updated.place_id = await this.contacts.uniqueShortcode();
      changed = true;
    }
    if (this.pusher.active) await this.pusher.pushChange(await this.contacts.hydrate(updated));
    if (changed) {
      // A conflict means a newer revision is on its way through the feed and will be handled then.
      await db.put(updated).catch(() => undefined);
    }
  }
}
