import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CONCEPTS, LOCATIONS, OPENMRS_IDS, PASSWORD, USERNAME } from '../../sandbox/openmrs/seed';
import request from 'supertest';
import { currentRequestLog } from '../../nodes/core/request-log';
import receiverAuth from '../../nodes/core/receiver-auth-config';
import receipt from '../../nodes/core/receipt';
import formReceiver from '../../nodes/commcare/commcare-form-receiver';
import openmrsConfig from '../../nodes/openmrs/openmrs-config';
import openmrsWriter from '../../nodes/openmrs/openmrs-writer';
import { currentUserDir, helper, httpNode, loadFlow, unloadFlow } from '../support/node-helper';
import { openmrsConfigNode, useOpenmrsSandbox } from '../support/openmrs-sandbox';

const SERVER_SETTINGS = { sessionReuse: true, timeZone: 'Africa/Nairobi', maxAttempts: 3 };
const ENTRY_KEYS = ['id', 'time', 'system', 'method', 'url', 'status', 'durationMs', 'correlationId', 'requestBody', 'responseBody', 'error'];

function flow(baseUrl: string): object[] {
  return [
    { id: 't', type: 'tab' },
    openmrsConfigNode(baseUrl, SERVER_SETTINGS),
    { id: 'w', type: 'chis-openmrs-writer', z: 't', server: 'server', operation: 'encounter', wires: [['out']] },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

function write(msg: Record<string, unknown>): Promise<{ ok: boolean; msg: any }> {
  return new Promise((resolve) => {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const onOut = (sent: any) => { cleanup(); resolve({ ok: true, msg: sent }); };
    const onCaught = (sent: any) => { cleanup(); resolve({ ok: false, msg: sent }); };
    const cleanup = () => { out.removeListener('input', onOut); caught.removeListener('input', onCaught); };
    out.on('input', onOut);
    caught.on('input', onCaught);
    helper.getNode('w').receive(msg);
  });
}

const visit = (key: string) => ({
  patientIdentifier: { identifier: OPENMRS_IDS.amina, identifierType: 'OpenMRS ID' },
  encounterType: 'Community Follow-up',
  encounterDatetime: '2024-05-01T09:30',
  location: LOCATIONS.northCatchment,
  idempotencyKey: key,
  obs: [{ concept: CONCEPTS.weight, value: '61.5' }],
});

/** Sets the runtime's request-log settings before any node type registers (the log reads them then). */
const withLogSettings = (settings: Record<string, unknown>) => (RED: any) => {
  RED.settings.chisRequestLog = settings;
};

describe('request log in a runtime (OpenMRS writer against the sandbox)', function () {
  this.timeout(30_000);
  const openmrs = useOpenmrsSandbox();


  it("records the writer's calls under the message's correlation id, serves them, and stores no credential", async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
    const { ok, msg } = await write({ payload: visit('form-rl-1'), correlationId: 'form-rl-1' });
    assert.equal(ok, true, JSON.stringify(msg.error));

    const found = await helper.request().get('/chis/request-log').query({ correlationId: 'form-rl-1' }).expect(200);
    const entries = found.body.entries as any[];
    assert.ok(entries.length >= 2, JSON.stringify(entries));
    for (const entry of entries) {
      assert.deepEqual(Object.keys(entry), ENTRY_KEYS);
      assert.equal(entry.correlationId, 'form-rl-1');
      assert.equal(entry.system, 'openmrs');
    }
    assert.ok(entries.every((entry, index) => index === 0 || entry.id < entries[index - 1].id), 'newest first');
    const created = entries.find((entry) => entry.method === 'POST' && /\/encounter$/.test(new URL(entry.url).pathname));
    assert.ok(created, JSON.stringify(entries.map((entry) => `${entry.method} ${entry.url}`)));
    assert.ok(created.status >= 200 && created.status < 300);
    assert.equal(JSON.parse(created.requestBody).patient, JSON.parse(created.responseBody).patient.uuid);
    assert.ok(!Number.isNaN(Date.parse(created.time)) && created.durationMs >= 0 && created.error === null);

    const twoXx = await helper.request().get('/chis/request-log').query({ correlationId: 'form-rl-1', status: '2xx', limit: 1 }).expect(200);
    assert.equal(twoXx.body.entries.length, 1);
    assert.equal((await helper.request().get('/chis/request-log').query({ correlationId: 'form-rl-1', status: '5xx' }).expect(200)).body.entries.length, 0);

    // Without msg.correlationId the message id ties the calls together.
    const second = await write({ payload: visit('form-rl-2') });
    assert.equal(second.ok, true);
    const byMsgId = await helper.request().get('/chis/request-log').query({ correlationId: second.msg._msgid }).expect(200);
    assert.ok(byMsgId.body.entries.length >= 1);

    const stateDir = path.join(currentUserDir(), 'chis-state');
    const raw = ['request-log.db', 'request-log.db-wal']
      .map((name) => path.join(stateDir, name))
      .filter((file) => fs.existsSync(file))
      .map((file) => fs.readFileSync(file).toString('latin1'))
      .join('\n');
    assert.ok(raw.includes('form-rl-1'), 'the entries are in the database files');
    const sessionIds = [...raw.matchAll(/"sessionId"\s*:\s*"([^"]*)"/g)].map((match) => match[1]);
    assert.ok(sessionIds.every((value) => value === '[redacted]'), sessionIds.join(', '));
    for (const secret of [PASSWORD, Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64'), 'JSESSIONID=']) {
      assert.equal(raw.includes(secret), false, `${secret} is in the request log database`);
    }
  });

  it("tags a writer's calls with the id of the CommCare form that caused them", async () => {
    const xmlns = 'http://openrosa.org/formdesigner/request-log-test';
    // Stands in for a mapper: turns the form into the writer's input.
    const toVisit = (RED: any) => {
      RED.nodes.registerType('rl-test-to-visit', function (this: any, def: any) {
        RED.nodes.createNode(this, def);
        this.on('input', (msg: any, send: (msg: any) => void, done: () => void) => {
          send({ ...msg, payload: visit(msg.form.id) });
          done();
        });
      });
    };
    await loadFlow([receiverAuth, receipt, formReceiver, toVisit, openmrsConfig, openmrsWriter], [
      { id: 't', type: 'tab' },
      { id: 'auth', type: 'chis-receiver-auth', mode: 'basic' },
      { id: 'rx', type: 'chis-commcare-form-receiver', z: 't', path: '/rl/forms', auth: 'auth', xmlns: [xmlns], appId: '', receiptTimeoutMs: 5000, wires: [['map']] },
      { id: 'map', type: 'rl-test-to-visit', z: 't', wires: [['w']] },
      openmrs.config(SERVER_SETTINGS),
      { id: 'w', type: 'chis-openmrs-writer', z: 't', server: 'server', operation: 'encounter', wires: [['ok', 'out']] },
      { id: 'ok', type: 'chis-receipt', z: 't', outcome: 'auto', wires: [] },
      { id: 'out', type: 'helper', z: 't' },
    ], { ...openmrs.credentials, auth: { username: 'hq', password: 'forward-secret' } });
    const written = new Promise<any>((resolve) => helper.getNode('out').once('input', resolve));
    const formId = 'a3c9e1f0-form-request-log';
    await request(httpNode()).post('/rl/forms').auth('hq', 'forward-secret').set('Content-Type', 'application/json')
      .send(JSON.stringify({ id: formId, form: { '@xmlns': xmlns, meta: { instanceID: formId } } })).expect(200);
    const msg = await written;
    assert.equal(msg.correlationId, formId);
    const entries = (await helper.request().get('/chis/request-log').query({ correlationId: formId }).expect(200)).body.entries as any[];
    assert.ok(entries.some((entry) => entry.method === 'POST' && entry.status === 201 && /\/encounter$/.test(new URL(entry.url).pathname)), JSON.stringify(entries));
  });

  it('records each retry attempt, finds the failed one by status class, and applies the body size setting', async () => {
    await loadFlow([withLogSettings({ maxBodyBytes: 40 }), openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
    const faults = await fetch(`${openmrs.root}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: '/encounter$', method: 'POST', status: 503, count: 1 }) });
    assert.equal(faults.status, 201);
    const { ok, msg } = await write({ payload: visit('form-rl-3'), correlationId: 'form-rl-3' });
    assert.equal(ok, true, JSON.stringify(msg.error));
    const failed = (await helper.request().get('/chis/request-log').query({ correlationId: 'form-rl-3', status: '5xx' }).expect(200)).body.entries;
    assert.equal(failed.length, 1);
    assert.equal(failed[0].status, 503);
    assert.equal(failed[0].method, 'POST');
    const all = (await helper.request().get('/chis/request-log').query({ correlationId: 'form-rl-3' }).expect(200)).body.entries as any[];
    const posts = all.filter((entry) => entry.method === 'POST' && /\/encounter$/.test(new URL(entry.url).pathname));
    assert.deepEqual(posts.map((entry) => entry.status), [201, 503]);
    assert.match(posts[0].requestBody, /… \[truncated: \d+ bytes\]$/);
    assert.ok(Buffer.byteLength(posts[0].requestBody.replace(/… \[truncated.*$/, '')) <= 40);
  });

  it('closes the log when the runtime stops, and serves nothing when disabled', async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
    const log = currentRequestLog();
    assert.ok(log);
    await write({ payload: visit('form-rl-4'), correlationId: 'form-rl-4' });
    const file = log.file;
    await unloadFlow();
    assert.equal(currentRequestLog(), undefined, 'closed with the flows');
    assert.ok(fs.existsSync(file) === false, 'the test userDir is gone and was not recreated');

    await loadFlow([withLogSettings({ enabled: false }), openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
    assert.equal(currentRequestLog(), undefined);
    await write({ payload: visit('form-rl-5'), correlationId: 'form-rl-5' });
    assert.deepEqual((await helper.request().get('/chis/request-log').query({ correlationId: 'form-rl-5' }).expect(200)).body, { entries: [] });
    assert.equal(fs.existsSync(path.join(currentUserDir(), 'chis-state', 'request-log.db')), false);
  });
});
