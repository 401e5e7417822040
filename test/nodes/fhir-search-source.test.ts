import assert from 'node:assert/strict';
import type { SandboxApp } from '../../sandbox/core';
import { create, FHIR_STATIC_TOKEN, PATIENT_IDS, PRACTITIONER_IDS, PRACTITIONER_ROLE_IDS } from '../../sandbox/fhir';
import { HttpClient } from '../../nodes/core/http-client';
import { FhirClient, type FhirResource, fhirHttpOptions } from '../../nodes/fhir/api/client';
import fhirConfig from '../../nodes/fhir/fhir-config';
import fhirSearchSource from '../../nodes/fhir/fhir-search-source';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

type Json = Record<string, any>;
const credentials = { server: { token: FHIR_STATIC_TOKEN } };
const OWNER = `Practitioner/${PRACTITIONER_IDS[0]}`;

function flow(baseUrl: string, source: Json = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-fhir-config', baseUrl, authType: 'bearer', fhirVersion: 'R4' },
    { id: 'src', type: 'chis-fhir-search-source', z: 't', server: 'server', resourceType: 'Task', params: `owner=${OWNER}`, startAt: 'beginning', interval: 3600, pageSize: 10, output: 'single', wires: [['out']], ...source },
    { id: 'out', type: 'helper', z: 't' },
  ];
}

/** Collects what the helper node receives until `count` arrived (then a little longer, to catch extras). */
function collect(count: number, timeoutMs = 8_000): Promise<any[]> {
  const received: any[] = [];
  return new Promise((resolve) => {
    const out = helper.getNode('out');
    const finish = () => { out.removeAllListeners('input'); resolve(received); };
    const timer = setTimeout(finish, timeoutMs);
    out.on('input', (msg: any) => {
      received.push(msg);
      if (received.length === count) {
        clearTimeout(timer);
        setTimeout(finish, 800);
      }
    });
  });
}

describe('chis-fhir-search-source node (against the FHIR sandbox)', function () {
  this.timeout(40_000);
  let app: SandboxApp;
  let base: string;
  let client: FhirClient;

  beforeEach(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}/fhir`;
    client = new FhirClient(new HttpClient(fhirHttpOptions({ baseUrl: base, system: 'fhir' }, { type: 'bearer' }, { token: FHIR_STATIC_TOKEN })));
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    client.http.close();
    await app.close();
  });

  const createTasks = async (count: number, owner = OWNER): Promise<FhirResource[]> => {
    const created: FhirResource[] = [];
    for (let index = 0; index < count; index += 1) {
      created.push((await client.create({ resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: `Patient/${PATIENT_IDS[0]}` }, owner: { reference: owner } })).resource);
    }
    return created;
  };
  const topics = (messages: any[]) => messages.map((msg) => msg.topic as string);

  it('pages through the search, then continues after a restart without skipping or re-sending', async () => {
    const first = await createTasks(25);
    await createTasks(2, `Practitioner/${PRACTITIONER_IDS[1]}`);
    await loadFlow([fhirConfig, fhirSearchSource], flow(base), credentials);
    const initial = await collect(25);
    assert.deepEqual(topics(initial).sort(), first.map((task) => `Task/${task.id}`).sort());
    assert.ok(app.log.query(new URLSearchParams({ method: 'GET', path: '^/fhir$' })).length >= 2, 'followed the _getpages links');

    // "Poll now": new and changed Tasks only.
    const more = await createTasks(3);
    const changed = await client.update({ ...first[0], status: 'accepted' });
    const polled = collect(4);
    helper.getNode('src').receive({});
    const now = await polled;
    assert.deepEqual(topics(now).sort(), [...more.map((task) => `Task/${task.id}`), `Task/${changed.id}`].sort());
    assert.equal(now.find((msg) => msg.topic === `Task/${changed.id}`).payload.meta.versionId, '2');

    // Restart (same userDir): changes made while stopped arrive once, nothing sent before returns.
    await helper.unload();
    const whileStopped = await createTasks(12);
    await client.update({ ...first[1], status: 'cancelled' });
    await helper.load([fhirConfig, fhirSearchSource], flow(base), credentials);
    const after = await collect(13);
    assert.deepEqual(topics(after).sort(), [...whileStopped.map((task) => `Task/${task.id}`), `Task/${first[1].id}`].sort());
    const everything = [...initial, ...now, ...after].map((msg) => `${msg.topic}@${msg.payload.meta.versionId}`);
    assert.equal(new Set(everything).size, everything.length, 'no version was sent twice');
  });

  it('sets correlationId to the resource id and passes what _include brought in msg.included, across pages', async () => {
    await loadFlow([fhirConfig, fhirSearchSource], flow(base, {
      resourceType: 'PractitionerRole', params: 'active=true&_include=PractitionerRole:practitioner&_include=PractitionerRole:organization', pageSize: 1,
    }), credentials);
    const messages = await collect(2);
    assert.deepEqual(messages.map((msg) => msg.correlationId).sort(), [...PRACTITIONER_ROLE_IDS].sort());
    for (const msg of messages) {
      assert.equal(msg.correlationId, msg.payload.id);
      assert.equal(msg.payload.resourceType, 'PractitionerRole', 'included resources are not sent as matches');
      const included = msg.included.map((resource: FhirResource) => `${resource.resourceType}/${resource.id}`).sort();
      assert.deepEqual(included, [msg.payload.organization.reference, msg.payload.practitioner.reference].sort());
    }
  });

  it('one message per page, and "only changes from now on"', async () => {
    await createTasks(3);
    await loadFlow([fhirConfig, fhirSearchSource], flow(base, { startAt: 'now', output: 'page', pageSize: 2 }), credentials);
    assert.equal((await collect(1, 1_500)).length, 0, 'what existed before is not sent');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fresh = await createTasks(3);
    const pages = collect(2);
    helper.getNode('src').receive({});
    const received = await pages;
    assert.deepEqual(received.map((msg) => msg.payload.length), [2, 1]);
    assert.deepEqual(received.flatMap((msg) => msg.payload.map((task: Json) => task.id)).sort(), fresh.map((task) => task.id).sort());
  });

  it('shows a failed poll in its status and recovers', async () => {
    app.faults.add({ path: '^/fhir/Task$', status: 500, count: 10 });
    await loadFlow([fhirConfig, fhirSearchSource], flow(base, { interval: 1 }), credentials);
    const source = helper.getNode('src');
    const statuses: Json[] = [];
    const original = source.status.bind(source);
    source.status = (status: Json) => { statuses.push(status); return original(status); };
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.ok(statuses.some((status) => /last error: remote-error/.test(status.text)), JSON.stringify(statuses));
  });
});
