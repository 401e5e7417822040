import assert from 'node:assert/strict';
import type { SandboxApp } from '../../sandbox/core';
import { create, FHIR_STATIC_TOKEN, PATIENT_IDS, PRACTITIONER_IDS } from '../../sandbox/fhir';
import { IntegrationError } from '../../nodes/core/errors';
import { HttpClient } from '../../nodes/core/http-client';
import { FhirClient, fhirHttpOptions } from '../../nodes/fhir/api/client';
import { buildReferralTask, createReferral, moveTask, movedTask, type TaskResource } from '../../nodes/fhir/api/task';
import { TaskStateMachine } from '../../nodes/fhir/api/task-state';

describe('FHIR Task lifecycle api (against the FHIR sandbox)', function () {
  this.timeout(20_000);
  let app: SandboxApp;
  let client: FhirClient;
  const machine = new TaskStateMachine();
  const settings = { configId: 'cfg', machine };

  beforeEach(async () => {
    app = create();
    const base = `http://127.0.0.1:${await app.listen(0)}/fhir`;
    client = new FhirClient(new HttpClient(fhirHttpOptions({ baseUrl: base, system: 'fhir' }, { type: 'bearer' }, { token: FHIR_STATIC_TOKEN })));
  });
  afterEach(async () => {
    client.http.close();
    await app.close();
  });

  const referral = (value = 'REF-1') => ({
    identifier: { system: 'http://example.org/referral', value },
    for: `Patient/${PATIENT_IDS[0]}`,
    owner: `Practitioner/${PRACTITIONER_IDS[0]}`,
    requester: { reference: `Practitioner/${PRACTITIONER_IDS[1]}`, display: 'Peter Otieno' },
    basedOn: 'ServiceRequest/sr-1',
    businessStatus: 'Referred',
    executionPeriod: { start: '2024-06-01T08:00:00Z', end: '2024-06-08T08:00:00Z' },
    description: 'Danger signs: refer to facility',
  });

  it('builds the referral Task: defaults, references and a text business status', () => {
    const task = buildReferralTask(referral(), new Date('2024-06-01T08:00:00Z'));
    assert.equal(task.status, 'requested');
    assert.equal(task.intent, 'order');
    assert.deepEqual(task.for, { reference: `Patient/${PATIENT_IDS[0]}` });
    assert.deepEqual(task.basedOn, [{ reference: 'ServiceRequest/sr-1' }]);
    assert.deepEqual(task.businessStatus, { text: 'Referred' });
    assert.deepEqual(task.identifier, [{ system: 'http://example.org/referral', value: 'REF-1' }]);
    assert.equal(task.authoredOn, '2024-06-01T08:00:00.000Z');
    assert.equal(task.description, 'Danger signs: refer to facility');
  });

  it('creates a referral once: a re-sent one finds the Task by its identifier', async () => {
    const first = await createReferral(client, referral(), settings);
    const second = await createReferral(client, referral(), settings);
    assert.equal(first.outcome, 'created');
    assert.deepEqual(first.journal, [{ system: 'fhir', resource: 'Task', id: first.task.id, action: 'created', configId: 'cfg' }]);
    assert.equal(second.outcome, 'matched');
    assert.equal(second.task.id, first.task.id);
    assert.deepEqual(second.journal, []);
  });

  it('moves a Task along the referral loop with If-Match, and refuses a move FHIR does not allow', async () => {
    const { task } = await createReferral(client, referral(), settings);
    const id = String(task.id);
    const received = await moveTask(client, { id, status: 'received' }, settings);
    assert.equal(received.task.status, 'received');
    assert.equal((received.journal[0].before as TaskResource).status, 'requested');
    const accepted = await moveTask(client, { id, status: 'accepted', businessStatus: 'Accepted' }, settings);
    const started = await moveTask(client, { id, status: 'in-progress', businessStatus: 'In-Progress' }, settings);
    assert.ok(started.task.executionPeriod?.start);
    const done = await moveTask(client, { id, status: 'completed', businessStatus: { text: 'Complete' } }, settings);
    assert.equal(done.versionId, '5');
    assert.deepEqual(done.task.businessStatus, { text: 'Complete' });
    assert.equal(accepted.outcome, 'moved');
    await assert.rejects(moveTask(client, { id, status: 'requested' }, settings), (error: IntegrationError) => {
      assert.equal(error.code, 'bad-input');
      assert.match(error.message, new RegExp(`^Task ${id}: cannot move from completed to requested`));
      return true;
    });
    const again = await moveTask(client, { id, status: 'completed' }, settings);
    assert.equal(again.outcome, 'unchanged', 'a re-sent move changes nothing');
    assert.equal((await client.history('Task', id)).length, 5);
  });

  it('concurrent moves: the loser re-reads on 412 and re-checks, so no update is lost', async () => {
    const { task } = await createReferral(client, referral(), settings);
    const id = String(task.id);
    // Both read "requested"; one writes first, the other gets 412, re-reads and re-checks.
    const results = await Promise.allSettled([
      moveTask(client, { id, status: 'received' }, settings),
      moveTask(client, { id, status: 'accepted' }, settings),
    ]);
    assert.ok(results.every((result) => result.status === 'fulfilled'), JSON.stringify(results));
    const history = (await client.history('Task', id)).map((version) => `${version.meta?.versionId}:${version.status}`);
    // Whichever landed first, the other was applied after it: requested -> received -> accepted,
    // or requested -> accepted (and received, not allowed after accepted, is refused: see below).
    assert.deepEqual(history, ['3:accepted', '2:received', '1:requested']);
    const conflicts = results.map((result) => (result.status === 'fulfilled' ? result.value.conflicts : 0));
    assert.equal(conflicts.reduce((a, b) => a + b, 0), 1, 'exactly one write lost the race and retried');
  });

  it('concurrent moves where the second is no longer allowed: refused, never overwriting', async () => {
    const { task } = await createReferral(client, { ...referral(), status: 'ready' }, settings);
    const id = String(task.id);
    const [start, cancel] = await Promise.allSettled([
      moveTask(client, { id, status: 'in-progress' }, settings),
      moveTask(client, { id, status: 'cancelled' }, settings),
    ]);
    const history = (await client.history('Task', id)).map((version) => version.status);
    assert.equal(history.length, 2, 'one move applied, the other refused');
    const refused = [start, cancel].find((result) => result.status === 'rejected') as PromiseRejectedResult;
    assert.equal((refused.reason as IntegrationError).code, 'bad-input');
    assert.match((refused.reason as IntegrationError).message, /cannot move from (in-progress to cancelled|cancelled to in-progress)/);
  });

  it('gives up with conflict after the bounded number of attempts', async () => {
    const { task } = await createReferral(client, referral(), settings);
    app.faults.add({ path: `/fhir/Task/${task.id}$`, method: 'PUT', status: 412 });
    await assert.rejects(moveTask(client, { id: String(task.id), status: 'received' }, { ...settings, maxAttempts: 2 }), (error: IntegrationError) => {
      assert.equal(error.code, 'conflict');
      assert.match(error.message, /after 2 attempts/);
      return true;
    });
  });

  it('stamps lastModified and the end of the execution period on completion', () => {
    const now = new Date('2024-06-02T10:00:00Z');
    const moved = movedTask({ resourceType: 'Task', status: 'in-progress', intent: 'order', executionPeriod: { start: '2024-06-01T00:00:00Z' } }, { id: 't', status: 'completed' }, now);
    assert.equal(moved.lastModified, '2024-06-02T10:00:00.000Z');
    assert.deepEqual(moved.executionPeriod, { start: '2024-06-01T00:00:00Z', end: '2024-06-02T10:00:00.000Z' });
  });
});
