/**
 * Rollback node: placed after a Catch node, it undoes what the writers of a failed message
 * recorded in `msg.journal`, newest first. What cannot be undone after retries is stored
 * durably as "needs attention" and leaves on the second output, never silently dropped.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { AttentionStore } from './attention';
import { rollbackFailed, undoJournal, type JournalEntry, type UndoReport } from './journal';
import { adminRoutes, needsPermission } from './lookups';
import { handleInput, registerNodeType } from './node-kit';

interface RollbackDef extends NodeDef {
  maxAttempts?: number | string;
}

type RollbackMsg = NodeMessage & { journal?: JournalEntry[]; rollback?: UndoReport[]; correlationId?: string };

const routesRegistered = new WeakSet<object>();

/** Editor/operator endpoints: list, retry and resolve the records that need attention. */
export function registerAttentionRoutes(RED: NodeAPI, store: AttentionStore): void {
  const admin = adminRoutes(RED);
  if (routesRegistered.has(admin)) return;
  routesRegistered.add(admin);
  const read = needsPermission(RED, 'chis-attention.read');
  const write = needsPermission(RED, 'chis-attention.write');
  admin.get('/chis/attention', read, (_req: unknown, res: any) => res.json(store.list()));
  admin.delete('/chis/attention/:id', write, (req: any, res: any) => {
    if (store.resolve(req.params.id)) res.json({ resolved: req.params.id });
    else res.status(404).json({ error: 'no such record' });
  });
  admin.post('/chis/attention/:id/retry', write, (req: any, res: any) => {
    const record = store.get(req.params.id);
    if (!record) {
      res.status(404).json({ error: 'no such record' });
      return;
    }
    const pending = record.reports.filter((report) => report.outcome === 'failed').map((report) => report.entry);
    undoJournal(pending.reverse(), { findConfig: (id) => RED.nodes.getNode(id) }).then((reports) => {
      if (!rollbackFailed(reports)) store.resolve(record.id);
      res.json({ resolved: !rollbackFailed(reports), reports });
    }, (error: Error) => res.status(500).json({ error: error.message }));
  });
}

export default function register(RED: NodeAPI): void {
  const store = AttentionStore.inUserDir(RED.settings.userDir as string | undefined);
  registerAttentionRoutes(RED, store);

  function Rollback(this: Node, def: RollbackDef): void {
    RED.nodes.createNode(this, def);
    const maxAttempts = Math.max(1, Number(def.maxAttempts) || 4);
    let undone = 0;
    const pendingAttention = store.countFor(this.id);
    if (pendingAttention) this.status({ fill: 'red', shape: 'ring', text: `${pendingAttention} need attention` });
    else this.status({});

    handleInput<RollbackMsg>(this, async (msg, send, { signal }) => {
      const journal = Array.isArray(msg.journal) ? msg.journal : [];
      if (journal.length === 0) {
        msg.rollback = [];
        send([msg, null]);
        return;
      }
      this.status({ fill: 'blue', shape: 'dot', text: `rolling back ${journal.length}` });
      const reports = await undoJournal(journal, { findConfig: (id) => RED.nodes.getNode(id), retry: { maxAttempts }, signal });
      msg.rollback = reports;
      if (rollbackFailed(reports)) {
        const record = store.record({
          nodeId: this.id,
          reason: 'rollback could not undo every record',
          journal,
          reports,
          correlationId: msg.correlationId,
        });
        const count = store.countFor(this.id);
        this.status({ fill: 'red', shape: 'ring', text: `${count} need attention (latest ${record.id.slice(0, 8)})` });
        send([null, Object.assign(msg, { attention: record.id })]);
        return;
      }
      msg.journal = [];
      undone += 1;
      this.status({ fill: 'green', shape: 'dot', text: `rolled back ${undone}` });
      send([msg, null]);
    });
  }
  registerNodeType(RED, 'chis-rollback', Rollback);
}
