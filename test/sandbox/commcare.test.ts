import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxApp } from '../../sandbox/core';
import { create } from '../../sandbox/commcare';
import * as seed from '../../sandbox/commcare/seed';
import { requireSamples, sampleJson, sampleText } from '../support/samples';
import { shapeDifferences } from '../support/shape';

const apiKey = { Authorization: `ApiKey ${seed.WEB_USER.username}:${seed.WEB_USER.apiKey}` };
const json = { ...apiKey, 'Content-Type': 'application/json' };
const CASES = '/a/demo/api/case/v2/';

/** Extracts nature and message from an OpenRosaResponse without an XML library. */
function openRosa(text: string): { nature: string; message: string } {
  const match = /<OpenRosaResponse xmlns="http:\/\/openrosa\.org\/http\/response">\s*<message nature="([^"]+)">([\s\S]*)<\/message>\s*<\/OpenRosaResponse>/.exec(text);
  assert.ok(match, `not an OpenRosaResponse: ${text}`);
  return { nature: match[1], message: match[2] };
}

function xform(options: { instanceId: string; caseId: string; xmlns?: string; body?: string }): string {
  return `<?xml version='1.0' ?>
<data uiVersion="1" version="7" name="Tracker Visit" xmlns="${options.xmlns ?? seed.XMLNS.trackerVisit}">
  <visit_date>2024-03-01</visit_date>
  <n0:case case_id="${options.caseId}" date_modified="2024-03-01T10:00:00.000Z" user_id="${seed.CHW_AMINA_ID}" xmlns:n0="http://commcarehq.org/case/transaction/v2">
    ${options.body ?? '<n0:update><n0:last_visit_date>2024-03-01</n0:last_visit_date></n0:update>'}
  </n0:case>
  <n1:meta xmlns:n1="http://openrosa.org/jr/xforms">
    <n1:deviceID>test-device</n1:deviceID>
    <n1:timeStart>2024-03-01T09:55:00.000Z</n1:timeStart>
    <n1:timeEnd>2024-03-01T10:00:00.000Z</n1:timeEnd>
    <n1:username>amina.chw</n1:username>
    <n1:userID>${seed.CHW_AMINA_ID}</n1:userID>
    <n1:instanceID>${options.instanceId}</n1:instanceID>
    <n2:appVersion xmlns:n2="http://commcarehq.org/xforms">CommCare Android, version "2.53.1". App v7.</n2:appVersion>
  </n1:meta>
</data>`;
}

interface Receiver {
  url: string;
  received: Array<{ headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

/** A local forwarding target answering with the given statuses in turn, then 200. */
async function startReceiver(statuses: number[]): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(statuses.shift() ?? 200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/forward`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('CommCare HQ sandbox', () => {
  let app: SandboxApp;
  let base: string;

  beforeEach(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });

  afterEach(() => app.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = json): Promise<Response> =>
    fetch(`${base}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

  const configure = (config: unknown): Promise<Response> =>
    fetch(`${base}/_sandbox/clients`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(config) });

  describe('conformance with upstream samples', () => {
    beforeEach(function () { requireSamples(this); });

    it('serves a single case in the shape of case-v2-single.json', async () => {
      const response = await fetch(`${base}${CASES}${seed.REFERRAL_MUKAMANA_ID}`, { headers: apiKey });
      assert.equal(response.status, 200);
      const body = await response.json() as Record<string, unknown>;
      // case properties are project-specific: the sample's "dob" is not one of the referral's
      assert.deepEqual(shapeDifferences(sampleJson('commcare/case-v2-single.json'), body, '$', new Set(['$.properties.dob'])), []);
      assert.equal(body.domain, 'demo');
      assert.ok(Object.values(body.properties as object).every((value) => typeof value === 'string'));
    });

    it('lists cases in the shape of case-v2-list.json', async () => {
      const response = await fetch(`${base}${CASES}?indices.parent=${seed.PATIENT_MUKAMANA_ID}`, { headers: apiKey });
      const body = await response.json() as { matching_records: number; cases: unknown[] };
      // case properties are project-specific: the sample's "assignment_type" is not one of ours
      assert.deepEqual(shapeDifferences(sampleJson('commcare/case-v2-list.json'), body, '$', new Set(['$.cases[0].properties.assignment_type'])), []);
      assert.equal(body.matching_records, 1);
    });

    it('accepts case-v2-create-request.json (minus case_id, which HQ rejects on create) and answers {form_id, case}', async () => {
      const request = sampleJson<Record<string, unknown>>('commcare/case-v2-create-request.json');
      // the sample points at ids of its own project: use ours
      const { case_id: _ignored, ...body } = request;
      body.owner_id = seed.KIMIRONKO_LOCATION_ID;
      (body.indices as { parent: { case_id: string } }).parent.case_id = seed.PATIENT_MUKAMANA_ID;
      const response = await post(CASES, body);
      assert.equal(response.status, 200);
      const result = await response.json() as { form_id: string; case: Record<string, unknown> };
      assert.equal(typeof result.form_id, 'string');
      assert.deepEqual(shapeDifferences(sampleJson('commcare/case-v2-single.json'), result.case), []);
      assert.deepEqual(result.case.properties, { dob: '1948-11-02' });

      const withCaseId = await post(CASES, { ...body, case_id: request.case_id });
      assert.equal(withCaseId.status, 400);
      assert.deepEqual(await withCaseId.json(), { error: 'You cannot specify case_id when creating a new case' });
    });

    it('accepts xform-submission-with-case.xml raw and as multipart, answering like openrosa-response-success.xml', async () => {
      const xml = sampleText('commcare/xform-submission-with-case.xml');
      const response = await post('/a/demo/receiver/', xml, { ...apiKey, 'Content-Type': 'text/xml' });
      assert.equal(response.status, 201);
      const text = await response.text();
      const expected = openRosa(sampleText('commcare/openrosa-response-success.xml'));
      assert.deepEqual(openRosa(text), expected);
      assert.equal(response.headers.get('x-commcarehq-formid'), 'afcb3026-c4b3-463f-85ec-0cb9a2737fc5');

      const created = await (await fetch(`${base}${CASES}b0916685-7247-4c44-b712-633d3d64e0c0`, { headers: apiKey })).json() as Record<string, unknown>;
      assert.equal(created.case_name, 'Trees');
      assert.equal(created.case_type, 'mscase');

      const form = new FormData();
      form.append('xml_submission_file', new Blob([xml.replace('afcb3026-c4b3-463f-85ec-0cb9a2737fc5', 'c0ffee00-0000-4000-8000-000000000001')], { type: 'text/xml' }), 'form.xml');
      const multipart = await fetch(`${base}/a/demo/receiver/${seed.APP_ID}/`, { method: 'POST', headers: apiKey, body: form });
      assert.equal(multipart.status, 201);
      assert.equal(openRosa(await multipart.text()).nature, 'submit_success');
      const stored = await (await fetch(`${base}/a/demo/api/v0.5/form/c0ffee00-0000-4000-8000-000000000001/`, { headers: apiKey })).json() as { app_id: string };
      assert.equal(stored.app_id, seed.APP_ID);
    });

    it('answers an invalid case index like openrosa-response-error.xml', async () => {
      const xml = xform({
        instanceId: 'bad-index-1',
        caseId: seed.PATIENT_UWIMANA_ID,
        body: '<n0:index><n0:parent case_type="household" relationship="child">9766f50abda94c26a4569df5ce6dda6d</n0:parent></n0:index>',
      });
      const response = await post('/a/demo/receiver/', xml, { ...apiKey, 'Content-Type': 'text/xml' });
      assert.equal(response.status, 201);
      const { nature, message } = openRosa(await response.text());
      assert.equal(nature, openRosa(sampleText('commcare/openrosa-response-error.xml')).nature);
      assert.equal(message, `InvalidCaseIndex: Case '${seed.PATIENT_UWIMANA_ID}' references non-existent case '9766f50abda94c26a4569df5ce6dda6d'`);

      const v3 = await post('/a/demo/receiver/', xml.replace('bad-index-1', 'bad-index-2'), { ...apiKey, 'Content-Type': 'text/xml', 'X-OpenRosa-Version': '3.0' });
      assert.equal(v3.status, 422);
      assert.equal(openRosa(await v3.text()).nature, 'processing_failure');
      const untouched = await (await fetch(`${base}${CASES}${seed.PATIENT_UWIMANA_ID}`, { headers: apiKey })).json() as { indices: object };
      assert.deepEqual(untouched.indices, {});
    });

    it('accepts forwarded-form-json.json as an injected form and forwards it in that shape', async () => {
      const target = await startReceiver([]);
      try {
        await configure({ name: 'form-forwarding', url: target.url });
        const sample = sampleJson<Record<string, unknown>>('commcare/forwarded-form-json.json');
        const injected = await fetch(`${base}/_sandbox/submit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(sample) });
        assert.equal(injected.status, 201);
        assert.deepEqual(((await injected.json()) as { case_ids: string[] }).case_ids, ['65e55473-e83b-4d78-9dde-eaf949758997']);
        await waitFor(async () => (target.received.length ? true : undefined));
        const forwarded = JSON.parse(target.received[0].body) as Record<string, unknown>;
        assert.deepEqual(shapeDifferences(sample, forwarded), []);
        assert.deepEqual(forwarded.form, sample.form);
        assert.equal(forwarded.domain, 'demo');
      } finally {
        await target.close();
      }
    });

    it('forwards submitted XForms as form JSON of the forwarded-form-json.json envelope, and the changed cases', async () => {
      const formTarget = await startReceiver([]);
      const caseTarget = await startReceiver([]);
      try {
        await configure({ name: 'form-forwarding', url: formTarget.url, auth: { type: 'basic', username: 'hq', password: 'secret' } });
        await configure({ name: 'case-forwarding', url: caseTarget.url, auth: { type: 'header', name: 'X-Api-Key', value: 'k' } });
        const xml = xform({ instanceId: 'fwd-1', caseId: seed.PATIENT_MUKAMANA_ID });
        assert.equal((await post(`/a/demo/receiver/${seed.APP_ID}/`, xml, { ...apiKey, 'Content-Type': 'text/xml' })).status, 201);
        await waitFor(async () => (formTarget.received.length && caseTarget.received.length ? true : undefined));

        const forwarded = JSON.parse(formTarget.received[0].body) as Record<string, unknown>;
        // question answers, the case actions and Formplayer-only meta differ from form to form
        const formSpecific = new Set([
          '$.form.estado_tarv', '$.form.nome', '$.form.tb', '$.form.case.create', '$.form.case.update.estado_tarv', '$.form.case.update.tb',
          '$.form.meta.app_build_version', '$.form.meta.commcare_version', '$.form.meta.geo_point',
        ]);
        assert.deepEqual(shapeDifferences(sampleJson('commcare/forwarded-form-json.json'), forwarded, '$', formSpecific), []);
        assert.equal((forwarded.form as Record<string, unknown>)['@xmlns'], seed.XMLNS.trackerVisit);
        assert.equal((forwarded.metadata as Record<string, unknown>).app_build_version, 7);
        assert.equal(formTarget.received[0].headers.authorization, `Basic ${Buffer.from('hq:secret').toString('base64')}`);
        assert.ok(formTarget.received[0].headers['received-on']);

        const forwardedCase = JSON.parse(caseTarget.received[0].body) as { case_id: string; properties: Record<string, string> };
        assert.equal(caseTarget.received[0].headers['x-api-key'], 'k');
        assert.equal(forwardedCase.case_id, seed.PATIENT_MUKAMANA_ID);
        assert.equal(forwardedCase.properties.last_visit_date, '2024-03-01');
      } finally {
        await formTarget.close();
        await caseTarget.close();
      }
    });
  });

  describe('Case API v2', () => {
    it('pages with a full-URL cursor in "next" and keeps the filters', async () => {
      const ids = new Set<string>();
      let url: string | undefined = `${base}${CASES}?case_type=patient&limit=2`;
      let pages = 0;
      while (url) {
        const page = await (await fetch(url, { headers: apiKey })).json() as { cases: Array<{ case_id: string; case_type: string }>; next?: string };
        pages += 1;
        for (const item of page.cases) {
          assert.equal(item.case_type, 'patient');
          ids.add(item.case_id);
        }
        if (page.next) assert.match(page.next, new RegExp(`^${base}${CASES}\\?cursor=`));
        url = page.next;
      }
      assert.equal(pages, 2);
      assert.deepEqual([...ids].sort(), [seed.PATIENT_MUKAMANA_ID, seed.PATIENT_UWIMANA_ID, seed.PATIENT_INGABIRE_ID].sort());
    });

    it('filters by owner, external id, closed and indexed_on', async () => {
      const get = async (query: string): Promise<string[]> =>
        ((await (await fetch(`${base}${CASES}?${query}`, { headers: apiKey })).json()) as { cases: Array<{ case_id: string }> }).cases.map((c) => c.case_id);
      assert.deepEqual(await get(`owner_id=${seed.REMERA_LOCATION_ID}`), [seed.PATIENT_INGABIRE_ID]);
      assert.deepEqual(await get('external_id=CHT-P-0002'), [seed.PATIENT_UWIMANA_ID]);
      assert.equal((await get('closed=true')).length, 0);
      assert.equal((await get('indexed_on.gte=2000-01-01')).length, 4);
      assert.equal((await get('indexed_on.lt=2000-01-01')).length, 0);
      const bad = await fetch(`${base}${CASES}?colour=red`, { headers: apiKey });
      assert.equal(bad.status, 400);
      assert.deepEqual(await bad.json(), { error: "'colour' is not a valid parameter." });
      const tooMany = await fetch(`${base}${CASES}?limit=5001`, { headers: apiKey });
      assert.deepEqual(await tooMany.json(), { error: 'You cannot request more than 5000 cases per request.' });
    });

    it('gets several cases by comma-separated ids and by external id', async () => {
      const bulk = await (await fetch(`${base}${CASES}${seed.PATIENT_MUKAMANA_ID},nope`, { headers: apiKey })).json() as { matching_records: number; missing_records: number; cases: Array<Record<string, unknown>> };
      assert.equal(bulk.matching_records, 1);
      assert.equal(bulk.missing_records, 1);
      assert.deepEqual(bulk.cases[1], { case_id: 'nope', error: 'not found' });
      const byExternal = await (await fetch(`${base}${CASES}ext/CHT-P-0003/`, { headers: apiKey })).json() as { case_id: string };
      assert.equal(byExternal.case_id, seed.PATIENT_INGABIRE_ID);
      const missing = await fetch(`${base}${CASES}does-not-exist`, { headers: apiKey });
      assert.equal(missing.status, 404);
      assert.deepEqual(await missing.json(), { error: "Case 'does-not-exist' not found" });
    });

    it('updates by id, upserts by external id and closes', async () => {
      const updated = await fetch(`${base}${CASES}${seed.PATIENT_UWIMANA_ID}`, { method: 'PUT', headers: json, body: JSON.stringify({ properties: { pregnant: 'yes' } }) });
      assert.equal(updated.status, 200);
      assert.equal(((await updated.json()) as { case: { properties: Record<string, string> } }).case.properties.pregnant, 'yes');

      const created = await fetch(`${base}${CASES}ext/CHT-P-0099/`, {
        method: 'PUT', headers: json,
        body: JSON.stringify({ case_type: 'patient', case_name: 'New Person', owner_id: seed.KIMIRONKO_LOCATION_ID }),
      });
      const first = await created.json() as { case: { case_id: string; external_id: string } };
      assert.equal(first.case.external_id, 'CHT-P-0099');
      const again = await fetch(`${base}${CASES}ext/CHT-P-0099/`, { method: 'PUT', headers: json, body: JSON.stringify({ close: true }) });
      const second = await again.json() as { case: { case_id: string; closed: boolean; date_closed: string } };
      assert.equal(second.case.case_id, first.case.case_id);
      assert.equal(second.case.closed, true);
      assert.ok(second.case.date_closed);
    });

    it('creates in bulk with temporary ids and rejects more than 100 changes', async () => {
      const response = await post(CASES, [
        { create: true, case_type: 'patient', case_name: 'Mother', owner_id: seed.KIMIRONKO_LOCATION_ID, temporary_id: 'm' },
        { create: true, case_type: 'referral', case_name: 'Referral', owner_id: seed.KIMIRONKO_LOCATION_ID, indices: { parent: { temporary_id: 'm', case_type: 'patient', relationship: 'child' } } },
        { create: false, case_id: seed.PATIENT_INGABIRE_ID, properties: { village: 'Remera II' } },
      ]);
      assert.equal(response.status, 200);
      const body = await response.json() as { form_id: string; cases: Array<{ case_id: string; indices: Record<string, { case_id: string }> }> };
      assert.equal(body.cases.length, 3);
      assert.equal(body.cases[1].indices.parent.case_id, body.cases[0].case_id);

      const tooMany = await post(CASES, Array.from({ length: 101 }, () => ({ create: true, case_type: 'patient', case_name: 'x', owner_id: seed.KIMIRONKO_LOCATION_ID })));
      assert.equal(tooMany.status, 400);
      assert.deepEqual(await tooMany.json(), { error: 'You cannot submit more than 100 updates in a single request' });
    });

    it('answers validation errors with HQ messages', async () => {
      const cases: Array<[unknown, string]> = [
        [{ case_name: 'x', owner_id: seed.KIMIRONKO_LOCATION_ID }, 'Property case_type is required.'],
        [{ case_type: 'patient', owner_id: seed.KIMIRONKO_LOCATION_ID }, 'Property case_name is required.'],
        [{ case_type: 'patient', case_name: 'x', owner_id: 'nobody' }, 'Not all owner_ids are real owner_ids in the project'],
        [{ case_type: 'patient', case_name: 'x', owner_id: seed.KIMIRONKO_LOCATION_ID, properties: { age: 3 } }, "Error with case property 'age'. Values must be strings, received '3'"],
        [{ case_type: 'patient', case_name: 'x', owner_id: seed.KIMIRONKO_LOCATION_ID, colour: 'red' }, "'colour' is not a valid field."],
        [[{ case_type: 'patient' }], "Error in row 1: A 'create' flag is required for each update."],
      ];
      for (const [body, error] of cases) {
        const response = await post(CASES, body);
        assert.equal(response.status, 400, error);
        assert.deepEqual(await response.json(), { error });
      }
      const badIndex = await post(CASES, { case_type: 'referral', case_name: 'x', owner_id: seed.KIMIRONKO_LOCATION_ID, indices: { parent: { case_id: 'missing', case_type: 'patient', relationship: 'child' } } });
      assert.equal(badIndex.status, 400);
      const badIndexBody = await badIndex.json() as { error: string; form_id: string };
      assert.match(badIndexBody.error, /^InvalidCaseIndex: Case '[^']+' references non-existent case 'missing'$/);
      assert.equal(typeof badIndexBody.form_id, 'string');
      const unknownCase = await fetch(`${base}${CASES}nope`, { method: 'PUT', headers: json, body: '{"case_name":"x"}' });
      assert.deepEqual(await unknownCase.json(), { error: "No case found with ID 'nope'" });
    });
  });

  describe('receiver', () => {
    it('acknowledges a duplicate instanceID without applying it again', async () => {
      const xml = xform({ instanceId: 'dup-1', caseId: seed.PATIENT_MUKAMANA_ID });
      const headers = { ...apiKey, 'Content-Type': 'text/xml' };
      assert.equal((await post('/a/demo/receiver/', xml, headers)).status, 201);
      const before = await (await fetch(`${base}${CASES}${seed.PATIENT_MUKAMANA_ID}`, { headers: apiKey })).json() as { server_last_modified: string };
      const duplicate = await post('/a/demo/receiver/', xml, headers);
      assert.equal(duplicate.status, 201);
      assert.deepEqual(openRosa(await duplicate.text()), { nature: 'submit_error', message: 'Form is a duplicate of another! (dup-1)' });
      const v3 = await post('/a/demo/receiver/', xml, { ...headers, 'X-OpenRosa-Version': '3.0' });
      assert.equal(openRosa(await v3.text()).nature, 'submit_success');
      const after = await (await fetch(`${base}${CASES}${seed.PATIENT_MUKAMANA_ID}`, { headers: apiKey })).json() as { server_last_modified: string };
      assert.equal(after.server_last_modified, before.server_last_modified);
    });

    it('closes cases and refuses malformed XML and DTDs', async () => {
      const headers = { ...apiKey, 'Content-Type': 'text/xml' };
      await post('/a/demo/receiver/', xform({ instanceId: 'close-1', caseId: seed.PATIENT_INGABIRE_ID, body: '<n0:close/>' }), headers);
      const closed = await (await fetch(`${base}${CASES}${seed.PATIENT_INGABIRE_ID}`, { headers: apiKey })).json() as { closed: boolean };
      assert.equal(closed.closed, true);

      const malformed = await post('/a/demo/receiver/', '<data><unclosed></data>', headers);
      assert.equal(malformed.status, 500);
      assert.equal(openRosa(await malformed.text()).nature, 'submit_error');
      const entity = await post('/a/demo/receiver/', '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><data xmlns="http://x">&x;</data>', headers);
      assert.equal(entity.status, 500);
    });

    it('lets mobile workers submit with their own credentials', async () => {
      const worker = { Authorization: `Basic ${Buffer.from(`${seed.MOBILE_WORKERS[0].username}:${seed.MOBILE_WORKER_PASSWORD}`).toString('base64')}`, 'Content-Type': 'text/xml' };
      assert.equal((await post('/a/demo/receiver/', xform({ instanceId: 'mw-1', caseId: seed.PATIENT_UWIMANA_ID }), worker)).status, 201);
      assert.equal((await post('/a/demo/receiver/', xform({ instanceId: 'mw-2', caseId: seed.PATIENT_UWIMANA_ID }), { ...worker, Authorization: 'Basic eDp5' })).status, 401);
    });
  });

  describe('Form API and lookups', () => {
    it('lists forms with tastypie paging and filters', async () => {
      const headers = { ...apiKey, 'Content-Type': 'text/xml' };
      await post('/a/demo/receiver/', xform({ instanceId: 'list-1', caseId: seed.PATIENT_MUKAMANA_ID }), headers);
      await post('/a/demo/receiver/', xform({ instanceId: 'list-2', caseId: seed.PATIENT_MUKAMANA_ID, xmlns: seed.XMLNS.followup }), headers);
      await post('/a/demo/receiver/', xform({ instanceId: 'list-3', caseId: seed.PATIENT_MUKAMANA_ID }), headers);
      const page = await (await fetch(`${base}/a/demo/api/v0.5/form/?xmlns=${encodeURIComponent(seed.XMLNS.trackerVisit)}&limit=1`, { headers: apiKey })).json() as {
        meta: { limit: number; next: string | null; offset: number; previous: string | null; total_count: number };
        objects: Array<{ id: string }>;
      };
      assert.equal(page.meta.total_count, 2);
      assert.equal(page.objects[0].id, 'list-1');
      assert.ok(page.meta.next);
      const next = await (await fetch(`${base}${page.meta.next}`, { headers: apiKey })).json() as { objects: Array<{ id: string }>; meta: { next: string | null } };
      assert.equal(next.objects[0].id, 'list-3');
      assert.equal(next.meta.next, null);
    });

    it('serves users, locations, groups and the application structure', async () => {
      const users = await (await fetch(`${base}/a/demo/api/v0.5/user/`, { headers: apiKey })).json() as { objects: Array<{ id: string; locations: string[] }> };
      assert.deepEqual(users.objects.map((u) => u.id), [seed.CHW_AMINA_ID, seed.CHW_JEAN_ID]);
      const villages = await (await fetch(`${base}/a/demo/api/v0.5/location/?location_type=village&parent_id=${seed.DISTRICT_LOCATION_ID}`, { headers: apiKey })).json() as { objects: Array<{ location_id: string }> };
      assert.deepEqual(villages.objects.map((l) => l.location_id), [seed.KIMIRONKO_LOCATION_ID, seed.REMERA_LOCATION_ID]);
      const groups = await (await fetch(`${base}/a/demo/api/v0.5/group/`, { headers: apiKey })).json() as { objects: Array<{ id: string }> };
      assert.equal(groups.objects[0].id, seed.CHW_GROUP_ID);
      const apps = await (await fetch(`${base}/a/demo/api/v0.5/application/`, { headers: apiKey })).json() as { objects: Array<{ name: string; modules: Array<{ case_type: string; forms: Array<{ xmlns: string }> }> }> };
      assert.equal(apps.objects[0].name, 'CHIS demo');
      assert.deepEqual(apps.objects[0].modules.flatMap((m) => m.forms.map((f) => f.xmlns)).sort(), Object.values(seed.XMLNS).sort());
    });
  });

  describe('auth, faults and reset', () => {
    it('answers 401 without valid credentials and 404 for other project spaces', async () => {
      assert.equal((await fetch(`${base}${CASES}`)).status, 401);
      assert.equal((await fetch(`${base}${CASES}`, { headers: { Authorization: `ApiKey ${seed.WEB_USER.username}:wrong` } })).status, 401);
      const basic = { Authorization: `Basic ${Buffer.from(`${seed.WEB_USER.username}:${seed.WEB_USER.password}`).toString('base64')}` };
      assert.equal((await fetch(`${base}${CASES}`, { headers: basic })).status, 200);
      assert.equal((await fetch(`${base}/a/other/api/case/v2/`, { headers: apiKey })).status, 404);
      assert.equal((await post('/a/demo/receiver/', '<data/>', { 'Content-Type': 'text/xml' })).status, 401);
    });

    it('injects a fault on the Case API', async () => {
      await fetch(`${base}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: '^/a/demo/api/case/v2', status: 503, retryAfter: 1, count: 1 }) });
      const failed = await fetch(`${base}${CASES}`, { headers: apiKey });
      assert.equal(failed.status, 503);
      assert.equal(failed.headers.get('retry-after'), '1');
      assert.equal((await fetch(`${base}${CASES}`, { headers: apiKey })).status, 200);
    });

    it('resets cases and forms to the seed', async () => {
      await post(CASES, { case_type: 'patient', case_name: 'Temp', owner_id: seed.KIMIRONKO_LOCATION_ID });
      assert.equal(((await (await fetch(`${base}${CASES}`, { headers: apiKey })).json()) as { matching_records: number }).matching_records, 5);
      await fetch(`${base}/_sandbox/reset`, { method: 'POST' });
      assert.equal(((await (await fetch(`${base}${CASES}`, { headers: apiKey })).json()) as { matching_records: number }).matching_records, 4);
      assert.equal(((await (await fetch(`${base}/a/demo/api/v0.5/form/`, { headers: apiKey })).json()) as { meta: { total_count: number } }).meta.total_count, 0);
    });
  });

  describe('data forwarding', () => {
    it('retries a failing endpoint until it succeeds and records every attempt', async () => {
      const target = await startReceiver([500, 503]);
      try {
        await configure({ name: 'form-forwarding', url: target.url, auth: { type: 'basic', username: 'u', password: 'p' }, backoffMs: 10 });
        const injected = await fetch(`${base}/_sandbox/submit`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ form: { '@xmlns': seed.XMLNS.followup, '@name': 'Follow-up', outcome: 'recovered', meta: { instanceID: 'inj-1', userID: seed.CHW_JEAN_ID } } }),
        });
        assert.equal(injected.status, 201);
        const deliveries = await waitFor(async () => {
          const list = await (await fetch(`${base}/_sandbox/deliveries?target=form-forwarding`)).json() as Array<{ payload_id: string; attempt: number; status: number; time: string }>;
          return list.length === 3 ? list : undefined;
        });
        assert.deepEqual(deliveries.map((d) => [d.payload_id, d.attempt, d.status]), [['inj-1', 1, 500], ['inj-1', 2, 503], ['inj-1', 3, 200]]);
        assert.equal(target.received.length, 3);
      } finally {
        await target.close();
      }
    });

    it('gives up after 3 attempts on client errors, filters by xmlns and can forward XML', async () => {
      const target = await startReceiver([400, 400, 400, 400]);
      try {
        await configure({ name: 'form-forwarding', url: target.url, format: 'xml', xmlns: [seed.XMLNS.trackerVisit], backoffMs: 5 });
        const headers = { ...apiKey, 'Content-Type': 'text/xml' };
        await post('/a/demo/receiver/', xform({ instanceId: 'skip-1', caseId: seed.PATIENT_MUKAMANA_ID, xmlns: seed.XMLNS.followup }), headers);
        const xml = xform({ instanceId: 'xml-1', caseId: seed.PATIENT_MUKAMANA_ID });
        await post('/a/demo/receiver/', xml, headers);
        await waitFor(async () => (target.received.length >= 3 ? true : undefined));
        await new Promise((resolve) => setTimeout(resolve, 60));
        const deliveries = await (await fetch(`${base}/_sandbox/deliveries`)).json() as Array<{ payload_id: string; status: number }>;
        assert.deepEqual(deliveries.map((d) => [d.payload_id, d.status]), [['xml-1', 400], ['xml-1', 400], ['xml-1', 400]]);
        assert.equal(target.received[0].body, xml);
        assert.equal(target.received[0].headers['content-type'], 'text/xml');
      } finally {
        await target.close();
      }
    });
  });
});
