import assert from 'node:assert/strict';
import { create } from '../../sandbox/rapidpro';
import * as seed from '../../sandbox/rapidpro/seed';
import rapidproConfig from '../../nodes/rapidpro/rapidpro-config';
import runsSource from '../../nodes/rapidpro/rapidpro-runs-source';
import { currentUserDir, helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;

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
});
