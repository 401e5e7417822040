import assert from 'node:assert/strict';
import { create } from '../../sandbox/rapidpro';
import * as seed from '../../sandbox/rapidpro/seed';
import rapidproConfig from '../../nodes/rapidpro/rapidpro-config';
import runsSource from '../../nodes/rapidpro/rapidpro-runs-source';
import { CheckpointStore } from '../../nodes/core/checkpoint';
import outboxIn from '../../nodes/core/outbox-in';
import receipt from '../../nodes/core/receipt';
import { currentUserDir, helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const credentials = { server: { token: seed.API_TOKEN } };

function flow(baseUrl: string, source: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-rapidpro-config', baseUrl },
    { id: 'src', type: 'chis-rapidpro-runs-source', z: 't', server: 'server', interval: 3600, startAt: 'beginning', wires: [['out']], ...source },
    { id: 'out', type: 'helper', z: 't' },
  ];
}

/** Collects what the source emits until `count` messages arrived (or fails after a while). */
function collect(count: number, timeoutMs = 8000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const messages: any[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${count} messages arrived`)), timeoutMs);
    helper.getNode('out').on('input', (msg: any) => {
      messages.push(msg);
      if (messages.length === count) {
        clearTimeout(timer);
        // Give a wrongly re-sent message the chance to show up.
        setTimeout(() => resolve(messages), 300);
      }
    });
  });
}

describe('chis-rapidpro-runs-source node (against the RapidPro sandbox)', function () {
  this.timeout(40_000);
  let app: Sandbox;
  let base: string;

  const control = async (path: string, body: unknown) =>
    (await fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<any>;
  const completeRuns = async (count: number, flowUuid = seed.FOLLOW_UP_SURVEY_FLOW_UUID) => {
    const uuids: string[] = [];
    for (let index = 0; index < count; index += 1) uuids.push((await control('/_sandbox/runs', { contact: seed.CONTACT_GRACE_UUID, flow: flowUuid })).uuid);
    return uuids;
  };
  const runPages = () => app.log.query(new URLSearchParams({ method: 'GET', path: 'runs\\.json' }));

  before(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });
  after(() => app.close());
  beforeEach(async () => {
    await app.reset();
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  it('emits completed runs across pages, and after a restart only the runs completed since', async () => {
    const first = await completeRuns(255);
    const inits = [rapidproConfig, runsSource];
    await loadFlow(inits, flow(base), credentials);
    const emitted = await collect(255);
    assert.deepEqual(emitted.map((msg) => msg.payload.uuid).sort(), [...first].sort());
    assert.ok(emitted.every((msg) => msg.payload.exit_type === 'completed' && msg.topic === seed.FOLLOW_UP_SURVEY_FLOW_UUID));
    assert.equal(emitted[0].payload.values.feeling.category, 'Good');
    assert.equal(runPages().length, 2, 'two pages of runs');
    assert.ok(runPages().every((entry) => /reverse=true/.test(entry.query)), 'oldest first');

    // Restart on the same userDir after more runs completed.
    const userDir = currentUserDir();
    await helper.unload();
    const later = await completeRuns(3);
    helper.settings({ userDir });
    await helper.load(inits, flow(base), credentials);
    const after = await collect(3);
    assert.deepEqual(after.map((msg) => msg.payload.uuid), later);
  });

  it('polls one flow on input ("poll now")', async () => {
    await loadFlow([rapidproConfig, runsSource], flow(base, { flow: seed.PREGNANCY_REMINDERS_FLOW_UUID }), credentials);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await completeRuns(2);
    const [pregnancy] = await completeRuns(1, seed.PREGNANCY_REMINDERS_FLOW_UUID);
    const emitted = collect(1);
    helper.getNode('src').receive({});
    const [msg] = await emitted;
    assert.equal(msg.payload.uuid, pregnancy);
    assert.equal(msg.payload.values.anc_visit.category, 'Yes');
  });
  it('a server without a token: no crash, a red status that says why, and a retry', async () => {
    await loadFlow([rapidproConfig, runsSource], flow(base, { interval: 1 }), {});
    const source = helper.getNode('src');
    const statuses: any[] = [];
    source.on('call:status', (call: any) => statuses.push(call.args[0]));
    await sleep(2_500);
    const failed = statuses.filter((status) => status.fill === 'red');
    assert.ok(failed.length >= 1, JSON.stringify(statuses));
    assert.match(failed[0].text, /last error: bad-input \(the RapidPro server needs an API token\)/);
    assert.ok(source.warn.calledWithMatch(/RapidPro runs poll failed: the RapidPro server needs an API token/));
    source.receive({});
    await sleep(100);
    assert.ok(statuses.filter((status) => status.fill === 'red').length > failed.length, 'polled again on input, failed again, still running');
  });

  describe('move checkpoint after confirmation', () => {
    const newestOf = (messages: any[]): string => messages.map((msg) => String(msg.payload.modified_on)).sort().at(-1) as string;
    const checkpoint = () => CheckpointStore.inUserDir(currentUserDir()).load<{ after: string; runUuids: string[] }>('rapidpro-runs-source-src-all');
    const confirming = (outcome: 'accept' | 'reject', source: Record<string, unknown> = {}) => [
      ...flow(base, { checkpointAfter: 'confirm', confirmTimeout: 2, ...source }).filter((node: any) => node.id !== 'out'),
      { id: 'out', type: 'helper', z: 't', wires: [] },
    ].map((node: any) => (node.id === 'src' ? { ...node, wires: [['out', 'confirm']] } : node)).concat([{ id: 'confirm', type: 'chis-receipt', z: 't', outcome, wires: [] }] as any);

    it('moves the checkpoint once every message of the page is accepted', async () => {
      const uuids = await completeRuns(3);
      await loadFlow([rapidproConfig, runsSource, receipt], confirming('accept'), credentials);
      const statuses: any[] = [];
      helper.getNode('src').on('call:status', (call: any) => statuses.push(call.args[0]));
      const emitted = await collect(3);
      assert.ok(emitted.every((msg) => typeof msg._receipt === 'string'));
      await sleep(200);
      assert.deepEqual(emitted.map((msg) => msg.payload.uuid).sort(), [...uuids].sort());
      assert.equal(checkpoint()?.after, newestOf(emitted), 'the checkpoint is past the page');
      assert.equal(statuses.at(-1)?.text, 'sent 3');
    });

    it('keeps the checkpoint when the flow rejects a message, and sends the page again', async () => {
      await completeRuns(2);
      await loadFlow([rapidproConfig, runsSource, receipt], confirming('reject', { interval: 1 }), credentials);
      const emitted = await collect(4, 6_000);
      assert.equal(new Set(emitted.map((msg) => msg.payload.uuid)).size, 2, 'the same two runs, sent again after the backoff');
      assert.equal(checkpoint(), undefined, 'the checkpoint never moved');
      assert.ok(helper.getNode('src').status.getCalls().some((call: any) => /last error: remote-error \(2 of 2 messages not confirmed/.test(call.args[0].text)));
    });

    it('keeps the checkpoint when the confirmation does not come in time', async () => {
      await completeRuns(2);
      await loadFlow([rapidproConfig, runsSource], flow(base, { checkpointAfter: 'confirm', confirmTimeout: 1 }), credentials);
      await collect(2);
      await sleep(1_200);
      assert.equal(checkpoint(), undefined);
      assert.match(helper.getNode('src').status.lastCall.args[0].text, /last error: unconfirmed/);
    });

    it('moves the checkpoint once chis-outbox-in stored the messages', async () => {
      const uuids = await completeRuns(3);
      await loadFlow([rapidproConfig, runsSource, outboxIn], [
        ...flow(base, { checkpointAfter: 'confirm', confirmTimeout: 5 }).map((node: any) => (node.id === 'src' ? { ...node, wires: [['in']] } : node)),
        { id: 'in', type: 'chis-outbox-in', z: 't', queue: 'runs', keyType: 'msg', key: 'correlationId', maxQueued: 100, retryAfterSeconds: 5, wires: [['out']] },
      ], credentials);
      const stored = await collect(3);
      assert.deepEqual(stored.map((msg) => msg.payload.uuid).sort(), [...uuids].sort());
      await sleep(200);
      assert.equal(checkpoint()?.after, newestOf(stored), 'the checkpoint is past the page');
    });
  });
});
