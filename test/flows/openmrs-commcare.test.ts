/**
 * The OpenMRS <-> CommCare workflow, driven end to end in a started Node-RED against the
 * sandboxes: follow-up patients become CommCare cases; forwarded visit forms go through the
 * durable outbox and become one encounter with its obs on the right patient, exactly once, even
 * when OpenMRS misbehaves, is down, or Node-RED is killed with forms waiting.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as openmrsSeed from '../../sandbox/openmrs/seed';
import { configureDemoClients } from '../../scripts/demo-clients';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { requireSamples, sampleJson } from '../support/samples';
import { nodeRedVersion } from '../support/runtime-env';

const OPENMRS_AUTH = { Authorization: `Basic ${Buffer.from('admin:Admin123').toString('base64')}` };
const COMMCARE_AUTH = { Authorization: 'ApiKey demo@example.org:demo-api-key' };
const RECEIVER_AUTH = { Authorization: `Basic ${Buffer.from('demo:demo-secret').toString('base64')}` };
const FOLLOWUP_XMLNS = 'http://openrosa.org/formdesigner/chis-demo-followup';
const CIEL = (n: number): string => `${n}${'A'.repeat(36 - String(n).length)}`;

interface CommcareCase { case_id: string; external_id: string; case_name: string; owner_id: string; properties: Record<string, string> }
interface Encounter { uuid: string; obs: Array<{ uuid: string; concept: { uuid: string }; value: unknown }> }
interface QueueView { queue: string; ready: number; inflight: number; dead: number; depth: number; circuit: string | null }
interface DeadLetterView { id: number; key: string | null; attempts: number; error: { code: string; message: string; status?: number }; msg: { form?: { id?: string } } }
const QUEUE = 'openmrs-encounters';

describe(`OpenMRS <-> CommCare flows in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(180_000);
  let harness: FlowHarness;

  const openmrs = (path: string) => fetch(`${harness.sandboxUrl('openmrs')}/openmrs/ws/rest/v1${path}`, { headers: OPENMRS_AUTH }).then((r) => r.json() as Promise<any>);
  const commcareCases = async (externalId: string): Promise<CommcareCase[]> => {
    const response = await fetch(`${harness.sandboxUrl('commcare')}/a/demo/api/case/v2/?external_id=${externalId}`, { headers: COMMCARE_AUTH });
    return ((await response.json()) as { cases: CommcareCase[] }).cases;
  };
  const encountersOf = async (patient: string): Promise<Encounter[]> =>
    (await openmrs(`/encounter?patient=${patient}&encounterType=${openmrsSeed.ENCOUNTER_TYPES.communityFollowUp}&v=full`)).results;
  const sandboxControl = (system: 'openmrs' | 'commcare', path: string, body?: unknown, method = 'POST') =>
    fetch(`${harness.sandboxUrl(system)}/_sandbox/${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

  /** A forwarded follow-up form (HQ's form JSON), built on the real upstream sample's envelope. */
  function followUpForm(caseId: string, answers: Record<string, string>, formId = randomUUID()): Record<string, unknown> {
    const sample = sampleJson<Record<string, any>>('commcare/forwarded-form-json.json');
    return {
      ...sample,
      id: formId,
      domain: 'demo',
      form: {
        '@xmlns': FOLLOWUP_XMLNS,
        '@name': 'Follow-up visit',
        '#type': 'data',
        ...answers,
        case: { '@case_id': caseId, '@xmlns': 'http://commcarehq.org/case/transaction/v2', '@date_modified': new Date().toISOString(), '@user_id': sample.form?.meta?.userID ?? 'demo-user', update: {} },
        meta: { ...(sample.form?.meta ?? {}), instanceID: formId },
      },
    };
  }

  const encounterQueue = async (): Promise<QueueView | undefined> =>
    (await harness.runtime.api<{ queues: QueueView[] }>('GET', '/chis/outbox')).queues.find((queue) => queue.queue === QUEUE);
  const deadLetters = async (): Promise<DeadLetterView[]> =>
    (await harness.runtime.api<{ deadLetters: DeadLetterView[] }>('GET', `/chis/outbox/dead-letters?queue=${QUEUE}`)).deadLetters;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const postForm = (form: unknown) => fetch(`${harness.runtime.url}/commcare/forms`, {
    method: 'POST',
    headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify(form),
  });

  before(async function () {
    requireSamples(this);
    harness = await startHarness({ name: 'openmrs-commcare', systems: ['openmrs', 'commcare'] });
    await harness.deployExamples('openmrs-to-commcare-followup.json', 'commcare-to-openmrs-encounter.json');
  });

  after(async () => {
    await harness?.stop();
  });

  it('turns every patient of the follow-up search into one CommCare case, linked by external_id', async () => {
    for (const patient of [openmrsSeed.PATIENTS.amina, openmrsSeed.PATIENTS.baraka]) {
      const [created] = await eventually(async () => {
        const cases = await commcareCases(patient);
        return cases.length ? cases : undefined;
      }, 30_000);
      const cases = await commcareCases(patient);
      assert.equal(cases.length, 1, 'exactly one case per patient');
      assert.equal(created.external_id, patient);
    }
    const [amina] = await commcareCases(openmrsSeed.PATIENTS.amina);
    assert.equal(amina.case_name, 'Amina Otieno');
    assert.equal(amina.properties.sex, 'female');
    assert.equal(amina.properties.dob, '1990-03-14');
    assert.equal(amina.properties.phone, '+254712000001');
    assert.equal(amina.owner_id, '1b2c3d4e5f60718293a4b5c6d7e8f901', 'the North catchment maps to the Kimironko owner');
  });

  it('writes one encounter with one obs per mapped question for a forwarded visit form, and nothing for its re-delivery', async () => {
    const [caseOfAmina] = await commcareCases(openmrsSeed.PATIENTS.amina);
    const before = (await encountersOf(openmrsSeed.PATIENTS.amina)).length;
    const form = followUpForm(caseOfAmina.case_id, { visit_date: '2026-11-20', weight_kg: '61.5', temperature_c: '38.2', danger_signs: 'yes' });
    const first = await postForm(form);
    assert.equal(first.status, 200, await first.text());
    // CommCare's 2xx means "stored in the outbox"; the encounter follows in the background.
    const encounters = await eventually(async () => {
      const written = await encountersOf(openmrsSeed.PATIENTS.amina);
      return written.length === before + 1 ? written : undefined;
    }, 20_000);
    const written = encounters.find((encounter) => encounter.obs.some((obs) => obs.value === 61.5));
    assert.ok(written, 'the new encounter carries the form\'s weight');
    assert.equal(written.obs.length, 3, 'one obs per mapped question');
    const byConcept = new Map(written.obs.map((obs) => [obs.concept.uuid, obs.value]));
    assert.equal(byConcept.get(CIEL(5089)), 61.5);
    assert.equal(byConcept.get(CIEL(5088)), 38.2);
    assert.equal((byConcept.get(CIEL(999101)) as { uuid: string }).uuid, CIEL(1065));
    const again = await postForm(form);
    assert.equal(again.status, 200);
    await sleep(1_000);
    assert.equal((await encountersOf(openmrsSeed.PATIENTS.amina)).length, before + 1, 'a re-sent form writes nothing new');
  });

  it('receives a visit submitted to CommCare through HQ data forwarding, as the demo is wired', async () => {
    await configureDemoClients(Object.values(harness.sandboxes), harness.runtime.url);
    const [caseOfAmina] = await commcareCases(openmrsSeed.PATIENTS.amina);
    const before = (await encountersOf(openmrsSeed.PATIENTS.amina)).length;
    const form = followUpForm(caseOfAmina.case_id, { visit_date: '2026-11-21', weight_kg: '62', temperature_c: '36.9', danger_signs: 'no' });
    const submitted = await sandboxControl('commcare', 'submit', form);
    assert.equal(submitted.status, 201, await submitted.text());
    await eventually(async () => (await encountersOf(openmrsSeed.PATIENTS.amina)).length === before + 1, 20_000);
    const deliveries = (await (await sandboxControl('commcare', 'deliveries', undefined, 'GET')).json()) as Array<{ target: string; status: number }>;
    assert.ok(deliveries.some((delivery) => delivery.target === 'form-forwarding:followup' && delivery.status === 200), 'HQ saw a 2xx');
  });

  it('keeps a form for an unknown patient as a dead letter with code not-found, and writes nothing', async () => {
    const unknownCase = randomUUID();
    const encounterCreatesBefore = (await (await sandboxControl('openmrs', 'requests?method=POST&path=/encounter$', undefined, 'GET')).json() as unknown[]).length;
    const form = followUpForm(unknownCase, { visit_date: '2026-11-20', weight_kg: '50', temperature_c: '37', danger_signs: 'no' });
    const response = await postForm(form);
    assert.equal(response.status, 200, 'stored: CommCare need not send it again');
    const letter = await eventually(async () => (await deadLetters()).find((dead) => dead.key === form.id), 20_000);
    assert.equal(letter.error.code, 'not-found');
    assert.equal(letter.attempts, 1, 'a permanent error is not retried');
    assert.equal(letter.msg.form?.id, form.id, 'the form is kept with its error');
    const encounterCreatesAfter = (await (await sandboxControl('openmrs', 'requests?method=POST&path=/encounter$', undefined, 'GET')).json() as unknown[]).length;
    assert.equal(encounterCreatesAfter, encounterCreatesBefore);
  });

  it('acknowledges and ignores forms of other xmlns', async () => {
    const form = followUpForm(randomUUID(), { visit_date: '2026-11-20' });
    (form.form as Record<string, unknown>)['@xmlns'] = 'http://openrosa.org/formdesigner/some-other-form';
    const response = await postForm(form);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { status: string }).status, 'ignored');
  });

  it('refuses senders without the demo credentials', async () => {
    const response = await fetch(`${harness.runtime.url}/commcare/forms`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 401);
  });

  it('still writes exactly one encounter per form when OpenMRS fails 30% of requests and rate-limits', async () => {
    const [caseOfBaraka] = await commcareCases(openmrsSeed.PATIENTS.baraka);
    const before = (await encountersOf(openmrsSeed.PATIENTS.baraka)).length;
    await sandboxControl('openmrs', 'faults', [
      { path: '^/openmrs/ws/rest/v1/', rate: 0.3, status: 503 },
      { path: '^/openmrs/ws/rest/v1/encounter', rate: 0.1, status: 429, retryAfter: 1 },
    ]);
    const forms = Array.from({ length: 12 }, (_, index) => followUpForm(caseOfBaraka.case_id, {
      visit_date: `2026-11-${String(index + 1).padStart(2, '0')}`, weight_kg: String(70 + index), temperature_c: '37', danger_signs: 'no',
    }));
    try {
      for (const form of forms) assert.equal((await postForm(form)).status, 200, 'stored at once, whatever OpenMRS does');
      await eventually(async () => (await encountersOf(openmrsSeed.PATIENTS.baraka)).length >= before + forms.length, 60_000, 250);
    } finally {
      await sandboxControl('openmrs', 'faults', undefined, 'DELETE');
    }
    await eventually(async () => (await encounterQueue())?.depth === 0, 30_000);
    const encounters = await encountersOf(openmrsSeed.PATIENTS.baraka);
    assert.equal(encounters.length, before + forms.length, 'exactly one encounter per form');
  });

  it('answers CommCare 2xx while OpenMRS is down, queues the forms, and writes each exactly once when it is back', async () => {
    const [caseOfBaraka] = await commcareCases(openmrsSeed.PATIENTS.baraka);
    const before = (await encountersOf(openmrsSeed.PATIENTS.baraka)).length;
    const forms = Array.from({ length: 5 }, (_, index) => followUpForm(caseOfBaraka.case_id, {
      visit_date: `2026-10-${String(index + 1).padStart(2, '0')}`, weight_kg: String(80 + index), temperature_c: '36.8', danger_signs: 'no',
    }));
    const encounterCreates = async () => ((await (await sandboxControl('openmrs', 'requests?method=POST&path=/encounter$&status=201', undefined, 'GET')).json()) as unknown[]).length;
    const createdBefore = await encounterCreates();
    await sandboxControl('openmrs', 'faults', { path: '^/openmrs/', rate: 1, status: 503 });
    try {
      for (const form of forms) {
        const response = await postForm(form);
        assert.equal(response.status, 200, `CommCare gets 2xx during the outage: ${await response.text()}`);
      }
      const queued = await encounterQueue();
      assert.equal(queued?.depth, forms.length, 'the forms wait in the outbox');
      // A re-sent form during the outage is not queued twice.
      assert.equal((await postForm(forms[0])).status, 200);
      assert.equal((await encounterQueue())?.depth, forms.length);
      // Down for longer than the writer's own retries: the outbox's retries fail too, and the
      // circuit opens after 5 failures in a row (the status reads "circuit open (retry in N s)").
      await eventually(async () => (await encounterQueue())?.circuit === 'open', 45_000, 250);
      assert.equal(await encounterCreates(), createdBefore, 'nothing written while OpenMRS is down');
      assert.equal((await encounterQueue())?.depth, forms.length, 'still queued, none lost or dead-lettered');
    } finally {
      await sandboxControl('openmrs', 'faults', undefined, 'DELETE');
    }
    await eventually(async () => (await encounterQueue())?.depth === 0, 60_000, 250);
    const encounters = await encountersOf(openmrsSeed.PATIENTS.baraka);
    assert.equal(encounters.length, before + forms.length, 'every form became exactly one encounter');
  });

  it('delivers every queued form exactly once after a kill -9 of Node-RED', async () => {
    const [caseOfAmina] = await commcareCases(openmrsSeed.PATIENTS.amina);
    const before = (await encountersOf(openmrsSeed.PATIENTS.amina)).length;
    const forms = Array.from({ length: 6 }, (_, index) => followUpForm(caseOfAmina.case_id, {
      visit_date: `2026-09-${String(index + 1).padStart(2, '0')}`, weight_kg: String(55 + index), temperature_c: '37.1', danger_signs: 'no',
    }));
    // OpenMRS answers slowly, so some forms are mid-delivery when Node-RED dies.
    await sandboxControl('openmrs', 'faults', { path: '^/openmrs/ws/rest/v1/encounter', rate: 1, latencyMs: 1_500 });
    try {
      for (const form of forms) assert.equal((await postForm(form)).status, 200);
      await eventually(async () => ((await encounterQueue())?.inflight ?? 0) > 0, 10_000);
      await harness.runtime.kill9();
    } finally {
      await sandboxControl('openmrs', 'faults', undefined, 'DELETE');
    }
    await harness.restart();
    await eventually(async () => (await encounterQueue())?.depth === 0, 60_000, 250);
    await sleep(1_000);
    const encounters = await encountersOf(openmrsSeed.PATIENTS.amina);
    assert.equal(encounters.length, before + forms.length, 'every accepted form written once: none lost, none doubled');
  });

  it('neither skips nor re-sends a patient across a crash of Node-RED between checkpoints', async () => {
    const caseCreates = async (patient: string): Promise<number> => {
      // Case writes only (the writer's bulk-fetch look-ups are POSTs too, to .../bulk-fetch/).
      const log = (await (await sandboxControl('commcare', 'requests?method=POST&path=/api/case/v2/$', undefined, 'GET')).json()) as Array<{ body: unknown }>;
      return log.filter((entry) => JSON.stringify(entry.body ?? '').includes(patient)).length;
    };
    const aminaWrites = await caseCreates(openmrsSeed.PATIENTS.amina);
    // Killed while polling every 5 s: no clean close, wherever the source was.
    await harness.runtime.kill9();
    // While Node-RED is down, Chausiku is referred, so she enters the follow-up search.
    const referral = await fetch(`${harness.sandboxUrl('openmrs')}/openmrs/ws/rest/v1/encounter`, {
      method: 'POST',
      headers: { ...OPENMRS_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        patient: openmrsSeed.PATIENTS.chausiku,
        encounterType: openmrsSeed.ENCOUNTER_TYPES.referral,
        encounterDatetime: new Date(Date.now() - 60_000).toISOString(),
        location: openmrsSeed.LOCATIONS.facility,
      }),
    });
    assert.equal(referral.status, 201, await referral.text());
    await harness.restart();
    const [chausiku] = await eventually(async () => {
      const cases = await commcareCases(openmrsSeed.PATIENTS.chausiku);
      return cases.length ? cases : undefined;
    }, 30_000);
    assert.equal(chausiku.external_id, openmrsSeed.PATIENTS.chausiku, 'the patient referred during the outage is not skipped');
    // Let a few more polls run: nothing is sent twice.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    assert.equal((await commcareCases(openmrsSeed.PATIENTS.chausiku)).length, 1);
    assert.equal(await caseCreates(openmrsSeed.PATIENTS.chausiku), 1, 'written once');
    assert.equal(await caseCreates(openmrsSeed.PATIENTS.amina), aminaWrites, 'unchanged patients are not written again');
  });

  it('follow-up flow (checkpoint after confirmation): every patient reaches CommCare exactly once after a kill -9 right after a page is emitted', async () => {
    const followupQueue = async (): Promise<QueueView | undefined> =>
      (await harness.runtime.api<{ queues: QueueView[] }>('GET', '/chis/outbox')).queues.find((queue) => queue.queue === 'commcare-followup-cases');
    const refer = async (patient: string) => {
      const response = await fetch(`${harness.sandboxUrl('openmrs')}/openmrs/ws/rest/v1/encounter`, {
        method: 'POST',
        headers: { ...OPENMRS_AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify({ patient, encounterType: openmrsSeed.ENCOUNTER_TYPES.referral, encounterDatetime: new Date(Date.now() - 60_000).toISOString(), location: openmrsSeed.LOCATIONS.facility }),
      });
      assert.equal(response.status, 201, await response.text());
    };
    const patients = [openmrsSeed.PATIENTS.daudi, openmrsSeed.PATIENTS.esther];
    // CommCare answers slowly, so the page is emitted and queued but not yet written when Node-RED dies.
    await sandboxControl('commcare', 'faults', { path: '/api/case/v2', rate: 1, latencyMs: 3_000 });
    try {
      for (const patient of patients) await refer(patient);
      await eventually(async () => ((await followupQueue())?.depth ?? 0) > 0, 30_000, 50);
      await harness.runtime.kill9();
    } finally {
      await sandboxControl('commcare', 'faults', undefined, 'DELETE');
    }
    await harness.restart();
    for (const patient of patients) {
      await eventually(async () => ((await commcareCases(patient)).length ? true : undefined), 30_000);
    }
    await eventually(async () => (await followupQueue())?.depth === 0, 30_000, 250);
    // A few more polls: a page re-read after the restart is stored again but written over the same case.
    await sleep(11_000);
    for (const patient of patients) assert.equal((await commcareCases(patient)).length, 1, `exactly one case for ${patient}`);
  });
});
