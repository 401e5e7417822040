import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxApp } from '../../sandbox/core';
import { create } from '../../sandbox/cht';
import {
  CHW_ID, CHW_PHONE, CLINIC_ID, DISTRICT_HOSPITAL_ID, HEALTH_CENTER_ID, PATIENT_MARY_ID, PATIENT_MARY_PATIENT_ID,
  PATIENT_MARY_PHONE, PREGNANCY_REPORT_ID,
} from '../../sandbox/cht/seed';
import { requireSamples, sampleJson } from '../support/samples';
import { shapeDifferences } from '../support/shape';

const AUTH = { Authorization: `Basic ${Buffer.from('medic:password').toString('base64')}`, Accept: 'application/json' };
const JSON_HEADERS = { ...AUTH, 'Content-Type': 'application/json' };

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** A stand-in for the system CHT pushes to: answers with queued statuses, then 200. */
class Receiver {
  received: Received[] = [];
  statuses: number[] = [];
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') });
      res.writeHead(this.statuses.shift() ?? 200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('CHT sandbox', () => {
  let app: SandboxApp;
  let base: string;

  beforeEach(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });

  afterEach(() => app.close());

  const get = async (path: string, headers: Record<string, string> = AUTH): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${base}${path}`, { headers });
    const text = await response.text();
    return { status: response.status, body: /json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : text };
  };
  const send = async (method: string, path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${base}${path}`, { method, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: /json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : text };
  };
  const sentinelIdle = () => fetch(`${base}/_sandbox/sentinel/idle`, { method: 'POST' });
  const configureOutbound = (config: Record<string, unknown>) =>
    fetch(`${base}/_sandbox/clients`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'outbound', ...config }) });
  const deliveries = async (query = ''): Promise<any[]> => (await (await fetch(`${base}/_sandbox/deliveries${query}`)).json()) as any[];

  describe('conformance with upstream samples', () => {
    beforeEach(function () {
      requireSamples(this);
    });

    it('accepts the records v2 request sample and answers with the response shape', async () => {
      const created = await send('POST', '/api/v2/records', sampleJson('cht/records-v2-create-request.json'));
      assert.equal(created.status, 200);
      assert.deepEqual(shapeDifferences(sampleJson('cht/records-v2-create-response.json'), created.body), []);
      const doc = (await get(`/medic/${created.body.id}`)).body;
      assert.equal(doc.type, 'data_record');
      assert.equal(doc.form, 'YYYZ');
      assert.deepEqual(doc.fields, { nurse: 'Sam', week: 23, year: 2015, visit: 'ANC' });
      assert.equal(doc.reported_date, 1352399720000);
      // No `from`: update_clinics finds no contact and the form is not public.
      assert.equal(doc.errors[0].code, 'sys.facility_not_found');
    });

    it('accepts the people v1 request sample, creating the place hierarchy', async () => {
      const created = await send('POST', '/api/v1/people', sampleJson('cht/people-v1-create-request.json'));
      assert.equal(created.status, 200);
      assert.deepEqual(shapeDifferences(sampleJson('cht/people-v1-create-response.json'), created.body), []);
      assert.match(created.body.rev, /^1-[0-9a-f]{32}$/);
      await sentinelIdle();
      const person = (await get(`/api/v1/person/${created.body.id}`)).body;
      // The request sample has no sex, date_of_birth or role.
      const notInRequest = new Set(['$.sex', '$.date_of_birth', '$.role']);
      assert.deepEqual(shapeDifferences(sampleJson('cht/person-get.json'), person, '$', notInRequest), []);
      assert.match(person.patient_id, /^\d{5}$/);
      const healthCenter = (await get(`/api/v1/place/${person.parent._id}`)).body;
      assert.equal(healthCenter.type, 'health_center');
      assert.equal(healthCenter.parent._id, person.parent.parent._id);
      assert.equal((await get(`/api/v1/place/${person.parent.parent._id}`)).body.type, 'district_hospital');
    });

    it('serves seeded people and places in the shape of the person and place samples', async () => {
      const person = await get(`/api/v1/person/${CHW_ID}`);
      assert.equal(person.status, 200);
      assert.deepEqual(shapeDifferences(sampleJson('cht/person-get.json'), person.body), []);
      const place = await get(`/api/v1/place/${HEALTH_CENTER_ID}`);
      assert.deepEqual(shapeDifferences(sampleJson('cht/place-health_center-get.json'), place.body), []);
      assert.deepEqual(place.body.contact, { _id: CHW_ID, parent: { _id: HEALTH_CENTER_ID, parent: { _id: DISTRICT_HOSPITAL_ID } } });
    });

    it('serves an app-form report written to /medic in the shape of the report sample', async () => {
      const { _id: _sampleId, _rev: _sampleRev, ...report } = sampleJson('cht/report-data_record-get.json');
      const written = await send('POST', '/medic', { ...report, contact: { _id: PATIENT_MARY_ID, parent: { _id: CLINIC_ID, parent: { _id: HEALTH_CENTER_ID, parent: { _id: DISTRICT_HOSPITAL_ID } } } } });
      assert.equal(written.status, 201);
      const fetched = await get(`/api/v1/report/${written.body.id}`);
      assert.deepEqual(shapeDifferences(sampleJson('cht/report-data_record-get.json'), fetched.body), []);
    });

    it('stores a records v2 report with the contact lineage of the sender, as in the report sample', async () => {
      const created = await send('POST', '/api/v2/records', { patient_id: PATIENT_MARY_PATIENT_ID, patient_temp_deg_F: 101, _meta: { form: 'ref', from: PATIENT_MARY_PHONE } });
      assert.equal(created.status, 200);
      const report = (await get(`/api/v1/report/${created.body.id}`)).body;
      // SMS/JSON records have no content_type, and their fields come from the JSON form, not the app form.
      const formSpecific = new Set(['$.content_type', ...['patient_uuid', 'patient_age_in_years', 'patient_name', 't_danger_signs_referral_follow_up_date', 't_danger_signs_referral_follow_up', 'danger_signs'].map((key) => `$.fields.${key}`)]);
      assert.deepEqual(shapeDifferences(sampleJson('cht/report-data_record-get.json'), report, '$', formSpecific), []);
      assert.equal(report.form, 'REF');
      assert.deepEqual(report.fields, { patient_id: PATIENT_MARY_PATIENT_ID, patient_temp_deg_f: 101 });
      assert.deepEqual(report.errors, []);
    });

    it('pushes the payload of the docs mapping example', async () => {
      const receiver = new Receiver();
      const url = await receiver.start();
      try {
        await configureOutbound({
          url,
          pushes: {
            referral: {
              relevant_to: "doc.type === 'data_record' && doc.form === 'referral'",
              destination: { base_url: 'https://example.com', path: '/api/v1/referral' },
              mapping: {
                patient_id: 'doc.fields.patient_id',
                chw_id: 'doc.contact._id',
                // The docs' expression ends in toFixed(2), a string, while their payload shows a number.
                'event.temp_c': { expr: 'Number(((doc.fields.patient_temp_deg_F - 32) * (5.0/9.0)).toFixed(2))' },
                'event.in_danger': { expr: 'doc.fields.danger_signs.length >= 3 ? true : undefined', optional: true },
                'event.additional_notes': { path: 'doc.fields.notes', optional: true },
              },
            },
          },
        });
        // The docs' example report, whose contact is not in the database (it stays as given).
        await send('PUT', '/medic/abc-1234', {
          type: 'data_record', form: 'referral', reported_date: 1555069530966,
          fields: { patient_id: '12345', patient_temp_deg_F: 100, danger_signs: ['V', 'BL', 'D', 'IG'] },
          contact: { _id: 'def-5678', name: 'Jane CHW', parent: { _id: 'hij-9012', name: '...' } },
        });
        await waitFor(async () => receiver.received[0]);
        const sample = sampleJson('cht/outbound-push-payload-example.json');
        assert.deepEqual(shapeDifferences(sample, receiver.received[0].body), []);
        assert.deepEqual(receiver.received[0].body, sample);
        assert.equal(receiver.received[0].path, '/api/v1/referral');
      } finally {
        await receiver.close();
      }
    });

    it('accepts the real outbound config sample, with credentials looked up by password_key', async () => {
      const receiver = new Receiver();
      const url = await receiver.start();
      try {
        const { outbound } = sampleJson('cht/outbound-push-config.json');
        await configureOutbound({ outbound, url, credentials: { openhim1: 'openhim-secret' } });
        const created = await send('POST', '/api/v1/people', { name: 'Akinyi Auma', short_name: 'Akinyi', sex: 'female', date_of_birth: '2001-03-04', role: 'patient', place: CLINIC_ID });
        await waitFor(async () => receiver.received[0]);
        const pushed = receiver.received[0];
        assert.equal(pushed.path, '/mediator/patient');
        assert.equal(pushed.headers.authorization, `Basic ${Buffer.from('interop-client:openhim-secret').toString('base64')}`);
        assert.deepEqual(pushed.body, {
          resourceType: 'Patient',
          identifier: [{ system: 'cht', use: 'official', value: created.body.id }],
          name: [{ use: 'official', family: 'Akinyi Auma', given: ['Akinyi'] }],
          gender: 'female',
          birthDate: '2001-03-04',
        });
        // Its FHIR_practitioner mapping has `"expr": true`: CHT's vm.runInNewContext rejects a non-string.
        await send('POST', '/api/v1/people', { name: 'Nurse Joy', short_name: 'Joy', sex: 'female', date_of_birth: '1985-01-01', role: 'nurse', place: HEALTH_CENTER_ID });
        const failed = await waitFor(async () => (await deliveries('?push=FHIR_practitioner'))[0]);
        assert.equal(failed.outcome, 'failed');
        assert.match(failed.error, /"code" argument must be of type string/);
      } finally {
        await receiver.close();
      }
    });
  });

  describe('records API', () => {
    it('answers a missing _meta.form with a 400 (JSON or text by Accept)', async () => {
      const json = await send('POST', '/api/v2/records', { nurse: 'Sam', _meta: { reported_date: 1 } });
      assert.equal(json.status, 400);
      assert.deepEqual(json.body, { code: 400, error: 'Missing required field: form' });
      const text = await send('POST', '/api/v2/records', { nurse: 'Sam' }, { ...JSON_HEADERS, Accept: '*/*' });
      assert.equal(text.status, 400);
      assert.equal(text.body, 'Missing _meta property.');
      const unknown = await send('POST', '/api/v2/records', { _meta: { form: 'nope' } });
      assert.deepEqual(unknown.body, { code: 500, error: 'Server error', details: 'Form not found: NOPE' });
    });

    it('parses gateway SMS posts in Muvuku format', async () => {
      const created = await send('POST', '/api/v2/records', `message=${encodeURIComponent('1!YYYZ!Sam#23#2015#ANC')}&from=${encodeURIComponent(CHW_PHONE)}&sent_timestamp=1352399720000`, { ...AUTH, 'Content-Type': 'application/x-www-form-urlencoded' });
      assert.equal(created.status, 200);
      const doc = (await get(`/medic/${created.body.id}`)).body;
      assert.deepEqual(doc.fields, { nurse: 'Sam', week: 23, year: 2015, visit: 'ANC' });
      assert.equal(doc.contact._id, CHW_ID);
      assert.equal(doc.reported_date, 1352399720000);
    });
  });

  describe('people and places', () => {
    it('validates the place hierarchy and person fields', async () => {
      const wrongParent = await send('POST', '/api/v1/places', { name: 'Misplaced', type: 'health_center', parent: CLINIC_ID });
      assert.equal(wrongParent.status, 400);
      assert.deepEqual(wrongParent.body, { code: 400, error: 'health_center "" should have one of the following parent types: "district_hospital".' });
      const noParent = await send('POST', '/api/v1/places', { name: 'Orphan', type: 'clinic' }, { ...JSON_HEADERS, Accept: 'text/plain' });
      assert.equal(noParent.status, 400);
      assert.equal(noParent.body, 'Place  is missing a "parent" property.');
      const badType = await send('POST', '/api/v1/places', { name: 'Shop', type: 'shop', parent: HEALTH_CENTER_ID });
      assert.deepEqual(badType.body, { code: 400, error: 'Wrong type, object  is not a place.' });
      const noName = await send('POST', '/api/v1/people', { phone: '+254700000000', place: CLINIC_ID });
      assert.deepEqual(noName.body, { code: 400, error: 'Person is missing a "name" property.' });
      const missingPlace = await send('POST', '/api/v1/people', { name: 'Lost', place: 'no-such-place' });
      assert.deepEqual(missingPlace.body, { code: 404, error: 'Failed to find place.' });
      const empty = await send('POST', '/api/v1/people', {});
      assert.equal(empty.status, 400);
    });

    it('creates a clinic under a health center with a new contact', async () => {
      const created = await send('POST', '/api/v1/places', { name: 'Odhiambo Household', type: 'clinic', parent: HEALTH_CENTER_ID, contact: { name: 'Tom Odhiambo', phone: '+254733000001' } });
      assert.equal(created.status, 200);
      const clinic = (await get(`/api/v1/place/${created.body.id}`)).body;
      assert.deepEqual(clinic.parent, { _id: HEALTH_CENTER_ID, parent: { _id: DISTRICT_HOSPITAL_ID } });
      assert.equal(clinic.contact._id, created.body.contact.id);
      const contact = (await get(`/api/v1/person/${created.body.contact.id}?with_lineage=true`)).body;
      assert.equal(contact.parent.name, 'Odhiambo Household');
      assert.equal(contact.parent.parent.parent._id, DISTRICT_HOSPITAL_ID);
      assert.deepEqual((await get('/api/v1/person/no-such-id')).body, { code: 404, error: 'Person not found' });
      assert.equal((await get(`/api/v1/person/${HEALTH_CENTER_ID}`)).status, 404);
    });

    it('finds contacts by phone with their lineage', async () => {
      const found = await get(`/api/v1/contacts-by-phone?phone=${encodeURIComponent(CHW_PHONE)}`);
      assert.equal(found.status, 200);
      assert.equal(found.body.docs[0]._id, CHW_ID);
      assert.equal(found.body.docs[0].parent.name, 'Nyalenda Health Center');
      assert.deepEqual((await get('/api/v1/contacts-by-phone?phone=%2B254799999999')).body, { error: 'not_found', reason: 'no matches found' });
      assert.equal((await get('/api/v1/contacts-by-phone')).status, 400);
    });
  });

  describe('medic database', () => {
    it('rejects a stale revision with 409 conflict', async () => {
      const doc = (await get(`/medic/${CHW_ID}`)).body;
      assert.equal((await send('PUT', `/medic/${CHW_ID}`, { ...doc, phone: '+254711111111' })).status, 201);
      const stale = await send('PUT', `/medic/${CHW_ID}`, { ...doc, phone: '+254722222222' });
      assert.equal(stale.status, 409);
      assert.equal(stale.body.error, 'conflict');
      assert.match(stale.body.reason, /^Document update conflict/);
    });

    it('pages _changes with since, limit, last_seq and pending', async () => {
      const all = (await get('/medic/_changes')).body;
      assert.equal(all.results.length, 9);
      const page = (await get('/medic/_changes?since=0&limit=4')).body;
      assert.equal(page.results.length, 4);
      assert.equal(page.pending, 5);
      const rest = (await get(`/medic/_changes?since=${page.last_seq}`)).body;
      assert.equal(rest.results.length, 5);
      assert.equal(rest.last_seq, all.last_seq);
      const byIds = (await get(`/medic/_changes?filter=_doc_ids&doc_ids=${encodeURIComponent(JSON.stringify([CHW_ID]))}&include_docs=true`)).body;
      assert.deepEqual(byIds.results.map((row: any) => row.doc.name), ['Grace Atieno']);
      const selected = await send('POST', '/medic/_changes?filter=_selector', { selector: { type: 'clinic' } });
      assert.deepEqual(selected.body.results.map((row: any) => row.id), [CLINIC_ID]);
      const docs = (await get('/medic/_all_docs?limit=2&skip=1')).body;
      assert.equal(docs.rows.length, 2);
      assert.equal(docs.total_rows, 9);
    });

    it('holds a longpoll until a change arrives, and times out with the same last_seq', async () => {
      const { last_seq: lastSeq } = (await get('/medic/_changes')).body;
      const immediate = (await get(`/medic/_changes?feed=longpoll&since=${lastSeq - 1}`)).body;
      assert.equal(immediate.results.length, 1);
      const started = Date.now();
      const timedOut = (await get(`/medic/_changes?feed=longpoll&since=${lastSeq}&timeout=150`)).body;
      assert.deepEqual(timedOut, { results: [], last_seq: lastSeq, pending: 0 });
      assert.ok(Date.now() - started >= 140);
      const waiting = get(`/medic/_changes?feed=longpoll&since=now&include_docs=true`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await send('PUT', '/medic/new-doc', { type: 'note' });
      const answered = (await waiting).body;
      assert.deepEqual(answered.results.map((row: any) => row.id), ['new-doc']);
      assert.equal(answered.last_seq, lastSeq + 1);
      assert.equal(answered.results[0].doc.type, 'note');
    });

    it('streams a continuous feed until the limit', async () => {
      const response = await fetch(`${base}/medic/_changes?feed=continuous&since=7&limit=2`, { headers: AUTH });
      const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line));
      assert.equal(lines.length, 3);
      assert.equal(lines[0].seq, 8);
      assert.deepEqual(lines[2], { last_seq: 9, pending: 0 });
    });

    it('serves _find and the medic-client views', async () => {
      const found = await send('POST', '/medic/_find', { selector: { type: 'person', role: 'patient' } });
      assert.equal(found.body.docs.length, 3);
      const byPhone = (await get(`/medic/_design/medic-client/_view/contacts_by_phone?key=${encodeURIComponent(JSON.stringify(CHW_PHONE))}`)).body;
      assert.deepEqual(byPhone.rows.map((row: any) => row.id), [CHW_ID]);
    });
  });

  describe('auth, faults and reset', () => {
    it('answers 401 as CHT does: JSON for JSON clients, a Basic prompt otherwise', async () => {
      const json = await get('/api/v1/person/x', { Accept: 'application/json' });
      assert.equal(json.status, 401);
      assert.deepEqual(json.body, { code: 401, error: 'unauthorized' });
      const prompt = await fetch(`${base}/medic/_changes`, { headers: { Authorization: `Basic ${Buffer.from('medic:wrong').toString('base64')}` } });
      assert.equal(prompt.status, 401);
      assert.equal(prompt.headers.get('www-authenticate'), 'Basic realm="Medic Web Services"');
      assert.equal(await prompt.text(), 'not logged in');
      assert.equal((await get('/api/info', {})).status, 200);
    });

    it('drops a /medic/_changes connection and fails records with an injected 503', async () => {
      await fetch(`${base}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify([{ path: '^/medic/_changes$', reset: true, count: 1 }, { path: '^/api/v2/records$', status: 503, retryAfter: 1, count: 1 }]) });
      await assert.rejects(fetch(`${base}/medic/_changes`, { headers: AUTH }));
      assert.equal((await get('/medic/_changes')).status, 200);
      const failed = await send('POST', '/api/v2/records', sampleRecord());
      assert.equal(failed.status, 503);
      assert.deepEqual(failed.body, { code: 503, error: 'injected fault 503' });
      assert.equal((await send('POST', '/api/v2/records', sampleRecord())).status, 200);
    });

    it('wipes created docs and deliveries on reset and re-seeds', async () => {
      const created = await send('POST', '/api/v2/records', sampleRecord());
      await fetch(`${base}/_sandbox/reset`, { method: 'POST' });
      assert.equal((await get(`/medic/${created.body.id}`)).status, 404);
      assert.equal((await get(`/medic/${PREGNANCY_REPORT_ID}`)).status, 200);
      assert.equal((await get('/medic')).body.doc_count, 9);
      assert.deepEqual(await deliveries(), []);
    });
  });

  describe('outbound push', () => {
    let receiver: Receiver;
    let url: string;

    beforeEach(async () => {
      receiver = new Receiver();
      url = await receiver.start();
    });

    afterEach(() => receiver.close());

    const pushes = {
      referral: {
        relevant_to: "doc.type === 'data_record' && doc.form === 'REF'",
        destination: { base_url: 'http://cht-receiver.invalid', path: '/referrals' },
        mapping: {
          patient_id: 'doc.fields.patient_id',
          patient_uuid: 'doc.patient._id',
          chw_phone: 'doc.contact.phone',
          'facility.name': 'doc.contact.parent.name',
          notes: { path: 'doc.fields.notes', optional: true },
        },
      },
    };

    it('retries after a 500, skips an unchanged payload and re-sends a changed one', async () => {
      receiver.statuses = [500];
      await configureOutbound({ url, auth: { type: 'basic', username: 'receiver', password: 'secret' }, pushes, retryIntervalMs: 100 });
      const created = await send('POST', '/api/v2/records', { patient_id: PATIENT_MARY_PATIENT_ID, _meta: { form: 'REF', from: CHW_PHONE } });
      await waitFor(async () => (receiver.received.length >= 2 ? true : undefined));
      assert.deepEqual(receiver.received.map((entry) => entry.body), [0, 1].map(() => ({
        patient_id: PATIENT_MARY_PATIENT_ID, patient_uuid: PATIENT_MARY_ID, chw_phone: CHW_PHONE, facility: { name: 'Nyalenda Health Center' },
      })));
      assert.equal(receiver.received[1].path, '/referrals');
      assert.equal(receiver.received[1].headers.authorization, `Basic ${Buffer.from('receiver:secret').toString('base64')}`);
      assert.deepEqual((await deliveries()).map((entry) => [entry.outcome, entry.status, entry.attempt]), [['failed', 500, 1], ['delivered', 200, 2]]);

      // An edit that leaves the mapped payload as it was is not sent again.
      const doc = (await get(`/medic/${created.body.id}`)).body;
      const edited = await send('PUT', `/medic/${doc._id}`, { ...doc, verified: true });
      await sentinelIdle();
      assert.equal(receiver.received.length, 2);
      assert.equal((await deliveries('?outcome=unchanged')).length, 1);

      await send('PUT', `/medic/${doc._id}`, { ...doc, _rev: edited.body.rev, fields: { ...doc.fields, notes: 'seen at clinic' } });
      await waitFor(async () => receiver.received[2]);
      assert.equal(receiver.received[2].body.notes, 'seen at clinic');
      assert.equal(receiver.received.length, 3);
    });

    it('pushes a new person once, with the patient_id sentinel gave it', async () => {
      await configureOutbound({
        url,
        pushes: {
          patient: {
            relevant_to: { type: 'person' },
            destination: { path: '/patients' },
            mapping: { id: 'doc._id', patient_id: 'doc.patient_id', household: 'doc.parent.name' },
          },
        },
      });
      const created = await send('POST', '/api/v1/people', { name: 'New Baby', place: CLINIC_ID });
      await waitFor(async () => receiver.received[0]);
      await sentinelIdle();
      const person = (await get(`/api/v1/person/${created.body.id}`)).body;
      assert.deepEqual(receiver.received[0].body, { id: created.body.id, patient_id: person.patient_id, household: 'Achieng Household' });
      assert.equal(receiver.received.length, 1);
      assert.match(person._rev, /^2-/);
    });

    it('records a mapping error as a failed attempt', async () => {
      await configureOutbound({ url, pushes, retryIntervalMs: 60_000 });
      await send('POST', '/api/v2/records', { notes: 'no patient', _meta: { form: 'REF', from: CHW_PHONE } });
      const [failed] = await waitFor(async () => {
        const rows = await deliveries();
        return rows.length ? rows : undefined;
      });
      assert.equal(failed.outcome, 'failed');
      assert.match(failed.error, /cannot find 'doc.fields.patient_id' on source document/);
      assert.equal(receiver.received.length, 0);
    });
  });
});

function sampleRecord(): Record<string, unknown> {
  return { nurse: 'Sam', week: 23, year: 2015, visit: 'ANC', _meta: { form: 'YYYZ' } };
}
