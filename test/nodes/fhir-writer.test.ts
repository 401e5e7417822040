import assert from 'node:assert/strict';
import type { SandboxApp } from '../../sandbox/core';
import { create, FHIR_CLIENT_ID, FHIR_CLIENT_SECRET, FHIR_STATIC_TOKEN, PATIENT_IDENTIFIER_SYSTEM, PATIENT_IDS, TOKEN_PATH } from '../../sandbox/fhir';
import { create as createOpenmrs, FHIR_PATH as OPENMRS_FHIR_PATH } from '../../sandbox/openmrs';
import { PASSWORD, USERNAME } from '../../sandbox/openmrs/seed';
import { type JournalEntry, undoJournal } from '../../nodes/core/journal';
import { getOperation } from '../../nodes/core/operations';
import fhirConfig from '../../nodes/fhir/fhir-config';
import fhirWriter from '../../nodes/fhir/fhir-writer';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';
import { requireSamples, sampleJson } from '../support/samples';

type Json = Record<string, any>;

function flow(baseUrl: string, writer: Json = {}, server: Json = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-fhir-config', baseUrl, authType: 'bearer', fhirVersion: 'R4', ...server },
    { id: 'w', type: 'chis-fhir-writer', z: 't', server: 'server', operation: 'create', validate: true, wires: [['out']], ...writer },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

/** Sends one message; resolves with the writer's output or the Catch node's message. */
function write(payload: unknown): Promise<{ ok: boolean; msg: any }> {
  return new Promise((resolve) => {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const onOut = (msg: any) => { cleanup(); resolve({ ok: true, msg }); };
    const onCaught = (msg: any) => { cleanup(); resolve({ ok: false, msg }); };
    const cleanup = () => { out.removeListener('input', onOut); caught.removeListener('input', onCaught); };
    out.on('input', onOut);
    caught.on('input', onCaught);
    helper.getNode('w').receive({ payload });
  });
}

const patient = (value: string, extra: Json = {}): Json => ({
  resourceType: 'Patient',
  identifier: [{ system: PATIENT_IDENTIFIER_SYSTEM, value }],
  name: [{ family: 'Akinyi', given: ['Rose'] }],
  gender: 'female',
  birthDate: '1990-01-02',
  ...extra,
});

const requests = (app: SandboxApp, method: string, path: string) => app.log.query(new URLSearchParams({ method, path }));

describe('chis-fhir-writer node (against the FHIR sandbox)', function () {
  this.timeout(30_000);
  let app: SandboxApp;
  let origin: string;
  let base: string;

  beforeEach(async () => {
    app = create();
    origin = `http://127.0.0.1:${await app.listen(0)}`;
    base = `${origin}/fhir`;
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    await app.close();
  });

  const credentials = { server: { token: FHIR_STATIC_TOKEN } };

  it('creates a resource and outputs it with id, versionId, location and a journal entry', async () => {
    await loadFlow([fhirConfig, fhirWriter], flow(base), credentials);
    const { ok, msg } = await write(patient('W-1'));
    assert.ok(ok, JSON.stringify(msg.error));
    assert.equal(msg.payload.resourceType, 'Patient');
    assert.equal(msg.payload.meta.versionId, '1');
    assert.deepEqual({ ...msg.fhir, location: undefined }, { resourceType: 'Patient', id: msg.payload.id, versionId: '1', location: undefined, outcome: 'created', status: 201 });
    assert.match(msg.fhir.location, new RegExp(`/fhir/Patient/${msg.payload.id}/_history/1$`));
    assert.deepEqual(msg.journal, [{ system: 'fhir', resource: 'Patient', id: msg.payload.id, action: 'created', configId: 'server' }]);
  });

  it('conditional create: the second identical create finds the first and writes nothing', async () => {
    await loadFlow([fhirConfig, fhirWriter], flow(base, { operation: 'conditional-create', criteria: 'identifier={{system}}|{{value}}' }), credentials);
    const first = await write(patient('W-2'));
    const second = await write(patient('W-2'));
    assert.ok(first.ok && second.ok);
    assert.equal(first.msg.fhir.outcome, 'created');
    assert.equal(second.msg.fhir.outcome, 'matched');
    assert.equal(second.msg.payload.id, first.msg.payload.id);
    assert.equal(second.msg.journal, undefined, 'nothing written, nothing to undo');
    const found = await (await fetch(`${base}/Patient?identifier=${encodeURIComponent(`${PATIENT_IDENTIFIER_SYSTEM}|W-2`)}`, { headers: { Authorization: `Bearer ${FHIR_STATIC_TOKEN}` } })).json() as Json;
    assert.equal(found.total, 1);
  });

  it('conditional create: takes the search from the message when the criteria setting is typed msg', async () => {
    await loadFlow([fhirConfig, fhirWriter], flow(base, { operation: 'conditional-create', criteria: 'match', criteriaType: 'msg' }), credentials);
    const send = (payload: Json, match: string): Promise<{ ok: boolean; msg: any }> => new Promise((resolve) => {
      helper.getNode('out').once('input', (msg: any) => resolve({ ok: true, msg }));
      helper.getNode('caught').once('input', (msg: any) => resolve({ ok: false, msg }));
      helper.getNode('w').receive({ payload, match } as never);
    });
    const byIdentifier = `identifier=${PATIENT_IDENTIFIER_SYSTEM}|W-7`;
    const first = await send(patient('W-7'), byIdentifier);
    // Another identifier, but the message's search names the first patient: nothing new is written.
    const second = await send(patient('W-8'), byIdentifier);
    const third = await send(patient('W-7'), 'identifier={{system}}|{{value}}');
    assert.ok(first.ok && second.ok && third.ok, JSON.stringify(first.msg.error ?? second.msg.error ?? third.msg.error));
    assert.equal(first.msg.fhir.outcome, 'created');
    assert.equal(second.msg.fhir.outcome, 'matched');
    assert.equal(second.msg.payload.id, first.msg.payload.id);
    assert.equal(third.msg.fhir.outcome, 'matched', 'a template from the message is filled from the resource, as a typed one is');
    assert.equal(third.msg.payload.id, first.msg.payload.id);
  });

  it('update: version-aware (If-Match), journals the version before, and the rollback restores it', async () => {
    await loadFlow([fhirConfig, fhirWriter], flow(base, { operation: 'update' }), credentials);
    const read = await (await fetch(`${base}/Patient/${PATIENT_IDS[0]}`, { headers: { Authorization: `Bearer ${FHIR_STATIC_TOKEN}` } })).json() as Json;
    const { ok, msg } = await write({ ...read, telecom: [{ system: 'phone', value: '+254711000111' }] });
    assert.ok(ok, JSON.stringify(msg.error));
    assert.equal(msg.fhir.outcome, 'updated');
    assert.equal(msg.payload.meta.versionId, '2');
    assert.equal(msg.journal[0].action, 'updated');
    assert.equal(msg.journal[0].before.meta.versionId, '1');
    const put = requests(app, 'PUT', `/fhir/Patient/${PATIENT_IDS[0]}$`);
    assert.equal(put.length, 1);

    // A stale version (someone changed it since): conflict, nothing overwritten.
    const stale = await write({ ...read, gender: 'other' });
    assert.equal(stale.ok, false);
    assert.equal(stale.msg.error.code, 'conflict');
    assert.match(stale.msg.error.message, /412/);

    const reports = await undoJournal(msg.journal, { findConfig: (id) => helper.getNode(id) });
    assert.deepEqual(reports.map((report) => report.outcome), ['undone']);
    const restored = await (await fetch(`${base}/Patient/${PATIENT_IDS[0]}`, { headers: { Authorization: `Bearer ${FHIR_STATIC_TOKEN}` } })).json() as Json;
    assert.equal(restored.telecom, undefined);
    assert.equal(restored.meta.versionId, '3');
  });

  it('posts a transaction Bundle; the rollback deletes what it created', async () => {
    await loadFlow([fhirConfig, fhirWriter], flow(base, { operation: 'transaction' }), credentials);
    const patientUrl = 'urn:uuid:0f1e2d3c-4b5a-4697-8877-665544332211';
    const { ok, msg } = await write({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: patientUrl, resource: patient('W-3'), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${PATIENT_IDENTIFIER_SYSTEM}|W-3` } },
        { resource: { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: patientUrl } }, request: { method: 'POST', url: 'Task' } },
      ],
    });
    assert.ok(ok, JSON.stringify(msg.error));
    assert.equal(msg.payload.type, 'transaction-response');
    assert.deepEqual(msg.fhir.entries.map((entry: Json) => `${entry.resourceType}:${entry.outcome}`), ['Patient:created', 'Task:created']);
    assert.deepEqual(msg.journal.map((entry: Json) => entry.resource), ['Patient', 'Task']);
    const reports = await undoJournal(msg.journal, { findConfig: (id) => helper.getNode(id) });
    assert.deepEqual(reports.map((report) => `${report.entry.resource}:${report.outcome}`), ['Task:undone', 'Patient:undone']);
    const again = await undoJournal(msg.journal, { findConfig: (id) => helper.getNode(id) });
    assert.deepEqual(again.map((report) => report.outcome), ['already-gone', 'already-gone']);
  });

  it('refuses an invalid resource with bad-input before sending anything', async () => {
    await loadFlow([fhirConfig, fhirWriter], flow(base), credentials);
    app.log.clear();
    const { ok, msg } = await write(patient('W-4', { gender: 'F' }));
    assert.equal(ok, false);
    assert.equal(msg.error.code, 'bad-input');
    assert.match(msg.error.message, /msg\.payload\.gender/);
    assert.equal(msg.error.cause.field, 'msg.payload.gender');
    assert.equal(requests(app, 'POST', '/fhir').length, 0);
  });

  it('serves the editor look-ups: resource types from /metadata, and the connection test', async () => {
    await loadFlow([fhirConfig, fhirWriter], flow(base), credentials);
    const types = await helper.request().get('/chis/lookup/chis-fhir-config/server/resourceTypes?q=task').expect(200);
    assert.deepEqual(types.body, [{ value: 'Task', label: 'Task' }]);
    const test = await helper.request().get('/chis/lookup/chis-fhir-config/server/test').expect(200);
    assert.match(test.body[0].label, /^Connected .*\(FHIR 4\.0\.1\)$/);
  });

  it('transaction steps: fhir.create re-run with the same idempotency key finds its first write', async () => {
    await loadFlow([fhirConfig, fhirWriter], flow(base), credentials);
    const operation = getOperation('fhir.create')!;
    const journal: JournalEntry[] = [];
    const first = await operation.run(helper.getNode('server'), patient('S-1'), { idempotencyKey: 'form-1:patient', journal });
    const again = await operation.run(helper.getNode('server'), patient('S-1'), { idempotencyKey: 'form-1:patient', journal });
    assert.equal(again.id, first.id);
    assert.deepEqual(journal.map((entry) => `${entry.resource}/${entry.id}:${entry.action}`), [`Patient/${first.id}:created`]);
    const update = await getOperation('fhir.update')!.run(helper.getNode('server'), { ...first, gender: 'other' }, { idempotencyKey: 'form-1:update', journal });
    assert.equal(update.meta.versionId, '2');
    assert.equal(journal[1].action, 'updated');
  });

  describe('OAuth2 client credentials', () => {
    const oauthFlow = () => flow(base, {}, { authType: 'oauth2', tokenUrl: TOKEN_PATH, clientId: FHIR_CLIENT_ID });
    const oauthCredentials = { server: { clientSecret: FHIR_CLIENT_SECRET } };

    it('gets a new token when the short-lived one expired (TTL 1 s), and the write succeeds', async () => {
      await fetch(`${origin}/_sandbox/token-ttl`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ seconds: 1 }) });
      await loadFlow([fhirConfig, fhirWriter], oauthFlow(), oauthCredentials);
      assert.ok((await write(patient('O-1'))).ok);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const { ok, msg } = await write(patient('O-2'));
      assert.ok(ok, JSON.stringify(msg.error));
      assert.equal(requests(app, 'POST', `^${TOKEN_PATH}$`).length, 2);
      assert.equal(requests(app, 'POST', '^/fhir/Patient$').filter((entry) => entry.status === 401).length, 0, 'renewed before it was refused');
    });

    it('a 401 on a token the server no longer honours refreshes the token once and retries', async () => {
      await loadFlow([fhirConfig, fhirWriter], oauthFlow(), oauthCredentials);
      assert.ok((await write(patient('O-3'))).ok);
      // The server forgets every token it issued (as after a key rotation): the cached one now gets 401.
      await app.reset();
      const { ok, msg } = await write(patient('O-4'));
      assert.ok(ok, JSON.stringify(msg.error));
      assert.deepEqual(requests(app, 'POST', '^/fhir/Patient$').map((entry) => entry.status), [401, 201]);
      assert.equal(requests(app, 'POST', `^${TOKEN_PATH}$`).length, 1);
    });

    it('a wrong client secret fails with auth, without the secret in the error', async () => {
      await loadFlow([fhirConfig, fhirWriter], oauthFlow(), { server: { clientSecret: 'wrong-secret-value' } });
      const { ok, msg } = await write(patient('O-5'));
      assert.equal(ok, false);
      assert.equal(msg.error.code, 'auth');
      assert.doesNotMatch(JSON.stringify(msg.error), /wrong-secret-value/);
    });
  });
});

describe('chis-fhir-writer node (against the OpenMRS FHIR2 sandbox)', function () {
  this.timeout(30_000);
  let openmrs: SandboxApp;
  let base: string;

  beforeEach(async () => {
    openmrs = createOpenmrs();
    base = `http://127.0.0.1:${await openmrs.listen(0)}${OPENMRS_FHIR_PATH}`;
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    await openmrs.close();
  });

  it('creates a Patient with basic auth; validation off, since OpenMRS takes what the schema refuses', async function () {
    requireSamples(this);
    const sample = sampleJson<Json>('openmrs-fhir/patient-create-request.json');
    assert.ok(!Array.isArray(sample.identifier), 'the upstream body has a lone identifier object');
    const server = { authType: 'basic' };
    const credentials = { server: { username: USERNAME, password: PASSWORD } };

    await loadFlow([fhirConfig, fhirWriter], flow(base, { validate: true }, server), credentials);
    const refused = await write(sample);
    assert.equal(refused.ok, false);
    assert.equal(refused.msg.error.code, 'bad-input');
    assert.match(refused.msg.error.message, /msg\.payload\.identifier must be array/);
    await unloadFlow();

    await loadFlow([fhirConfig, fhirWriter], flow(base, { validate: false }, server), credentials);
    const { ok, msg } = await write(sample);
    assert.ok(ok, JSON.stringify(msg.error));
    assert.equal(msg.payload.resourceType, 'Patient');
    assert.ok(msg.payload.id);
    assert.equal(msg.fhir.outcome, 'created');
    assert.deepEqual(msg.journal.map((entry: Json) => `${entry.resource}:${entry.action}`), ['Patient:created']);
  });
});
