/**
 * Transaction node: runs an ordered list of write steps, possibly against several systems,
 * as one unit. On failure the earlier steps are rolled back newest first and the message leaves
 * on the second output with the failing step, the error and each step's rollback outcome;
 * what could not be undone is stored durably and leaves on the third output.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import jsonata from 'jsonata';
import { AttentionStore } from './attention';
import { badInput } from './errors';
import { handleInput, registerNodeType, toNodeError } from './node-kit';
import { adminRoutes, needsPermission } from './lookups';
import { listOperations } from './operations';
import { registerAttentionRoutes } from './rollback';
import { runSaga, SagaStore, type InputBuilder, type SagaOutcome, type SagaState, type StepDefinition } from './saga';
import { SeenIds } from './seen-ids';

interface StepConfig extends StepDefinition {
  /** JSONata over `{msg, payload, steps}`; empty means `payload`. */
  input?: string;
}

interface TransactionDef extends NodeDef {
  steps: StepConfig[] | string;
  /** JSONata over the message giving its idempotency key (e.g. the form id). */
  key?: string;
  rollbackAttempts?: number | string;
}

type TransactionMsg = NodeMessage & { transaction?: unknown; error?: unknown; journal?: unknown; correlationId?: string };

const DEFAULT_KEY = 'form.id ? form.id : _msgid';
const operationRoutes = new WeakSet<object>();

function compileInputs(steps: StepConfig[]): Record<string, InputBuilder> {
  const inputs: Record<string, InputBuilder> = {};
  for (const step of steps) {
    if (!step.input?.trim()) continue;
    let expression: ReturnType<typeof jsonata>;
    try {
      expression = jsonata(step.input);
    } catch (error) {
      throw badInput(`step ${step.name}: its input expression is not valid JSONata: ${(error as Error).message}`, `steps.${step.name}.input`);
    }
    inputs[step.name] = (context) => expression.evaluate(context) as Promise<unknown>;
  }
  return inputs;
}

export function parseSteps(raw: TransactionDef['steps']): StepConfig[] {
  const steps = typeof raw === 'string' ? (JSON.parse(raw || '[]') as StepConfig[]) : raw ?? [];
  const names = new Set<string>();
  for (const step of steps) {
    if (!step.name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(step.name)) throw badInput(`step name "${step.name}" must be a simple identifier`, 'steps');
    if (names.has(step.name)) throw badInput(`two steps are named ${step.name}`, 'steps');
    names.add(step.name);
  }
  return steps;
}

export default function register(RED: NodeAPI): void {
  const attention = AttentionStore.inUserDir(RED.settings.userDir as string | undefined);
  registerAttentionRoutes(RED, attention);
  const admin = adminRoutes(RED);
  if (!operationRoutes.has(admin)) {
    operationRoutes.add(admin);
    admin.get('/chis/transaction/operations', needsPermission(RED, 'flows.read'), (_req: unknown, res: any) => res.json(listOperations()));
  }

  function Transaction(this: Node, def: TransactionDef): void {
    RED.nodes.createNode(this, def);
    let steps: StepConfig[];
    let inputs: Record<string, InputBuilder>;
    try {
      steps = parseSteps(def.steps);
      inputs = compileInputs(steps);
    } catch (error) {
      this.status({ fill: 'red', shape: 'ring', text: (error as Error).message });
      this.on('input', (_msg: NodeMessage, _send: unknown, done: (error?: Error) => void) => done(toNodeError(error)));
      return;
    }
    const keyExpression = jsonata(def.key?.trim() || DEFAULT_KEY);
    const store = SagaStore.inUserDir(RED.settings.userDir as string | undefined, this.id);
    const completed = SeenIds.inUserDir(RED.settings.userDir as string | undefined, `transaction-${this.id}`);
    const running = new Map<string, Promise<void>>();
    const counts = { committed: 0, rolledBack: 0 };
    const closing = new AbortController();
    this.on('close', () => closing.abort(new Error('node closed')));

    const render = (): void => {
      const stuck = attention.countFor(this.id);
      const text = `committed ${counts.committed} · rolled back ${counts.rolledBack}${stuck ? ` · ${stuck} need attention` : ''}${running.size ? ` · ${running.size} running` : ''}`;
      this.status({ fill: stuck ? 'red' : running.size ? 'blue' : 'green', shape: stuck ? 'ring' : 'dot', text });
    };

    const emit = (send: (msgs: Array<NodeMessage | null>) => void, state: SagaState, outcome: SagaOutcome): void => {
      const msg = state.msg as TransactionMsg;
      msg.journal = state.journal;
      if (outcome.ok) {
        counts.committed += 1;
        msg.transaction = { key: state.key, status: 'committed', results: outcome.results };
        send([msg, null, null]);
        return;
      }
      counts.rolledBack += 1;
      const error = outcome.error.toJSON();
      msg.transaction = { key: state.key, status: outcome.rolledBack ? 'rolled-back' : 'rollback-failed', failedStep: outcome.failedStep, error, rollback: outcome.rollback };
      // Shaped like a Catch node's msg.error, so a confirm node tells the sender what happened.
      msg.error = { message: `step ${outcome.failedStep} failed: ${outcome.error.message}`, code: outcome.error.code, cause: error, source: { id: this.id, type: this.type } };
      if (outcome.rolledBack) {
        send([null, msg, null]);
        return;
      }
      const record = attention.record({ nodeId: this.id, reason: `transaction ${state.key}: rollback after step ${outcome.failedStep} failed`, journal: state.journal, reports: outcome.rollback, correlationId: state.key });
      (msg as TransactionMsg & { attention?: string }).attention = record.id;
      send([null, null, msg]);
    };

    const execute = async (state: SagaState, send: (msgs: Array<NodeMessage | null>) => void): Promise<void> => {
      const outcome = await runSaga(steps, state, {
        findConfig: (id) => RED.nodes.getNode(id),
        inputs,
        persist: (current) => store.save(current),
        signal: closing.signal,
        rollbackAttempts: Number(def.rollbackAttempts) || 4,
      });
      if (closing.signal.aborted) return; // keep the saved state: the next start resumes it
      // Completed on disk before the saved state goes, so a crash in between cannot run it again;
      // keys completing together share one fsync.
      if (outcome.ok) await completed.addDurably(state.key);
      store.remove(state.key);
      emit(send, state, outcome);
    };

    const track = (key: string, work: Promise<void>): Promise<void> => {
      const tracked = work.finally(() => {
        running.delete(key);
        render();
      });
      running.set(key, tracked);
      render();
      return tracked;
    };

    handleInput<TransactionMsg>(this, async (msg, send) => {
      const key = String((await keyExpression.evaluate(msg)) ?? msg._msgid);
      const inFlight = running.get(key);
      if (inFlight) await inFlight;
      if (completed.has(key)) {
        msg.transaction = { key, status: 'duplicate' };
        send([msg, null, null]);
        return;
      }
      const state: SagaState = { key, startedAt: new Date().toISOString(), msg: msg as Record<string, unknown>, results: {}, journal: [] };
      store.save(state);
      await track(key, execute(state, send as (msgs: Array<NodeMessage | null>) => void));
    });

    // Resume what a crash or restart interrupted, once the flows are running.
    const resume = setTimeout(() => {
      for (const state of store.pending()) {
        if (running.has(state.key)) continue;
        if (completed.has(state.key)) {
          store.remove(state.key);
          continue;
        }
        void track(state.key, execute(state, (msgs) => this.send(msgs)).catch((error: Error) => this.error(`resuming transaction ${state.key}: ${error.message}`)));
      }
    }, 500);
    this.on('close', () => clearTimeout(resume));
    render();
  }

  registerNodeType(RED, 'chis-transaction', Transaction);
}
