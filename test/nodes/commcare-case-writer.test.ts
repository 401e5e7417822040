import assert from 'node:assert/strict';
import { create } from '../../sandbox/commcare';
import * as seed from '../../sandbox/commcare/seed';
import commcareConfig from '../../nodes/commcare/commcare-config';
import caseWriter from '../../nodes/commcare/commcare-case-writer';
import rollback from '../../nodes/core/rollback';
import { getTargetSchema } from '../../nodes/core/target-schemas';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;

const credentials = { server: { username: seed.WEB_USER.username, apiKey: seed.WEB_USER.apiKey } };

function flow(baseUrl: string, writer: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-commcare-config', baseUrl, domain: seed.DOMAIN, maxAttempts: 2 },
    {
      id: 'w', type: 'chis-commcare-case-writer', z: 't', server: 'server', caseType: 'patient', defaultOwner: seed.KIMIRONKO_LOCATION_ID,
      owners: [{ from: 'omrs-location-remera', to: seed.REMERA_LOCATION_ID }], batchSize: 100, batchWindowMs: 50, wires: [['out']], ...writer,
    },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', scope: ['w'], wires: [['caught', 'rb']] },
    { id: 'caught', type: 'helper', z: 't' },
    { id: 'rb', type: 'chis-rollback', z: 't', wires: [['rolledback'], []] },
    { id: 'rolledback', type: 'helper', z: 't' },
  ];
}

/** Sends the payloads at once; resolves when each has come out of the writer or the Catch node. */
function writeAll(payloads: unknown[]): Promise<Array<{ ok: boolean; msg: any }>> {
  return new Promise((resolve) => {
    const results = new Array<{ ok: boolean; msg: any }>(payloads.length);
    let remaining = payloads.length;
    const settle = (ok: boolean) => (msg: any) => {
      results[msg.index] = { ok, msg };
      remaining -= 1;
      if (remaining === 0) resolve(results);
    };
    helper.getNode('out').on('input', settle(true));
    helper.getNode('caught').on('input', settle(false));
    payloads.forEach((payload, index) => helper.getNode('w').receive({ payload, index }));
  });
}

const patient = (externalId: string, extra: Record<string, unknown> = {}) => ({ external_id: externalId, case_name: `Patient ${externalId}`, properties: { dob: '2001-02-03' }, ...extra });

describe('chis-commcare-case-writer node (against the CommCare sandbox)', function () {
  this.timeout(30_000);
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

  const bulkPosts = () => app.log.query(new URLSearchParams({ method: 'POST', path: '/api/case/v2/?$' }));

  it('registers its input contract as the commcare.case target schema', async () => {
    await loadFlow([commcareConfig, caseWriter, rollback], flow(base), credentials);
    assert.equal(getTargetSchema('commcare.case')?.title, 'CommCare case (create, update or upsert)');
  });

  it('gathers 250 messages into 3 bulk requests and answers each message with its own case', async () => {
    await loadFlow([commcareConfig, caseWriter, rollback], flow(base), credentials);
    const results = await writeAll(Array.from({ length: 250 }, (_, index) => patient(`BULK-${index}`)));
    assert.ok(results.every((result) => result.ok));
    assert.equal(bulkPosts().length, 3);
    assert.deepEqual(bulkPosts().map((entry) => (entry.body as unknown[] | undefined)?.length ?? 100), [100, 100, 50]);
    const first = results[7].msg;
    assert.equal(first.payload.external_id, 'BULK-7');
    assert.equal(first.payload.created, true);
    assert.deepEqual(first.journal, [{ system: 'commcare', resource: 'case', id: first.payload.case_id, action: 'created', configId: 'server' }]);
    assert.equal(new Set(results.map((result) => result.msg.payload.case_id)).size, 250);
  });

  it('upserts by external_id: a second write updates the same case and records what it replaced', async () => {
    await loadFlow([commcareConfig, caseWriter, rollback], flow(base), credentials);
    const [created] = await writeAll([patient('OMRS-42', { owner: 'omrs-location-remera' })]);
    assert.equal(created.msg.payload.created, true);
    helper.getNode('out').removeAllListeners('input');
    helper.getNode('caught').removeAllListeners('input');
    const [updated] = await writeAll([patient('OMRS-42', { properties: { dob: '2001-02-04' } })]);
    assert.deepEqual(updated.msg.payload, { case_id: created.msg.payload.case_id, external_id: 'OMRS-42', created: false });
    const [entry] = updated.msg.journal;
    assert.equal(entry.action, 'updated');
    assert.equal(entry.before.properties.dob, '2001-02-03');
    const fetched = await fetch(`${base}/a/demo/api/case/v2/?external_id=OMRS-42`, { headers: { Authorization: `ApiKey ${seed.WEB_USER.username}:${seed.WEB_USER.apiKey}` } });
    const page = await fetched.json() as { cases: Array<{ owner_id: string; properties: Record<string, string> }> };
    assert.equal(page.cases.length, 1, 'no duplicate case');
    assert.equal(page.cases[0].owner_id, seed.REMERA_LOCATION_ID, 'mapped owner kept on update');
    assert.equal(page.cases[0].properties.dob, '2001-02-04');
  });

  it('takes the default owner and case type per message (typed inputs): one bulk request per set of defaults, results in message order', async () => {
    const writer = { defaultOwner: 'site.owner', defaultOwnerType: 'msg', caseType: '$exists(site.caseType) ? site.caseType : "patient"', caseTypeType: 'jsonata' };
    await loadFlow([commcareConfig, caseWriter, rollback], flow(base, writer), credentials);
    const sites = [
      { owner: seed.REMERA_LOCATION_ID },
      { owner: seed.KIMIRONKO_LOCATION_ID, caseType: 'household' },
      { owner: seed.REMERA_LOCATION_ID },
      { owner: seed.KIMIRONKO_LOCATION_ID, caseType: 'household' },
    ];
    const results = await new Promise<any[]>((resolve) => {
      const received: any[] = [];
      helper.getNode('out').on('input', (msg: any) => { received[msg.index] = msg; if (received.filter(Boolean).length === sites.length) resolve(received); });
      helper.getNode('caught').on('input', (msg: any) => resolve([msg.error]));
      sites.forEach((site, index) => helper.getNode('w').receive({ payload: patient(`SITE-${index}`), site, index } as never));
    });
    assert.equal(results.length, sites.length, JSON.stringify(results[0]));
    assert.deepEqual(bulkPosts().map((entry) => (entry.body as unknown[]).length), [2, 2], 'one bulk request per owner and case type');
    const headers = { Authorization: `ApiKey ${seed.WEB_USER.username}:${seed.WEB_USER.apiKey}` };
    for (const [index, site] of sites.entries()) {
      assert.equal(results[index].payload.external_id, `SITE-${index}`);
      const page = await (await fetch(`${base}/a/demo/api/case/v2/?external_id=SITE-${index}`, { headers })).json() as { cases: Array<{ owner_id: string; case_type: string }> };
      assert.equal(page.cases[0].owner_id, site.owner);
      assert.equal(page.cases[0].case_type, site.caseType ?? 'patient');
    }
  });

  it('fails only the invalid message of a batch, with its own error', async () => {
    await loadFlow([commcareConfig, caseWriter, rollback], flow(base), credentials);
    const results = await writeAll([
      patient('GOOD-1'),
      patient('BAD-1', { owner_id: 'no-such-owner' }),
      patient('GOOD-2'),
      { case_name: 'no key' },
    ]);
    assert.deepEqual(results.map((result) => result.ok), [true, false, true, false]);
    assert.equal(results[1].msg.error.code, 'validation');
    assert.match(results[1].msg.error.message, /BAD-1.*owner_ids/);
    assert.equal(results[3].msg.error.code, 'bad-input');
    // The refused batch of three, its halves (two, one), then the two halves of the refused pair.
    assert.equal(bulkPosts().length, 5);
  });

  it('rolls a created case back by closing it', async () => {
    await loadFlow([commcareConfig, caseWriter, rollback], flow(base), credentials);
    const [created] = await writeAll([patient('RB-1')]);
    const rolledBack = new Promise<any>((resolve) => helper.getNode('rolledback').on('input', resolve));
    // What a later failing writer's Catch path hands to the rollback node.
    helper.getNode('rb').receive({ journal: created.msg.journal });
    const msg = await rolledBack;
    assert.equal(msg.rollback[0].outcome, 'undone');
    const response = await fetch(`${base}/a/demo/api/case/v2/${created.msg.payload.case_id}/`, { headers: { Authorization: `ApiKey ${seed.WEB_USER.username}:${seed.WEB_USER.apiKey}` } });
    assert.equal((await response.json() as { closed: boolean }).closed, true);
  });
});
