import assert from 'node:assert/strict';
import { create } from '../../sandbox/rapidpro';
import * as seed from '../../sandbox/rapidpro/seed';
import rapidproConfig from '../../nodes/rapidpro/rapidpro-config';
import contactWriter from '../../nodes/rapidpro/rapidpro-contact-writer';
import rollback from '../../nodes/core/rollback';
import { getTargetSchema } from '../../nodes/core/target-schemas';
import { type JournalEntry } from '../../nodes/core/journal';
import { getOperation } from '../../nodes/core/operations';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;

const credentials = { server: { token: seed.API_TOKEN } };

function flow(baseUrl: string, writer: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-rapidpro-config', baseUrl, maxAttempts: 3 },
    { id: 'w', type: 'chis-rapidpro-contact-writer', z: 't', server: 'server', groupMode: 'add', wires: [['out']], ...writer },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', scope: ['w'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
    { id: 'rb', type: 'chis-rollback', z: 't', wires: [['rolledback'], []] },
    { id: 'rolledback', type: 'helper', z: 't' },
  ];
}

/** Sends the payloads at once; resolves when each has come out of the writer or the Catch node. */
function writeAll(payloads: unknown[]): Promise<Array<{ ok: boolean; msg: any }>> {
  return new Promise((resolve) => {
    const results = new Array<{ ok: boolean; msg: any }>(payloads.length);
    let remaining = payloads.length;
    const settle = (ok: boolean) => (msg: any) => {
      results[msg.index] = { ok, msg };
      remaining -= 1;
      if (remaining === 0) resolve(results);
    };
    helper.getNode('out').on('input', settle(true));
    helper.getNode('caught').on('input', settle(false));
    payloads.forEach((payload, index) => helper.getNode('w').receive({ payload, index }));
  });
}

const write = async (payload: unknown) => (await writeAll([payload]))[0];

describe('chis-rapidpro-contact-writer node (against the RapidPro sandbox)', function () {
  this.timeout(30_000);
  let app: Sandbox;
  let base: string;

  const control = (path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const contactsByUrn = async (urn: string) =>
    ((await (await fetch(`${base}/api/v2/contacts.json?urn=${encodeURIComponent(urn)}`, { headers: { Authorization: `Token ${seed.API_TOKEN}` } })).json()) as { results: any[] }).results;

  before(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });
  after(() => app.close());
  beforeEach(async () => {
    await app.reset();
    await helper.startServer();
  });
  afterEach(async () => {
    await control('/_sandbox/clients', { name: 'rate-limit', perSecond: 0 });
    await unloadFlow();
    await helper.stopServer();
  });

  it('registers its input contract as the rapidpro.contact target schema', async () => {
    await loadFlow([rapidproConfig, contactWriter, rollback], flow(base), credentials);
    assert.equal(getTargetSchema('rapidpro.contact')?.title, 'RapidPro contact (upsert by URN)');
  });

  it('creates a contact, then updates the same one (no duplicate) with groups and fields', async () => {
    await loadFlow([rapidproConfig, contactWriter, rollback], flow(base), credentials);
    const created = await write({ urn: 'tel:+250 788 400 001', name: 'Aline Ingabire', language: 'kin', groups: ['Pregnant women'], fields: { cht_id: 'CHT-P-0400', edd: '2024-09-01' } });
    assert.ok(created.ok, created.msg.error?.message);
    const contact = created.msg.payload;
    assert.deepEqual(contact.urns, ['tel:+250788400001']);
    assert.deepEqual(contact.groups.map((group: { name: string }) => group.name), ['Pregnant women']);
    assert.equal(contact.fields.cht_id, 'CHT-P-0400');
    assert.deepEqual(created.msg.journal, [{ system: 'rapidpro', resource: 'contact', id: contact.uuid, action: 'created', configId: 'server' }]);

    const updated = await write({ urn: 'tel:+250788400001', name: 'Aline I.', groups: ['CHT contacts'], fields: { village: 'Remera' } });
    assert.ok(updated.ok, updated.msg.error?.message);
    assert.equal(updated.msg.payload.uuid, contact.uuid);
    assert.equal(updated.msg.payload.name, 'Aline I.');
    assert.deepEqual(updated.msg.payload.groups.map((group: { name: string }) => group.name).sort(), ['CHT contacts', 'Pregnant women']);
    assert.deepEqual({ cht_id: updated.msg.payload.fields.cht_id, village: updated.msg.payload.fields.village }, { cht_id: 'CHT-P-0400', village: 'Remera' });
    assert.equal(updated.msg.journal[0].action, 'updated');
    assert.deepEqual(updated.msg.journal[0].before, { name: 'Aline Ingabire', groups: [seed.PREGNANT_WOMEN_GROUP_UUID], fields: { village: null } });
    assert.equal((await contactsByUrn('tel:+250788400001')).length, 1);
  });

  it('routes RapidPro field errors to Catch as validation, and unknown fields as bad-input', async () => {
    await loadFlow([rapidproConfig, contactWriter, rollback], flow(base), credentials);
    const refused = await write({ urn: 'tel:+250788400002', language: 'zzz' });
    assert.equal(refused.ok, false);
    assert.equal(refused.msg.error.code, 'validation');
    assert.match(refused.msg.error.message, /language: Not a valid ISO639-3 language code\./);
    assert.equal(refused.msg.error.cause.remote.summary, 'language: Not a valid ISO639-3 language code.');
    const unknown = await write({ urn: 'tel:+250788400002', fields: { lmp: '2024-01-01' } });
    assert.equal(unknown.msg.error.code, 'bad-input');
    assert.match(unknown.msg.error.message, /lmp .*fields: cht_id, edd, village/);
    const badUrn = await write({ urn: '0788400002' });
    assert.equal(badUrn.msg.error.code, 'bad-input');
    assert.equal(JSON.stringify([refused.msg, unknown.msg]).includes(seed.API_TOKEN), false);
  });

  it('creates missing fields when asked', async () => {
    await loadFlow([rapidproConfig, contactWriter, rollback], flow(base, { createMissingFields: true }), credentials);
    const result = await write({ urn: 'tel:+250788400003', fields: { lmp: '2024-01-01' } });
    assert.ok(result.ok, result.msg.error?.message);
    assert.equal(result.msg.payload.fields.lmp, '2024-01-01');
  });

  it('still writes every contact of a burst when RapidPro throttles, after its Retry-After waits', async () => {
    await loadFlow([rapidproConfig, contactWriter, rollback], flow(base), credentials);
    // Warm the field cache, then allow two requests a second.
    assert.ok((await write({ urn: 'tel:+250788400010', fields: { village: 'Kimironko' } })).ok);
    await control('/_sandbox/clients', { name: 'rate-limit', perSecond: 2 });
    const started = Date.now();
    const results = await writeAll(Array.from({ length: 4 }, (_, index) => ({ urn: `tel:+25078840002${index}`, name: `Burst ${index}`, fields: { village: 'Remera' } })));
    assert.deepEqual(results.map((result) => result.ok), [true, true, true, true], results.map((result) => result.msg.error?.message).join('; '));
    assert.ok(Date.now() - started >= 1500, 'eight requests at two a second take several seconds');
    const throttled = app.log.query(new URLSearchParams({ status: '429' }));
    assert.ok(throttled.length > 0, 'the sandbox throttled some requests');
  });

  it('rolls back: deletes a created contact and restores an updated one', async () => {
    await loadFlow([rapidproConfig, contactWriter, rollback], flow(base), credentials);
    const created = await write({ urn: 'tel:+250788400030', name: 'Temporary' });
    const updated = await write({ urn: 'tel:+250788200002', name: 'Changed', fields: { village: 'Remera' } });
    const journal = [...created.msg.journal, ...updated.msg.journal];
    const done = new Promise<any>((resolve) => helper.getNode('rolledback').on('input', resolve));
    helper.getNode('rb').receive({ journal });
    await done;
    assert.equal((await contactsByUrn('tel:+250788400030')).length, 0);
    const [diane] = await contactsByUrn('tel:+250788200002');
    assert.equal(diane.name, 'Diane Uwimana');
    assert.equal(diane.fields.village, 'Kimironko');
  });

  it('offers the upsert as a transaction step that journals what it wrote and repeats safely', async () => {
    await loadFlow([rapidproConfig, contactWriter, rollback], flow(base), credentials);
    const step = getOperation('rapidpro.contact.upsert');
    assert.equal(step?.configType, 'chis-rapidpro-config');
    const journal: JournalEntry[] = [];
    const input = { urn: 'tel:+250788400040', name: 'Step', groups: ['CHT contacts'] };
    const first = await step!.run(helper.getNode('server'), input, { idempotencyKey: 'tx-1:contact', journal });
    const again = await step!.run(helper.getNode('server'), input, { idempotencyKey: 'tx-1:contact', journal });
    assert.equal(again.uuid, first.uuid);
    assert.deepEqual(journal.map((entry) => entry.action), ['created', 'updated']);
    assert.equal((await contactsByUrn('tel:+250788400040')).length, 1);
  });

  it('serves flows, groups and fields look-ups and a connection test', async () => {
    await loadFlow([rapidproConfig, contactWriter, rollback], flow(base), credentials);
    const lookup = (list: string, query = '') => helper.request().get(`/chis/lookup/chis-rapidpro-config/server/${list}${query}`);
    const flows = (await lookup('flows')).body as Array<{ value: string; label: string }>;
    assert.deepEqual(flows.map((option) => option.label).sort(), ['Follow-up survey', 'Pregnancy reminders']);
    assert.deepEqual((await lookup('flows', '?q=survey')).body.map((option: { value: string }) => option.value), [seed.FOLLOW_UP_SURVEY_FLOW_UUID]);
    assert.deepEqual((await lookup('groups')).body.map((option: { value: string }) => option.value).sort(), ['CHT contacts', 'Pregnant women']);
    assert.deepEqual((await lookup('fields')).body.map((option: { value: string }) => option.value).sort(), ['cht_id', 'edd', 'village']);
    const test = await lookup('test');
    assert.equal(test.status, 200);
    assert.match(test.body[0].label, /Connected: 2 flows, 2 groups/);
  });
});
