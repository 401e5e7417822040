import assert from 'node:assert/strict';
import type { SandboxApp } from '../../sandbox/core';
import { create, FHIR_STATIC_TOKEN, PATIENT_IDENTIFIER_SYSTEM, PATIENT_IDS, PATIENT_OPENSRP_IDS } from '../../sandbox/fhir';
import { IntegrationError } from '../../nodes/core/errors';
import { HttpClient, type RequestRecord } from '../../nodes/core/http-client';
import { FhirClient, type FhirResource, fhirHttpOptions, parseLocation, parseQuery, parseReference, versionFromEtag, withoutServerMeta } from '../../nodes/fhir/api/client';
import { summarizeOperationOutcome } from '../../nodes/fhir/api/outcome';
import { validateResource } from '../../nodes/fhir/api/validation';

type Json = Record<string, any>;

describe('FHIR api client (against the FHIR sandbox)', function () {
  this.timeout(20_000);
  let app: SandboxApp;
  let base: string;
  let client: FhirClient;
  let records: RequestRecord[];

  const clientFor = (options: { validate?: boolean; token?: string; maxAttempts?: number } = {}): FhirClient =>
    new FhirClient(new HttpClient(fhirHttpOptions(
      { baseUrl: base, system: 'fhir', retry: { maxAttempts: options.maxAttempts ?? 2, baseDelayMs: 5 }, onRequestComplete: (record) => records.push(record) },
      { type: 'bearer' },
      { token: options.token ?? FHIR_STATIC_TOKEN },
    )), { validate: options.validate });

  beforeEach(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}/fhir`;
    records = [];
    client = clientFor();
  });
  afterEach(async () => {
    client.http.close();
    await app.close();
  });

  const patient = (value: string, extra: Json = {}): FhirResource => ({
    resourceType: 'Patient',
    identifier: [{ system: PATIENT_IDENTIFIER_SYSTEM, value }],
    name: [{ family: 'Wanjiru', given: ['Grace'] }],
    gender: 'female',
    ...extra,
  });

  it('creates, reads and vreads a resource with its id, versionId and Location', async () => {
    const created = await client.create(patient('X-1'));
    assert.equal(created.status, 201);
    assert.equal(created.versionId, '1');
    assert.match(created.location ?? '', new RegExp(`/Patient/${created.id}/_history/1$`));
    const read = await client.read('Patient', created.id);
    assert.deepEqual(read.resource, created.resource);
    assert.equal((await client.vread('Patient', created.id, '1')).versionId, '1');
  });

  it('conditional create finds the existing resource instead of creating a second', async () => {
    const first = await client.create(patient('X-2'), { ifNoneExist: `identifier=${PATIENT_IDENTIFIER_SYSTEM}|X-2` });
    const second = await client.create(patient('X-2'), { ifNoneExist: `identifier=${PATIENT_IDENTIFIER_SYSTEM}|X-2` });
    assert.equal(first.status, 201);
    assert.equal(second.status, 200);
    assert.equal(second.id, first.id);
    assert.equal((await client.search('Patient', { identifier: `${PATIENT_IDENTIFIER_SYSTEM}|X-2` })).length, 1);
  });

  it('version-aware update: If-Match with a stale version fails as conflict (412), a fresh one succeeds', async () => {
    const created = await client.create(patient('X-3'));
    const v2 = await client.update({ ...created.resource, gender: 'other' }, { ifMatch: '1' });
    assert.equal(v2.versionId, '2');
    await assert.rejects(client.update({ ...created.resource, gender: 'male' }, { ifMatch: '1' }), (error: IntegrationError) => {
      assert.equal(error.code, 'conflict');
      assert.equal(error.status, 412);
      assert.match(error.message, /not the current version/);
      return true;
    });
  });

  it('conditional update updates the one match', async () => {
    const created = await client.create(patient('X-4'));
    const updated = await client.conditionalUpdate(patient('X-4', { gender: 'other' }), `identifier=${PATIENT_IDENTIFIER_SYSTEM}|X-4`);
    assert.equal(updated.id, created.id);
    assert.equal(updated.versionId, '2');
  });

  it('delete: then the read is gone (410) and a second delete is not an error', async () => {
    const created = await client.create(patient('X-5'));
    assert.deepEqual(await client.delete('Patient', created.id), { status: 200, existed: true });
    assert.equal(await client.readIfExists('Patient', created.id), undefined);
    await assert.rejects(client.read('Patient', created.id), (error: IntegrationError) => error.code === 'not-found' && error.status === 410);
    assert.equal((await client.delete('Patient', created.id)).status, 200);
  });

  it('search follows the Bundle paging links, with _lastUpdated prefixes', async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    for (let index = 0; index < 7; index += 1) await client.create(patient(`P-${index}`));
    const pages: number[] = [];
    for await (const page of client.searchPages('Patient', { _lastUpdated: `gt${before}`, _count: 3 })) pages.push(page.length);
    assert.deepEqual(pages, [3, 3, 3], 'seeded 2 + 7 created');
    assert.equal((await client.search('Patient', { _lastUpdated: `gt${new Date(Date.now() + 60_000).toISOString()}` })).length, 0);
  });

  it('posts a transaction Bundle and returns the response entries', async () => {
    const answer = await client.transaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:1b9e6a4c-8d7e-4f5b-9c1a-2b3c4d5e6f70', resource: patient('T-1'), request: { method: 'POST', url: 'Patient' } },
        {
          resource: { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: 'urn:uuid:1b9e6a4c-8d7e-4f5b-9c1a-2b3c4d5e6f70' } },
          request: { method: 'POST', url: 'Task' },
        },
      ],
    });
    assert.equal(answer.type, 'transaction-response');
    const locations = (answer.entry as Json[]).map((entry) => parseLocation(entry.response.location));
    assert.deepEqual(locations.map((where) => where?.resourceType), ['Patient', 'Task']);
    const task = await client.read('Task', locations[1]!.id);
    assert.equal((task.resource.for as Json).reference, `Patient/${locations[0]!.id}`);
  });

  it('lists resource types from the CapabilityStatement', async () => {
    const types = await client.resourceTypes();
    assert.ok(types.includes('Patient') && types.includes('Task'));
  });

  describe('OperationOutcome to IntegrationError', () => {
    it('takes the summary from issue diagnostics and the code from the HTTP status', async () => {
      await assert.rejects(client.read('Patient', 'no-such-patient'), (error: IntegrationError) => {
        assert.equal(error.code, 'not-found');
        assert.equal(error.status, 404);
        assert.equal(error.system, 'fhir');
        assert.match(error.remote?.summary ?? '', /Patient\/no-such-patient is not known/);
        assert.equal((error.remote?.details as Json).resourceType, 'OperationOutcome');
        return true;
      });
      await assert.rejects(client.create({ resourceType: 'Task', status: 'requested' } as Json as never, { validate: false }), (error: IntegrationError) => {
        assert.equal(error.code, 'validation');
        assert.equal(error.status, 400);
        assert.match(error.message, /Task\.intent: minimum required = 1/);
        return true;
      });
    });

    it('reads details.text, expression and severity when there are no diagnostics', () => {
      const outcome = {
        resourceType: 'OperationOutcome',
        issue: [
          { severity: 'warning', code: 'informational', diagnostics: 'ignored while there are errors' },
          { severity: 'error', code: 'required', details: { text: 'Patient.name is required' } },
          { severity: 'fatal', code: 'structure', details: { coding: [{ code: 'MSG_BAD_SYNTAX', display: 'Bad syntax' }] }, expression: ['Patient.birthDate'] },
        ],
      };
      assert.equal(summarizeOperationOutcome(outcome), 'Patient.name is required; Patient.birthDate: Bad syntax');
      assert.equal(summarizeOperationOutcome({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: 'ok' }] }), 'ok');
      assert.equal(summarizeOperationOutcome({ resourceType: 'Patient' }), undefined);
    });

    it('maps 401 to auth and never shows the token', async () => {
      const wrong = clientFor({ token: 'not-the-token-123' });
      try {
        await assert.rejects(wrong.read('Patient', PATIENT_IDS[0]), (error: IntegrationError) => {
          assert.equal(error.code, 'auth');
          assert.doesNotMatch(JSON.stringify(error.toJSON()), /not-the-token-123/);
          return true;
        });
      } finally {
        wrong.http.close();
      }
    });

    it('retries a 503 with Retry-After through the shared HttpClient', async () => {
      await fetch(`${base.replace(/\/fhir$/, '')}/_sandbox/faults`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ path: `/fhir/Patient/${PATIENT_IDS[0]}`, status: 503, count: 1, retryAfter: 0 }),
      });
      const read = await client.read('Patient', PATIENT_IDS[0]);
      assert.equal((read.resource.identifier as Json[])[0].value, PATIENT_OPENSRP_IDS[0]);
      assert.deepEqual(records.filter((record) => record.url.endsWith(PATIENT_IDS[0])).map((record) => record.status), [503, 200]);
    });
  });

  describe('schema validation before sending', () => {
    it('refuses an invalid resource with bad-input naming the path, and sends nothing', async () => {
      app.log.clear();
      await assert.rejects(client.create(patient('V-1', { gender: 'femme', birthDate: '12/03/1994' })), (error: IntegrationError) => {
        assert.equal(error.code, 'bad-input');
        assert.match(error.message, /msg\.payload\.gender must be one of "male", "female", "other", "unknown"/);
        assert.match(error.message, /msg\.payload\.birthDate must match pattern/);
        assert.equal(error.field, 'msg.payload.gender');
        assert.doesNotMatch(error.message, /femme/, 'values are never echoed');
        return true;
      });
      await assert.rejects(client.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient('V-2', { identifier: { value: 'x' } }), request: { method: 'POST', url: 'Patient' } }] }),
        /msg\.payload\.entry\[0\]\.resource\.identifier must be array/);
      assert.equal(app.log.query(new URLSearchParams()).length, 0, 'no request reached the server');
    });

    it('can be turned off for servers that accept more than the schema (OpenMRS fhir2)', async () => {
      const lenient = clientFor({ validate: false });
      try {
        const created = await lenient.create(patient('V-3', { identifier: { system: PATIENT_IDENTIFIER_SYSTEM, value: 'V-3' } }));
        assert.equal(created.status, 201);
      } finally {
        lenient.http.close();
      }
    });

    it('names an unknown resource type and a missing resourceType', () => {
      assert.throws(() => validateResource({ resourceType: 'Patients' }), /"Patients" is not a FHIR R4 resource type/);
      assert.throws(() => validateResource({ id: '1' }), /msg\.payload\.resourceType is required/);
      assert.doesNotThrow(() => validateResource({ resourceType: 'Task', status: 'requested', intent: 'order' }));
    });
  });

  it('helpers: ETag, Location, references, queries and server meta', () => {
    assert.equal(versionFromEtag('W/"12"'), '12');
    assert.deepEqual(parseLocation('http://h/fhir/Task/abc-1/_history/3'), { resourceType: 'Task', id: 'abc-1', versionId: '3' });
    assert.deepEqual(parseReference({ reference: 'Patient/p1' }), { resourceType: 'Patient', id: 'p1' });
    assert.deepEqual(parseReference('t1', 'Task'), { resourceType: 'Task', id: 't1' });
    assert.deepEqual(parseQuery('?status=requested&owner=a&owner=b'), { status: 'requested', owner: ['a', 'b'] });
    assert.deepEqual(withoutServerMeta({ resourceType: 'Patient', meta: { versionId: '2', lastUpdated: 'x' } }), { resourceType: 'Patient' });
    assert.deepEqual(withoutServerMeta({ resourceType: 'Patient', meta: { versionId: '2', tag: [] } }), { resourceType: 'Patient', meta: { tag: [] } });
  });
});
