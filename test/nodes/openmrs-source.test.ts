import assert from 'node:assert/strict';
import request from 'supertest';
import { PASSWORD, PATIENTS, REPORTS, USERNAME } from '../../sandbox/openmrs/seed';
import openmrsConfig from '../../nodes/openmrs/openmrs-config';
import openmrsSource from '../../nodes/openmrs/openmrs-source';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';
import { OPENMRS_CREDENTIALS, openmrsConfigNode, useOpenmrsSandbox } from '../support/openmrs-sandbox';

function flow(baseUrl: string, source: Record<string, unknown> = {}, server: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    openmrsConfigNode(baseUrl, { apiStyle: 'both', timeZone: 'UTC', ...server }),
    { id: 'src', type: 'chis-openmrs-source', z: 't', server: 'server', mode: 'feed', startAt: 'beginning', interval: 1, output: 'single', wires: [['out']], ...source },
    { id: 'out', type: 'helper', z: 't' },
  ];
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Collects what the helper node receives until `count` messages arrived (or the time is up). */
function collect(count: number, timeoutMs = 8_000): Promise<any[]> {
  const received: any[] = [];
  return new Promise((resolve) => {
    const out = helper.getNode('out');
    const timer = setTimeout(() => { out.removeListener('input', listener); resolve(received); }, timeoutMs);
    const listener = (msg: any): void => {
      received.push(msg);
      if (received.length === count) {
        clearTimeout(timer);
        // A little longer, to catch anything sent that should not have been.
        setTimeout(() => { out.removeListener('input', listener); resolve(received); }, 1_500);
      }
    };
    out.on('input', listener);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function updatePhone(base: string, patient: string, phone: string): Promise<void> {
  await request(base).post(`/openmrs/ws/rest/v1/patient/${patient}`).auth(USERNAME, PASSWORD)
    .send({ person: { attributes: [{ attributeType: '14d4f066-15f5-102d-96e4-000c29c2a5d7', value: phone }] } }).expect(200);
}

describe('chis-openmrs-source node (against the OpenMRS sandbox)', function () {
  this.timeout(40_000);
  const openmrs = useOpenmrsSandbox();

  it('emits the patients of the atom feed, then continues after a restart without re-sending or skipping', async () => {
    const inits = [openmrsConfig, openmrsSource];
    const nodes = flow(openmrs.baseUrl);
    await loadFlow(inits, nodes, openmrs.credentials);
    const seeded = await collect(6);
    const seededUuids = seeded.map((msg) => msg.topic);
    assert.ok(seededUuids.includes(PATIENTS.amina));
    assert.equal(new Set(seededUuids).size, seededUuids.length, 'a patient was sent twice');
    const amina = seeded.find((msg) => msg.topic === PATIENTS.amina);
    assert.equal(amina.payload.uuid, PATIENTS.amina);
    assert.ok(Array.isArray(amina.payload.identifiers));
    assert.ok(amina.payload.person.preferredName);

    // Stop the node (as on a restart), change patients meanwhile, start again with the same userDir.
    await helper.unload();
    await updatePhone(openmrs.root, PATIENTS.baraka, '+254712999001');
    await updatePhone(openmrs.root, PATIENTS.daudi, '+254712999002');
    await loadAgain(inits, nodes);
    const after = await collect(2, 6_000);
    assert.deepEqual(after.map((msg) => msg.topic).sort(), [PATIENTS.baraka, PATIENTS.daudi].sort());

    // More changes fill the page and start a new archive page: none is skipped.
    for (let index = 0; index < 6; index += 1) await updatePhone(openmrs.root, PATIENTS.esther, `+2547120010${index}`);
    await updatePhone(openmrs.root, PATIENTS.amina, '+254712999003');
    const later = await collect(2, 6_000);
    assert.deepEqual([...new Set(later.map((msg) => msg.topic))].sort(), [PATIENTS.amina, PATIENTS.esther].sort());
  });

  it('FHIR _lastUpdated mode: emits each change once, also across a restart', async () => {
    const inits = [openmrsConfig, openmrsSource];
    const nodes = flow(openmrs.baseUrl, { mode: 'fhir' });
    await loadFlow(inits, nodes, openmrs.credentials);
    const seeded = await collect(6);
    assert.equal(new Set(seeded.map((msg) => msg.topic)).size, seeded.length);
    assert.ok(seeded.some((msg) => msg.topic === PATIENTS.esther && msg.payload.person));
    await helper.unload();
    await updatePhone(openmrs.root, PATIENTS.esther, '+254712888001');
    await loadAgain(inits, nodes);
    const after = await collect(1, 4_000);
    assert.deepEqual(after.map((msg) => msg.topic), [PATIENTS.esther]);
  });

  it('saved search mode: emits patients entering the report, and patients changing while in it', async () => {
    await loadFlow([openmrsConfig, openmrsSource], flow(openmrs.baseUrl, { mode: 'search', report: REPORTS.needingFollowUp, interval: 3600 }), openmrs.credentials);
    const first = await collect(2, 4_000);
    assert.deepEqual(first.map((msg) => msg.topic).sort(), [PATIENTS.amina, PATIENTS.baraka].sort());
    await updatePhone(openmrs.root, PATIENTS.baraka, '+254712777001');
    const next = collect(1, 3_000);
    helper.getNode('src').receive({});
    assert.deepEqual((await next).map((msg) => msg.topic), [PATIENTS.baraka]);
    const quiet = collect(1, 2_000);
    helper.getNode('src').receive({});
    assert.deepEqual(await quiet, []);
  });

  it('polls at once on an input message, batches a page into one message, and can ignore its own changes', async () => {
    await loadFlow([openmrsConfig, openmrsSource], flow(openmrs.baseUrl, { output: 'batch', interval: 3600 }), openmrs.credentials);
    const first = await collect(1);
    assert.ok(Array.isArray(first[0].payload));
    assert.ok(first[0].payload.length >= 1);
    // Listen before changing anything: the first poll may still be reading its last pages.
    const uuidsSent: string[] = [];
    helper.getNode('out').on('input', (msg: any) => uuidsSent.push(...msg.payload.map((patient: any) => patient.uuid)));
    await updatePhone(openmrs.root, PATIENTS.chausiku, '+254712000333');
    helper.getNode('src').receive({});
    await waitUntil(() => uuidsSent.includes(PATIENTS.chausiku), 8_000);
    await sleep(1_500);
    assert.deepEqual(uuidsSent.filter((uuid) => uuid === PATIENTS.chausiku), [PATIENTS.chausiku], 'the change is sent once, as soon as asked');
    helper.getNode('out').removeAllListeners('input');
    await unloadFlow();

    await loadFlow([openmrsConfig, openmrsSource], flow(openmrs.baseUrl, { ignoreOwnChanges: true, startAt: 'now' }), openmrs.credentials);
    await sleep(500);
    await updatePhone(openmrs.root, PATIENTS.chausiku, '+254712000334');
    const own = collect(1, 2_500);
    helper.getNode('src').receive({});
    assert.deepEqual(await own, [], 'changes made by the configured user came back');
  });

  it('shows the last error, backs off, and recovers without losing its place', async () => {
    await request(openmrs.root).post('/_sandbox/faults').send({ path: '/atomfeed/', status: 500, count: 1 }).expect(201);
    await loadFlow([openmrsConfig, openmrsSource], flow(openmrs.baseUrl, {}, { maxAttempts: 1 }), openmrs.credentials);
    const statuses: any[] = [];
    helper.getNode('src').on('call:status', (call: any) => statuses.push(call.args[0]));
    const received = await collect(6, 6_000);
    assert.ok(statuses.some((status) => /last error: remote-error/.test(status.text)), JSON.stringify(statuses));
    assert.equal(received.length, 6);
    assert.equal(statuses.at(-1).text, 'sent 6');
  });
});

/** Loads the same flow again in the same userDir, as a restarted Node-RED would. */
async function loadAgain(inits: Array<(RED: any) => void>, nodes: object[]): Promise<void> {
  await helper.load(inits, nodes, OPENMRS_CREDENTIALS);
}
