/**
 * The CHT -> OpenMRS workflow (the Mali pattern) in a started Node-RED against the sandboxes:
 * CHT outbound push delivers patients and referral reports to /cht/outbound; they become the
 * OpenMRS patient (identifier "CHT Patient ID" = CHT _id) and one Referral encounter with obs.
 */
import assert from 'node:assert/strict';
import * as chtSeed from '../../sandbox/cht/seed';
import * as openmrsSeed from '../../sandbox/openmrs/seed';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { requireSamples, sampleJson } from '../support/samples';
import { nodeRedVersion } from '../support/runtime-env';

const CHT_AUTH = { Authorization: `Basic ${Buffer.from(`${chtSeed.USERNAME}:${chtSeed.PASSWORD}`).toString('base64')}` };
const OPENMRS_AUTH = { Authorization: `Basic ${Buffer.from(`${openmrsSeed.USERNAME}:${openmrsSeed.PASSWORD}`).toString('base64')}` };
const RECEIVER_AUTH = { Authorization: `Basic ${Buffer.from('demo:demo-secret').toString('base64')}` };

/** The pushes this flow expects (the same as in scripts/demo-clients.ts). */
export const EMR_PUSHES = {
  'emr-patient': {
    relevant_to: "doc.type === 'person' && doc.role === 'patient'",
    destination: { path: '/cht/outbound' },
    mapping: {
      kind: { expr: "'patient'" },
      id: 'doc._id',
      name: 'doc.name',
      sex: { path: 'doc.sex', optional: true },
      date_of_birth: { path: 'doc.date_of_birth', optional: true },
      phone: { path: 'doc.phone', optional: true },
      patient_id: { path: 'doc.patient_id', optional: true },
    },
  },
  'emr-visit': {
    relevant_to: "doc.type === 'data_record' && (doc.form === 'REF' || doc.form === 'home_visit')",
    destination: { path: '/cht/outbound' },
    mapping: {
      kind: { expr: "'visit'" },
      id: 'doc._id',
      form: 'doc.form',
      patient_uuid: { path: 'doc.fields.patient_uuid', optional: true },
      patient_id: { path: 'doc.fields.patient_id', optional: true },
      reported_date: 'doc.reported_date',
      fields: 'doc.fields',
    },
  },
};

interface Encounter { uuid: string; encounterDatetime: string; encounterType: { uuid: string }; obs: Array<{ concept: { uuid: string }; value: unknown; comment?: string }> }

describe(`CHT -> OpenMRS flow in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(180_000);
  let harness: FlowHarness;

  const cht = (path: string, body: unknown) =>
    fetch(`${harness.sandboxUrl('cht')}${path}`, { method: 'POST', headers: { ...CHT_AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const openmrs = async (path: string): Promise<any> => (await fetch(`${harness.sandboxUrl('openmrs')}/openmrs/ws/rest/v1${path}`, { headers: OPENMRS_AUTH })).json();
  const control = (system: 'cht' | 'openmrs', path: string, body?: unknown, method = 'POST') =>
    fetch(`${harness.sandboxUrl(system)}/_sandbox/${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const patientWithChtId = async (id: string): Promise<{ uuid: string; person: { display: string; gender: string } } | undefined> =>
    (await openmrs(`/patient?identifier=${encodeURIComponent(id)}&v=full`)).results[0];
  const referralsOf = async (patient: string): Promise<Encounter[]> =>
    (await openmrs(`/encounter?patient=${patient}&encounterType=${openmrsSeed.ENCOUNTER_TYPES.referral}&v=full`)).results;

  async function createPatient(name: string): Promise<string> {
    const response = await cht('/api/v1/people', { name, sex: 'female', date_of_birth: '1994-02-03', phone: '+254733111222', role: 'patient', type: 'person', place: chtSeed.CLINIC_ID });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return (JSON.parse(text) as { id: string }).id;
  }

  before(async function () {
    requireSamples(this);
    harness = await startHarness({ name: 'cht-to-emr', systems: ['cht', 'openmrs'] });
    await harness.deployExamples('cht-to-emr.json');
    const configured = await control('cht', 'clients', {
      name: 'outbound',
      url: harness.runtime.url,
      auth: { type: 'basic', username: 'demo', password: 'demo-secret' },
      retryIntervalMs: 500,
      pushes: EMR_PUSHES,
    });
    assert.equal(configured.status, 200);
  });

  after(async () => {
    await harness?.stop();
  });

  it('makes a CHT patient registration an OpenMRS patient identified by "CHT Patient ID"', async () => {
    const id = await createPatient('Wanjiku Kamau');
    const patient = await eventually(() => patientWithChtId(id), 20_000, 200);
    assert.match(patient.person.display, /Wanjiku Kamau/);
    assert.equal(patient.person.gender, 'F');
  });

  it('makes a referral report one Referral encounter with its obs, once, even when re-pushed', async () => {
    const id = await createPatient('Halima Chebet');
    const patient = await eventually(() => patientWithChtId(id), 20_000, 200);
    // The docs' POST /api/v2/records envelope (its reported_date: 2012-11-08), for the REF form.
    const sample = sampleJson<{ _meta: Record<string, unknown> }>('cht/records-v2-create-request.json');
    const record = await cht('/api/v2/records', { _meta: { ...sample._meta, form: 'REF', from: chtSeed.CHW_PHONE }, patient_id: id, patient_temp_deg_f: 102, notes: 'fever for three days' });
    const text = await record.text();
    assert.equal(record.status, 200, text);
    const [encounter] = await eventually(async () => {
      const list = await referralsOf(patient.uuid);
      return list.length ? list : undefined;
    }, 20_000, 200);
    assert.ok(encounter.encounterDatetime.startsWith('2012-11-08'), encounter.encounterDatetime);
    const byConcept = new Map(encounter.obs.map((obs) => [obs.concept.uuid, obs.value]));
    assert.equal(byConcept.get(openmrsSeed.CONCEPTS.temperature), 38.9);
    assert.equal(byConcept.get(openmrsSeed.CONCEPTS.referralReason), 'fever for three days');
    assert.ok(encounter.obs.every((obs) => obs.comment?.includes('[chis:cht:')), 'the write carries its origin');

    // The same payload again (CHT retrying after a lost answer) writes nothing new.
    const pushed = ((await (await control('cht', 'deliveries', undefined, 'GET')).json()) as Array<{ push: string; payload?: Record<string, unknown>; outcome: string }>)
      .find((delivery) => delivery.push === 'emr-visit' && delivery.outcome === 'delivered');
    assert.ok(pushed?.payload);
    const again = await fetch(`${harness.runtime.url}/cht/outbound`, { method: 'POST', headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify(pushed.payload) });
    assert.equal(again.status, 200);
    assert.equal((await referralsOf(patient.uuid)).length, 1);
  });

  it('answers a report for a patient OpenMRS does not know with 422 not-found', async () => {
    const response = await fetch(`${harness.runtime.url}/cht/outbound`, {
      method: 'POST',
      headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'visit', id: 'report-of-nobody', form: 'REF', patient_uuid: 'nobody', reported_date: Date.now(), fields: { notes: 'x' } }),
    });
    assert.equal(response.status, 422);
    assert.equal(((await response.json()) as { code: string }).code, 'not-found');
  });

  it('refuses pushes without the demo credentials', async () => {
    const response = await fetch(`${harness.runtime.url}/cht/outbound`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 401);
  });
});
