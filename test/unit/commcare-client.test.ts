import assert from 'node:assert/strict';
import { create } from '../../sandbox/commcare';
import * as seed from '../../sandbox/commcare/seed';
import { HttpClient } from '../../nodes/core/http-client';
import { isIntegrationError } from '../../nodes/core/errors';
import { CommcareClient, commcareHttpOptions } from '../../nodes/commcare/api/client';
import { type CaseCheckpoint, pollCases } from '../../nodes/commcare/api/case-changes';
import { type CaseInput, toBulkItem } from '../../nodes/commcare/api/case-input';
import { undoCaseWrite, writeCases } from '../../nodes/commcare/api/case-writer';
import { CHIS_ORIGIN_PROPERTY, isOwnWriteForm } from '../../nodes/commcare/api/loop-marker';
import type { CommcareCase } from '../../nodes/commcare/api/types';

type Sandbox = ReturnType<typeof create>;

const settings = { owners: { 'openmrs-loc-1': seed.REMERA_LOCATION_ID }, defaultOwner: seed.KIMIRONKO_LOCATION_ID, defaultCaseType: 'patient' };

function patient(externalId: string, extra: Partial<CaseInput> = {}): CaseInput {
  return { external_id: externalId, case_name: `Patient ${externalId}`, properties: { dob: '2000-01-01', visits: 1 }, ...extra };
}

describe('commcare api client (against the CommCare sandbox)', function () {
  this.timeout(20_000);
  let app: Sandbox;
  let base: string;
  let client: CommcareClient;

  before(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });
  after(() => app.close());
  beforeEach(async () => {
    await app.reset();
    client = new CommcareClient(new HttpClient(commcareHttpOptions({ baseUrl: base, system: 'commcare', retry: { maxAttempts: 2, baseDelayMs: 1 } as never }, { username: seed.WEB_USER.username, apiKey: seed.WEB_USER.apiKey })), seed.DOMAIN);
  });
  afterEach(() => client.http.close());

  const requests = (method: string, path: string) => app.log.query(new URLSearchParams({ method, path }));

  it('lists cases across pages by following next', async () => {
    const pages: CommcareCase[][] = [];
    for await (const page of client.listCases({ case_type: 'patient', limit: 2 })) pages.push(page);
    assert.deepEqual(pages.map((page) => page.length), [2, 1]);
    assert.deepEqual(pages.flat().map((record) => record.external_id).sort(), ['CHT-P-0001', 'CHT-P-0002', 'CHT-P-0003']);
    assert.match(requests('GET', '/api/case/v2').at(-1)?.query ?? '', /cursor=/);
  });

  it('reads single cases, by external id and in bulk; unknown ones are not errors', async () => {
    assert.equal((await client.getCase(seed.PATIENT_MUKAMANA_ID))?.external_id, 'CHT-P-0001');
    assert.equal(await client.getCase('nope'), undefined);
    assert.equal((await client.getCaseByExternalId('CHT-P-0002'))?.case_id, seed.PATIENT_UWIMANA_ID);
    assert.equal(await client.getCaseByExternalId('nope'), undefined);
    const bulk = await client.bulkFetch({ externalIds: ['CHT-P-0003', 'missing'] });
    assert.equal((bulk[0] as CommcareCase).case_id, seed.PATIENT_INGABIRE_ID);
    assert.equal((bulk[1] as { error: string }).error, 'not found');
  });

  it('upserts in bulk by external_id: the second write updates, nothing is duplicated, before values are kept', async () => {
    const first = await writeCases(client, [patient('OMRS-1'), patient('CHT-P-0001', { properties: { phone: '+250700000000' } }), patient('OMRS-2', { owner: 'openmrs-loc-1' })], settings);
    assert.ok(first.every((outcome) => outcome.ok));
    const [created, updated, mapped] = first as Array<Extract<typeof first[number], { ok: true }>>;
    assert.equal(created.result.created, true);
    assert.equal(created.case.owner_id, seed.KIMIRONKO_LOCATION_ID);
    assert.equal(created.case.properties.visits, '1');
    assert.equal(created.case.properties[CHIS_ORIGIN_PROPERTY], 'chis-node-red');
    assert.equal(updated.result.created, false);
    assert.equal(updated.result.case_id, seed.PATIENT_MUKAMANA_ID);
    assert.equal(updated.before?.properties.phone, '+250788200001');
    assert.equal(updated.before?.owner_id, undefined, 'an existing case keeps its owner');
    assert.equal(updated.case.owner_id, seed.KIMIRONKO_LOCATION_ID);
    assert.equal(mapped.case.owner_id, seed.REMERA_LOCATION_ID);

    const second = await writeCases(client, [patient('OMRS-1', { properties: { visits: 2 } })], settings);
    assert.equal(second[0].ok && second[0].result.created, false);
    assert.equal(second[0].ok && second[0].result.case_id, created.result.case_id);
    const all = await client.bulkFetch({ externalIds: ['OMRS-1'] });
    assert.equal(all.length, 1);
    assert.equal((all[0] as CommcareCase).properties.visits, '2');
    assert.equal(requests('POST', '/api/case/v2/?$').length, 2, 'one bulk request per write');
  });

  it('gives each input of a refused bulk request its own verdict', async () => {
    const inputs: CaseInput[] = [
      patient('OK-1'),
      patient('BAD-ROW', { indices: { parent: { case_id: seed.PATIENT_MUKAMANA_ID } } }),
      patient('OK-2'),
      patient('BAD-OWNER', { owner_id: 'not-an-owner' }),
      patient('BAD-INDEX', { indices: { parent: { case_id: 'no-such-case', case_type: 'patient', relationship: 'child' } } }),
      patient('OK-3'),
      { external_id: 'NO-NAME' },
    ];
    const outcomes = await writeCases(client, inputs, settings);
    const verdict = outcomes.map((outcome) => (outcome.ok ? 'ok' : (outcome.error as { code?: string }).code));
    assert.deepEqual(verdict, ['ok', 'validation', 'ok', 'validation', 'validation', 'ok', 'bad-input']);
    assert.match(outcomes[1].ok ? '' : outcomes[1].error.message, /BAD-ROW.*case_type is required/);
    assert.match(outcomes[3].ok ? '' : outcomes[3].error.message, /owner_ids/);
    assert.match(outcomes[4].ok ? '' : outcomes[4].error.message, /InvalidCaseIndex/);
    for (const id of ['OK-1', 'OK-2', 'OK-3']) assert.ok(await client.getCaseByExternalId(id), id);
    assert.equal(await client.getCaseByExternalId('BAD-OWNER'), undefined);
  });

  it('never sends the same case twice in one bulk request', async () => {
    const outcomes = await writeCases(client, [patient('TWICE', { properties: { visits: 1 } }), patient('TWICE', { properties: { visits: 2 } })], settings);
    assert.deepEqual(outcomes.map((outcome) => outcome.ok && outcome.result.created), [true, false]);
    const found = await client.bulkFetch({ externalIds: ['TWICE'] });
    assert.equal((found[0] as CommcareCase).properties.visits, '2');
    assert.equal(app.log.query(new URLSearchParams({ method: 'POST', path: '/api/case/v2/?$' })).length, 2);
  });

  it('summarises HQ refusals in the error message', async () => {
    await assert.rejects(client.createCase({ case_type: 'patient', case_name: 'x' }), (error: unknown) => {
      assert.ok(isIntegrationError(error));
      assert.equal(error.code, 'validation');
      assert.match(error.message, /HTTP 400: Property owner_id is required/);
      return true;
    });
    const denied = new CommcareClient(new HttpClient(commcareHttpOptions({ baseUrl: base, system: 'commcare' }, { username: seed.WEB_USER.username, apiKey: 'wrong' })), seed.DOMAIN);
    await assert.rejects(denied.getCase(seed.PATIENT_MUKAMANA_ID), (error: unknown) => isIntegrationError(error) && error.code === 'auth' && !error.message.includes('wrong'));
    denied.http.close();
  });

  it('marks its writes so the forwarded Case API form is recognised as its own', async () => {
    await writeCases(client, [patient('LOOP-1')], settings);
    const forms = await client.http.get<{ objects: unknown[] }>(`a/demo/api/v0.5/form/`, { query: { xmlns: 'http://commcarehq.org/case_api' } });
    assert.equal(forms.data.objects.length, 1);
    assert.equal(isOwnWriteForm(forms.data.objects[0]), true);
  });

  it('undoes a created case by closing it and an update by restoring the previous values', async () => {
    const [created] = await writeCases(client, [patient('UNDO-1')], settings);
    const [updated] = await writeCases(client, [patient('CHT-P-0002', { case_name: 'Renamed', properties: { phone: '1', newprop: 'x' } })], settings);
    assert.ok(created.ok && updated.ok);
    assert.equal(await undoCaseWrite(client, { id: created.result.case_id, action: 'created' }), 'undone');
    assert.equal((await client.getCase(created.result.case_id))?.closed, true);
    assert.equal(await undoCaseWrite(client, { id: created.result.case_id, action: 'created' }), 'already-gone');
    assert.equal(await undoCaseWrite(client, { id: updated.result.case_id, action: 'updated', before: updated.before }), 'undone');
    const restored = await client.getCase(seed.PATIENT_UWIMANA_ID);
    assert.equal(restored?.case_name, 'Diane Uwimana');
    assert.equal(restored?.properties.phone, '+250788200002');
    assert.equal(restored?.properties.newprop, '');
    assert.equal(await undoCaseWrite(client, { id: 'gone', action: 'updated', before: { properties: {} } }), 'already-gone');
  });

  it('builds bulk items: upsert flag, default type and owner for new cases only, string properties', () => {
    const item = toBulkItem(patient('X', { properties: { n: 3, ok: true, gone: null } }), undefined, settings);
    assert.equal(item.create, null);
    assert.equal(item.case_type, 'patient');
    assert.equal(item.owner_id, seed.KIMIRONKO_LOCATION_ID);
    assert.deepEqual({ n: item.properties?.n, ok: item.properties?.ok, gone: item.properties?.gone }, { n: '3', ok: 'true', gone: '' });
    const update = toBulkItem({ case_id: 'abc', properties: { a: '1' } }, { case_id: 'abc' } as CommcareCase, settings);
    assert.equal(update.create, false);
    assert.equal(update.owner_id, undefined);
    assert.throws(() => toBulkItem(patient('Y', { owner: 'unmapped' }), undefined, { owners: {} }), /no CommCare owner is mapped/);
    assert.throws(() => toBulkItem(patient('Z', { properties: { owner_id: 'x' } }), undefined, settings), /own field/);
  });

  describe('case changes', () => {
    function memoryStore() {
      let value: CaseCheckpoint | undefined;
      return { load: () => value, save: (next: CaseCheckpoint) => { value = structuredClone(next); }, get value() { return value; } };
    }

    it('emits changed cases page by page and resumes from the checkpoint without skipping or repeating', async () => {
      const store = memoryStore();
      const emitted: string[] = [];
      let calls = 0;
      const stopAfterFirstPage = {
        client,
        store,
        emit: (cases: CommcareCase[]) => {
          calls += 1;
          if (calls === 2) throw new Error('crash while sending page 2');
          emitted.push(...cases.map((record) => record.case_id));
        },
      };
      await assert.rejects(pollCases(stopAfterFirstPage, { pageSize: 2, ignoreOwnWrites: false }), /crash/);
      assert.equal(emitted.length, 2);
      // Restart: a new poll from the stored checkpoint.
      const result = await pollCases({ client, store, emit: (cases) => emitted.push(...cases.map((record) => record.case_id)) }, { pageSize: 2, ignoreOwnWrites: false });
      assert.equal(result.emitted, 2);
      assert.deepEqual([...emitted].sort(), [seed.PATIENT_MUKAMANA_ID, seed.PATIENT_UWIMANA_ID, seed.PATIENT_INGABIRE_ID, seed.REFERRAL_MUKAMANA_ID].sort());
      const idle = await pollCases({ client, store, emit: () => assert.fail('nothing changed') }, { pageSize: 2 });
      assert.equal(idle.emitted, 0);

      // A phone form changes one case; our own write changes another (and is left out).
      await app.reset();
      // The sandbox stamps its seeded cases a few ms ahead of its clock; let the clock pass them.
      await new Promise((resolve) => setTimeout(resolve, 10));
      const fresh = memoryStore();
      await pollCases({ client, store: fresh, emit: () => undefined }, { pageSize: 10 });
      await client.http.post('/_sandbox/submit', {
        body: { '@xmlns': seed.XMLNS.trackerVisit, case: { '@case_id': seed.PATIENT_INGABIRE_ID, '@user_id': seed.CHW_JEAN_ID, update: { last_visit_date: '2024-06-01' } }, meta: { instanceID: 'visit-1' } },
      });
      await writeCases(client, [patient('CHT-P-0001', { properties: { phone: '2' } })], settings);
      const changed: CommcareCase[] = [];
      const next = await pollCases({ client, store: fresh, emit: (cases) => changed.push(...cases) }, { pageSize: 10, ignoreOwnWrites: true });
      assert.deepEqual(changed.map((record) => record.case_id), [seed.PATIENT_INGABIRE_ID]);
      assert.equal(next.ignored, 1);
    });

    it('starts from now when asked, and filters by case type and owner', async () => {
      const store = memoryStore();
      await pollCases({ client, store, emit: () => assert.fail('start at now sends nothing old') }, { startAt: 'now' });
      assert.ok(store.value?.indexedOn);
      const referrals: CommcareCase[] = [];
      await pollCases({ client, store: memoryStore(), emit: (cases) => referrals.push(...cases) }, { caseType: 'referral', ownerId: seed.KIMIRONKO_LOCATION_ID });
      assert.deepEqual(referrals.map((record) => record.case_id), [seed.REFERRAL_MUKAMANA_ID]);
    });
  });
});
