/**
 * Transactions across systems (sagas): ordered write steps that are all-or-nothing. Each step's
 * result is saved durably before the next starts, so a crash resumes where it stopped instead
 * of writing twice; a failed step rolls back the earlier ones, newest first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Node } from 'node-red';
import { IntegrationError, isIntegrationError } from './errors';
import { rollbackFailed, undoJournal, type JournalEntry, type UndoReport } from './journal';
import { getOperation } from './operations';
import { compileValidator } from './schema';

export interface StepDefinition {
  /** Name under which later steps see this step's result: `steps.patient.uuid`. */
  name: string;
  /** A registered operation, e.g. 'openmrs.patient.upsert'. */
  operation: string;
  /** The config node (server) the step writes to. */
  configId: string;
}

/** Builds a step's input from `{msg, payload, steps}`; compiled from the node's JSONata. */
export type InputBuilder = (context: { msg: unknown; payload: unknown; steps: Record<string, unknown> }) => Promise<unknown>;

export interface SagaState {
  key: string;
  startedAt: string;
  /** The message being processed, kept so a restart can resume it. */
  msg: Record<string, unknown>;
  results: Record<string, unknown>;
  journal: JournalEntry[];
}

export type SagaOutcome =
  | { ok: true; results: Record<string, unknown>; journal: JournalEntry[] }
  | { ok: false; failedStep: string; error: IntegrationError; rollback: UndoReport[]; rolledBack: boolean };

export interface SagaDependencies {
  findConfig(configId: string): Node | null | undefined;
  inputs: Record<string, InputBuilder>;
  /** Called after every change of state, to persist it before going on. */
  persist(state: SagaState): void;
  signal?: AbortSignal;
  rollbackAttempts?: number;
}

const validators = new Map<object, ReturnType<typeof compileValidator>>();

function validatorFor(schema: object): ReturnType<typeof compileValidator> {
  let validator = validators.get(schema);
  if (!validator) {
    validator = compileValidator(schema as Record<string, unknown>);
    validators.set(schema, validator);
  }
  return validator;
}

async function runStep(step: StepDefinition, state: SagaState, deps: SagaDependencies): Promise<void> {
  const operation = getOperation(step.operation);
  if (!operation) throw new IntegrationError(`step ${step.name}: unknown operation ${step.operation}`, { code: 'bad-input' });
  const config = deps.findConfig(step.configId);
  if (!config) throw new IntegrationError(`step ${step.name}: its server configuration is not deployed`, { code: 'bad-input' });
  const build = deps.inputs[step.name];
  const input = build ? await build({ msg: state.msg, payload: state.msg.payload, steps: state.results }) : state.msg.payload;
  if (operation.inputSchema) validatorFor(operation.inputSchema)(input, `step ${step.name} input`);
  // Entries are pushed into the saved journal while the step runs, so even a step that
  // fails half-way (a patient created, then its encounter refused) is undone.
  const result = await operation.run(config, input, {
    signal: deps.signal,
    idempotencyKey: `${state.key}:${step.name}`,
    journal: state.journal,
  });
  state.results[step.name] = result;
  deps.persist(state);
}

/** Runs (or resumes) the steps that have no result yet; rolls back on the first failure. */
export async function runSaga(steps: StepDefinition[], state: SagaState, deps: SagaDependencies): Promise<SagaOutcome> {
  for (const step of steps) {
    if (Object.prototype.hasOwnProperty.call(state.results, step.name)) continue;
    try {
      await runStep(step, state, deps);
    } catch (caught) {
      deps.persist(state);
      const error = isIntegrationError(caught) ? caught : new IntegrationError((caught as Error).message, { code: 'bad-input' });
      const rollback = await undoJournal(state.journal, {
        findConfig: deps.findConfig,
        retry: { maxAttempts: deps.rollbackAttempts ?? 4 },
        signal: deps.signal,
      });
      return { ok: false, failedStep: step.name, error, rollback, rolledBack: !rollbackFailed(rollback) };
    }
  }
  return { ok: true, results: state.results, journal: state.journal };
}

/** Durable saga states: one file per running transaction, removed when it ends. */
export class SagaStore {
  constructor(private readonly dir: string) {}

  static inUserDir(userDir: string | undefined, nodeId: string): SagaStore {
    return new SagaStore(path.join(userDir ?? process.cwd(), 'chis-state', 'transactions', nodeId.replace(/[^A-Za-z0-9_.-]/g, '_')));
  }

  private file(key: string): string {
    return path.join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
  }

  save(state: SagaState): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const target = this.file(state.key);
    const handle = fs.openSync(`${target}.tmp`, 'w');
    try {
      fs.writeSync(handle, JSON.stringify(state));
      fs.fsyncSync(handle);
    } finally {
      fs.closeSync(handle);
    }
    fs.renameSync(`${target}.tmp`, target);
  }

  remove(key: string): void {
    fs.rmSync(this.file(key), { force: true });
  }

  pending(): SagaState[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs.readdirSync(this.dir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => JSON.parse(fs.readFileSync(path.join(this.dir, file), 'utf8')) as SagaState);
  }
}
