/**
 * chis-commcare-case-writer: creates or updates cases through the Case API v2, upserting by
 * external_id. Messages are gathered into bulk requests (up to N cases or W ms); each message
 * still gets its own result or error. Owners can be mapped from the source system's keys
 * (e.g. OpenMRS location uuids). What it wrote goes to msg.journal for a rollback node.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { JournalEntry } from '../core/journal';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { typedSetting } from '../core/typed-value';
import { compileValidator } from '../core/schema';
import { CASE_SCHEMA, type CaseInput, registerCommcareSchemas } from './api/case-input';
import { type CaseWriteOutcome, writeCases } from './api/case-writer';
import { MAX_BULK_CHANGES } from './api/client';
import { BatchQueue } from './batch-queue';
import type { CommcareConfigNode } from './commcare-config';

interface OwnerRow {
  from: string;
  to: string;
}

interface CaseWriterDef extends NodeDef {
  server: string;
  caseType?: string;
  caseTypeType?: string;
  defaultOwner?: string;
  defaultOwnerType?: string;
  owners?: OwnerRow[];
  batchSize?: number | string;
  batchWindowMs?: number | string;
}

type WriterMsg = NodeMessage & { journal?: JournalEntry[] };

/** The writer defaults for one message: fixed, or taken from the message (typed inputs). */
interface CaseDefaults {
  defaultCaseType?: string;
  defaultOwner?: string;
}

interface QueuedCase {
  input: CaseInput;
  defaults: CaseDefaults;
}

/**
 * Writes one gathered batch: one bulk write per distinct set of defaults, in arrival order of
 * the first message of each set, and the outcomes back in message order.
 */
export async function writeWithDefaults(items: QueuedCase[], write: (inputs: CaseInput[], defaults: CaseDefaults) => Promise<CaseWriteOutcome[]>): Promise<CaseWriteOutcome[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, index) => {
    const key = JSON.stringify([item.defaults.defaultCaseType ?? null, item.defaults.defaultOwner ?? null]);
    groups.set(key, [...(groups.get(key) ?? []), index]);
  });
  const outcomes: CaseWriteOutcome[] = new Array(items.length);
  for (const positions of groups.values()) {
    try {
      const written = await write(positions.map((position) => items[position].input), items[positions[0]].defaults);
      positions.forEach((position, index) => { outcomes[position] = written[index]; });
    } catch (error) {
      for (const position of positions) outcomes[position] = { ok: false, error: error as Error };
    }
  }
  return outcomes;
}

export function ownerTable(rows: OwnerRow[] | undefined): Record<string, string> {
  const table: Record<string, string> = {};
  for (const row of Array.isArray(rows) ? rows : []) {
    const from = String(row?.from ?? '').trim();
    const to = String(row?.to ?? '').trim();
    if (from && to) table[from] = to;
  }
  return table;
}

const bounded = (value: unknown, fallback: number, max: number): number => {
  const number = Number(value);
  return Number.isFinite(number) && number >= 0 ? Math.min(max, Math.floor(number)) : fallback;
};

export default function register(RED: NodeAPI): void {
  registerCommcareSchemas();
  const validate = compileValidator<CaseInput>(CASE_SCHEMA);

  function CaseWriter(this: Node, def: CaseWriterDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as CommcareConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no CommCare server configured' });
      return;
    }
    const status = new ActivityStatus(this, 'written');
    const owners = ownerTable(def.owners);
    const caseType = typedSetting(RED, this, 'caseType', def.caseType, def.caseTypeType);
    const defaultOwner = typedSetting(RED, this, 'defaultOwner', def.defaultOwner, def.defaultOwnerType);
    const batchSize = Math.max(1, bounded(def.batchSize, MAX_BULK_CHANGES, MAX_BULK_CHANGES));
    const queue = new BatchQueue<QueuedCase, CaseWriteOutcome>(
      (items) => writeWithDefaults(items, (inputs, defaults) => writeCases(server.api(), inputs, { owners, ...defaults, batchSize, now: new Date() })),
      { maxItems: batchSize, maxWaitMs: bounded(def.batchWindowMs, 200, 60_000), onPending: (pending) => status.setQueued(pending) },
    );
    this.on('close', () => queue.close());

    handleInput<WriterMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const input = validate(msg.payload);
        const defaults: CaseDefaults = { defaultCaseType: await caseType.text(msg), defaultOwner: await defaultOwner.text(msg) };
        const outcome = await queue.add({ input, defaults }, signal);
        if (!outcome.ok) throw outcome.error;
        msg.payload = outcome.result;
        const entry: JournalEntry = {
          system: 'commcare',
          resource: 'case',
          id: outcome.result.case_id,
          action: outcome.result.created ? 'created' : 'updated',
          configId: server.id,
        };
        if (outcome.before) entry.before = outcome.before;
        msg.journal = [...(Array.isArray(msg.journal) ? msg.journal : []), entry];
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-commcare-case-writer', CaseWriter);
}
