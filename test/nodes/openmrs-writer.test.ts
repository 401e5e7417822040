import assert from 'node:assert/strict';
import request from 'supertest';
import { CONCEPTS, ENCOUNTER_TYPES, IDENTIFIER_TYPES, LOCATIONS, OPENMRS_IDS, PASSWORD, PATIENTS, USERNAME } from '../../sandbox/openmrs/seed';
import openmrsConfig from '../../nodes/openmrs/openmrs-config';
import openmrsWriter from '../../nodes/openmrs/openmrs-writer';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';
import { openmrsConfigNode, useOpenmrsSandbox } from '../support/openmrs-sandbox';

function flow(baseUrl: string, writer: Record<string, unknown> = {}, server: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    openmrsConfigNode(baseUrl, { sessionReuse: true, timeZone: 'Africa/Nairobi', maxAttempts: 6, ...server }),
    { id: 'w', type: 'chis-openmrs-writer', z: 't', server: 'server', operation: 'encounter', wires: [['out']], ...writer },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

/** Sends one message; resolves with the writer's output or the Catch node's error message. */
function write(payload: unknown, extra: Record<string, unknown> = {}): Promise<{ ok: boolean; msg: any }> {
  return new Promise((resolve) => {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const onOut = (msg: any) => { cleanup(); resolve({ ok: true, msg }); };
    const onCaught = (msg: any) => { cleanup(); resolve({ ok: false, msg }); };
    const cleanup = () => { out.removeListener('input', onOut); caught.removeListener('input', onCaught); };
    out.on('input', onOut);
    caught.on('input', onCaught);
    helper.getNode('w').receive({ payload, ...extra });
  });
}

const visit = (key: string, overrides: Record<string, unknown> = {}) => ({
  patientIdentifier: { identifier: OPENMRS_IDS.amina, identifierType: 'OpenMRS ID' },
  encounterType: 'Community Follow-up',
  encounterDatetime: '2024-05-01T09:30',
  location: LOCATIONS.northCatchment,
  idempotencyKey: key,
  obs: [
    { concept: CONCEPTS.weight, value: '61.5' },
    { concept: CONCEPTS.temperature, value: 38.2 },
    { concept: CONCEPTS.dangerSignsPresent, value: 'yes' },
    { concept: CONCEPTS.reachableByPhone, value: 'no' },
    { concept: CONCEPTS.returnVisitDate, value: '2024-05-15' },
  ],
  ...overrides,
});

async function encountersOf(base: string, patient: string, type = ENCOUNTER_TYPES.communityFollowUp): Promise<any[]> {
  const response = await request(base).get(`/openmrs/ws/rest/v1/encounter?patient=${patient}&encounterType=${type}&v=full&limit=100`).auth(USERNAME, PASSWORD);
  return response.body.results;
}

describe('chis-openmrs-writer node (against the OpenMRS sandbox)', function () {
  this.timeout(30_000);
  const openmrs = useOpenmrsSandbox();


  it('creates an encounter with obs coerced to their concepts, and journals it', async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
    const before = (await encountersOf(openmrs.root, PATIENTS.amina)).length;
    const { ok, msg } = await write(visit('form-1'), { journal: [{ system: 'commcare', resource: 'case', id: 'x', action: 'updated' }] });
    assert.equal(ok, true, JSON.stringify(msg.error));
    assert.equal(msg.payload.patient, PATIENTS.amina);
    assert.equal(msg.payload.action, 'created');
    assert.equal(msg.payload.obs.length, 5);
    assert.deepEqual(msg.journal.at(-1), { system: 'openmrs', resource: 'encounter', id: msg.payload.encounter, action: 'created', configId: 'server' });
    assert.equal(msg.journal.length, 2);
    const after = await encountersOf(openmrs.root, PATIENTS.amina);
    assert.equal(after.length, before + 1);
    const created = after.find((encounter) => encounter.uuid === msg.payload.encounter);
    assert.match(created.encounterDatetime, /^2024-05-01T06:30:00\.000\+0000$/);
    const values = Object.fromEntries(created.obs.map((obs: any) => [obs.concept.uuid, obs.value]));
    assert.equal(values[CONCEPTS.weight], 61.5);
    assert.equal(values[CONCEPTS.dangerSignsPresent].uuid ?? values[CONCEPTS.dangerSignsPresent], CONCEPTS.yes);
  });

  it('takes the default location from the message when it is typed msg, per message; an older writer keeps its fixed location', async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl, { location: 'site.location', locationType: 'msg' }), openmrs.credentials);
    const north = await write(visit('form-loc-1', { location: undefined }), { site: { location: LOCATIONS.northCatchment } });
    const south = await write(visit('form-loc-2', { location: undefined }), { site: { location: LOCATIONS.southCatchment } });
    assert.equal(north.ok && south.ok, true, JSON.stringify(north.msg.error ?? south.msg.error));
    const encounters = await encountersOf(openmrs.root, PATIENTS.amina);
    const locationOf = (uuid: string) => encounters.find((encounter) => encounter.uuid === uuid).location.uuid;
    assert.equal(locationOf(north.msg.payload.encounter), LOCATIONS.northCatchment);
    assert.equal(locationOf(south.msg.payload.encounter), LOCATIONS.southCatchment);
    await unloadFlow();

    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl, { location: LOCATIONS.facility }), openmrs.credentials);
    const fixed = await write(visit('form-loc-3', { location: undefined }), { site: { location: LOCATIONS.northCatchment } });
    assert.equal(fixed.ok, true, JSON.stringify(fixed.msg.error));
    const after = await encountersOf(openmrs.root, PATIENTS.amina);
    assert.equal(after.find((encounter) => encounter.uuid === fixed.msg.payload.encounter).location.uuid, LOCATIONS.facility);
  });

  it('a second identical message creates nothing new', async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
    const first = await write(visit('form-2'));
    const second = await write(visit('form-2'));
    assert.equal(first.ok && second.ok, true);
    assert.equal(second.msg.payload.action, 'existing');
    assert.equal(second.msg.payload.encounter, first.msg.payload.encounter);
    assert.deepEqual(second.msg.journal, []);
    const encounters = await encountersOf(openmrs.root, PATIENTS.amina);
    assert.equal(encounters.filter((encounter) => encounter.uuid === first.msg.payload.encounter).length, 1);
    assert.equal(encounters.filter((encounter) => encounter.obs.some((obs: any) => String(obs.comment ?? '').endsWith('[chis:form-2]'))).length, 1);
  });

  it('by patient uuid: the key check reads only encounters within a day of the message, narrowly, and a retry finds it', async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
    const byUuid = (key: string, encounterDatetime: string) => visit(key, { patientIdentifier: undefined, patient: PATIENTS.amina, encounterDatetime });
    // An encounter of the same type a week later carries another key: outside the window, never read.
    const later = await write(byUuid('form-window-later', '2024-05-08T09:30'));
    assert.equal(later.ok, true, later.msg.error?.message);
    await request(openmrs.root).delete('/_sandbox/requests');
    const first = await write(byUuid('form-window', '2024-05-01T09:30'));
    const retry = await write(byUuid('form-window', '2024-05-01T09:30'));
    assert.equal(first.ok && retry.ok, true);
    assert.equal(first.msg.payload.action, 'created');
    assert.equal(retry.msg.payload.action, 'existing');
    assert.equal(retry.msg.payload.encounter, first.msg.payload.encounter);
    assert.deepEqual(retry.msg.payload.obs, first.msg.payload.obs);
    const log = (await request(openmrs.root).get('/_sandbox/requests').expect(200)).body as Array<{ method: string; path: string; query: string }>;
    const searches = log.filter((entry) => entry.method === 'GET' && /\/encounter$/.test(entry.path)).map((entry) => new URLSearchParams(entry.query));
    assert.equal(searches.length, 2);
    for (const search of searches) {
      assert.equal(search.get('patient'), PATIENTS.amina);
      assert.match(String(search.get('v')), /^custom:\(uuid,voided,.*obs:\(/);
      assert.ok(search.get('fromdate') && search.get('todate'));
    }
    assert.equal(log.filter((entry) => entry.method === 'POST' && /\/encounter$/.test(entry.path)).length, 1);
    const patientReads = log.filter((entry) => entry.method === 'GET' && entry.path.endsWith(`/patient/${PATIENTS.amina}`));
    assert.deepEqual(patientReads.map((entry) => new URLSearchParams(entry.query).get('v')), ['custom:(uuid,voided)', 'custom:(uuid,voided)']);
    // An unknown patient uuid is still not-found, with nothing written.
    const unknown = await write(visit('form-window-unknown', { patientIdentifier: undefined, patient: '00000000-0000-4000-8000-000000000000' }));
    assert.equal(unknown.ok, false);
    assert.equal(unknown.msg.error.code, 'not-found');
    assert.equal((await encountersOf(openmrs.root, PATIENTS.amina)).filter((encounter) => encounter.obs.some((obs: any) => String(obs.comment ?? '').endsWith('[chis:form-window]'))).length, 1);
  });

  it('with 30% of requests failing 503 and a 429 with Retry-After, still one encounter per message', async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
    await request(openmrs.root).post('/_sandbox/faults').send({ path: '/encounter$', method: 'POST', status: 429, retryAfter: 1, count: 1 }).expect(201);
    await request(openmrs.root).post('/_sandbox/faults').send({ path: '/ws/rest/v1/', rate: 0.3, status: 503 }).expect(201);
    const keys = Array.from({ length: 8 }, (_, index) => `flaky-${index}`);
    for (const key of keys) {
      // What a flow's retry does: re-send the message until it goes through.
      let result = await write(visit(key));
      for (let attempt = 1; !result.ok && attempt < 5; attempt += 1) {
        assert.ok(result.msg.error.cause.retryable, result.msg.error.message);
        result = await write(visit(key));
      }
      assert.equal(result.ok, true, result.msg.error?.message);
    }
    await request(openmrs.root).delete('/_sandbox/faults').expect(200);
    const encounters = await encountersOf(openmrs.root, PATIENTS.amina);
    for (const key of keys) {
      assert.equal(encounters.filter((encounter) => encounter.obs.some((obs: any) => String(obs.comment ?? '').endsWith(`[chis:${key}]`))).length, 1, key);
    }
    const log = await request(openmrs.root).get('/_sandbox/requests').expect(200);
    assert.ok(JSON.stringify(log.body).includes('429'));
  });

  it('an unknown patient is not-found at the Catch node, and nothing is written', async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
    await request(openmrs.root).delete('/_sandbox/requests');
    const { ok, msg } = await write(visit('form-3', { patientIdentifier: { identifier: 'NOPE-1', identifierType: 'OpenMRS ID' } }));
    assert.equal(ok, false);
    assert.equal(msg.error.code, 'not-found');
    const log = await request(openmrs.root).get('/_sandbox/requests').expect(200);
    assert.equal(JSON.stringify(log.body).includes('"POST"'), false);
  });

  it('rejects a value that does not fit its question with bad-input naming the question', async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
    const bad = visit('form-4');
    (bad.obs as any[])[0] = { concept: CONCEPTS.weight, value: 'heavy' };
    const { ok, msg } = await write(bad);
    assert.equal(ok, false);
    assert.equal(msg.error.code, 'bad-input');
    assert.match(msg.error.message, /Weight \(kg\)/);
    assert.equal(msg.error.cause.field, 'msg.payload.obs[0].value');
    const missing = await write({ encounterType: 'x' });
    assert.equal(missing.msg.error.code, 'bad-input');
  });

  it('creates a patient, then updates only what changed, journaling the previous values', async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl, { operation: 'patient', location: LOCATIONS.facility }), openmrs.credentials);
    const patient = {
      identifiers: [{ identifier: 'cc-case-77', identifierType: 'CommCare Case ID' }],
      givenName: 'Neema', familyName: 'Wekesa', gender: 'F', birthdate: '2019-02-03',
      attributes: { 'Telephone Number': '+254712000077' },
    };
    const created = await write(patient);
    assert.equal(created.ok, true, created.msg.error?.message);
    assert.equal(created.msg.payload.action, 'created');
    assert.deepEqual(created.msg.journal, [{ system: 'openmrs', resource: 'patient', id: created.msg.payload.patient, action: 'created', configId: 'server' }]);
    const again = await write(patient);
    assert.equal(again.msg.payload.action, 'unchanged');
    assert.equal(again.msg.payload.patient, created.msg.payload.patient);
    const updated = await write({ ...patient, familyName: 'Wekesa-Otieno', attributes: { 'Telephone Number': '+254712000078' } });
    assert.equal(updated.msg.payload.action, 'updated');
    const entry = updated.msg.journal[0];
    assert.equal(entry.action, 'updated');
    assert.equal(entry.before.name.familyName, 'Wekesa');
    assert.equal(Object.values(entry.before.attributes)[0], '+254712000077');
    const read = await request(openmrs.root).get(`/openmrs/ws/rest/v1/patient/${created.msg.payload.patient}?v=full`).auth(USERNAME, PASSWORD);
    assert.equal(read.body.person.preferredName.familyName, 'Wekesa-Otieno');
    assert.equal(read.body.identifiers[0].identifierType.uuid, IDENTIFIER_TYPES.commcareCaseId);
  });

  it('creates obs alone, once per key', async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl, { operation: 'obs' }), openmrs.credentials);
    const payload = { patient: PATIENTS.baraka, obsDatetime: '2024-05-02T08:00:00+03:00', idempotencyKey: 'sms-9', obs: [{ concept: CONCEPTS.weight, value: 80 }, { concept: CONCEPTS.reachableByPhone, value: true }] };
    const first = await write(payload);
    assert.equal(first.ok, true, first.msg.error?.message);
    assert.equal(first.msg.journal.length, 2);
    assert.ok(first.msg.journal.every((entry: any) => entry.resource === 'obs' && entry.action === 'created'));
    const second = await write(payload);
    assert.deepEqual(second.msg.payload.obs, first.msg.payload.obs);
    assert.deepEqual(second.msg.journal, []);
  });
});
