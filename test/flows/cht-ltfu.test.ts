/**
 * The loss-to-follow-up tracing workflow in a started Node-RED against the sandboxes: patients
 * on OpenMRS's "Missed appointments" search become CHT trace requests, an EMR's FHIR
 * ServiceRequest becomes one too, and the health worker's trace outcome goes back to OpenMRS as a
 * "Trace Outcome" encounter (and, for an EMR request, to its callback as a FHIR Encounter).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import * as chtSeed from '../../sandbox/cht/seed';
import * as openmrsSeed from '../../sandbox/openmrs/seed';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { nodeRedVersion } from '../support/runtime-env';

const CHT_AUTH = { Authorization: `Basic ${Buffer.from(`${chtSeed.USERNAME}:${chtSeed.PASSWORD}`).toString('base64')}` };
const OPENMRS_AUTH = { Authorization: `Basic ${Buffer.from(`${openmrsSeed.USERNAME}:${openmrsSeed.PASSWORD}`).toString('base64')}` };
const RECEIVER_AUTH = { Authorization: `Basic ${Buffer.from('demo:demo-secret').toString('base64')}` };
const DAY = 24 * 3600 * 1000;

interface ChtReport { _id: string; form: string; fields: Record<string, unknown> }
interface Encounter { uuid: string; obs: Array<{ concept: { uuid: string }; value: { uuid: string } | unknown; comment?: string }> }

describe(`LTFU tracing flow in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(180_000);
  let harness: FlowHarness;
  let callbackServer: http.Server;
  let callbackUrl: string;
  const callbacks: Array<{ headers: http.IncomingHttpHeaders; body: Record<string, any> }> = [];
  let chtId: string;
  let openmrsPatient: string;

  const post = (url: string, headers: Record<string, string>, body: unknown) =>
    fetch(url, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const cht = (path: string, body: unknown) => post(`${harness.sandboxUrl('cht')}${path}`, CHT_AUTH, body);
  const openmrsGet = async (path: string): Promise<any> => (await fetch(`${harness.sandboxUrl('openmrs')}/openmrs/ws/rest/v1${path}`, { headers: OPENMRS_AUTH })).json();
  const openmrsPost = async (path: string, body: unknown): Promise<any> => {
    const response = await post(`${harness.sandboxUrl('openmrs')}/openmrs/ws/rest/v1${path}`, OPENMRS_AUTH, body);
    const text = await response.text();
    assert.ok(response.ok, `${path}: ${response.status} ${text}`);
    return JSON.parse(text);
  };
  async function reportsOfForm(form: string): Promise<ChtReport[]> {
    const response = await fetch(`${harness.sandboxUrl('cht')}/medic/_design/medic-client/_view/reports_by_form?key=${encodeURIComponent(JSON.stringify([form]))}&include_docs=true`, { headers: CHT_AUTH });
    return ((await response.json()) as { rows: Array<{ doc: ChtReport }> }).rows.map((row) => row.doc);
  }
  const traceOutcomesOf = async (patient: string): Promise<Encounter[]> =>
    (await openmrsGet(`/encounter?patient=${patient}&encounterType=${openmrsSeed.ENCOUNTER_TYPES.traceOutcome}&v=full`)).results;

  before(async () => {
    callbackServer = http.createServer((req, res) => {
      let text = '';
      req.on('data', (chunk) => { text += chunk; });
      req.on('end', () => {
        callbacks.push({ headers: req.headers, body: JSON.parse(text || '{}') });
        res.writeHead(201, { 'Content-Type': 'application/fhir+json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/fhir/Encounter`;

    harness = await startHarness({ name: 'cht-ltfu', systems: ['cht', 'openmrs'] });
    // A CHT patient, registered in OpenMRS with her CHT id (as cht-to-emr.json does), who missed an appointment.
    const person = await cht('/api/v1/people', { name: 'Akoth Odhiambo', sex: 'female', date_of_birth: '1991-05-05', role: 'patient', type: 'person', place: chtSeed.CLINIC_ID });
    chtId = ((await person.json()) as { id: string }).id;
    const patient = await openmrsPost('/patient', {
      person: { names: [{ givenName: 'Akoth', familyName: 'Odhiambo' }], gender: 'F', birthdate: '1991-05-05' },
      identifiers: [{ identifier: chtId, identifierType: openmrsSeed.IDENTIFIER_TYPES.chtPatientId, location: openmrsSeed.LOCATIONS.northCatchment, preferred: true }],
    });
    openmrsPatient = patient.uuid;
    await openmrsPost('/obs', { person: openmrsPatient, concept: openmrsSeed.CONCEPTS.returnVisitDate, obsDatetime: new Date(Date.now() - 30 * DAY).toISOString(), value: new Date(Date.now() - 10 * DAY).toISOString().slice(0, 10) });
    await harness.deployExamples('cht-ltfu-trace.json');
  });

  after(async () => {
    await harness?.stop();
    await new Promise((resolve) => callbackServer?.close(resolve));
  });

  it('raises a CHT trace request for a patient on "Missed appointments", linked by the CHT Patient ID', async () => {
    const missed = await openmrsGet(`/reportingrest/reportdata/${openmrsSeed.REPORTS.missedAppointments}`);
    assert.ok(JSON.stringify(missed).includes(openmrsPatient), 'the sandbox lists her as having missed an appointment');
    const trace = await eventually(async () => (await reportsOfForm('TRACE')).find((report) => report.fields.patient_uuid === chtId), 30_000, 250);
    assert.equal(trace.fields.patient_id, chtId);
    assert.equal(trace.fields.openmrs_patient, openmrsPatient);
    assert.equal((trace as unknown as { sms_message?: Record<string, unknown> }).sms_message?.chis_origin, 'chis-node-red', 'the write carries its origin');
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    assert.equal((await reportsOfForm('TRACE')).filter((report) => report.fields.patient_uuid === chtId).length, 1, 'the next poll raises no second request');
  });

  it('writes the health worker\'s trace outcome to OpenMRS as a Trace Outcome encounter with its coded obs', async () => {
    const submitted = await cht('/api/v2/records', { _meta: { form: 'TRACEOUT', from: chtSeed.CHW_PHONE }, patient_id: chtId, patient_uuid: chtId, outcome: 'found_returned' });
    assert.equal(submitted.status, 200, await submitted.clone().text());
    const [encounter] = await eventually(async () => {
      const list = await traceOutcomesOf(openmrsPatient);
      return list.length ? list : undefined;
    }, 20_000, 250);
    const outcome = encounter.obs.find((obs) => obs.concept.uuid === openmrsSeed.CONCEPTS.traceOutcome);
    assert.equal((outcome?.value as { uuid: string }).uuid, openmrsSeed.CONCEPTS.foundAndReturned);
    assert.ok(outcome?.comment?.includes('[chis:cht:'), 'the write carries its origin');
  });

  it('takes an EMR\'s FHIR ServiceRequest as a trace request and sends the outcome to its callback as a FHIR Encounter', async () => {
    const request = {
      resourceType: 'ServiceRequest',
      id: randomUUID(),
      status: 'active',
      intent: 'order',
      code: { text: 'Trace patient' },
      reasonCode: [{ text: 'viral load result: return to clinic' }],
      subject: { reference: `Patient/${chtId}`, identifier: { system: 'cht', value: chtId } },
      requester: { reference: '#org' },
      contained: [
        { resourceType: 'Organization', id: 'org', name: 'Amani Health Centre', endpoint: [{ reference: '#endpoint' }] },
        { resourceType: 'Endpoint', id: 'endpoint', status: 'active', connectionType: { code: 'hl7-fhir-rest' }, payloadType: [{ text: 'Encounter' }], address: callbackUrl },
      ],
    };
    const response = await post(`${harness.runtime.url}/cht/trace-requests`, RECEIVER_AUTH, request);
    assert.equal(response.status, 200, await response.clone().text());
    const trace = (await reportsOfForm('TRACE')).find((report) => report.fields.service_request === request.id);
    assert.ok(trace, 'the trace request is in CHT once the EMR hears 2xx');
    assert.equal(trace.fields.patient_uuid, chtId);
    assert.equal(trace.fields.callback, callbackUrl);

    // The health worker's outcome form carries what its task copied from the trace request.
    await cht('/api/v2/records', { _meta: { form: 'TRACEOUT', from: chtSeed.CHW_PHONE }, patient_id: chtId, patient_uuid: chtId, outcome: 'moved', service_request: request.id, callback: callbackUrl, trace_request: trace._id });
    const callback = await eventually(() => callbacks.find((entry) => entry.body.basedOn?.[0]?.reference === `ServiceRequest/${request.id}`), 20_000, 250);
    assert.equal(callback.body.resourceType, 'Encounter');
    assert.equal(callback.body.status, 'finished');
    assert.equal(callback.body.subject.identifier.value, chtId);
    assert.equal(callback.body.reasonCode[0].coding[0].code, 'moved');
    assert.equal(callback.body.meta.source, 'chis-node-red');
    assert.equal((await traceOutcomesOf(openmrsPatient)).length, 2, 'the EMR-requested outcome is in OpenMRS too');
  });

  it('answers a ServiceRequest without a callback Endpoint 422 bad-input and writes nothing', async () => {
    const id = randomUUID();
    const response = await post(`${harness.runtime.url}/cht/trace-requests`, RECEIVER_AUTH, { resourceType: 'ServiceRequest', id, subject: { reference: `Patient/${chtId}` } });
    assert.equal(response.status, 422);
    assert.equal(((await response.json()) as { code: string }).code, 'bad-input');
    assert.equal((await reportsOfForm('TRACE')).filter((report) => report.fields.service_request === id).length, 0);
  });
});
