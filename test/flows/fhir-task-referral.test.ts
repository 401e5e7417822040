/**
 * The OpenSRP referral loop on a FHIR server, driven end to end in a started Node-RED: a
 * forwarded CommCare referral form becomes Patient + ServiceRequest + Task (requested), the
 * facility opens and completes the Task through the state machine, and every status change,
 * also one made on the FHIR server by another app, reaches the CommCare case.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fhirSeed from '../../sandbox/fhir/seed';
import { PATIENT_INGABIRE_ID, PATIENT_MUKAMANA_ID, PATIENT_UWIMANA_ID } from '../../sandbox/commcare/seed';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { requireSamples, sampleJson } from '../support/samples';
import { nodeRedVersion } from '../support/runtime-env';

const FHIR_AUTH = { Authorization: `Bearer ${fhirSeed.FHIR_STATIC_TOKEN}` };
const COMMCARE_AUTH = { Authorization: 'ApiKey demo@example.org:demo-api-key' };
const RECEIVER_AUTH = { Authorization: `Basic ${Buffer.from('demo:demo-secret').toString('base64')}` };
const REFERRAL_XMLNS = 'http://openrosa.org/formdesigner/chis-demo-referral';
const CASE_SYSTEM = 'http://commcarehq.org/fhir/case-id';
const FORM_SYSTEM = 'http://commcarehq.org/fhir/form-id';

interface Task { id: string; status: string; intent: string; for: { reference: string }; owner: { reference: string }; requester: { reference: string }; basedOn: Array<{ reference: string }>; businessStatus?: { text?: string }; meta: { versionId: string } }

describe(`OpenSRP referral loop (FHIR Task) in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(180_000);
  let harness: FlowHarness;

  const fhirSearch = async <T>(type: string, query: string): Promise<T[]> => {
    const response = await fetch(`${harness.sandboxUrl('fhir')}/fhir/${type}?${query}`, { headers: FHIR_AUTH });
    const bundle = (await response.json()) as { entry?: Array<{ resource: T }> };
    return (bundle.entry ?? []).map((entry) => entry.resource);
  };
  const tasksOfForm = (formId: string) => fhirSearch<Task>('Task', `identifier=${encodeURIComponent(`${FORM_SYSTEM}|${formId}`)}`);
  const taskOfForm = async (formId: string): Promise<Task> => eventually(async () => (await tasksOfForm(formId))[0], 20_000);
  const readTask = async (id: string): Promise<Task> => (await (await fetch(`${harness.sandboxUrl('fhir')}/fhir/Task/${id}`, { headers: FHIR_AUTH })).json()) as Task;
  const referralStatus = async (caseId: string): Promise<string | undefined> => {
    const response = await fetch(`${harness.sandboxUrl('commcare')}/a/demo/api/case/v2/${caseId}`, { headers: COMMCARE_AUTH });
    return ((await response.json()) as { properties?: Record<string, string> }).properties?.referral_status;
  };
  const caseFollows = (caseId: string, status: string) => eventually(async () => (await referralStatus(caseId)) === status, 30_000, 250);
  const facility = (taskId: string, action: 'open' | 'done') => fetch(`${harness.runtime.url}/fhir/facility/tasks/${taskId}/${action}`, { method: 'POST' });

  /** A forwarded referral form (HQ's form JSON) for a case, on the real upstream sample's envelope. */
  function referralForm(caseId: string, answers: Record<string, string> = {}, formId = randomUUID()): Record<string, unknown> {
    const sample = sampleJson<Record<string, any>>('commcare/forwarded-form-json.json');
    return {
      ...sample,
      id: formId,
      domain: 'demo',
      form: {
        '@xmlns': REFERRAL_XMLNS,
        '@name': 'Referral',
        '#type': 'data',
        given_name: 'Claudine',
        family_name: 'Mukamana',
        sex: 'female',
        dob: '1992-06-01',
        referral_reason: 'Danger signs in pregnancy',
        urgency: 'urgent',
        ...answers,
        case: { '@case_id': caseId, '@xmlns': 'http://commcarehq.org/case/transaction/v2', '@date_modified': new Date().toISOString(), '@user_id': sample.form?.meta?.userID ?? 'demo-user', update: {} },
        meta: { ...(sample.form?.meta ?? {}), instanceID: formId },
      },
    };
  }
  const postReferral = (form: unknown) => fetch(`${harness.runtime.url}/fhir/referrals`, { method: 'POST', headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify(form) });

  before(async function () {
    requireSamples(this);
    harness = await startHarness({ name: 'fhir-task-referral', systems: ['fhir', 'commcare'] });
    await harness.deployExamples('fhir-task-referral.json');
  });

  after(async () => {
    await harness?.stop();
  });

  it('closes the loop: form → Patient + ServiceRequest + Task requested → opened → in-progress → done → completed, the case following each status', async () => {
    // As the demo is wired: HQ forwards referral forms to the flow's receiver.
    const client = await fetch(`${harness.sandboxUrl('commcare')}/_sandbox/clients`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'form-forwarding:fhir-referral', url: `${harness.runtime.url}/fhir/referrals`, auth: { type: 'basic', username: 'demo', password: 'demo-secret' }, format: 'json', xmlns: [REFERRAL_XMLNS] }),
    });
    assert.equal(client.status < 300, true, await client.text());
    const form = referralForm(PATIENT_MUKAMANA_ID);
    const submitted = await fetch(`${harness.sandboxUrl('commcare')}/_sandbox/submit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(form) });
    assert.equal(submitted.status, 201, await submitted.text());
    const formId = String(form.id);

    const task = await taskOfForm(formId);
    assert.equal(task.status, 'requested');
    assert.equal(task.intent, 'order');
    assert.equal(task.businessStatus?.text, 'Referred');
    assert.equal(task.owner.reference, `Organization/${fhirSeed.FACILITY_ORGANIZATION_ID}`);
    assert.equal(task.requester.reference, `Organization/${fhirSeed.CHW_ORGANIZATION_ID}`);
    const patients = await fhirSearch<{ id: string; name: Array<{ family: string }>; gender: string; birthDate: string }>('Patient', `identifier=${encodeURIComponent(`${CASE_SYSTEM}|${PATIENT_MUKAMANA_ID}`)}`);
    assert.equal(patients.length, 1);
    assert.equal(task.for.reference, `Patient/${patients[0].id}`);
    assert.equal(patients[0].name[0].family, 'Mukamana');
    assert.equal(patients[0].gender, 'female');
    assert.equal(patients[0].birthDate, '1992-06-01');
    const [request] = await fhirSearch<{ id: string; subject: { reference: string }; reasonCode: Array<{ text: string }>; priority: string }>('ServiceRequest', `identifier=${encodeURIComponent(`${FORM_SYSTEM}|${formId}`)}`);
    assert.equal(task.basedOn[0].reference, `ServiceRequest/${request.id}`);
    assert.equal(request.subject.reference, `Patient/${patients[0].id}`);
    assert.equal(request.reasonCode[0].text, 'Danger signs in pregnancy');
    assert.equal(request.priority, 'urgent');
    await eventually(async () => {
      const deliveries = (await (await fetch(`${harness.sandboxUrl('commcare')}/_sandbox/deliveries?target=form-forwarding:fhir-referral`)).json()) as Array<{ status: number }>;
      return deliveries.some((delivery) => delivery.status === 200);
    }, 20_000);
    await caseFollows(PATIENT_MUKAMANA_ID, 'requested');

    // Re-delivery (HQ retries, or forwards again): nothing new.
    const again = await postReferral(form);
    assert.equal(again.status, 200);
    assert.equal((await tasksOfForm(formId)).length, 1);
    assert.equal((await fhirSearch('Patient', `identifier=${encodeURIComponent(`${CASE_SYSTEM}|${PATIENT_MUKAMANA_ID}`)}`)).length, 1);
    assert.equal((await fhirSearch('ServiceRequest', `identifier=${encodeURIComponent(`${FORM_SYSTEM}|${formId}`)}`)).length, 1);

    const opened = await facility(task.id, 'open');
    assert.equal(opened.status, 200, await opened.clone().text());
    const openedTask = (await opened.json()) as Task;
    assert.equal(openedTask.status, 'in-progress');
    assert.equal(openedTask.businessStatus?.text, 'In-Progress');
    await caseFollows(PATIENT_MUKAMANA_ID, 'in-progress');

    const done = await facility(task.id, 'done');
    assert.equal(done.status, 200, await done.clone().text());
    assert.equal(((await done.json()) as Task).status, 'completed');
    await caseFollows(PATIENT_MUKAMANA_ID, 'completed');
  });

  it('refuses a move the Task state machine does not allow, on the error path, and changes nothing', async () => {
    const form = referralForm(PATIENT_INGABIRE_ID, { given_name: 'Alice', family_name: 'Ingabire' });
    assert.equal((await postReferral(form)).status, 200);
    const task = await taskOfForm(String(form.id));
    // requested -> completed skips the work: FHIR does not allow it.
    const skipped = await facility(task.id, 'done');
    assert.equal(skipped.status, 422);
    const body = (await skipped.json()) as { code: string; message: string };
    assert.equal(body.code, 'bad-input');
    assert.match(body.message, /cannot move from requested to completed/);
    assert.equal((await readTask(task.id)).status, 'requested');
    assert.equal((await facility(task.id, 'open')).status, 200);
    assert.equal((await facility(task.id, 'done')).status, 200);
    // completed is final: re-opening it is refused.
    const reopened = await facility(task.id, 'open');
    assert.equal(reopened.status, 422);
    assert.match(((await reopened.json()) as { message: string }).message, /completed is final/);
    assert.equal((await readTask(task.id)).status, 'completed');
    const unknown = await facility(randomUUID(), 'open');
    assert.equal(unknown.status, 404);
  });

  it('passes on a status change made directly on the FHIR server by another app', async () => {
    const form = referralForm(PATIENT_UWIMANA_ID, { given_name: 'Diane', family_name: 'Uwimana', urgency: 'routine' });
    assert.equal((await postReferral(form)).status, 200);
    const task = await taskOfForm(String(form.id));
    await caseFollows(PATIENT_UWIMANA_ID, 'requested');
    const current = await readTask(task.id);
    const put = await fetch(`${harness.sandboxUrl('fhir')}/fhir/Task/${task.id}`, {
      method: 'PUT',
      headers: { ...FHIR_AUTH, 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ ...current, status: 'cancelled', businessStatus: { text: 'Expired' } }),
    });
    assert.equal(put.status, 200, await put.text());
    await caseFollows(PATIENT_UWIMANA_ID, 'cancelled');
  });

  it('lets the demo open the newest referral with the inject button', async () => {
    const form = referralForm(PATIENT_INGABIRE_ID, { given_name: 'Alice', family_name: 'Ingabire', referral_reason: 'Fever in a child' });
    assert.equal((await postReferral(form)).status, 200);
    const task = await taskOfForm(String(form.id));
    // The facility poller (every 5 s) remembers the newest requested Task it saw.
    await eventually(async () => {
      const pressed = await fetch(`${harness.runtime.url}/inject/fhirref-inject-open`, { method: 'POST' });
      assert.equal(pressed.status, 200);
      return eventually(async () => (await readTask(task.id)).status === 'in-progress', 2_000, 200).catch(() => false);
    }, 30_000, 1_000);
    await caseFollows(PATIENT_INGABIRE_ID, 'in-progress');
  });

  it('refuses senders without the demo credentials', async () => {
    const response = await fetch(`${harness.runtime.url}/fhir/referrals`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 401);
  });
});
