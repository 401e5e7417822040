/**
 * The DHIS2 → CommCare sync behind OpenHIM, end to end in a started Node-RED: the flow
 * registers as a mediator and installs its channel; a client calls the channel through
 * OpenHIM's router; the org unit hierarchy becomes a CommCare lookup table and the program's
 * people become patient cases, once; OpenHIM's transaction log shows the DHIS2 and CommCare
 * calls as orchestrations, and a DHIS2 outage as a Failed transaction.
 */
import assert from 'node:assert/strict';
import * as commcareSeed from '../../sandbox/commcare/seed';
import * as dhis2Seed from '../../sandbox/dhis2/seed';
import * as openhimSeed from '../../sandbox/openhim/seed';
import { SYSTEMS } from '../../sandbox';
import { DEMO_CREDENTIALS } from '../../scripts/demo-credentials';
import { readFlow, retarget, withCredentials } from '../../scripts/runtime';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { nodeRedVersion } from '../support/runtime-env';

const FLOW = 'dhis2-via-openhim-to-commcare.json';
const URN = 'urn:mediator:chis-dhis2-sync';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const OPENHIM_ADMIN = { Authorization: basic(openhimSeed.ROOT_EMAIL, openhimSeed.ROOT_PASSWORD) };
const OPENHIM_CLIENT = { Authorization: basic(openhimSeed.DEMO_CLIENT_ID, openhimSeed.DEMO_CLIENT_PASSWORD) };
const COMMCARE_AUTH = { Authorization: `ApiKey ${commcareSeed.WEB_USER.username}:${commcareSeed.WEB_USER.apiKey}` };
const DHIS2_AUTH = { Authorization: basic(dhis2Seed.ADMIN_USERNAME, dhis2Seed.ADMIN_PASSWORD) };

/** Two more people in the program (one per district) and one person outside it. */
const PEOPLE = [
  { uid: 'Pq1Rs2Tu3Vw', first: 'Aminata', last: 'Kamara', orgUnit: dhis2Seed.ORG_UNIT_NGELEHUN_CHC, enrolled: true },
  { uid: 'Xy4Za5Bc6De', first: 'Ibrahim', last: 'Conteh', orgUnit: dhis2Seed.ORG_UNIT_KAMABAI_CHC, enrolled: true },
  { uid: 'Fg7Hi8Jk9Lm', first: 'Not', last: 'Enrolled', orgUnit: dhis2Seed.ORG_UNIT_NGELEHUN_CHC, enrolled: false },
];

interface Transaction {
  status: string;
  response: { status: number; body: string };
  orchestrations: Array<{ name: string; request: { path: string; method: string }; response?: { status: number } }>;
  properties?: Record<string, unknown>;
}

describe(`DHIS2 → CommCare sync as an OpenHIM mediator in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(180_000);
  let harness: FlowHarness;

  const openhim = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${harness.sandboxUrl('openhim')}${path}`, { headers: OPENHIM_ADMIN });
    return { status: response.status, body: (response.status === 200 ? await response.json() : undefined) as T };
  };
  const callChannel = async () => {
    const response = await fetch(`${harness.sandboxUrl('openhim')}/router/dhis2-sync`, { method: 'POST', headers: { ...OPENHIM_CLIENT, 'Content-Type': 'application/json' }, body: '{}' });
    return { status: response.status, transactionId: response.headers.get('x-openhim-transactionid') ?? '', body: await response.json() as any };
  };
  const transaction = async (id: string) => (await openhim<Transaction>(`/transactions/${id}`)).body;
  const orgUnitRows = async () => {
    const response = await fetch(`${harness.sandboxUrl('commcare')}/a/demo/api/v0.5/fixture/?fixture_type=dhis2_org_units`, { headers: COMMCARE_AUTH });
    return ((await response.json()) as { objects: Array<{ id: string; fields: Record<string, string> }> }).objects;
  };
  const casesOf = async (externalId: string) => {
    const response = await fetch(`${harness.sandboxUrl('commcare')}/a/demo/api/case/v2/?external_id=${externalId}`, { headers: COMMCARE_AUTH });
    return ((await response.json()) as { cases: Array<{ case_id: string; case_type: string; case_name: string; owner_id: string; properties: Record<string, string> }> }).cases;
  };

  before(async () => {
    harness = await startHarness({ name: 'dhis2-via-openhim', systems: ['openhim', 'dhis2', 'commcare'] });
    const trackedEntities = PEOPLE.map((person) => ({
      trackedEntity: person.uid,
      trackedEntityType: dhis2Seed.TRACKED_ENTITY_TYPE_PERSON,
      orgUnit: person.orgUnit,
      attributes: [{ attribute: dhis2Seed.ATTRIBUTE_FIRST_NAME, value: person.first }, { attribute: dhis2Seed.ATTRIBUTE_LAST_NAME, value: person.last }],
      enrollments: person.enrolled ? [{ program: dhis2Seed.PROGRAM_COMMUNITY_FOLLOW_UP, orgUnit: person.orgUnit, enrolledAt: '2024-05-01', occurredAt: '2024-05-01', status: 'ACTIVE' }] : [],
    }));
    const imported = await fetch(`${harness.sandboxUrl('dhis2')}/api/tracker?async=false`, { method: 'POST', headers: { ...DHIS2_AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify({ trackedEntities }) });
    assert.equal(((await imported.json()) as { status: string }).status, 'OK');

    // The harness moves sandbox origins to the test's ports; the mediator's endpoint (Node-RED
    // itself, port 1880 in the demo) has to point at this test's Node-RED.
    const origins = Object.fromEntries(Object.values(harness.sandboxes).map((sandbox) => [`http://127.0.0.1:${SYSTEMS[sandbox.name].DEFAULT_PORT}`, sandbox.url]));
    const nodes = retarget(readFlow(FLOW), origins).map((node) => (node.type === 'chis-openhim-mediator'
      ? { ...node, endpointUrl: String(node.endpointUrl).replace('http://127.0.0.1:1880', harness.runtime.url) }
      : node));
    await harness.runtime.deploy(withCredentials(nodes, DEMO_CREDENTIALS));
  });

  after(async () => {
    await harness?.stop();
  });

  it('registers the mediator with OpenHIM and installs its channel, routed to this Node-RED', async () => {
    const mediator = await eventually(async () => {
      const found = await openhim<{ urn: string; endpoints: Array<{ host: string; port: string | number; path: string }> }>(`/mediators/${encodeURIComponent(URN)}`);
      return found.status === 200 ? found.body : undefined;
    }, 20_000);
    assert.equal(mediator.urn, URN);
    const channel = await eventually(async () => {
      const channels = (await openhim<Array<{ name: string; urlPattern: string; allow: string[]; routes: Array<{ host: string; port: number | string; path?: string }> }>>('/channels')).body;
      return channels.find((candidate) => candidate.name === 'DHIS2 to CommCare sync');
    }, 20_000);
    assert.equal(channel.urlPattern, '^/dhis2-sync$');
    assert.deepEqual(channel.allow, ['interop']);
    assert.equal(String(channel.routes[0].port), new URL(harness.runtime.url).port);
  });

  it('syncs org units into a lookup table and the program\'s people into patient cases; OpenHIM logs the calls', async () => {
    const answer = await callChannel();
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { orgUnits: 6, cases: 3 });

    const rows = await orgUnitRows();
    assert.equal(rows.length, 6);
    const bo = rows.find((row) => row.fields.id === dhis2Seed.ORG_UNIT_BO)!;
    assert.deepEqual({ name: bo.fields.name, level: bo.fields.level, parent_id: bo.fields.parent_id, path: bo.fields.path }, {
      name: 'Bo', level: '2', parent_id: dhis2Seed.ORG_UNIT_SIERRA_LEONE, path: `/${dhis2Seed.ORG_UNIT_SIERRA_LEONE}/${dhis2Seed.ORG_UNIT_BO}`,
    });

    for (const uid of [dhis2Seed.SEEDED_TRACKED_ENTITY, PEOPLE[0].uid, PEOPLE[1].uid]) {
      const cases = await casesOf(uid);
      assert.equal(cases.length, 1, `one case for ${uid}`);
      assert.equal(cases[0].case_type, 'patient');
    }
    const [aminata] = await casesOf(PEOPLE[0].uid);
    assert.equal(aminata.case_name, 'Aminata Kamara');
    assert.equal(aminata.owner_id, commcareSeed.KIMIRONKO_LOCATION_ID);
    assert.equal(aminata.properties.dhis2_org_unit, dhis2Seed.ORG_UNIT_NGELEHUN_CHC);
    assert.equal((await casesOf(PEOPLE[1].uid))[0].owner_id, commcareSeed.REMERA_LOCATION_ID);
    assert.equal((await casesOf(PEOPLE[2].uid)).length, 0, 'not enrolled in the program: not synced');

    const logged = await eventually(async () => {
      const found = await transaction(answer.transactionId);
      return found?.status !== 'Processing' ? found : undefined;
    });
    assert.equal(logged.status, 'Successful');
    assert.deepEqual(JSON.parse(logged.response.body), { orgUnits: 6, cases: 3 });
    // OpenHIM keeps transaction properties as text.
    assert.deepEqual(logged.properties, { 'org units created': '6', 'org units updated': '0', 'cases created': '3', 'cases updated': '0' });
    const calls = logged.orchestrations.map((orchestration) => `${orchestration.request.method} ${orchestration.request.path}`);
    assert.ok(calls.includes('GET /api/organisationUnits'), calls.join('\n'));
    assert.ok(calls.includes('GET /api/tracker/trackedEntities'), calls.join('\n'));
    assert.ok(calls.includes('POST /a/demo/api/v0.5/lookup_table/'), calls.join('\n'));
    assert.equal(calls.filter((call) => call === 'POST /a/demo/api/v0.5/lookup_table_item/').length, 6);
    // The case writes, made by the split parts of the message, are recorded too.
    assert.ok(calls.includes('POST /a/demo/api/case/v2/'), calls.join('\n'));
    assert.ok(logged.orchestrations.every((orchestration) => orchestration.response && orchestration.response.status < 300));
  });

  it('creates nothing twice when the sync runs again', async () => {
    const answer = await callChannel();
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { orgUnits: 6, cases: 3 });
    assert.equal((await orgUnitRows()).length, 6);
    for (const uid of [dhis2Seed.SEEDED_TRACKED_ENTITY, PEOPLE[0].uid, PEOPLE[1].uid]) assert.equal((await casesOf(uid)).length, 1);
    const logged = await eventually(async () => {
      const found = await transaction(answer.transactionId);
      return found?.status !== 'Processing' ? found : undefined;
    });
    assert.equal(logged.status, 'Successful');
    assert.deepEqual(logged.properties, { 'org units created': '0', 'org units updated': '0', 'cases created': '0', 'cases updated': '3' });
    const calls = logged.orchestrations.map((orchestration) => `${orchestration.request.method} ${orchestration.request.path}`);
    assert.ok(!calls.some((call) => call.startsWith('POST /a/demo/api/v0.5/lookup_table')), 'no row written again');
  });

  it('answers a DHIS2 outage as a Failed transaction with the error', async () => {
    const dhis2 = harness.sandboxes.dhis2.app;
    dhis2.faults.add({ path: '^/api/', status: 503 });
    try {
      const answer = await callChannel();
      assert.ok(answer.status >= 500, `HTTP ${answer.status}`);
      assert.equal(answer.body.code, 'remote-error');
      assert.match(answer.body.error, /dhis2 GET .*\/api\/organisationUnits.* failed: HTTP 503/);
      const logged = await eventually(async () => {
        const found = await transaction(answer.transactionId);
        return found?.status !== 'Processing' ? found : undefined;
      });
      assert.equal(logged.status, 'Failed');
      assert.match(logged.response.body, /HTTP 503/);
      const dhis2Calls = logged.orchestrations.filter((orchestration) => orchestration.request.path === '/api/organisationUnits');
      assert.ok(dhis2Calls.length >= 1 && dhis2Calls.every((orchestration) => orchestration.response?.status === 503));
      assert.ok(!logged.orchestrations.some((orchestration) => orchestration.request.path.startsWith('/a/demo/')), 'CommCare untouched');
    } finally {
      dhis2.faults.clear();
    }
  });
});
