import assert from 'node:assert/strict';
import type { SandboxApp } from '../../sandbox/core';
import { create, FHIR_STATIC_TOKEN, PATIENT_IDS, PRACTITIONER_IDS } from '../../sandbox/fhir';
import fhirConfig from '../../nodes/fhir/fhir-config';
import fhirTask from '../../nodes/fhir/fhir-task';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

type Json = Record<string, any>;

function flow(baseUrl: string): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-fhir-config', baseUrl, authType: 'bearer', fhirVersion: 'R4' },
    { id: 'taskCreate', type: 'chis-fhir-task', z: 't', server: 'server', operation: 'create', wires: [['out']] },
    { id: 'taskMove', type: 'chis-fhir-task', z: 't', server: 'server', operation: 'transition', status: '', wires: [['out']] },
    { id: 'taskAccept', type: 'chis-fhir-task', z: 't', server: 'server', operation: 'transition', status: 'accepted', businessStatus: 'Accepted', wires: [['out']] },
    { id: 'taskRead', type: 'chis-fhir-task', z: 't', server: 'server', operation: 'read', wires: [['out']] },
    { id: 'taskReady', type: 'chis-fhir-task', z: 't', server: 'server', operation: 'transition', status: 'ready', businessStatus: 'referral.state', businessStatusType: 'msg', extraTransitions: 'requested>ready', wires: [['out']] },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

/** Sends messages to a node; resolves with each one's output or Catch message, in arrival order. */
function send(node: string, payloads: unknown[]): Promise<Array<{ ok: boolean; msg: any }>> {
  return new Promise((resolve) => {
    const results: Array<{ ok: boolean; msg: any }> = [];
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const onOut = (msg: any) => collect({ ok: true, msg });
    const onCaught = (msg: any) => collect({ ok: false, msg });
    const collect = (result: { ok: boolean; msg: any }) => {
      results.push(result);
      if (results.length < payloads.length) return;
      out.removeListener('input', onOut);
      caught.removeListener('input', onCaught);
      resolve(results);
    };
    out.on('input', onOut);
    caught.on('input', onCaught);
    for (const payload of payloads) helper.getNode(node).receive({ payload });
  });
}

const one = async (node: string, payload: unknown) => (await send(node, [payload]))[0];

describe('chis-fhir-task node (against the FHIR sandbox)', function () {
  this.timeout(30_000);
  let app: SandboxApp;
  let base: string;

  beforeEach(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}/fhir`;
    await helper.startServer();
    await loadFlow([fhirConfig, fhirTask], flow(base), { server: { token: FHIR_STATIC_TOKEN } });
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    await app.close();
  });

  const history = async (id: string): Promise<string[]> => {
    const bundle = await (await fetch(`${base}/Task/${id}/_history`, { headers: { Authorization: `Bearer ${FHIR_STATIC_TOKEN}` } })).json() as Json;
    return bundle.entry.map((entry: Json) => `${entry.resource.meta.versionId}:${entry.resource.status}`).reverse();
  };

  const referral = {
    for: `Patient/${PATIENT_IDS[1]}`,
    owner: `Practitioner/${PRACTITIONER_IDS[0]}`,
    requester: `Practitioner/${PRACTITIONER_IDS[1]}`,
    focus: 'ServiceRequest/sr-42',
    basedOn: ['ServiceRequest/sr-42'],
    businessStatus: 'Referred',
    executionPeriod: { start: '2024-06-01T08:00:00Z' },
  };

  it('creates a referral Task, moves it along, and refuses a move FHIR does not allow (Catch gets bad-input)', async () => {
    const created = await one('taskCreate', referral);
    assert.ok(created.ok, JSON.stringify(created.msg.error));
    const task = created.msg.payload;
    assert.equal(task.status, 'requested');
    assert.equal(task.intent, 'order');
    assert.deepEqual(task.for, { reference: `Patient/${PATIENT_IDS[1]}` });
    assert.deepEqual(task.businessStatus, { text: 'Referred' });
    assert.equal(created.msg.fhir.outcome, 'created');
    assert.deepEqual(created.msg.journal, [{ system: 'fhir', resource: 'Task', id: task.id, action: 'created', configId: 'server' }]);

    const accepted = await one('taskAccept', { id: task.id });
    assert.ok(accepted.ok, JSON.stringify(accepted.msg.error));
    assert.equal(accepted.msg.payload.status, 'accepted');
    assert.deepEqual(accepted.msg.payload.businessStatus, { text: 'Accepted' });
    assert.equal(accepted.msg.journal[0].before.status, 'requested');

    const started = await one('taskMove', { id: `Task/${task.id}`, status: 'in-progress', businessStatus: 'In-Progress' });
    const completed = await one('taskMove', { id: task.id, status: 'completed', businessStatus: 'Complete' });
    assert.ok(started.ok && completed.ok);
    assert.equal(completed.msg.payload.status, 'completed');

    const refused = await one('taskMove', { id: task.id, status: 'requested' });
    assert.equal(refused.ok, false);
    assert.equal(refused.msg.error.code, 'bad-input');
    assert.match(refused.msg.error.message, new RegExp(`Task ${task.id}: cannot move from completed to requested \\(completed is final\\)`));
    assert.deepEqual(await history(task.id), ['1:requested', '2:accepted', '3:in-progress', '4:completed']);

    const read = await one('taskRead', task.id);
    assert.equal(read.msg.payload.status, 'completed');
    assert.equal(read.msg.fhir.versionId, '4');
  });

  it('takes the business status from a message property when the node says so; msg.payload.businessStatus still wins', async () => {
    const created = await one('taskCreate', referral);
    const moved = await new Promise<any>((resolve) => {
      helper.getNode('out').once('input', resolve);
      helper.getNode('taskReady').receive({ payload: { id: created.msg.payload.id }, referral: { state: 'Ready for pick-up' } });
    });
    assert.equal(moved.payload.status, 'ready', 'an extra transition (requested>ready) allowed by the node');
    assert.deepEqual(moved.payload.businessStatus, { text: 'Ready for pick-up' });
    const wrongType = await new Promise<any>((resolve) => {
      helper.getNode('caught').once('input', resolve);
      helper.getNode('taskReady').receive({ payload: { id: created.msg.payload.id }, referral: { state: 42 } });
    });
    assert.equal(wrongType.error.code, 'bad-input');
    assert.match(wrongType.error.message, /msg\.referral\.state must be text/);
    const own = await one('taskReady', { id: created.msg.payload.id, businessStatus: 'From payload' });
    assert.ok(own.ok, JSON.stringify(own.msg.error));
    assert.deepEqual(own.msg.payload.businessStatus, { text: 'From payload' });
  });

  it('bad input: a referral without its subject, and a move without a target status', async () => {
    const noSubject = await one('taskCreate', { owner: `Practitioner/${PRACTITIONER_IDS[0]}` });
    assert.equal(noSubject.msg.error.code, 'bad-input');
    assert.match(noSubject.msg.error.message, /msg\.payload\.for is required/);
    const noTarget = await one('taskMove', { id: 'abc' });
    assert.equal(noTarget.msg.error.code, 'bad-input');
    assert.match(noTarget.msg.error.message, /no target status/);
  });

  it('two moves at once: both applied in order, or the second refused; never a lost update', async () => {
    const task = (await one('taskCreate', referral)).msg.payload;
    // received and accepted are both allowed from requested; accepted is also allowed after received.
    const results = await send('taskMove', [{ id: task.id, status: 'received' }, { id: task.id, status: 'accepted' }]);
    const versions = await history(task.id);
    const applied = results.filter((result) => result.ok).map((result) => result.msg.payload.status);
    const refused = results.filter((result) => !result.ok);
    for (const result of refused) assert.equal(result.msg.error.code, 'bad-input');
    // Every applied move is in the history, each on top of the one before it.
    assert.deepEqual(versions.slice(1).map((version) => version.split(':')[1]), applied.length === 2 ? ['received', 'accepted'] : applied);
    assert.equal(versions.length, 1 + applied.length);
    assert.ok(applied.length === 2 || refused.length === 1);

    // Two moves that exclude each other (in-progress and cancelled): whichever lands first, the
    // other is re-checked against the new status and refused, never written over it.
    const next = await send('taskMove', [{ id: task.id, status: 'in-progress' }, { id: task.id, status: 'cancelled' }]);
    const after = await history(task.id);
    assert.equal(next.filter((result) => result.ok).length, 1);
    assert.equal(next.filter((result) => !result.ok && result.msg.error.code === 'bad-input').length, 1);
    assert.equal(after.length, versions.length + 1);
  });
});
