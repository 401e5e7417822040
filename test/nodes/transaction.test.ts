/**
 * The transaction node running a referral (OpenMRS patient -> encounter -> obs, then the CommCare
 * case update) in a real Node-RED runtime against the in-process OpenMRS and CommCare sandboxes:
 * all or nothing, whichever step fails and however it fails, and what cannot be undone is kept.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { create as createOpenmrs } from '../../sandbox/openmrs';
import { create as createCommcare } from '../../sandbox/commcare';
import { CONCEPTS, ENCOUNTER_TYPES, IDENTIFIER_TYPES, PASSWORD, USERNAME } from '../../sandbox/openmrs/seed';
import * as commcareSeed from '../../sandbox/commcare/seed';
import openmrsConfig from '../../nodes/openmrs/openmrs-config';
import commcareConfig from '../../nodes/commcare/commcare-config';
import transaction from '../../nodes/core/transaction';
import { SagaStore } from '../../nodes/core/saga';
import { SeenIds } from '../../nodes/core/seen-ids';
import { uuidFromKey } from '../../nodes/openmrs/api/ids';
import { eventually } from '../support/flow-harness';
import { helper, initHelper } from '../support/node-helper';
import { ReferralSandboxes } from '../support/referral-sandboxes';

type Sandbox = ReturnType<typeof createOpenmrs>;

const credentials = {
  openmrs: { username: USERNAME, password: PASSWORD },
  commcare: { username: commcareSeed.WEB_USER.username, apiKey: commcareSeed.WEB_USER.apiKey },
};

/** The referral steps as the example flow configures them (inputs are JSONata over {msg, payload, steps}). */
export const REFERRAL_STEPS = [
  {
    name: 'patient', operation: 'openmrs.patient', configId: 'openmrs',
    input: '{"identifiers": [{"identifier": payload.caseId, "identifierType": "CommCare Case ID"}], "givenName": payload.givenName, "familyName": payload.familyName, "gender": payload.gender, "birthdate": payload.birthdate}',
  },
  {
    name: 'encounter', operation: 'openmrs.encounter', configId: 'openmrs',
    input: '{"patient": steps.patient.uuid, "encounterType": "Referral", "encounterDatetime": payload.referredAt}',
  },
  {
    name: 'obs', operation: 'openmrs.obs', configId: 'openmrs',
    input: `{"patient": steps.patient.uuid, "encounter": steps.encounter.uuid, "obsDatetime": payload.referredAt, "obs": [{"concept": "${CONCEPTS.referralReason}", "value": payload.reason}, {"concept": "${CONCEPTS.referralUrgency}", "value": payload.urgency}]}`,
  },
  {
    name: 'case', operation: 'commcare.case.update', configId: 'commcare',
    input: '{"case_id": payload.caseId, "properties": {"referral_status": "received", "openmrs_patient_uuid": steps.patient.uuid, "openmrs_encounter_uuid": steps.encounter.uuid}}',
  },
];

function flow(openmrsBase: string, commcareBase: string): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'openmrs', type: 'chis-openmrs-config', baseUrl: `${openmrsBase}/openmrs`, apiStyle: 'rest', sessionReuse: true, timeZone: 'Africa/Nairobi', maxAttempts: 2 },
    { id: 'commcare', type: 'chis-commcare-config', baseUrl: commcareBase, domain: commcareSeed.DOMAIN, maxAttempts: 2 },
    { id: 'tx', type: 'chis-transaction', z: 't', name: 'referral', key: 'form.id', rollbackAttempts: 2, steps: JSON.stringify(REFERRAL_STEPS), wires: [['committed'], ['rolledBack'], ['attention']] },
    { id: 'committed', type: 'helper', z: 't' },
    { id: 'rolledBack', type: 'helper', z: 't' },
    { id: 'attention', type: 'helper', z: 't' },
  ];
}

type Outcome = { output: 'committed' | 'rolledBack' | 'attention'; msg: any };

/** Resolves with the next message on any of the transaction's outputs. */
function nextOutcome(): Promise<Outcome> {
  return new Promise((resolve) => {
    const outputs = ['committed', 'rolledBack', 'attention'] as const;
    const listeners = outputs.map((output) => {
      const listener = (msg: any) => {
        outputs.forEach((name, index) => helper.getNode(name).removeListener('input', listeners[index]));
        resolve({ output, msg });
      };
      helper.getNode(output).on('input', listener);
      return listener;
    });
  });
}

function send(msg: object): Promise<Outcome> {
  const outcome = nextOutcome();
  helper.getNode('tx').receive(msg);
  return outcome;
}

const referral = (caseId: string, formId = randomUUID(), overrides: Record<string, unknown> = {}) => ({
  form: { id: formId },
  payload: {
    caseId, givenName: 'Grace', familyName: 'Uwase', gender: 'F', birthdate: '1994-02-11',
    referredAt: new Date(Date.now() - 60_000).toISOString(), reason: 'Severe headache and blurred vision', urgency: CONCEPTS.urgent,
    ...overrides,
  },
});

describe('chis-transaction node running a referral (OpenMRS + CommCare sandboxes)', function () {
  this.timeout(60_000);
  let openmrs: Sandbox;
  let commcare: ReturnType<typeof createCommcare>;
  let sandboxes: ReferralSandboxes;
  let userDir: string;

  async function load(dir = userDir): Promise<void> {
    initHelper();
    helper.settings({ userDir: dir });
    await helper.load([openmrsConfig, commcareConfig, transaction], flow(sandboxes.openmrs, sandboxes.commcare), credentials);
  }

  /** Proves that nothing of the referral is left in either system. */
  async function assertNothingLeft(caseId: string, formId: string): Promise<void> {
    assert.deepEqual(await sandboxes.patientsByCaseId(caseId), [], 'no patient, not even a voided one');
    assert.equal(await sandboxes.encounter(uuidFromKey('encounter', `${formId}:encounter`)), undefined, 'the encounter is purged');
    const commcareCase = await sandboxes.case(caseId);
    assert.notEqual(commcareCase.properties.referral_status, 'received');
    assert.equal(commcareCase.properties.openmrs_patient_uuid ?? '', '');
  }

  beforeEach(async () => {
    openmrs = createOpenmrs();
    commcare = createCommcare();
    sandboxes = new ReferralSandboxes(`http://127.0.0.1:${await openmrs.listen(0)}`, `http://127.0.0.1:${await commcare.listen(0)}`);
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-transaction-'));
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await openmrs.close();
    await commcare.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('creates the patient, the referral encounter and its obs, then marks the CommCare case received', async () => {
    await load();
    const caseId = await sandboxes.createCase();
    const message = referral(caseId);
    const { output, msg } = await send(message);
    assert.equal(output, 'committed', JSON.stringify(msg.error));
    assert.equal(msg.transaction.status, 'committed');
    const { patient, encounter, obs } = msg.transaction.results;

    const [found] = await sandboxes.patientsByCaseId(caseId);
    assert.equal(found.uuid, patient.uuid);
    assert.equal(found.person.preferredName.givenName, 'Grace');
    assert.ok(found.identifiers.some((id: any) => id.identifierType.uuid === IDENTIFIER_TYPES.commcareCaseId && id.identifier === caseId));
    const written = await sandboxes.encounter(encounter.uuid);
    assert.equal(written.encounterType.uuid, ENCOUNTER_TYPES.referral);
    assert.equal(written.patient.uuid, patient.uuid);
    const byConcept = new Map(written.obs.map((item: any) => [item.concept.uuid, item.value]));
    assert.equal(byConcept.get(CONCEPTS.referralReason), 'Severe headache and blurred vision');
    assert.equal((byConcept.get(CONCEPTS.referralUrgency) as { uuid: string }).uuid, CONCEPTS.urgent);
    assert.equal(obs.uuids.length, 2);

    const commcareCase = await sandboxes.case(caseId);
    assert.equal(commcareCase.properties.referral_status, 'received');
    assert.equal(commcareCase.properties.openmrs_patient_uuid, patient.uuid);
    assert.equal(commcareCase.properties.openmrs_encounter_uuid, encounter.uuid);

    assert.deepEqual(msg.journal.map((entry: any) => `${entry.system}:${entry.resource}:${entry.action}:${entry.configId}`), [
      'openmrs:patient:created:openmrs', 'openmrs:encounter:created:openmrs', 'openmrs:obs:created:openmrs', 'openmrs:obs:created:openmrs', 'commcare:case:updated:commcare',
    ]);
  });

  const failures: Array<{ step: string; system: 'openmrs' | 'commcare'; fault: Record<string, unknown> }> = [
    { step: 'patient', system: 'openmrs', fault: { path: '/ws/rest/v1/patient$', method: 'POST' } },
    { step: 'encounter', system: 'openmrs', fault: { path: '/ws/rest/v1/encounter$', method: 'POST' } },
    { step: 'obs', system: 'openmrs', fault: { path: '/ws/rest/v1/obs$', method: 'POST' } },
    // PUT is retried (idempotent): the fault outlasts the config's two attempts.
    { step: 'case', system: 'commcare', fault: { path: '/api/case/v2/[^/]+/$', method: 'PUT', count: 2 } },
  ];
  for (const { step, system, fault } of failures) {
    for (const kind of [{ status: 500 }, { reset: true }]) {
      it(`leaves nothing in either system when the ${step} step fails (${kind.reset ? 'dropped connection' : 'HTTP 500'})`, async () => {
        await load();
        const caseId = await sandboxes.createCase();
        const message = referral(caseId);
        await sandboxes.fault(system, { count: 1, ...fault, ...kind });
        const { output, msg } = await send(message);
        assert.equal(output, 'rolledBack', JSON.stringify(msg.transaction));
        assert.equal(msg.transaction.status, 'rolled-back');
        assert.equal(msg.transaction.failedStep, step);
        assert.equal(msg.error.code, kind.reset ? 'unreachable' : 'remote-error');
        assert.ok(msg.transaction.rollback.every((report: any) => report.outcome === 'undone'), JSON.stringify(msg.transaction.rollback));
        await assertNothingLeft(caseId, message.form.id);
        // Every OpenMRS record it created was purged (DELETE ?purge=true), none voided.
        const created = msg.journal.filter((entry: any) => entry.system === 'openmrs');
        const deletes = await sandboxes.requests('openmrs', 'DELETE', '/ws/rest/v1/');
        assert.equal(deletes.length, created.length);
        assert.ok(deletes.every((request) => request.query === 'purge=true' && request.status === 204));
        assert.deepEqual(deletes.map((request) => request.path.split('/').pop()), created.map((entry: any) => entry.id).reverse(), 'newest first');
      });
    }
  }

  it('re-runs a rolled-back referral when the form comes again, and then writes it once', async () => {
    await load();
    const caseId = await sandboxes.createCase();
    const message = referral(caseId);
    await sandboxes.fault('openmrs', { path: '/ws/rest/v1/obs$', method: 'POST', status: 500, count: 1 });
    assert.equal((await send(structuredClone(message))).output, 'rolledBack');
    const again = await send(structuredClone(message));
    assert.equal(again.output, 'committed', JSON.stringify(again.msg.error));
    assert.equal((await sandboxes.patientsByCaseId(caseId)).length, 1);
    assert.equal((await sandboxes.encountersOf(again.msg.transaction.results.patient.uuid)).length, 1);
  });

  it('writes a duplicate form id once, and reuses a patient already in OpenMRS for a new referral', async () => {
    await load();
    const caseId = await sandboxes.createCase();
    const message = referral(caseId);
    const first = await send(structuredClone(message));
    assert.equal(first.output, 'committed');
    const duplicate = await send(structuredClone(message));
    assert.equal(duplicate.output, 'committed');
    assert.equal(duplicate.msg.transaction.status, 'duplicate');
    const second = await send(referral(caseId, randomUUID(), { reason: 'Follow-up of the first referral', urgency: CONCEPTS.routine }));
    assert.equal(second.output, 'committed', JSON.stringify(second.msg.error));
    assert.equal(second.msg.transaction.results.patient.uuid, first.msg.transaction.results.patient.uuid, 'the same patient');
    assert.equal(second.msg.transaction.results.patient.action, 'unchanged');

    assert.equal((await sandboxes.patientsByCaseId(caseId)).length, 1);
    assert.equal((await sandboxes.requests('openmrs', 'POST', '/ws/rest/v1/patient$')).length, 1, 'one patient create');
    assert.equal((await sandboxes.requests('openmrs', 'POST', '/ws/rest/v1/encounter$')).length, 2, 'one encounter per form');
    assert.equal((await sandboxes.encountersOf(first.msg.transaction.results.patient.uuid)).length, 2);
  });

  it('undoes its own update of an existing patient, but never the patient, when a later step fails', async () => {
    await load();
    const caseId = await sandboxes.createCase();
    const first = await send(referral(caseId));
    assert.equal(first.output, 'committed');
    const patient = first.msg.transaction.results.patient.uuid;
    await sandboxes.fault('openmrs', { path: '/ws/rest/v1/encounter$', method: 'POST', status: 500, count: 1 });
    const renamed = referral(caseId, randomUUID(), { familyName: 'Mukamana' });
    const { output, msg } = await send(renamed);
    assert.equal(output, 'rolledBack');
    assert.deepEqual(msg.transaction.rollback.map((report: any) => `${report.entry.resource}:${report.entry.action}:${report.outcome}`), ['patient:updated:undone']);
    const [kept] = await sandboxes.patientsByCaseId(caseId, false);
    assert.equal(kept.uuid, patient, 'the patient from the earlier referral stays');
    assert.equal(kept.person.preferredName.familyName, 'Uwase', 'its name is restored');
    assert.equal((await sandboxes.encountersOf(patient)).length, 1);
  });

  it('undoes a patient created just before a crash, which the resumed step finds again', async () => {
    const caseId = await sandboxes.createCase();
    const message = referral(caseId);
    // The crash came after OpenMRS created the patient and before its journal entry was saved.
    const created = await fetch(`${sandboxes.openmrs}/openmrs/ws/rest/v1/patient`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ uuid: uuidFromKey('patient', `${message.form.id}:patient`), identifiers: [{ identifier: caseId, identifierType: IDENTIFIER_TYPES.commcareCaseId, preferred: true }], person: { gender: 'F', names: [{ givenName: 'Grace', familyName: 'Uwase' }], birthdate: '1994-02-11' } }),
    });
    assert.equal(created.status, 201);
    SagaStore.inUserDir(userDir, 'tx').save({ key: message.form.id, startedAt: new Date().toISOString(), msg: message, results: {}, journal: [] });
    await sandboxes.fault('openmrs', { path: '/ws/rest/v1/encounter$', method: 'POST', status: 500, count: 1 });
    await load();
    // The node resumes saved transactions half a second after it starts.
    const { output, msg } = await nextOutcome();
    assert.equal(output, 'rolledBack');
    assert.equal(msg.transaction.failedStep, 'encounter');
    await assertNothingLeft(caseId, message.form.id);
    assert.deepEqual(SagaStore.inUserDir(userDir, 'tx').pending(), [], 'the saved state is removed');
  });

  it('does not run again a transaction that completed just before a crash, whose saved state was not yet removed', async () => {
    const caseId = await sandboxes.createCase();
    const message = referral(caseId);
    const commcareWritesBefore = (await sandboxes.requests('commcare', 'POST', '/')).length;
    // The crash came after the key was durably completed and before the saved state was removed.
    await SeenIds.inUserDir(userDir, 'transaction-tx').addDurably(message.form.id);
    SagaStore.inUserDir(userDir, 'tx').save({ key: message.form.id, startedAt: new Date().toISOString(), msg: message, results: {}, journal: [] });
    await load();
    await eventually(() => SagaStore.inUserDir(userDir, 'tx').pending().length === 0);
    assert.deepEqual(await sandboxes.requests('openmrs', 'POST', '/ws/rest/v1/'), [], 'no step ran again');
    assert.equal((await sandboxes.requests('commcare', 'POST', '/')).length, commcareWritesBefore, 'no step ran again');
  });

  it('keeps what it could not undo as "needs attention", durably across a restart', async () => {
    await load();
    const caseId = await sandboxes.createCase();
    const message = referral(caseId);
    await sandboxes.fault('commcare', { path: '/api/case/v2/[^/]+/$', method: 'PUT', status: 500, count: 2 });
    await sandboxes.fault('openmrs', { path: '/ws/rest/v1/(patient|encounter|obs)/', method: 'DELETE', status: 500 });
    const { output, msg } = await send(message);
    assert.equal(output, 'attention');
    assert.equal(msg.transaction.status, 'rollback-failed');
    assert.equal(msg.transaction.failedStep, 'case');
    assert.ok(msg.transaction.rollback.every((report: any) => report.outcome === 'failed'));
    assert.equal(msg.error.code, 'remote-error');

    const listed = await helper.request().get('/chis/attention').expect(200);
    const record = listed.body.find((candidate: any) => candidate.id === msg.attention);
    assert.ok(record, 'listed at GET /chis/attention');
    assert.equal(record.correlationId, message.form.id);
    assert.deepEqual(record.journal.map((entry: any) => entry.resource), ['patient', 'encounter', 'obs', 'obs']);
    assert.equal(JSON.stringify(record).includes('Grace'), false, 'no patient data in the record');

    await helper.unload();
    await load();
    const afterRestart = await helper.request().get('/chis/attention').expect(200);
    assert.ok(afterRestart.body.some((candidate: any) => candidate.id === msg.attention), 'still listed after a restart');

    // Once OpenMRS accepts the purges again, an operator's retry clears it.
    await sandboxes.clearFaults();
    const retried = await helper.request().post(`/chis/attention/${msg.attention}/retry`).expect(200);
    assert.equal(retried.body.resolved, true, JSON.stringify(retried.body));
    await assertNothingLeft(caseId, message.form.id);
  });
});
