import assert from 'node:assert/strict';
import {
  ADMIN_PASSWORD, ADMIN_USERNAME, CATEGORY_OPTION_COMBO_FEMALE, DATA_ELEMENT_CHILDREN_SCREENED, DATA_ELEMENT_HOME_VISITS, DATA_ELEMENT_REFERRALS,
  DATA_SET_COMMUNITY_MONTHLY, DEMO_API_TOKEN, ORG_UNIT_KAMABAI_CHC, ORG_UNIT_NGELEHUN_CHC, create,
} from '../../sandbox/dhis2';
import dhis2Aggregator from '../../nodes/dhis2/dhis2-aggregator';
import aggregateWriter from '../../nodes/dhis2/dhis2-aggregate-writer';
import dhis2Config from '../../nodes/dhis2/dhis2-config';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;
const credentials = { server: { username: ADMIN_USERNAME, password: ADMIN_PASSWORD } };

function next(nodeId: string, timeoutMs = 5_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const node = helper.getNode(nodeId);
    const timer = setTimeout(() => reject(new Error(`nothing reached ${nodeId}`)), timeoutMs);
    node.once('input', (msg: any) => { clearTimeout(timer); resolve(msg); });
  });
}

describe('DHIS2 aggregate nodes (against the DHIS2 sandbox)', function () {
  this.timeout(20_000);
  let sandbox: Sandbox;
  let base: string;

  const dataValues = async (orgUnit: string, period: string): Promise<any[]> => {
    const response = await fetch(`${base}/api/dataValueSets?dataSet=${DATA_SET_COMMUNITY_MONTHLY}&orgUnit=${orgUnit}&period=${period}`, { headers: { Authorization: `ApiToken ${DEMO_API_TOKEN}` } });
    return ((await response.json()) as any).dataValues;
  };

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

  describe('chis-dhis2-aggregate-writer', () => {
    function flow(writer: Record<string, unknown> = {}): object[] {
      return [
        { id: 't', type: 'tab' },
        { id: 'server', type: 'chis-dhis2-config', baseUrl: base, authType: 'basic', apiMode: 'tracker' },
        { id: 'w', type: 'chis-dhis2-aggregate-writer', z: 't', server: 'server', dataSet: DATA_SET_COMMUNITY_MONTHLY, comboMappings: [{ name: 'female', categoryOptionCombo: CATEGORY_OPTION_COMBO_FEMALE }], wires: [['out']], ...writer },
        { id: 'out', type: 'helper', z: 't' },
        { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 't' },
      ];
    }
    const input = {
      orgUnit: ORG_UNIT_NGELEHUN_CHC,
      date: '2024-03-17',
      periodType: 'Monthly',
      values: [
        { dataElement: DATA_ELEMENT_HOME_VISITS, value: 12 },
        { dataElement: DATA_ELEMENT_REFERRALS, value: 'three' },
        { dataElement: DATA_ELEMENT_CHILDREN_SCREENED, categoryOptionCombo: 'Female', value: 4 },
      ],
    };

    it('imports values, and reports a conflict-only answer as a success with the conflicts per value', async () => {
      await loadFlow([dhis2Config, aggregateWriter], flow(), credentials);
      const out = next('out');
      helper.getNode('w').receive({ payload: input });
      const msg = await out;
      assert.equal(msg.payload.status, 'WARNING');
      assert.equal(msg.payload.period, '202403');
      assert.equal(msg.payload.importCount.imported, 2);
      assert.equal(msg.payload.conflicts.length, 1);
      assert.equal(msg.payload.conflicts[0].index, 1);
      assert.equal(msg.payload.conflicts[0].dataElement, DATA_ELEMENT_REFERRALS);
      assert.equal(msg.payload.conflicts[0].errorCode, 'E7619');
      const stored = await dataValues(ORG_UNIT_NGELEHUN_CHC, '202403');
      assert.deepEqual(stored.map((v) => [v.dataElement, v.categoryOptionCombo, v.value]).sort(), [
        [DATA_ELEMENT_CHILDREN_SCREENED, CATEGORY_OPTION_COMBO_FEMALE, '4'],
        [DATA_ELEMENT_HOME_VISITS, 'HllvX50cXC0', '12'],
      ].sort());
    });

    it('takes the data set from the message when the setting is typed msg; a payload dataSet still wins', async () => {
      await loadFlow([dhis2Config, aggregateWriter], flow({ dataSet: 'report.dataSet', dataSetType: 'msg' }), credentials);
      const sent: unknown[] = [];
      for (const msg of [{ report: { dataSet: DATA_SET_COMMUNITY_MONTHLY } }, { report: {} }, { report: { dataSet: 'other' }, own: true }]) {
        const out = next('out');
        const payload = { ...input, values: [input.values[0]], ...('own' in msg ? { dataSet: DATA_SET_COMMUNITY_MONTHLY } : {}) };
        helper.getNode('w').receive({ payload, report: msg.report });
        sent.push((await out).payload.status);
      }
      assert.deepEqual(sent, ['SUCCESS', 'SUCCESS', 'SUCCESS']);
      const posted = sandbox.log.query(new URLSearchParams({ method: 'POST', path: 'dataValueSets' })).map((entry: any) => entry.body.dataSet);
      assert.deepEqual(posted, [DATA_SET_COMMUNITY_MONTHLY, undefined, DATA_SET_COMMUNITY_MONTHLY]);
    });

    it('dry run stores nothing; "fail on conflicts" sends the message to Catch', async () => {
      await loadFlow([dhis2Config, aggregateWriter], flow({ dryRun: true, failOnConflicts: true }), credentials);
      const caught = next('caught');
      helper.getNode('w').receive({ payload: input });
      const msg = await caught;
      assert.equal(msg.error.code, 'validation');
      assert.match(msg.error.message, /value 1 \(Ix2HsbDMLea\): E7619/);
      const out = next('out');
      helper.getNode('w').receive({ payload: { ...input, values: [input.values[0]] } });
      const dry = await out;
      assert.equal(dry.payload.dryRun, true);
      assert.equal(dry.payload.status, 'SUCCESS');
      assert.equal(dry.payload.importCount.imported, 1);
      assert.deepEqual(await dataValues(ORG_UNIT_NGELEHUN_CHC, '202403'), []);
      assert.match(sandbox.log.query(new URLSearchParams({ method: 'POST', path: 'dataValueSets' }))[1].query, /dryRun=true/);
    });

    it('refuses an unknown category option combo name before sending', async () => {
      await loadFlow([dhis2Config, aggregateWriter], flow(), credentials);
      const caught = next('caught');
      helper.getNode('w').receive({ payload: { ...input, values: [{ dataElement: DATA_ELEMENT_CHILDREN_SCREENED, categoryOptionCombo: 'unknown', value: 1 }] } });
      const msg = await caught;
      assert.equal(msg.error.code, 'bad-input');
      assert.equal(sandbox.log.query(new URLSearchParams({ path: 'dataValueSets' })).length, 0);
    });
  });

  describe('chis-dhis2-aggregator', () => {
    const rules = [
      { dataElement: DATA_ELEMENT_HOME_VISITS, orgUnitPath: 'payload.orgUnit', datePath: 'payload.visitDate', operation: 'count' },
      { dataElement: DATA_ELEMENT_REFERRALS, orgUnitPath: 'payload.orgUnit', datePath: 'payload.visitDate', filterPath: 'payload.referred', filterValue: 'true', operation: 'count' },
      { dataElement: DATA_ELEMENT_CHILDREN_SCREENED, categoryOptionCombo: CATEGORY_OPTION_COMBO_FEMALE, orgUnitPath: 'payload.orgUnit', datePath: 'payload.visitDate', operation: 'sum', valuePath: 'payload.girlsScreened' },
    ];
    const nodes = (): object[] => [
      { id: 't', type: 'tab' },
      { id: 'server', type: 'chis-dhis2-config', baseUrl: base, authType: 'basic', apiMode: 'tracker' },
      { id: 'agg', type: 'chis-dhis2-aggregator', z: 't', dataSet: DATA_SET_COMMUNITY_MONTHLY, periodType: 'Monthly', rules, idPath: 'payload.id', endedOnly: true, retainDays: 36500, wires: [['w', 'sets']] },
      { id: 'sets', type: 'helper', z: 't' },
      { id: 'w', type: 'chis-dhis2-aggregate-writer', z: 't', server: 'server', wires: [['out']] },
      { id: 'out', type: 'helper', z: 't' },
    ];
    const visit = (id: string, orgUnit: string, visitDate: string, referred: boolean, girlsScreened: number) => ({ payload: { id, orgUnit, visitDate, referred, girlsScreened } });

    it('tallies per org unit and month, keeps them across a restart, and flushes data value sets the writer imports', async () => {
      const inits = [dhis2Config, dhis2Aggregator, aggregateWriter];
      await loadFlow(inits, nodes(), credentials);
      const agg = helper.getNode('agg');
      agg.receive(visit('v1', ORG_UNIT_NGELEHUN_CHC, '2024-03-02', true, 2));
      agg.receive(visit('v2', ORG_UNIT_NGELEHUN_CHC, '2024-03-31T22:00:00+03:00', false, 1));
      agg.receive(visit('v2', ORG_UNIT_NGELEHUN_CHC, '2024-03-31', false, 1));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // A restart (redeploy) keeps the tallies.
      await helper.unload();
      await helper.load(inits, nodes(), credentials);
      const again = helper.getNode('agg');
      again.receive(visit('v3', ORG_UNIT_KAMABAI_CHC, '2024-03-15', true, 0));
      again.receive(visit('v4', ORG_UNIT_NGELEHUN_CHC, '2024-04-01', false, 5));
      const sets: any[] = [];
      helper.getNode('sets').on('input', (msg: any) => sets.push(msg));
      const written: any[] = [];
      helper.getNode('out').on('input', (msg: any) => written.push(msg));
      again.receive({ topic: 'flush' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      // April 2024 has ended too: three sets, one per org unit and month.
      assert.deepEqual(sets.map((msg) => msg.topic), [`${ORG_UNIT_NGELEHUN_CHC}/202403`, `${ORG_UNIT_KAMABAI_CHC}/202403`, `${ORG_UNIT_NGELEHUN_CHC}/202404`]);
      const ngelehunMarch = sets[0].payload;
      assert.equal(ngelehunMarch.dataSet, DATA_SET_COMMUNITY_MONTHLY);
      assert.deepEqual(ngelehunMarch.values, [
        { dataElement: DATA_ELEMENT_HOME_VISITS, value: 2 },
        { dataElement: DATA_ELEMENT_REFERRALS, value: 1 },
        { dataElement: DATA_ELEMENT_CHILDREN_SCREENED, categoryOptionCombo: CATEGORY_OPTION_COMBO_FEMALE, value: 3 },
      ]);
      assert.equal(written.length, 3);
      const stored = await dataValues(ORG_UNIT_NGELEHUN_CHC, '202403');
      assert.equal(stored.find((v) => v.dataElement === DATA_ELEMENT_HOME_VISITS).value, '2');
      // A second flush has nothing new to send.
      sets.length = 0;
      again.receive({ flush: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(sets.length, 0);
      // A late record re-sends the month's total, not an increment.
      again.receive(visit('v5', ORG_UNIT_NGELEHUN_CHC, '2024-03-20', false, 0));
      again.receive({ topic: 'flush' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(sets.length, 1);
      assert.equal(sets[0].payload.values[0].value, 3);
    });
  });
});
