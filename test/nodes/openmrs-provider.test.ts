/**
 * The OpenMRS writer's provider operation against the OpenMRS sandbox: a provider is found by
 * its identifier before anything is created, so a repeated message creates nothing new, and a
 * changed message updates the provider's person only where it changed, and the provider
 * attributes (what a PractitionerRole says) are set without ever being added twice.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { ATTRIBUTE_TYPES, PASSWORD, PROVIDER_ATTRIBUTE_TYPES, PROVIDERS, USERNAME } from '../../sandbox/openmrs/seed';
import { HttpClient } from '../../nodes/core/http-client';
import { OpenmrsClient, openmrsHttpOptions } from '../../nodes/openmrs/api/client';
import { restoreProviderAttributes, writeProvider } from '../../nodes/openmrs/api/writer';
import openmrsConfig from '../../nodes/openmrs/openmrs-config';
import openmrsWriter from '../../nodes/openmrs/openmrs-writer';
import { getTargetSchema } from '../../nodes/core/target-schemas';
import { helper, loadFlow } from '../support/node-helper';
import { openmrsConfigNode, useOpenmrsSandbox } from '../support/openmrs-sandbox';

const REST = '/openmrs/ws/rest/v1';

function flow(baseUrl: string): object[] {
  return [
    { id: 't', type: 'tab' },
    openmrsConfigNode(baseUrl, { sessionReuse: true, timeZone: 'Africa/Nairobi', maxAttempts: 4 }),
    { id: 'w', type: 'chis-openmrs-writer', z: 't', server: 'server', operation: 'provider', wires: [['out']] },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

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

const jane = {
  identifier: 'a1f3c2d4-5b6e-4f70-8a91-b2c3d4e5f601',
  givenName: 'Jane',
  familyName: 'Achieng',
  gender: 'F',
  attributes: { 'Telephone Number': '+254700000001' },
};

describe('chis-openmrs-writer provider operation (against the OpenMRS sandbox)', function () {
  this.timeout(30_000);
  const openmrs = useOpenmrsSandbox();

  const get = async (path: string): Promise<any> => (await request(openmrs.root).get(`${REST}${path}`).auth(USERNAME, PASSWORD)).body;
  const providersWith = async (identifier: string): Promise<any[]> => (await get(`/provider?identifier=${encodeURIComponent(identifier)}&v=full&includeAll=true`)).results;
  const providerPosts = async (): Promise<number> => (await request(openmrs.root).get('/_sandbox/requests?method=POST&path=/provider$')).body.length;

  beforeEach(async () => {
    await loadFlow([openmrsConfig, openmrsWriter], flow(openmrs.baseUrl), openmrs.credentials);
  });

  it('registers openmrs.provider as a target schema', () => {
    const schema = getTargetSchema('openmrs.provider');
    assert.ok(schema, 'registered when the writer loads');
    assert.deepEqual((schema.schema as { required: string[] }).required, ['identifier']);
  });

  it('creates a provider with its person and attributes, journals it, and creates nothing for the same message again', async () => {
    const first = await write(jane, { journal: [{ system: 'fhir', resource: 'Practitioner', id: 'x', action: 'created' }] });
    assert.equal(first.ok, true, JSON.stringify(first.msg.error));
    assert.equal(first.msg.payload.action, 'created');
    assert.equal(first.msg.payload.identifier, jane.identifier);
    assert.equal(first.msg.journal.length, 2, 'appended to the journal it came with');
    assert.deepEqual(first.msg.journal[1], { system: 'openmrs', resource: 'provider', id: first.msg.payload.provider, action: 'created', configId: 'server' });

    const [provider] = await providersWith(jane.identifier);
    assert.equal(provider.uuid, first.msg.payload.provider);
    const person = await get(`/person/${first.msg.payload.person}?v=full`);
    assert.equal(person.gender, 'F');
    assert.equal(person.preferredName.givenName, 'Jane');
    assert.equal(person.preferredName.familyName, 'Achieng');
    const phone = person.attributes.find((attribute: any) => attribute.attributeType.uuid === ATTRIBUTE_TYPES.telephoneNumber);
    assert.equal(phone.value, '+254700000001');

    const posts = await providerPosts();
    const second = await write(jane);
    assert.equal(second.ok, true, JSON.stringify(second.msg.error));
    assert.equal(second.msg.payload.action, 'unchanged');
    assert.equal(second.msg.payload.provider, first.msg.payload.provider);
    assert.deepEqual(second.msg.journal, [], 'nothing written, nothing journaled');
    assert.equal(await providerPosts(), posts, 'no second create');
    assert.equal((await providersWith(jane.identifier)).length, 1);
  });

  it('updates only what changed on the person of an existing provider, with the previous values in the journal', async () => {
    const created = await write(jane);
    const changed = await write({ identifier: jane.identifier, familyName: 'Achieng-Oduor', attributes: { 'Telephone Number': '+254700000009' } });
    assert.equal(changed.ok, true, JSON.stringify(changed.msg.error));
    assert.equal(changed.msg.payload.action, 'updated');
    assert.equal(changed.msg.payload.provider, created.msg.payload.provider);
    const [entry] = changed.msg.journal;
    assert.equal(entry.resource, 'person');
    assert.equal(entry.id, created.msg.payload.person);
    assert.deepEqual(entry.before.name, { givenName: 'Jane', middleName: null, familyName: 'Achieng' });
    assert.deepEqual(entry.before.attributes, { [ATTRIBUTE_TYPES.telephoneNumber]: '+254700000001' });
    assert.equal(entry.before.gender, undefined, 'gender was not in the message: not touched');
    const person = await get(`/person/${created.msg.payload.person}?v=full`);
    assert.equal(person.preferredName.familyName, 'Achieng-Oduor');
    assert.equal(person.preferredName.givenName, 'Jane');
    assert.equal(person.gender, 'F');
    assert.equal(person.attributes.find((attribute: any) => !attribute.voided && attribute.attributeType.uuid === ATTRIBUTE_TYPES.telephoneNumber).value, '+254700000009');
  });

  const activeProviderAttributes = async (provider: string): Promise<Array<{ uuid: string; type: string; value: string }>> =>
    (await get(`/provider/${provider}/attribute?v=default`)).results.map((attribute: any) => ({ uuid: attribute.uuid, type: attribute.attributeType.uuid, value: attribute.value }));
  const attributePosts = async (): Promise<number> => (await request(openmrs.root).get('/_sandbox/requests?method=POST&path=/attribute')).body.length;

  it('creates a provider with its provider attributes (by type name) in one POST', async () => {
    const posts = await providerPosts();
    const { ok, msg } = await write({ ...jane, providerAttributes: { Role: 'Community Health Worker', Organization: 'Kolwa Community Health Unit' } });
    assert.equal(ok, true, JSON.stringify(msg.error));
    assert.equal(msg.payload.action, 'created');
    assert.equal(await providerPosts(), posts + 1);
    const attributes = await activeProviderAttributes(msg.payload.provider);
    assert.deepEqual(attributes.map(({ type, value }) => ({ type, value })).sort((a, b) => a.type.localeCompare(b.type)), [
      { type: PROVIDER_ATTRIBUTE_TYPES.role, value: 'Community Health Worker' },
      { type: PROVIDER_ATTRIBUTE_TYPES.organization, value: 'Kolwa Community Health Unit' },
    ].sort((a, b) => a.type.localeCompare(b.type)));
  });

  it('sets provider attributes idempotently: adds a missing one, updates a changed one, never duplicates, and journals the values before', async () => {
    const created = await write({ ...jane, providerAttributes: { Role: 'Community Health Worker' } });
    const provider = created.msg.payload.provider;
    const [role] = await activeProviderAttributes(provider);

    const same = await write({ identifier: jane.identifier, providerAttributes: { Role: 'Community Health Worker' } });
    assert.equal(same.msg.payload.action, 'unchanged');
    assert.deepEqual(same.msg.journal, []);

    const before = await attributePosts();
    const changed = await write({ identifier: jane.identifier, providerAttributes: { Role: 'Senior CHW', [PROVIDER_ATTRIBUTE_TYPES.location]: 'Kolwa Village' } });
    assert.equal(changed.ok, true, JSON.stringify(changed.msg.error));
    assert.equal(changed.msg.payload.action, 'updated');
    assert.equal(await attributePosts(), before + 2, 'one update, one add');
    const attributes = await activeProviderAttributes(provider);
    assert.equal(attributes.length, 2, 'the role was updated in place, not added again');
    assert.deepEqual(attributes.find((attribute) => attribute.type === PROVIDER_ATTRIBUTE_TYPES.role), { uuid: role.uuid, type: PROVIDER_ATTRIBUTE_TYPES.role, value: 'Senior CHW' });
    const location = attributes.find((attribute) => attribute.type === PROVIDER_ATTRIBUTE_TYPES.location)!;
    assert.equal(location.value, 'Kolwa Village');
    const [entry] = changed.msg.journal;
    assert.deepEqual(entry, {
      system: 'openmrs', resource: 'provider', id: provider, action: 'updated', configId: 'server',
      before: { providerAttributes: { [role.uuid]: 'Community Health Worker', [location.uuid]: null } },
    });

    const again = await write({ identifier: jane.identifier, providerAttributes: { Role: 'Senior CHW', Location: 'Kolwa Village' } });
    assert.equal(again.msg.payload.action, 'unchanged');
    assert.equal(await attributePosts(), before + 2, 'the same message again writes nothing');

    const client = new OpenmrsClient(new HttpClient(openmrsHttpOptions({ baseUrl: openmrs.baseUrl, system: 'openmrs', retry: { maxAttempts: 1 } }, { username: USERNAME, password: PASSWORD }, false)));
    // A server whose provider listing shows attributes as refs only: the writer reads them before comparing.
    const list = client.listAll.bind(client);
    client.listAll = (async (...args: Parameters<typeof list>) => (await list(...args)).map((found: any) => ({
      ...found, attributes: (found.attributes ?? []).map((attribute: any) => ({ uuid: attribute.uuid, display: attribute.display })),
    }))) as typeof client.listAll;
    const withRefs = await writeProvider(client, { identifier: jane.identifier, providerAttributes: { Role: 'Senior CHW', Location: 'Kolwa Village' } }, { timeZone: 'Africa/Nairobi' });
    assert.equal(withRefs.payload.action, 'unchanged');
    assert.equal(await attributePosts(), before + 2, 'nothing written from a ref-only listing');

    // The journal's values put the attributes back as they were.
    await restoreProviderAttributes(client, provider, entry.before);
    assert.deepEqual(await activeProviderAttributes(provider), [{ uuid: role.uuid, type: PROVIDER_ATTRIBUTE_TYPES.role, value: 'Community Health Worker' }]);
  });

  it('refuses an unknown provider attribute type before writing', async () => {
    const posts = await providerPosts();
    const { ok, msg } = await write({ ...jane, providerAttributes: { 'Shoe size': '42' } });
    assert.equal(ok, false);
    assert.equal(msg.error.code, 'bad-input');
    assert.match(msg.error.message, /providerattributetype/);
    assert.equal(await providerPosts(), posts);
  });

  it('updates instead of failing when another message created the same provider meanwhile', async () => {
    // Both look up, find nothing, and create: the server refuses the second identifier.
    const results = await new Promise<Array<{ ok: boolean; msg: any }>>((resolve) => {
      const collected: Array<{ ok: boolean; msg: any }> = [];
      const collect = (ok: boolean) => (msg: any) => {
        collected.push({ ok, msg });
        if (collected.length === 2) resolve(collected);
      };
      helper.getNode('out').on('input', collect(true));
      helper.getNode('caught').on('input', collect(false));
      helper.getNode('w').receive({ payload: { ...jane, attributes: undefined } });
      helper.getNode('w').receive({ payload: { ...jane, attributes: undefined, providerAttributes: { Role: 'Community Health Worker' } } });
    });
    assert.deepEqual(results.map((result) => result.ok), [true, true], JSON.stringify(results.map((result) => result.msg.error)));
    assert.deepEqual(results.map((result) => result.msg.payload.action).sort(), ['created', 'updated']);
    const creates = (await request(openmrs.root).get('/_sandbox/requests?method=POST&path=/provider$')).body as Array<{ status: number }>;
    assert.deepEqual(creates.map((entry) => entry.status).sort(), [201, 400], 'the race happened: the second create was refused');
    const providers = await providersWith(jane.identifier);
    assert.equal(providers.length, 1);
    assert.deepEqual((await activeProviderAttributes(providers[0].uuid)).map((attribute) => attribute.value), ['Community Health Worker']);
  });

  it('finds the seeded providers by identifier instead of creating them', async () => {
    const { ok, msg } = await write({ identifier: 'admin', givenName: 'Super', familyName: 'User', gender: 'M' });
    assert.equal(ok, true, JSON.stringify(msg.error));
    assert.equal(msg.payload.provider, PROVIDERS.admin);
    assert.equal(msg.payload.action, 'unchanged');
  });

  it('refuses a new provider without names or gender, and a payload outside the contract, before writing', async () => {
    const posts = await providerPosts();
    const noGender = await write({ identifier: 'CHW-NEW', givenName: 'Ann', familyName: 'Mwangi' });
    assert.equal(noGender.ok, false);
    assert.equal(noGender.msg.error.code, 'bad-input');
    assert.match(noGender.msg.error.message, /gender/);
    const extra = await write({ identifier: 'CHW-NEW', nickname: 'Annie' });
    assert.equal(extra.ok, false);
    assert.equal(extra.msg.error.code, 'bad-input');
    const unknownAttribute = await write({ ...jane, identifier: 'CHW-NEW', attributes: { 'Shoe size': '42' } });
    assert.equal(unknownAttribute.ok, false);
    assert.equal(unknownAttribute.msg.error.code, 'bad-input');
    assert.equal(await providerPosts(), posts, 'nothing was sent');
  });
});
