/**
 * Write operations that a transaction node can run as steps ("create patient", "create
 * encounter with obs", "update case"...). Each system registers its own; core knows none.
 *
 * An operation must be idempotent for the same input and idempotency key (look-up before
 * create, or client-generated ids), because a transaction resumed after a crash re-runs the step
 * that was in flight. It records what it wrote in `context.journal` as soon as it writes, so a
 * failure later in the same step is still undone.
 */
import type { Node } from 'node-red';
import type { JournalEntry } from './journal';

export interface OperationContext {
  signal?: AbortSignal;
  /** Stable for this transaction and step, e.g. "<form id>:encounter". */
  idempotencyKey: string;
  journal: JournalEntry[];
}

export interface StepOperation<TInput = any, TResult = any> {
  title: string;
  /** The config node type whose client runs it, e.g. 'chis-openmrs-config'. */
  configType: string;
  /** JSON Schema of the input, checked before the step runs. */
  inputSchema?: object;
  run(config: Node, input: TInput, context: OperationContext): Promise<TResult>;
}

const operations = new Map<string, StepOperation>();

export function registerOperation(name: string, operation: StepOperation): void {
  operations.set(name, operation);
}

export function getOperation(name: string): StepOperation | undefined {
  return operations.get(name);
}

export function listOperations(): Array<{ name: string; title: string; configType: string }> {
  return [...operations.entries()].map(([name, op]) => ({ name, title: op.title, configType: op.configType })).sort((a, b) => a.name.localeCompare(b.name));
}
