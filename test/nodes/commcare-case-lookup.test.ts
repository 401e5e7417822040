import assert from 'node:assert/strict';
import { create } from '../../sandbox/commcare';
import * as seed from '../../sandbox/commcare/seed';
import commcareConfig from '../../nodes/commcare/commcare-config';
import caseLookup from '../../nodes/commcare/commcare-case-lookup';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

describe('chis-commcare-case-lookup node', function () {
  this.timeout(15_000);
  let app: ReturnType<typeof create>;
  let base: string;

  before(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });
  after(() => app.close());
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  // Without idPropertyType, as flows saved before typed inputs: idProperty is a msg path.
  const load = (by: 'case_id' | 'external_id', id: Record<string, unknown> = { idProperty: 'form.caseIds.0' }) => loadFlow([commcareConfig, caseLookup], [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-commcare-config', baseUrl: base, domain: seed.DOMAIN },
    { id: 'lookup', type: 'chis-commcare-case-lookup', z: 't', server: 'server', by, outputProperty: 'case', wires: [['out']], ...id },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ], { server: { username: seed.WEB_USER.username, apiKey: seed.WEB_USER.apiKey } });

  const seeded = seed.SEEDED_CASES.find((item) => item.externalId) ?? seed.SEEDED_CASES[0];

  it('adds the case found by case id to the message', async () => {
    await load('case_id');
    const received = new Promise<any>((resolve) => helper.getNode('out').on('input', resolve));
    helper.getNode('lookup').receive({ form: { caseIds: [seeded.caseId] } });
    const msg = await received;
    assert.equal(msg.case.case_id, seeded.caseId);
    assert.equal(msg.case.case_type, seeded.caseType);
  });

  it('finds a case by external id', async function () {
    if (!seeded.externalId) this.skip();
    await load('external_id');
    const received = new Promise<any>((resolve) => helper.getNode('out').on('input', resolve));
    helper.getNode('lookup').receive({ form: { caseIds: [seeded.externalId] } });
    assert.equal((await received).case.case_id, seeded.caseId);
  });

  it('takes the id from a JSONata expression when the id setting is typed jsonata', async () => {
    await load('case_id', { idProperty: 'form.caseIds[-1]', idPropertyType: 'jsonata' });
    const received = new Promise<any>((resolve) => helper.getNode('out').on('input', resolve));
    helper.getNode('lookup').receive({ form: { caseIds: ['00000000-0000-4000-8000-000000000000', seeded.caseId] } });
    assert.equal((await received).case.case_id, seeded.caseId);
  });

  it('sends an unknown case to the Catch node as not-found', async () => {
    await load('case_id');
    const caught = new Promise<any>((resolve) => helper.getNode('caught').on('input', resolve));
    helper.getNode('lookup').receive({ form: { caseIds: ['00000000-0000-4000-8000-000000000000'] } });
    const msg = await caught;
    assert.equal(msg.error.code, 'not-found');
    assert.equal(msg.case, undefined);
  });

  it('refuses a message without an id with bad-input', async () => {
    await load('case_id');
    const caught = new Promise<any>((resolve) => helper.getNode('caught').on('input', resolve));
    helper.getNode('lookup').receive({ payload: {} });
    assert.equal((await caught).error.code, 'bad-input');
  });
});
