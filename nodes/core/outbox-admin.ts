/**
 * The outbox's admin endpoints for the editor's CHIS sidebar, served through RED.httpAdmin to
 * editor users with the outbox nodes' permissions:
 *
 *   GET    /chis/outbox                          -> { queues: [{ queue, ready, inflight, dead, depth, circuit, retryInMs, consumer }] }
 *   GET    /chis/outbox/dead-letters?queue=&limit=&offset= -> { deadLetters: [{ id, queue, key, attempts, error, msg, createdAt, updatedAt }] }
 *   POST   /chis/outbox/dead-letters/:id/retry   -> { retried: id } | 404
 *   DELETE /chis/outbox/dead-letters/:id         -> { discarded: id } | 404
 *
 * Also the registry of running senders: one chis-outbox-out per queue and runtime.
 */
import type { NodeAPI } from 'node-red';
import { adminRoutes, needsPermission } from './lookups';
import { Outbox } from './outbox';
import { acquireDatabase } from './sqlite';
import type { CircuitBreaker } from './circuit-breaker';

export const OUTBOX_DATABASE = 'outbox';

interface Consumer {
  nodeId: string;
  breaker: CircuitBreaker;
}

const consumers = new Map<string, Consumer>();

const consumerKey = (file: string, queue: string): string => `${file}\u0000${queue}`;

/** Claims `queue` for one sender node; undefined (with the holder's id) when another holds it. */
export function claimQueue(file: string, queue: string, consumer: Consumer): { release(): void } | { heldBy: string } {
  const key = consumerKey(file, queue);
  const holder = consumers.get(key);
  if (holder && holder.nodeId !== consumer.nodeId) return { heldBy: holder.nodeId };
  consumers.set(key, consumer);
  return {
    release: () => {
      if (consumers.get(key) === consumer) consumers.delete(key);
    },
  };
}

function withOutbox<T>(RED: NodeAPI, work: (outbox: Outbox, file: string) => T): T {
  const { db, release } = acquireDatabase(RED.settings.userDir as string | undefined, OUTBOX_DATABASE);
  try {
    return work(new Outbox(db), db.file);
  } finally {
    release();
  }
}

function idParam(value: unknown): number | undefined {
  const id = Number(value);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** Runtimes whose admin app already has the routes, with the RED they now serve (tests load several in turn). */
const servedBy = new WeakMap<object, NodeAPI>();

export function registerOutboxAdmin(latest: NodeAPI): void {
  const app = latest.httpAdmin as unknown as object;
  const known = servedBy.has(app);
  servedBy.set(app, latest);
  if (known) return;
  const current = (): NodeAPI => servedBy.get(app) ?? latest;
  const routes = adminRoutes(latest);
  const read = needsPermission(latest, 'chis-outbox-out.read');
  const write = needsPermission(latest, 'chis-outbox-out.write');
  const failed = (res: any, error: unknown): void => {
    res.status(500).json({ error: `outbox store: ${(error as Error).message}` });
  };

  routes.get('/chis/outbox', read, (_req: any, res: any) => {
    try {
      const queues = withOutbox(current(), (outbox, file) => {
        const listed = outbox.queues();
        for (const [key] of consumers) {
          const [consumerFile, queue] = key.split('\u0000');
          if (consumerFile === file && !listed.some((counts) => counts.queue === queue)) listed.push({ queue, ready: 0, inflight: 0, dead: 0 });
        }
        return listed.map((counts) => {
          const consumer = consumers.get(consumerKey(file, counts.queue));
          return {
            ...counts,
            depth: counts.ready + counts.inflight,
            circuit: consumer?.breaker.state ?? null,
            retryInMs: consumer?.breaker.retryInMs() ?? 0,
            consumer: consumer?.nodeId ?? null,
          };
        });
      });
      res.json({ queues });
    } catch (error) {
      failed(res, error);
    }
  });

  routes.get('/chis/outbox/dead-letters', read, (req: any, res: any) => {
    try {
      const queue = typeof req.query.queue === 'string' && req.query.queue ? req.query.queue : undefined;
      const deadLetters = withOutbox(current(), (outbox) => outbox.deadLetters({ queue, limit: Number(req.query.limit) || 50, offset: Number(req.query.offset) || 0 }));
      res.json({ deadLetters });
    } catch (error) {
      failed(res, error);
    }
  });

  routes.post('/chis/outbox/dead-letters/:id/retry', write, (req: any, res: any) => {
    const id = idParam(req.params.id);
    try {
      if (id !== undefined && withOutbox(current(), (outbox) => outbox.retryDead(id))) res.json({ retried: id });
      else res.status(404).json({ error: `no dead letter ${req.params.id}` });
    } catch (error) {
      failed(res, error);
    }
  });

  routes.delete('/chis/outbox/dead-letters/:id', write, (req: any, res: any) => {
    const id = idParam(req.params.id);
    try {
      if (id !== undefined && withOutbox(current(), (outbox) => outbox.discardDead(id))) res.json({ discarded: id });
      else res.status(404).json({ error: `no dead letter ${req.params.id}` });
    } catch (error) {
      failed(res, error);
    }
  });
}
