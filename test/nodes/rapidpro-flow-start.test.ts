import assert from 'node:assert/strict';
import { create } from '../../sandbox/rapidpro';
import * as seed from '../../sandbox/rapidpro/seed';
import rapidproConfig from '../../nodes/rapidpro/rapidpro-config';
import flowStart from '../../nodes/rapidpro/rapidpro-flow-start';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;

const credentials = { server: { token: seed.API_TOKEN } };

function flow(baseUrl: string, starter: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-rapidpro-config', baseUrl, defaultCountryCode: '250' },
    { id: 'fs', type: 'chis-rapidpro-flow-start', z: 't', server: 'server', flow: seed.PREGNANCY_REMINDERS_FLOW_UUID, paramsProperty: 'reminder', wires: [['out']], ...starter },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', scope: ['fs'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

function send(msg: Record<string, unknown>): Promise<{ ok: boolean; msg: any }> {
  return new Promise((resolve) => {
    helper.getNode('out').once('input', (out: any) => resolve({ ok: true, msg: out }));
    helper.getNode('caught').once('input', (out: any) => resolve({ ok: false, msg: out }));
    helper.getNode('fs').receive(msg);
  });
}

describe('chis-rapidpro-flow-start node (against the RapidPro sandbox)', function () {
  this.timeout(20_000);
  let app: Sandbox;
  let base: string;

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

  it('starts the configured flow for a contact and a national number, with params from the chosen property', async () => {
    await loadFlow([rapidproConfig, flowStart], flow(base), credentials);
    const result = await send({ payload: [seed.CONTACT_CLAUDINE_UUID, 'tel:0788 200 004'], reminder: { edd: '2024-07-20' } });
    assert.ok(result.ok, result.msg.error?.message);
    const start = result.msg.payload;
    assert.equal(start.flow.uuid, seed.PREGNANCY_REMINDERS_FLOW_UUID);
    assert.equal(start.status, 'pending');
    assert.deepEqual(start.params, { edd: '2024-07-20' });
    const posted = app.log.query(new URLSearchParams({ method: 'POST', path: 'flow_starts' }));
    assert.deepEqual(posted[0].body, { flow: seed.PREGNANCY_REMINDERS_FLOW_UUID, contacts: [seed.CONTACT_CLAUDINE_UUID], urns: ['tel:+250788200004'], params: { edd: '2024-07-20' }, restart_participants: true });
  });

  it('takes msg.flow when the node has none, and groups by name', async () => {
    await loadFlow([rapidproConfig, flowStart], flow(base, { flow: '', restartParticipants: false }), credentials);
    const result = await send({ flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID, payload: { groups: ['Pregnant women'] } });
    assert.ok(result.ok, result.msg.error?.message);
    assert.equal(result.msg.payload.flow.uuid, seed.FOLLOW_UP_SURVEY_FLOW_UUID);
    assert.deepEqual(result.msg.payload.groups.map((group: { name: string }) => group.name), ['Pregnant women']);
    assert.equal(result.msg.payload.restart_participants, false);
  });

  it('picks the flow per message with a JSONata setting, and still falls back to msg.flow when it yields nothing', async () => {
    const choice = `topic = "survey" ? "${seed.FOLLOW_UP_SURVEY_FLOW_UUID}" : topic = "reminder" ? "${seed.PREGNANCY_REMINDERS_FLOW_UUID}"`;
    await loadFlow([rapidproConfig, flowStart], flow(base, { flow: choice, flowType: 'jsonata' }), credentials);
    const survey = await send({ topic: 'survey', payload: seed.CONTACT_GRACE_UUID });
    const reminder = await send({ topic: 'reminder', payload: seed.CONTACT_GRACE_UUID });
    const fallback = await send({ topic: 'other', flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID, payload: seed.CONTACT_GRACE_UUID });
    assert.ok(survey.ok && reminder.ok && fallback.ok, survey.msg.error?.message ?? reminder.msg.error?.message ?? fallback.msg.error?.message);
    assert.equal(survey.msg.payload.flow.uuid, seed.FOLLOW_UP_SURVEY_FLOW_UUID);
    assert.equal(reminder.msg.payload.flow.uuid, seed.PREGNANCY_REMINDERS_FLOW_UUID);
    assert.equal(fallback.msg.payload.flow.uuid, seed.FOLLOW_UP_SURVEY_FLOW_UUID);
    const posted = app.log.query(new URLSearchParams({ method: 'POST', path: 'flow_starts' })).map((entry: any) => entry.body.flow);
    assert.deepEqual(posted.slice(-3), [seed.FOLLOW_UP_SURVEY_FLOW_UUID, seed.PREGNANCY_REMINDERS_FLOW_UUID, seed.FOLLOW_UP_SURVEY_FLOW_UUID]);
  });

  it('reports nobody to start, unknown groups and unknown flows to Catch', async () => {
    await loadFlow([rapidproConfig, flowStart], flow(base, { flow: '' }), credentials);
    const noFlow = await send({ payload: seed.CONTACT_GRACE_UUID });
    assert.equal(noFlow.msg.error.code, 'bad-input');
    assert.match(noFlow.msg.error.message, /no flow to start/);
    const nobody = await send({ flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID, payload: { contacts: [] } });
    assert.equal(nobody.msg.error.code, 'bad-input');
    const group = await send({ flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID, payload: { groups: ['Mothers'] } });
    assert.match(group.msg.error.message, /unknown RapidPro group "Mothers"/);
    const unknownFlow = await send({ flow: '00000000-0000-4000-8000-000000000000', payload: seed.CONTACT_GRACE_UUID });
    assert.equal(unknownFlow.msg.error.code, 'validation');
    assert.match(unknownFlow.msg.error.message, /flow: No such object/);
  });
});
