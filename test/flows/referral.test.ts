/**
 * The referral workflow (flows/referral-commcare-to-openmrs.json) in a started Node-RED against
 * the OpenMRS and CommCare sandboxes: a referral form becomes a patient, a Referral encounter and
 * its obs, and the CommCare case is marked received, all or nothing, also across a kill -9.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CONCEPTS, ENCOUNTER_TYPES } from '../../sandbox/openmrs/seed';
import { uuidFromKey } from '../../nodes/openmrs/api/ids';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { ReferralSandboxes } from '../support/referral-sandboxes';
import { requireSamples, sampleJson } from '../support/samples';
import { nodeRedVersion } from '../support/runtime-env';

const RECEIVER_AUTH = { Authorization: `Basic ${Buffer.from('demo:demo-secret').toString('base64')}` };
const REFERRAL_XMLNS = 'http://openrosa.org/formdesigner/chis-demo-referral';
/** The soak: 500 referrals (CHIS_REFERRAL_COUNT sets another number, e.g. for a quick local run). */
const SOAK_COUNT = Number(process.env.CHIS_REFERRAL_COUNT) || 500;

interface Answers { given_name: string; family_name: string; sex: string; dob?: string; referral_reason: string; urgency: string }

describe(`CommCare referral -> OpenMRS with rollback, in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(300_000);
  let harness: FlowHarness;
  let sandboxes: ReferralSandboxes;

  /** A forwarded referral form (HQ's form JSON) on the upstream sample's envelope. */
  function referralForm(caseId: string, answers: Partial<Answers> = {}, formId = randomUUID()): Record<string, any> {
    const sample = sampleJson<Record<string, any>>('commcare/forwarded-form-json.json');
    const completed = new Date(Date.now() - 60_000).toISOString();
    return {
      ...sample,
      id: formId,
      domain: 'demo',
      form: {
        '@xmlns': REFERRAL_XMLNS,
        '@name': 'Referral',
        '#type': 'data',
        given_name: 'Grace', family_name: 'Uwase', sex: 'female', dob: '1994-02-11', referral_reason: 'Severe headache and blurred vision', urgency: 'urgent',
        ...answers,
        case: { '@case_id': caseId, '@xmlns': 'http://commcarehq.org/case/transaction/v2', '@date_modified': completed, '@user_id': sample.form?.meta?.userID ?? 'demo-user', update: {} },
        meta: { ...(sample.form?.meta ?? {}), instanceID: formId, timeEnd: completed },
      },
    };
  }

  const post = (form: unknown) => fetch(`${harness.runtime.url}/commcare/referrals`, { method: 'POST', headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify(form) });

  /** Exactly one patient, one Referral encounter with the two mapped obs, and the case marked received. */
  async function assertReferralWritten(caseId: string, formId: string, urgency = CONCEPTS.urgent): Promise<string> {
    const patients = await sandboxes.patientsByCaseId(caseId);
    assert.equal(patients.length, 1, `one patient for case ${caseId}`);
    const encounters = (await sandboxes.encountersOf(patients[0].uuid, ENCOUNTER_TYPES.referral)).filter((encounter) => encounter.uuid === uuidFromKey('encounter', `${formId}:encounter`));
    assert.equal(encounters.length, 1, 'one encounter for the form');
    const obs = encounters[0].obs.filter((item: any) => !item.voided);
    assert.equal(obs.length, 2, 'the two mapped obs');
    const byConcept = new Map(obs.map((item: any) => [item.concept.uuid, item.value]));
    assert.equal(typeof byConcept.get(CONCEPTS.referralReason), 'string');
    assert.equal((byConcept.get(CONCEPTS.referralUrgency) as { uuid: string }).uuid, urgency);
    const commcareCase = await sandboxes.case(caseId);
    assert.equal(commcareCase.properties.referral_status, 'received');
    assert.equal(commcareCase.properties.openmrs_patient_uuid, patients[0].uuid);
    assert.equal(commcareCase.properties.openmrs_encounter_uuid, encounters[0].uuid);
    return patients[0].uuid;
  }

  async function assertNothingWritten(caseId: string, formId: string): Promise<void> {
    assert.deepEqual(await sandboxes.patientsByCaseId(caseId), [], `no patient (not even voided) for case ${caseId}`);
    assert.equal(await sandboxes.encounter(uuidFromKey('encounter', `${formId}:encounter`)), undefined);
    assert.notEqual((await sandboxes.case(caseId)).properties.referral_status, 'received');
  }

  const attention = async (): Promise<unknown[]> => (await (await fetch(`${harness.runtime.url}/chis/attention`)).json()) as unknown[];

  before(async function () {
    requireSamples(this);
    harness = await startHarness({ name: 'referral', systems: ['openmrs', 'commcare'] });
    sandboxes = new ReferralSandboxes(harness.sandboxUrl('openmrs'), harness.sandboxUrl('commcare'));
    await harness.deployExamples('referral-commcare-to-openmrs.json');
  });

  after(async () => {
    await harness?.stop();
  });

  afterEach(async () => {
    await sandboxes?.clearFaults();
  });

  it('turns a referral form into a patient, a Referral encounter and its obs, and marks the case received', async () => {
    const caseId = await sandboxes.createCase();
    const form = referralForm(caseId);
    const response = await post(form);
    assert.equal(response.status, 200, await response.text());
    await assertReferralWritten(caseId, form.id);
    const again = await post(form);
    assert.equal(again.status, 200, 'a re-sent form is acknowledged');
    assert.equal((await sandboxes.requests('openmrs', 'POST', '/ws/rest/v1/encounter$')).length, 1, 'and writes nothing');
  });

  it('reuses the patient already in OpenMRS for a second referral of the same case', async () => {
    const caseId = await sandboxes.createCase();
    const first = referralForm(caseId);
    assert.equal((await post(first)).status, 200);
    const second = referralForm(caseId, { referral_reason: 'Not better after treatment', urgency: 'routine' });
    assert.equal((await post(second)).status, 200);
    const patient = await assertReferralWritten(caseId, second.id, CONCEPTS.routine);
    assert.equal((await sandboxes.encountersOf(patient, ENCOUNTER_TYPES.referral)).length, 2);
  });

  it('refuses a form with an unknown urgency with 422 and writes nothing', async () => {
    const caseId = await sandboxes.createCase();
    const form = referralForm(caseId, { urgency: 'tomorrow' });
    const response = await post(form);
    assert.equal(response.status, 422);
    await assertNothingWritten(caseId, form.id);
  });

  for (const { step, system, fault } of [
    { step: 'patient', system: 'openmrs', fault: { path: '/ws/rest/v1/patient$', method: 'POST', status: 500, count: 1 } },
    { step: 'encounter', system: 'openmrs', fault: { path: '/ws/rest/v1/encounter$', method: 'POST', reset: true, count: 1 } },
    { step: 'obs', system: 'openmrs', fault: { path: '/ws/rest/v1/obs$', method: 'POST', status: 500, count: 1 } },
    { step: 'case update', system: 'commcare', fault: { path: '/api/case/v2/[^/]+/$', method: 'PUT', status: 500, count: 5 } },
  ] as const) {
    it(`answers 503 and leaves nothing when the ${step} step fails`, async () => {
      const caseId = await sandboxes.createCase();
      const form = referralForm(caseId);
      await sandboxes.fault(system, fault);
      const response = await post(form);
      assert.equal(response.status, 503, await response.text());
      await assertNothingWritten(caseId, form.id);
      assert.deepEqual(await attention(), []);
    });
  }

  it('receives a referral submitted to CommCare through HQ data forwarding, as the demo is wired', async () => {
    const created = await fetch(`${harness.sandboxUrl('commcare')}/_sandbox/clients`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'form-forwarding:referral', url: `${harness.runtime.url}/commcare/referrals`, auth: { type: 'basic', username: 'demo', password: 'demo-secret' }, format: 'json', xmlns: [REFERRAL_XMLNS] }),
    });
    assert.ok(created.ok);
    const caseId = await sandboxes.createCase();
    const form = referralForm(caseId);
    const submitted = await fetch(`${harness.sandboxUrl('commcare')}/_sandbox/submit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(form) });
    assert.equal(submitted.status, 201, await submitted.text());
    await eventually(async () => (await sandboxes.case(caseId)).properties.referral_status === 'received', 20_000);
    await assertReferralWritten(caseId, form.id);
  });

  it(`delivers ${SOAK_COUNT} referrals with 20% injected faults and a kill -9 in the middle: each is written exactly once or not at all`, async () => {
    const referrals: Array<{ caseId: string; form: Record<string, any>; status: number }> = [];
    for (let index = 0; index < SOAK_COUNT; index += 1) {
      const caseId = await sandboxes.createCase(`Referral ${index}`);
      referrals.push({ caseId, form: referralForm(caseId, { given_name: `Person${index}`, urgency: index % 2 ? 'routine' : 'urgent' }), status: 0 });
    }
    await sandboxes.fault('openmrs',
      // Definite failures of a create: the step fails and the transaction rolls back.
      { path: '^/openmrs/ws/rest/v1/(patient|encounter|obs)$', method: 'POST', rate: 0.05, status: 500 },
      { path: '^/openmrs/ws/rest/v1/(patient|encounter|obs)$', method: 'POST', rate: 0.02, reset: true },
      // Transient failures everywhere, compensations included: retried by the client.
      { path: '^/openmrs/ws/rest/v1/', rate: 0.13, status: 503 });

    const started = Date.now();
    let answered = 0;
    let crashed: Promise<void> | undefined;
    /** As HQ does: a delivery that got no HTTP answer (Node-RED down) is sent again. */
    const deliver = async (referral: (typeof referrals)[number]): Promise<void> => {
      for (;;) {
        try {
          if (crashed) await crashed;
          const response = await post(referral.form);
          referral.status = response.status;
          await response.arrayBuffer();
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      answered += 1;
      if (answered === Math.floor(SOAK_COUNT / 2)) crashed = harness.restart({ crash: true });
    };
    const queue = [...referrals];
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await deliver(next);
    }));
    await crashed;
    await sandboxes.clearFaults();
    const elapsed = Date.now() - started;

    const succeeded = referrals.filter((referral) => referral.status === 200);
    const failed = referrals.filter((referral) => referral.status !== 200);
    console.log(`      ${SOAK_COUNT} referrals in ${elapsed} ms: ${succeeded.length} written, ${failed.length} refused (${[...new Set(failed.map((r) => r.status))].join(', ')})`);
    assert.ok(failed.length > 0 && succeeded.length > 0, 'the faults made some referrals fail');
    assert.ok(failed.every((referral) => referral.status >= 400), 'every failed referral got a non-2xx');
    for (const referral of succeeded) await assertReferralWritten(referral.caseId, referral.form.id, referral.form.form.urgency === 'routine' ? CONCEPTS.routine : CONCEPTS.urgent);
    for (const referral of failed) await assertNothingWritten(referral.caseId, referral.form.id);
    assert.deepEqual(await attention(), [], 'every rollback finished');
  });
});
