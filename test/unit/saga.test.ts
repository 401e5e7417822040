import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Node } from 'node-red';
import { IntegrationError } from '../../nodes/core/errors';
import { registerCompensator, undoJournal, type JournalEntry } from '../../nodes/core/journal';
import { registerOperation } from '../../nodes/core/operations';
import { runSaga, SagaStore, type SagaState, type StepDefinition } from '../../nodes/core/saga';

/** An in-memory "remote system" to exercise the engine; real systems are tested in node and flow tests. */
class MemorySystem {
  records = new Map<string, { key: string; value: unknown }>();
  failCreate = new Set<string>();
  failUndo = 0;
  creates = 0;
  nextId = 1;
}

const memory = new MemorySystem();
const config = { id: 'mem-config', type: 'memory-config' } as unknown as Node;
const noSleep = async () => undefined;

registerOperation('memory.create', {
  title: 'create a record',
  configType: 'memory-config',
  inputSchema: { type: 'object', required: ['kind'], properties: { kind: { type: 'string' } } },
  async run(_config, input: { kind: string }, context) {
    if (memory.failCreate.has(input.kind)) throw new IntegrationError(`${input.kind} refused`, { code: 'remote-error', status: 500 });
    const existing = [...memory.records.entries()].find(([, record]) => record.key === context.idempotencyKey);
    if (existing) return { id: existing[0] };
    const id = `r${memory.nextId++}`;
    memory.creates += 1;
    memory.records.set(id, { key: context.idempotencyKey, value: input });
    context.journal.push({ system: 'memory', resource: input.kind, id, action: 'created', configId: 'mem-config' });
    return { id };
  },
});

registerCompensator('memory', {
  async undo(_config, entry) {
    if (memory.failUndo > 0) {
      memory.failUndo -= 1;
      throw new IntegrationError('undo refused', { code: 'remote-error', status: 503 });
    }
    return memory.records.delete(entry.id) ? 'undone' : 'already-gone';
  },
});

const steps: StepDefinition[] = [
  { name: 'patient', operation: 'memory.create', configId: 'mem-config' },
  { name: 'encounter', operation: 'memory.create', configId: 'mem-config' },
  { name: 'obs', operation: 'memory.create', configId: 'mem-config' },
];

const inputs = {
  patient: async () => ({ kind: 'patient' }),
  encounter: async ({ steps: done }: { steps: Record<string, unknown> }) => ({ kind: 'encounter', patient: (done.patient as { id: string }).id }),
  obs: async () => ({ kind: 'obs' }),
};

const newState = (key: string): SagaState => ({ key, startedAt: new Date().toISOString(), msg: { payload: {} }, results: {}, journal: [] });

describe('transactions (saga engine)', () => {
  beforeEach(() => {
    memory.records.clear();
    memory.failCreate.clear();
    memory.failUndo = 0;
    memory.creates = 0;
  });

  it('runs steps in order and lets later steps use earlier results', async () => {
    const saved: SagaState[] = [];
    const outcome = await runSaga(steps, newState('form-1'), { findConfig: () => config, inputs, persist: (s) => saved.push(structuredClone(s)) });
    assert.equal(outcome.ok, true);
    assert.equal(memory.records.size, 3);
    const encounter = [...memory.records.values()].find((record) => (record.value as { kind: string }).kind === 'encounter');
    assert.equal((encounter?.value as { patient: string }).patient, outcome.ok ? (outcome.results.patient as { id: string }).id : '');
    assert.equal(saved.length, 3, 'state is saved after every step');
  });

  for (const failing of ['patient', 'encounter', 'obs']) {
    it(`rolls back every earlier step when ${failing} fails, newest first`, async () => {
      memory.failCreate.add(failing);
      const outcome = await runSaga(steps, newState(`f-${failing}`), { findConfig: () => config, inputs, persist: () => undefined });
      assert.equal(outcome.ok, false);
      if (outcome.ok) return;
      assert.equal(outcome.failedStep, failing);
      assert.equal(outcome.error.code, 'remote-error');
      assert.equal(outcome.rolledBack, true);
      assert.equal(memory.records.size, 0, 'nothing from the failed transaction is left');
      assert.deepEqual(outcome.rollback.map((r) => r.entry.resource), steps.slice(0, steps.findIndex((s) => s.name === failing)).map((s) => s.name).reverse());
      assert.ok(outcome.rollback.every((r) => r.outcome === 'undone'));
    });
  }

  it('resumes after a crash without writing a step twice', async () => {
    const state = newState('crash-1');
    // First run "crashes" after the patient step: its saved state has one result.
    memory.failCreate.add('encounter');
    const persisted: SagaState[] = [];
    await runSaga(steps.slice(0, 1), state, { findConfig: () => config, inputs, persist: (s) => persisted.push(structuredClone(s)) });
    memory.failCreate.clear();
    const resumed = structuredClone(persisted[persisted.length - 1]);
    const outcome = await runSaga(steps, resumed, { findConfig: () => config, inputs, persist: () => undefined });
    assert.equal(outcome.ok, true);
    assert.equal(memory.creates, 3);
  });

  it('retries a failing compensation and reports what still fails', async () => {
    const entries: JournalEntry[] = [
      { system: 'memory', resource: 'patient', id: 'gone', action: 'created', configId: 'mem-config' },
    ];
    memory.failUndo = 2;
    const retried = await undoJournal(entries, { findConfig: () => config, retry: { maxAttempts: 4, baseDelayMs: 1 }, sleep: noSleep });
    assert.equal(retried[0].outcome, 'already-gone');
    memory.failUndo = 10;
    const stuck = await undoJournal(entries, { findConfig: () => config, retry: { maxAttempts: 3, baseDelayMs: 1 }, sleep: noSleep });
    assert.equal(stuck[0].outcome, 'failed');
    assert.match(stuck[0].error?.message ?? '', /undo refused/);
  });

  it('reports an unknown system or an undeployed server as failed, not silently skipped', async () => {
    const reports = await undoJournal([
      { system: 'nowhere', resource: 'x', id: '1', action: 'created', configId: 'mem-config' },
      { system: 'memory', resource: 'x', id: '2', action: 'created', configId: 'missing' },
    ], { findConfig: (id) => (id === 'mem-config' ? config : undefined) });
    assert.deepEqual(reports.map((r) => r.outcome), ['failed', 'failed']);
  });

  it('checks a step input against the operation schema before writing', async () => {
    const outcome = await runSaga(steps.slice(0, 1), newState('bad'), { findConfig: () => config, inputs: { patient: async () => ({ nope: 1 }) }, persist: () => undefined });
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.equal(outcome.error.code, 'bad-input');
    assert.equal(memory.creates, 0);
  });

  it('keeps saga states durably until removed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-saga-'));
    try {
      const store = new SagaStore(dir);
      const state = newState('durable');
      state.results.patient = { id: 'r1' };
      store.save(state);
      assert.deepEqual(new SagaStore(dir).pending().map((s) => s.key), ['durable']);
      store.remove('durable');
      assert.deepEqual(store.pending(), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
