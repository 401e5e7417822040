/**
 * OpenSRP practitioners (FHIR Practitioner and PractitionerRole) become OpenMRS providers with
 * person and provider attributes in a started Node-RED: once each, looked up by identifier first, and still once each across a crash of Node-RED
 * (the poller's paging and checkpoint survive; the look-up catches what a crash re-sends).
 */
import assert from 'node:assert/strict';
import * as fhirSeed from '../../sandbox/fhir/seed';
import { ATTRIBUTE_TYPES, PROVIDER_ATTRIBUTE_TYPES } from '../../sandbox/openmrs/seed';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { nodeRedVersion } from '../support/runtime-env';

const FHIR_AUTH = { Authorization: `Bearer ${fhirSeed.FHIR_STATIC_TOKEN}` };
const OPENMRS_AUTH = { Authorization: `Basic ${Buffer.from('admin:Admin123').toString('base64')}` };

interface Provider { uuid: string; identifier: string; person: { uuid: string } }

describe(`OpenSRP practitioners -> OpenMRS providers in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(180_000);
  let harness: FlowHarness;

  const openmrs = async (path: string): Promise<any> => (await fetch(`${harness.sandboxUrl('openmrs')}/openmrs/ws/rest/v1${path}`, { headers: OPENMRS_AUTH })).json();
  const providersWith = async (identifier: string): Promise<Provider[]> => (await openmrs(`/provider?identifier=${encodeURIComponent(identifier)}&v=full&includeAll=true`)).results;
  const providerCreates = async (identifier: string): Promise<number> => {
    const log = (await (await fetch(`${harness.sandboxUrl('openmrs')}/_sandbox/requests?method=POST&path=/provider$`)).json()) as Array<{ status: number; body: unknown }>;
    return log.filter((entry) => entry.status === 201 && JSON.stringify(entry.body ?? '').includes(identifier)).length;
  };
  const practitionerSearches = async (): Promise<Array<{ seq: number; query: string }>> =>
    (await (await fetch(`${harness.sandboxUrl('fhir')}/_sandbox/requests?method=GET&path=/fhir/Practitioner$`)).json()) as Array<{ seq: number; query: string }>;
  const addPractitioner = async (index: number): Promise<string> => {
    const keycloakId = `b7e0c1d2-0000-4000-8000-${String(index).padStart(12, '0')}`;
    const response = await fetch(`${harness.sandboxUrl('fhir')}/fhir/Practitioner`, {
      method: 'POST',
      headers: { ...FHIR_AUTH, 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Practitioner',
        identifier: [{ use: 'official', system: fhirSeed.PRACTITIONER_IDENTIFIER_SYSTEM, value: keycloakId }],
        active: true,
        name: [{ use: 'official', family: `Worker${index}`, given: ['Chw'] }],
        telecom: [{ system: 'phone', value: `+2547100${String(index).padStart(5, '0')}` }],
        gender: index % 2 ? 'male' : 'female',
      }),
    });
    assert.equal(response.status, 201, await response.text());
    return keycloakId;
  };
  const eachOnce = async (identifiers: readonly string[]): Promise<void> => {
    for (const identifier of identifiers) {
      assert.equal((await providersWith(identifier)).length, 1, `one provider for ${identifier}`);
      assert.equal(await providerCreates(identifier), 1, `created once: ${identifier}`);
    }
  };

  before(async () => {
    harness = await startHarness({ name: 'opensrp-practitioners', systems: ['fhir', 'openmrs'] });
    await harness.deployExamples('opensrp-to-openmrs-practitioners.json');
  });

  after(async () => {
    await harness?.stop();
  });

  it('turns each seeded practitioner into one provider with person, gender and phone', async () => {
    const [jane, peter] = fhirSeed.PRACTITIONER_KEYCLOAK_IDS;
    const [provider] = await eventually(async () => {
      const found = await providersWith(jane);
      return found.length ? found : undefined;
    }, 30_000);
    await eventually(async () => (await providersWith(peter)).length === 1, 30_000);
    // The roles source may create the provider first, without the phone (roles carry none); the
    // practitioners source then adds it: wait for the phone rather than read once.
    const phoneOf = (person: any): unknown => person.attributes.find((attribute: any) => !attribute.voided && attribute.attributeType.uuid === ATTRIBUTE_TYPES.telephoneNumber)?.value;
    const person = await eventually(async () => {
      const current = await openmrs(`/person/${provider.person.uuid}?v=full`);
      return phoneOf(current) ? current : undefined;
    }, 30_000);
    assert.equal(person.preferredName.givenName, 'Jane');
    assert.equal(person.preferredName.familyName, 'Achieng');
    assert.equal(person.gender, 'F');
    assert.equal(phoneOf(person), '+254700000001');
    // Let a few more polls run: nothing is created again.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await eachOnce(fhirSeed.PRACTITIONER_KEYCLOAK_IDS);
  });

  it('updates the provider\'s person when the practitioner changes on the OpenSRP side', async () => {
    const [jane] = fhirSeed.PRACTITIONER_KEYCLOAK_IDS;
    const url = `${harness.sandboxUrl('fhir')}/fhir/Practitioner/${fhirSeed.PRACTITIONER_IDS[0]}`;
    const current = (await (await fetch(url, { headers: FHIR_AUTH })).json()) as Record<string, unknown>;
    const put = await fetch(url, { method: 'PUT', headers: { ...FHIR_AUTH, 'Content-Type': 'application/fhir+json' }, body: JSON.stringify({ ...current, telecom: [{ system: 'phone', value: '+254700000099' }] }) });
    assert.equal(put.status, 200, await put.text());
    const [provider] = await providersWith(jane);
    await eventually(async () => {
      const person = await openmrs(`/person/${provider.person.uuid}?v=full`);
      return person.attributes.some((attribute: any) => !attribute.voided && attribute.value === '+254700000099');
    }, 30_000);
    await eachOnce([jane]);
  });

  const providerAttributes = async (identifier: string): Promise<Record<string, string[]>> => {
    const [provider] = await providersWith(identifier);
    const byType: Record<string, string[]> = {};
    if (!provider) return byType;
    for (const attribute of (await openmrs(`/provider/${provider.uuid}/attribute?v=default`)).results) (byType[attribute.attributeType.display] ??= []).push(attribute.value);
    return byType;
  };
  const fhirWrite = async (method: 'POST' | 'PUT', path: string, body: unknown): Promise<void> => {
    const response = await fetch(`${harness.sandboxUrl('fhir')}/fhir/${path}`, { method, headers: { ...FHIR_AUTH, 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(body) });
    assert.ok(response.status === 200 || response.status === 201, await response.text());
  };

  it('turns each PractitionerRole into provider attributes (role, organization, location) of its practitioner\'s provider', async () => {
    for (const identifier of fhirSeed.PRACTITIONER_KEYCLOAK_IDS) {
      await eventually(async () => (await providerAttributes(identifier)).Role !== undefined, 30_000);
      assert.deepEqual(await providerAttributes(identifier), {
        Role: ['Community Health Worker'], Organization: ['Kolwa Community Health Unit'], Location: ['Kolwa Village'],
      });
    }
    const types = (await openmrs('/providerattributetype')).results.map((type: any) => type.uuid);
    assert.ok(types.includes(PROVIDER_ATTRIBUTE_TYPES.role));
    // The role searches bring the practitioner, organization and location along.
    const roleSearches = (await (await fetch(`${harness.sandboxUrl('fhir')}/_sandbox/requests?method=GET&path=/fhir/PractitionerRole$`)).json()) as Array<{ query: string }>;
    assert.match(decodeURIComponent(roleSearches[0].query), /_include=PractitionerRole:practitioner/);
  });

  it('updates a changed role in place and creates a provider from a role that arrives with a new practitioner, never twice', async () => {
    const [, peter] = fhirSeed.PRACTITIONER_KEYCLOAK_IDS;
    const roleUrl = `${harness.sandboxUrl('fhir')}/fhir/PractitionerRole/${fhirSeed.PRACTITIONER_ROLE_IDS[1]}`;
    const role = (await (await fetch(roleUrl, { headers: FHIR_AUTH })).json()) as Record<string, unknown>;
    // Which poller created Peter's provider first decides how his first attributes were written: count only what the change adds.
    const [peterProvider] = await providersWith(peter);
    const attributeAddsToPeter = async (): Promise<number> => {
      const adds = (await (await fetch(`${harness.sandboxUrl('openmrs')}/_sandbox/requests?method=POST&path=/attribute$`)).json()) as Array<{ path: string; status: number }>;
      return adds.filter((entry) => entry.path.includes(peterProvider.uuid) && entry.status === 201).length;
    };
    const addsBeforeChange = await attributeAddsToPeter();
    await fhirWrite('PUT', `PractitionerRole/${fhirSeed.PRACTITIONER_ROLE_IDS[1]}`, {
      ...role, code: [{ text: 'Community Health Assistant' }], specialty: [{ coding: [{ system: 'http://snomed.info/sct', code: '394814009', display: 'General practice' }] }],
    });
    await eventually(async () => (await providerAttributes(peter)).Role?.[0] === 'Community Health Assistant', 30_000);
    assert.deepEqual(await providerAttributes(peter), {
      Role: ['Community Health Assistant'], Organization: ['Kolwa Community Health Unit'], Location: ['Kolwa Village'], Specialty: ['General practice'],
    });

    // A new health worker: the Practitioner and its role are written together; both pollers write the provider.
    const keycloakId = 'c4d5e6f7-0000-4000-8000-000000000001';
    const practitionerId = 'c4d5e6f7-0000-4000-8000-0000000000a1';
    await fhirWrite('PUT', `Practitioner/${practitionerId}`, {
      resourceType: 'Practitioner', id: practitionerId, active: true,
      identifier: [{ use: 'official', system: fhirSeed.PRACTITIONER_IDENTIFIER_SYSTEM, value: keycloakId }],
      name: [{ use: 'official', family: 'Wanjiru', given: ['Grace'] }], gender: 'female',
    });
    await fhirWrite('POST', 'PractitionerRole', {
      resourceType: 'PractitionerRole', active: true, practitioner: { reference: `Practitioner/${practitionerId}` },
      organization: { reference: `Organization/${fhirSeed.CHW_ORGANIZATION_ID}` }, code: [{ text: 'Community Health Worker' }],
    });
    await eventually(async () => (await providerAttributes(keycloakId)).Role !== undefined, 30_000);
    assert.deepEqual(await providerAttributes(keycloakId), { Role: ['Community Health Worker'], Organization: ['Kolwa Community Health Unit'] });

    // After a restart the pollers go on from their checkpoints: no provider and no attribute twice.
    await harness.restart();
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    await eachOnce([...fhirSeed.PRACTITIONER_KEYCLOAK_IDS, keycloakId]);
    assert.deepEqual(await providerAttributes(keycloakId), { Role: ['Community Health Worker'], Organization: ['Kolwa Community Health Unit'] });
    assert.deepEqual((await providerAttributes(peter)).Role, ['Community Health Assistant']);
    assert.equal(await attributeAddsToPeter() - addsBeforeChange, 1, 'only the new Specialty was added to Peter\'s provider');
  });

  it('creates each practitioner once across a crash of Node-RED in the middle of paging, without re-sending checkpointed pages', async () => {
    // Every further page (GET [base]?_getpages=...) takes 8 s: Node-RED is killed while the poller pages.
    await fetch(`${harness.sandboxUrl('fhir')}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: '^/fhir$', method: 'GET', latencyMs: 8_000 }) });
    const batch = await Promise.all(Array.from({ length: 45 }, (_, index) => addPractitioner(index)));
    const created = async (): Promise<string[]> => {
      const done: string[] = [];
      for (const identifier of batch) if ((await providersWith(identifier)).length) done.push(identifier);
      return done;
    };
    // At least one page (20) written, and the writer idle: the poller waits for its next page.
    let settled: string[] = [];
    await eventually(async () => {
      const now = await created();
      const stable = now.length >= 20 && now.length < batch.length && now.length === settled.length;
      settled = now;
      return stable;
    }, 30_000, 1_500);
    const searchesBefore = await practitionerSearches();
    const lastBeforeCrash = searchesBefore[searchesBefore.length - 1].seq;
    await harness.restart({ crash: true });
    await fetch(`${harness.sandboxUrl('fhir')}/_sandbox/faults`, { method: 'DELETE' });
    const later = await Promise.all(Array.from({ length: 5 }, (_, index) => addPractitioner(100 + index)));
    await eventually(async () => {
      for (const identifier of [...batch, ...later]) if ((await providersWith(identifier)).length !== 1) return false;
      return true;
    }, 60_000, 500);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await eachOnce([...fhirSeed.PRACTITIONER_KEYCLOAK_IDS, ...batch, ...later]);
    // The checkpoint survived: every search after the restart asks only for recent changes, and
    // the practitioners written before the crash were not sent to the writer again.
    const afterRestart = (await practitionerSearches()).filter((entry) => entry.seq > lastBeforeCrash);
    assert.ok(afterRestart.length > 0, 'the poller runs again after the restart');
    for (const entry of afterRestart) assert.match(decodeURIComponent(entry.query), /_lastUpdated=gt/, 'continues from its checkpoint');
    const lookups = (await (await fetch(`${harness.sandboxUrl('openmrs')}/_sandbox/requests?method=GET&path=/provider$`)).json()) as Array<{ query: string }>;
    // The writer's look-ups page (limit=...); this test's own reads do not.
    const writerLookups = lookups.map((entry) => new URLSearchParams(entry.query)).filter((query) => query.has('limit'));
    for (const identifier of settled) {
      assert.equal(writerLookups.filter((query) => query.get('identifier') === identifier).length, 1, `looked up once: ${identifier}`);
    }
  });
});
