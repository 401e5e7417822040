import assert from 'node:assert/strict';
import { takeRecording } from '../../nodes/core/request-context';
import { create } from '../../sandbox/commcare';
import * as seed from '../../sandbox/commcare/seed';
import commcareConfig from '../../nodes/commcare/commcare-config';
import lookupTableWriter from '../../nodes/commcare/commcare-lookup-table-writer';
import { getTargetSchema } from '../../nodes/core/target-schemas';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;

const credentials = { server: { username: seed.WEB_USER.username, apiKey: seed.WEB_USER.apiKey } };
const headers = { Authorization: `ApiKey ${seed.WEB_USER.username}:${seed.WEB_USER.apiKey}`, 'Content-Type': 'application/json' };
const V05 = `/a/${seed.DOMAIN}/api/v0.5`;

const units = [
  { id: 'ImspTQPwCqd', name: 'Sierra Leone', level: 1, parent_id: null },
  { id: 'O6uvpzGd5pu', name: 'Bo', level: 2, parent_id: 'ImspTQPwCqd' },
  { id: 'DiszpKrYNg8', name: 'Ngelehun CHC', level: 3, parent_id: 'O6uvpzGd5pu' },
];

describe('chis-commcare-lookup-table-writer node (against the CommCare sandbox)', function () {
  this.timeout(30_000);
  let app: Sandbox;
  let base: string;

  const nodes = (writer: Record<string, unknown> = {}): object[] => [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-commcare-config', baseUrl: base, domain: seed.DOMAIN, maxAttempts: 2 },
    { id: 'w', type: 'chis-commcare-lookup-table-writer', z: 't', server: 'server', table: 'dhis2_org_units', keyField: 'id', createTable: true, isGlobal: true, wires: [['out']], ...writer },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', scope: ['w'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];

  /** Sends one message; resolves with what came out of the writer or of the Catch node. */
  const write = (payload: unknown, extra: Record<string, unknown> = {}): Promise<{ ok: boolean; msg: any }> => new Promise((resolve) => {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const settle = (ok: boolean) => (msg: any) => {
      out.removeAllListeners('input');
      caught.removeAllListeners('input');
      resolve({ ok, msg });
    };
    out.on('input', settle(true));
    caught.on('input', settle(false));
    helper.getNode('w').receive({ payload, ...extra });
  });

  const get = async (path: string) => (await fetch(`${base}${path}`, { headers })).json() as Promise<any>;
  const fixtures = async (tag = 'dhis2_org_units') => (await get(`${V05}/fixture/?fixture_type=${tag}`)).objects as Array<{ id: string; fields: Record<string, string> }>;
  const writes = () => app.log.query(new URLSearchParams({ path: 'lookup_table_item' })).filter((entry) => entry.method !== 'GET');

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

  it('registers the row schema for the mapper', async () => {
    await loadFlow([commcareConfig, lookupTableWriter], nodes(), credentials);
    assert.ok(getTargetSchema('commcare.lookup-table-row'));
  });

  it('creates the missing table with the rows\' fields, then the rows; a second run writes nothing', async () => {
    await loadFlow([commcareConfig, lookupTableWriter], nodes(), credentials);
    const first = await write(units);
    assert.ok(first.ok, JSON.stringify(first.msg.error));
    assert.deepEqual({ ...first.msg.payload, tableId: undefined }, { table: 'dhis2_org_units', tableId: undefined, tableCreated: true, rows: 3, created: 3, updated: 0, unchanged: 0 });
    const tables = (await get(`${V05}/lookup_table/`)).objects;
    assert.equal(tables.length, 1);
    assert.deepEqual(tables[0].fields.map((field: any) => field.field_name), ['id', 'name', 'level', 'parent_id']);
    assert.equal(tables[0].is_global, true);
    const rows = await fixtures();
    assert.deepEqual(rows.map((row) => row.fields).sort((a, b) => a.level.localeCompare(b.level)), [
      { id: 'ImspTQPwCqd', name: 'Sierra Leone', level: '1', parent_id: '' },
      { id: 'O6uvpzGd5pu', name: 'Bo', level: '2', parent_id: 'ImspTQPwCqd' },
      { id: 'DiszpKrYNg8', name: 'Ngelehun CHC', level: '3', parent_id: 'O6uvpzGd5pu' },
    ]);

    const again = await write(units);
    assert.deepEqual({ ...again.msg.payload, tableId: undefined }, { table: 'dhis2_org_units', tableId: undefined, tableCreated: false, rows: 3, created: 0, updated: 0, unchanged: 3 });
    assert.equal(writes().length, 3, 'only the three creates');
    assert.equal((await fixtures()).length, 3);
  });

  it('updates a changed row in place, adds new fields to the table and keeps rows not in the input', async () => {
    await loadFlow([commcareConfig, lookupTableWriter], nodes(), credentials);
    await write(units);
    const before = await fixtures();
    const result = await write([{ ...units[1], name: 'Bo District', code: 'OU_BO' }]);
    assert.deepEqual({ created: result.msg.payload.created, updated: result.msg.payload.updated, unchanged: result.msg.payload.unchanged }, { created: 0, updated: 1, unchanged: 0 });
    const after = await fixtures();
    assert.equal(after.length, 3);
    const bo = after.find((row) => row.fields.id === 'O6uvpzGd5pu')!;
    assert.equal(bo.id, before.find((row) => row.fields.id === 'O6uvpzGd5pu')!.id, 'same row');
    assert.equal(bo.fields.name, 'Bo District');
    assert.equal(bo.fields.code, 'OU_BO');
    const [table] = (await get(`${V05}/lookup_table/`)).objects;
    assert.deepEqual(table.fields.map((field: any) => field.field_name), ['id', 'name', 'level', 'parent_id', 'code']);
  });

  it('writes each message to the table msg.topic names when the table setting is typed msg', async () => {
    await loadFlow([commcareConfig, lookupTableWriter], nodes({ table: 'topic', tableType: 'msg' }), credentials);
    const districts = await write(units.slice(0, 2), { topic: 'districts' });
    const facilities = await write(units.slice(2), { topic: 'facilities' });
    const none = await write(units.slice(2), { topic: '' });
    assert.ok(districts.ok && facilities.ok, JSON.stringify(districts.msg.error ?? facilities.msg.error));
    assert.deepEqual((await fixtures('districts')).map((row) => row.fields.name).sort(), ['Bo', 'Sierra Leone']);
    assert.deepEqual((await fixtures('facilities')).map((row) => row.fields.name), ['Ngelehun CHC']);
    assert.equal(none.ok, false);
    assert.equal(none.msg.error.code, 'bad-input');
    assert.match(none.msg.error.message, /msg\.topic is empty/);
  });

  it('takes one row as an object', async () => {
    await loadFlow([commcareConfig, lookupTableWriter], nodes(), credentials);
    const result = await write(units[0]);
    assert.equal(result.msg.payload.created, 1);
  });

  it('fails with not-found when the table is missing and may not be created', async () => {
    await loadFlow([commcareConfig, lookupTableWriter], nodes({ createTable: false }), credentials);
    const result = await write(units);
    assert.equal(result.ok, false);
    assert.equal(result.msg.error.code, 'not-found');
  });

  it('refuses rows without a key, with a shared key or with a bad field name, before sending anything', async () => {
    await loadFlow([commcareConfig, lookupTableWriter], nodes(), credentials);
    for (const payload of [[{ name: 'no id' }], [units[0], units[0]], [{ id: 'x', 'bad name': 'y' }], [{ id: 'x', nested: { a: 1 } }]]) {
      const result = await write(payload);
      assert.equal(result.ok, false);
      assert.equal(result.msg.error.code, 'bad-input', JSON.stringify(payload));
    }
    assert.equal(app.log.query(new URLSearchParams({ path: 'lookup_table' })).length, 0);
  });

  it('records its requests on a message that asks for it (OpenHIM orchestrations)', async () => {
    await loadFlow([commcareConfig, lookupTableWriter], nodes(), credentials);
    await write(units, { _recordRequests: 'table-recording' });
    const urls = takeRecording('table-recording').map((record) => `${record.method} ${new URL(record.url).pathname}`);
    assert.ok(urls.includes(`POST ${V05}/lookup_table/`));
    assert.equal(urls.filter((url: string) => url === `POST ${V05}/lookup_table_item/`).length, 3);
  });

  it('writes what it can when some rows fail, and says how many failed', async () => {
    await loadFlow([commcareConfig, lookupTableWriter], nodes(), credentials);
    await write(units.slice(0, 1));
    app.faults.add({ path: 'lookup_table_item', method: 'POST', status: 500, count: 1 });
    const result = await write(units);
    assert.equal(result.ok, false);
    assert.equal(result.msg.error.code, 'remote-error');
    assert.match(result.msg.error.message, /1 of 3 rows of lookup table "dhis2_org_units" were not written \(1 created, 0 updated\)/);
    app.faults.clear();
    const retried = await write(units);
    assert.equal(retried.msg.payload.created, 1);
    assert.equal((await fixtures()).length, 3);
  });
});
