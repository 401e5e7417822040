import assert from 'node:assert/strict';
import { takeRecording } from '../../nodes/core/request-context';
import {
  ADMIN_PASSWORD, ADMIN_USERNAME, ORG_UNIT_BO, ORG_UNIT_BOMBALI, ORG_UNIT_NGELEHUN_CHC, ORG_UNIT_SIERRA_LEONE, PROGRAM_COMMUNITY_FOLLOW_UP, SEEDED_TRACKED_ENTITY, create,
} from '../../sandbox/dhis2';
import dhis2Config from '../../nodes/dhis2/dhis2-config';
import dhis2Read from '../../nodes/dhis2/dhis2-read';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;
const credentials = { server: { username: ADMIN_USERNAME, password: ADMIN_PASSWORD } };

describe('chis-dhis2-read node (against the DHIS2 sandbox)', function () {
  this.timeout(30_000);
  let sandbox: Sandbox;
  let base: string;

  const nodes = (read: Record<string, unknown> = {}): object[] => [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-dhis2-config', baseUrl: base, authType: 'basic', apiMode: 'tracker', maxAttempts: 2 },
    { id: 'read', type: 'chis-dhis2-read', z: 't', server: 'server', resource: 'metadata', metadataType: 'organisationUnits', pageSize: 2, wires: [['out']], ...read },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', scope: ['read'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];

  /** Sends one message; resolves with what came out of the node or of the Catch node. */
  const run = (msg: Record<string, unknown>): Promise<{ ok: boolean; msg: any }> => new Promise((resolve) => {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const settle = (ok: boolean) => (received: any) => {
      out.removeAllListeners('input');
      caught.removeAllListeners('input');
      resolve({ ok, msg: received });
    };
    out.on('input', settle(true));
    caught.on('input', settle(false));
    helper.getNode('read').receive(msg);
  });

  beforeEach(async () => {
    sandbox = create();
    base = `http://127.0.0.1:${await sandbox.listen(0)}`;
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    await sandbox.close();
  });

  const pageRequests = (path: string) => sandbox.log.query(new URLSearchParams({ method: 'GET', path }));

  it('reads every page of the org unit hierarchy into one message and keeps the rest of the message', async () => {
    await loadFlow([dhis2Config, dhis2Read], nodes(), credentials);
    const { ok, msg } = await run({ payload: 'go', keep: 'me' });
    assert.ok(ok);
    assert.equal(msg.keep, 'me');
    assert.equal(msg.topic, 'dhis2/organisationUnits');
    assert.equal(msg.payload.length, 6, 'the six seeded org units');
    const bo = msg.payload.find((unit: any) => unit.id === ORG_UNIT_BO);
    assert.equal(bo.parent.id, ORG_UNIT_SIERRA_LEONE);
    assert.equal(bo.level, 2);
    assert.equal(pageRequests('^/api/organisationUnits$').length, 3, 'pages of 2');
  });

  it('reads again on every message (no checkpoint)', async () => {
    await loadFlow([dhis2Config, dhis2Read], nodes(), credentials);
    const first = await run({});
    const second = await run({});
    assert.equal(first.msg.payload.length, second.msg.payload.length);
    assert.equal(pageRequests('^/api/organisationUnits$').length, 6);
  });

  it('reads the tracked entities of a program', async () => {
    await loadFlow([dhis2Config, dhis2Read], nodes({ resource: 'trackedEntities', program: PROGRAM_COMMUNITY_FOLLOW_UP, ouMode: 'ACCESSIBLE' }), credentials);
    const { ok, msg } = await run({});
    assert.ok(ok, JSON.stringify(msg.error));
    assert.equal(msg.topic, 'dhis2/trackedEntities');
    assert.deepEqual(msg.payload.map((entity: any) => entity.trackedEntity), [SEEDED_TRACKED_ENTITY]);
    assert.ok(Array.isArray(msg.payload[0].attributes));
  });

  it('reads the org unit each message names (typed msg), with the program from an environment variable', async () => {
    const flowNodes = nodes({ resource: 'trackedEntities', program: 'FOLLOW_UP_PROGRAM', programType: 'env', orgUnit: 'facility', orgUnitType: 'msg', ouMode: 'DESCENDANTS' });
    (flowNodes[0] as { env?: object[] }).env = [{ name: 'FOLLOW_UP_PROGRAM', value: PROGRAM_COMMUNITY_FOLLOW_UP, type: 'str' }];
    await loadFlow([dhis2Config, dhis2Read], flowNodes, credentials);
    const bo = await run({ facility: ORG_UNIT_BO });
    const bombali = await run({ facility: ORG_UNIT_BOMBALI });
    const ngelehun = await run({ facility: ORG_UNIT_NGELEHUN_CHC });
    assert.ok(bo.ok && bombali.ok && ngelehun.ok, JSON.stringify(bo.msg.error ?? bombali.msg.error ?? ngelehun.msg.error));
    assert.deepEqual(bo.msg.payload.map((entity: any) => entity.trackedEntity), [SEEDED_TRACKED_ENTITY], 'Ngelehun CHC is under Bo');
    assert.deepEqual(bombali.msg.payload, []);
    assert.deepEqual(ngelehun.msg.payload.map((entity: any) => entity.trackedEntity), [SEEDED_TRACKED_ENTITY]);
    const asked = pageRequests('^/api/tracker/trackedEntities$').map((entry) => {
      const query = new URLSearchParams(entry.query);
      return [query.get('orgUnit') ?? query.get('orgUnits'), query.get('program')];
    });
    assert.deepEqual(asked, [[ORG_UNIT_BO, PROGRAM_COMMUNITY_FOLLOW_UP], [ORG_UNIT_BOMBALI, PROGRAM_COMMUNITY_FOLLOW_UP], [ORG_UNIT_NGELEHUN_CHC, PROGRAM_COMMUNITY_FOLLOW_UP]]);
  });

  it('records each page request on a message that asks for it (OpenHIM orchestrations)', async () => {
    await loadFlow([dhis2Config, dhis2Read], nodes(), credentials);
    await run({ _recordRequests: 'read-recording' });
    const records = takeRecording('read-recording');
    assert.equal(records.length, 3);
    assert.ok(records.every((record) => /\/api\/organisationUnits/.test(record.url) && record.status === 200));
  });

  it('fails the message with bad-input when the read selects more than "at most"', async () => {
    await loadFlow([dhis2Config, dhis2Read], nodes({ maxItems: 3 }), credentials);
    const { ok, msg } = await run({});
    assert.equal(ok, false);
    assert.equal(msg.error.code, 'bad-input');
    assert.match(msg.error.message, /more than 3 items/);
  });

  it('fails the message with bad-input when tracked entities have neither program nor type', async () => {
    await loadFlow([dhis2Config, dhis2Read], nodes({ resource: 'trackedEntities' }), credentials);
    const { ok, msg } = await run({});
    assert.equal(ok, false);
    assert.equal(msg.error.code, 'bad-input');
  });

  it('fails the message with the remote code when DHIS2 is down', async () => {
    sandbox.faults.add({ path: '^/api/organisationUnits', status: 503 });
    await loadFlow([dhis2Config, dhis2Read], nodes(), credentials);
    const { ok, msg } = await run({});
    assert.equal(ok, false);
    assert.equal(msg.error.code, 'remote-error');
    assert.equal(msg.error.cause.status, 503);
  });
});
