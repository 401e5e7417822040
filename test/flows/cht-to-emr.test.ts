/**
 * The CHT <-> OpenMRS workflow (the Mali pattern) in a started Node-RED against the sandboxes:
 * CHT outbound push delivers patients and referral reports to /cht/outbound; they become the
 * OpenMRS patient (created through FHIR2, identifier "CHT Patient ID" = CHT _id) and one Referral
 * encounter with obs. Back: the facility's own encounters of CHT patients, read from FHIR2,
 * become CHT FACVISIT reports about the right person, and nothing echoes either way.
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
  const fhir = (path: string, init: RequestInit = {}) =>
    fetch(`${harness.sandboxUrl('openmrs')}/openmrs/ws/fhir2/R4${path}`, { ...init, headers: { ...OPENMRS_AUTH, 'Content-Type': 'application/fhir+json', ...(init.headers ?? {}) } });
  const requests = async (system: 'cht' | 'openmrs', query: string): Promise<Array<{ method: string; path: string; status: number }>> =>
    (await control(system, `requests?${query}`, undefined, 'GET')).json() as Promise<Array<{ method: string; path: string; status: number }>>;
  const facilityVisits = async (): Promise<Array<{ _id: string; fields: Record<string, unknown>; errors?: unknown[] }>> => {
    const response = await fetch(`${harness.sandboxUrl('cht')}/medic/_design/medic-client/_view/reports_by_form?key=${encodeURIComponent(JSON.stringify(['FACVISIT']))}&include_docs=true`, { headers: CHT_AUTH });
    return ((await response.json()) as { rows: Array<{ doc: any }> }).rows.map((row) => row.doc);
  };
  /** The upstream FHIR2 Encounter sample, as the facility records it for this patient. */
  const facilityEncounter = async (patientUuid: string, display: string): Promise<string> => {
    const sample = sampleJson<Record<string, any>>('openmrs-fhir/encounter-create-request.json');
    const response = await fhir('/Encounter', { method: 'POST', body: JSON.stringify({ ...sample, subject: { reference: `Patient/${patientUuid}`, display } }) });
    const text = await response.text();
    assert.equal(response.status, 201, text);
    return (JSON.parse(text) as { id: string }).id;
  };
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
    const created = await requests('openmrs', `method=POST&path=${encodeURIComponent('^/openmrs/ws/fhir2/R4/Patient$')}`);
    assert.equal(created.filter((entry) => entry.status === 201).length, 1, 'created through FHIR2, once');
    assert.equal((await requests('openmrs', `method=POST&path=${encodeURIComponent('^/openmrs/ws/rest/v1/patient$')}`)).length, 0, 'not through REST');

    // CHT re-sends the doc when its payload changes: the patient is found and updated, not created twice.
    const again = await fetch(`${harness.runtime.url}/cht/outbound`, {
      method: 'POST',
      headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'patient', id, name: 'Wanjiku Kamau', sex: 'female', date_of_birth: '1994-02-03', phone: '+254733111999' }),
    });
    assert.equal(again.status, 200, await again.text());
    const [updated, ...others] = (await openmrs(`/patient?identifier=${encodeURIComponent(id)}&v=full`)).results as Array<{ uuid: string; person: { attributes: Array<{ display: string; voided?: boolean }> } }>;
    assert.equal(others.length, 0);
    assert.equal(updated.uuid, patient.uuid);
    assert.ok(updated.person.attributes.some((attribute) => !attribute.voided && attribute.display.includes('+254733111999')), JSON.stringify(updated.person.attributes));
    assert.equal((await requests('openmrs', `method=POST&path=${encodeURIComponent('^/openmrs/ws/fhir2/R4/Patient$')}`)).length, 1);
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

  it('returns a facility encounter of a CHT patient to CHT as a FACVISIT report about her, without echo', async () => {
    const id = await createPatient('Amani Wekesa');
    const patient = await eventually(() => patientWithChtId(id), 20_000, 200);
    const pushesBefore = ((await (await control('cht', 'deliveries', undefined, 'GET')).json()) as unknown[]).length;
    const encounter = await facilityEncounter(patient.uuid, 'Amani Wekesa');
    const report = await eventually(async () => (await facilityVisits()).find((candidate) => candidate.fields.openmrs_encounter === encounter), 20_000, 200);
    assert.equal(report.fields.patient_id, id);
    assert.equal(report.fields.patient_uuid, id);
    assert.equal(report.fields.openmrs_patient, patient.uuid);
    assert.equal(report.fields.encounter_type, 'Consultation');
    assert.equal(report.fields.chis_origin, 'chis-node-red', 'the write carries its origin');
    assert.equal(report.errors?.length ?? 0, 0, JSON.stringify(report.errors));

    // A few polls later: still one report, and CHT pushed nothing back to the EMR because of it.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    assert.equal((await facilityVisits()).filter((candidate) => candidate.fields.openmrs_encounter === encounter).length, 1);
    const pushes = (await (await control('cht', 'deliveries', undefined, 'GET')).json()) as Array<{ push: string; payload?: { id?: string } }>;
    assert.ok(!pushes.slice(pushesBefore).some((delivery) => delivery.payload?.id === report._id), 'the report did not echo to the EMR');
  });

  it('returns neither the encounters CHT itself sent nor encounters of patients CHT does not know', async () => {
    // The referral encounters written by the previous tests are of a type CHT sends: none came back.
    const returned = new Set((await facilityVisits()).map((visit) => visit.fields.openmrs_encounter));
    const encounters = ((await (await fhir('/Encounter?_count=100')).json()) as { entry?: Array<{ resource: { id: string; type: Array<{ coding: Array<{ code: string }> }> } }> }).entry ?? [];
    const referrals = encounters.filter((entry) => entry.resource.type[0].coding[0].code === openmrsSeed.ENCOUNTER_TYPES.referral);
    assert.ok(referrals.length > 0);
    for (const referral of referrals) assert.ok(!returned.has(referral.resource.id), `referral ${referral.resource.id} echoed back to CHT`);
    // A seeded OpenMRS patient without a CHT Patient ID.
    const encounter = await facilityEncounter(openmrsSeed.PATIENTS.baraka, 'Baraka Mwangi');
    await eventually(async () => ((await requests('openmrs', `method=GET&path=/openmrs/ws/rest/v1/patient/${openmrsSeed.PATIENTS.baraka}`)).length ? true : undefined), 20_000, 200);
    // Time for a report to be written, had the flow gone on.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.ok(!(await facilityVisits()).some((visit) => visit.fields.openmrs_encounter === encounter));
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

  const fhirPatientsCreated = async (): Promise<number> =>
    (await requests('openmrs', `method=POST&path=${encodeURIComponent('^/openmrs/ws/fhir2/R4/Patient$')}`)).filter((entry) => entry.status === 201).length;
  const pushPatient = (person: Record<string, unknown>) => fetch(`${harness.runtime.url}/cht/outbound`, {
    method: 'POST',
    headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify({ kind: 'patient', ...person }),
  });
  const chtIdsOf = async (uuid: string): Promise<string[]> =>
    ((await openmrs(`/patient/${uuid}?v=full`)).identifiers as Array<{ identifier: string; voided?: boolean; identifierType: { uuid: string } }>)
      .filter((identifier) => !identifier.voided && identifier.identifierType.uuid === openmrsSeed.IDENTIFIER_TYPES.chtPatientId)
      .map((identifier) => identifier.identifier);

  it('links a CHT patient the facility already registered (matched on name, birth date, sex, phone) instead of creating a second person', async () => {
    const createdBefore = await fhirPatientsCreated();
    const response = await cht('/api/v1/people', { name: 'Esther Achieng', sex: 'female', date_of_birth: '2001-05-30', phone: '+254712000005', role: 'patient', type: 'person', place: chtSeed.CLINIC_ID });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    const id = (JSON.parse(text) as { id: string }).id;
    const linked = await eventually(() => patientWithChtId(id), 20_000, 200);
    assert.equal(linked.uuid, openmrsSeed.PATIENTS.esther, 'the seeded facility patient got the CHT Patient ID');
    assert.deepEqual(await chtIdsOf(openmrsSeed.PATIENTS.esther), [id]);
    const esther = await openmrs(`/patient/${openmrsSeed.PATIENTS.esther}?v=full`);
    assert.ok(esther.identifiers.some((identifier: { identifier: string }) => identifier.identifier === openmrsSeed.OPENMRS_IDS.esther), 'her OpenMRS ID stays');
    assert.equal(await fhirPatientsCreated(), createdBefore, 'no second person was created');
    // Her referral now lands on the facility record.
    const record = await cht('/api/v2/records', { _meta: { form: 'REF', from: chtSeed.CHW_PHONE, reported_date: Date.now() }, patient_id: id, notes: 'cough' });
    assert.equal(record.status, 200, await record.text());
    await eventually(async () => ((await referralsOf(openmrsSeed.PATIENTS.esther)).length ? true : undefined), 20_000, 200);
  });

  it('creates a new patient when the only name-alike is not close enough (other birth date, sex and phone)', async () => {
    const createdBefore = await fhirPatientsCreated();
    const response = await pushPatient({ id: 'cht-daudi-junior', name: 'Daudi Kiprop', sex: 'female', date_of_birth: '2015-06-01', phone: '+254799000111' });
    assert.equal(response.status, 200, await response.text());
    const patient = await patientWithChtId('cht-daudi-junior');
    assert.ok(patient);
    assert.notEqual(patient.uuid, openmrsSeed.PATIENTS.daudi);
    assert.deepEqual(await chtIdsOf(openmrsSeed.PATIENTS.daudi), [], 'the facility patient was not linked');
    assert.equal(await fhirPatientsCreated(), createdBefore + 1);
  });

  it('leaves a CHT patient with two equally close candidates for a person to link by hand: nobody is created or linked', async () => {
    const twins: string[] = [];
    for (const identifier of ['NW-1', 'NW-2']) {
      const created = await fetch(`${harness.sandboxUrl('openmrs')}/openmrs/ws/rest/v1/patient`, {
        method: 'POST',
        headers: { ...OPENMRS_AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          person: { names: [{ givenName: 'Neema', familyName: 'Wairimu' }], gender: 'F', birthdate: '1999-09-09' },
          identifiers: [{ identifier, identifierType: openmrsSeed.IDENTIFIER_TYPES.testIdentifierType, location: openmrsSeed.LOCATIONS.unknown, preferred: true }],
        }),
      });
      const text = await created.text();
      assert.equal(created.status, 201, text);
      twins.push((JSON.parse(text) as { uuid: string }).uuid);
    }
    const createdBefore = await fhirPatientsCreated();
    const response = await pushPatient({ id: 'cht-neema', name: 'Neema Wairimu', sex: 'female', date_of_birth: '1999-09-09' });
    assert.equal(response.status, 200, 'handled: it waits for a person, CHT need not retry');
    assert.equal(await patientWithChtId('cht-neema'), undefined);
    for (const twin of twins) assert.deepEqual(await chtIdsOf(twin), []);
    assert.equal(await fhirPatientsCreated(), createdBefore);
  });

  it('refuses pushes without the demo credentials', async () => {
    const response = await fetch(`${harness.runtime.url}/cht/outbound`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 401);
  });
});
