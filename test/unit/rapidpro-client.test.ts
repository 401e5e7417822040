import assert from 'node:assert/strict';
import { create } from '../../sandbox/rapidpro';
import * as seed from '../../sandbox/rapidpro/seed';
import { HttpClient } from '../../nodes/core/http-client';
import { IntegrationError, isIntegrationError } from '../../nodes/core/errors';
import { RapidproClient, rapidproHttpOptions } from '../../nodes/rapidpro/api/client';
import { undoContactWrite, upsertContact } from '../../nodes/rapidpro/api/contacts';
import { flowStartTargets, startFlow } from '../../nodes/rapidpro/api/flow-starts';
import { type RunCheckpoint, advanceRunCheckpoint, pollRuns } from '../../nodes/rapidpro/api/runs';
import type { Run } from '../../nodes/rapidpro/api/types';

type Sandbox = ReturnType<typeof create>;

async function failure(promise: Promise<unknown>): Promise<IntegrationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isIntegrationError(error), String(error));
    return error;
  }
  throw new Error('expected a failure');
}

describe('rapidpro api client (against the RapidPro sandbox)', function () {
  this.timeout(20_000);
  let app: Sandbox;
  let base: string;
  let client: RapidproClient;

  const control = (path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((response) => response.json());
  const makeClient = (options: { maxAttempts?: number; maxThrottleWaitMs?: number } = {}) =>
    new RapidproClient(
      new HttpClient(rapidproHttpOptions({ baseUrl: base, system: 'rapidpro', retry: { maxAttempts: options.maxAttempts ?? 2, baseDelayMs: 1 } }, seed.API_TOKEN, { maxThrottleWaitMs: options.maxThrottleWaitMs })),
      { maxThrottleWaitMs: options.maxThrottleWaitMs },
    );

  before(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });
  after(() => app.close());
  beforeEach(async () => {
    await app.reset();
    client = makeClient();
  });
  afterEach(async () => {
    client.http.close();
    await control('/_sandbox/clients', { name: 'rate-limit', perSecond: 0 });
  });

  it('sends the token as Authorization: Token and reads a 403 as an auth error', async () => {
    const contact = await client.contact({ urn: 'tel:+250788200001' });
    assert.equal(contact?.uuid, seed.CONTACT_CLAUDINE_UUID);
    const wrong = new RapidproClient(new HttpClient(rapidproHttpOptions({ baseUrl: base, system: 'rapidpro' }, 'not-the-token')));
    const error = await failure(wrong.contact({ urn: 'tel:+250788200001' }));
    assert.equal(error.code, 'auth');
    assert.match(error.message, /Invalid token/);
    assert.equal(JSON.stringify(error.toJSON()).includes('not-the-token'), false);
    wrong.http.close();
  });

  it('upserts by URN: creates, then updates the same contact, merging groups and keeping a snapshot', async () => {
    const created = await upsertContact(client, { urn: 'tel:+250 788 300 001', name: 'Aline', language: 'kin', groups: ['Pregnant women'], fields: { cht_id: 'CHT-P-0100' } });
    assert.equal(created.action, 'created');
    assert.deepEqual(created.contact.urns, ['tel:+250788300001']);
    assert.equal(created.before, undefined);
    const updated = await upsertContact(client, { urn: 'tel:+250788300001', name: 'Aline U.', groups: [seed.CHT_CONTACTS_GROUP_UUID], fields: { village: 'Remera' } });
    assert.equal(updated.action, 'updated');
    assert.equal(updated.contact.uuid, created.contact.uuid);
    assert.deepEqual(updated.contact.groups.map((group) => group.name).sort(), ['CHT contacts', 'Pregnant women']);
    assert.equal(updated.contact.fields.cht_id, 'CHT-P-0100');
    assert.deepEqual(updated.before, { name: 'Aline', groups: [seed.PREGNANT_WOMEN_GROUP_UUID], fields: { village: null } });
    const replaced = await upsertContact(client, { urn: 'tel:+250788300001', groups: ['cht contacts'] }, { groupMode: 'replace' });
    assert.deepEqual(replaced.contact.groups.map((group) => group.name), ['CHT contacts']);
  });

  it('refuses unknown fields listing the known keys, or creates them when asked', async () => {
    const error = await failure(upsertContact(client, { urn: 'tel:+250788300002', fields: { danger_sign: 'none' } }));
    assert.equal(error.code, 'bad-input');
    assert.equal(error.field, 'msg.payload.fields.danger_sign');
    assert.match(error.message, /danger_sign .*fields: cht_id, edd, village/);
    const result = await upsertContact(client, { urn: 'tel:+250788300002', fields: { danger_sign: 'none', visits: 3 } }, { createMissingFields: true });
    assert.equal(result.contact.fields.danger_sign, 'none');
    assert.equal(result.contact.fields.visits, 3);
    const fields = await client.fields({ refresh: true });
    assert.equal(fields.find((field) => field.key === 'visits')?.type, 'number');
  });

  it('refuses unknown groups listing the workspace groups', async () => {
    const error = await failure(upsertContact(client, { urn: 'tel:+250788300003', groups: ['Mothers'] }));
    assert.equal(error.code, 'bad-input');
    assert.match(error.message, /"Mothers".*groups: CHT contacts, Pregnant women/);
  });

  it('turns RapidPro field errors into validation errors with a readable summary', async () => {
    const error = await failure(client.writeContact(undefined, { urns: ['tel:+250788200001'] }));
    assert.equal(error.code, 'validation');
    assert.equal(error.remote?.summary, 'urns[0]: URN is in use by another contact.');
  });

  it('undoes a created contact by deleting it and an update by restoring the snapshot', async () => {
    const created = await upsertContact(client, { urn: 'tel:+250788300004', name: 'Temp' });
    const entry = { system: 'rapidpro', resource: 'contact', id: created.contact.uuid, action: 'created' as const, configId: 'c' };
    assert.equal(await undoContactWrite(client, entry), 'undone');
    assert.equal(await client.contact({ urn: 'tel:+250788300004' }), undefined);
    assert.equal(await undoContactWrite(client, entry), 'already-gone');

    const updated = await upsertContact(client, { urn: 'tel:+250788200002', name: 'Changed', groups: ['Pregnant women'], fields: { village: 'Remera' } });
    await undoContactWrite(client, { ...entry, id: updated.contact.uuid, action: 'updated', before: updated.before });
    const restored = await client.contact({ uuid: seed.CONTACT_DIANE_UUID });
    assert.equal(restored?.name, 'Diane Uwimana');
    assert.deepEqual(restored?.groups.map((group) => group.uuid), [seed.CHT_CONTACTS_GROUP_UUID]);
    assert.equal(restored?.fields.village, 'Kimironko');
  });

  it('waits out throttling beyond the shared client attempts, and fails with retryAfterMs past the cap', async () => {
    const throttled = makeClient({ maxAttempts: 1 });
    await control('/_sandbox/clients', { name: 'rate-limit', perSecond: 1 });
    const started = Date.now();
    const contacts = await Promise.all([1, 2, 3].map(() => throttled.contact({ uuid: seed.CONTACT_GRACE_UUID })));
    assert.ok(contacts.every((contact) => contact?.name === 'Grace Uwase'));
    assert.ok(Date.now() - started >= 900, 'the third request waited for the next second');
    throttled.http.close();

    const impatient = makeClient({ maxAttempts: 1, maxThrottleWaitMs: 100 });
    await impatient.contact({ uuid: seed.CONTACT_GRACE_UUID }).catch(() => undefined);
    const error = await failure(impatient.contact({ uuid: seed.CONTACT_GRACE_UUID }));
    assert.equal(error.code, 'rate-limited');
    assert.ok((error.retryAfterMs ?? 0) >= 1000);
    impatient.http.close();
  });

  it('reads flow start targets from URNs, UUIDs, contacts, webhook payloads and lists', () => {
    assert.deepEqual(flowStartTargets('tel:+250 788 200 001'), { contacts: [], urns: ['tel:+250788200001'], groups: [] });
    assert.deepEqual(flowStartTargets([seed.CONTACT_DIANE_UUID.toUpperCase(), 'tel:0788200001'], '250'), { contacts: [seed.CONTACT_DIANE_UUID], urns: ['tel:+250788200001'], groups: [] });
    assert.deepEqual(flowStartTargets({ uuid: seed.CONTACT_GRACE_UUID, urns: [] }).contacts, [seed.CONTACT_GRACE_UUID]);
    assert.deepEqual(flowStartTargets({ contact: { uuid: seed.CONTACT_GRACE_UUID } }).contacts, [seed.CONTACT_GRACE_UUID]);
    assert.deepEqual(flowStartTargets({ groups: ['Pregnant women'] }).groups, ['Pregnant women']);
    assert.throws(() => flowStartTargets({ contacts: ['not-a-uuid'] }), /contacts\[0\] is not a contact UUID/);
    assert.throws(() => flowStartTargets({ contacts: [] }), /names nobody/);
    assert.throws(() => flowStartTargets(42), /must name who/);
  });

  it('starts a flow for URNs and groups by name with params', async () => {
    const start = await startFlow(client, seed.FOLLOW_UP_SURVEY_FLOW_UUID, { contacts: [], urns: ['tel:+250788200004'], groups: ['CHT contacts'] }, { visit: 'anc1' }, { restartParticipants: false });
    assert.equal(start.flow?.uuid, seed.FOLLOW_UP_SURVEY_FLOW_UUID);
    assert.equal(start.status, 'pending');
    assert.deepEqual(start.groups.map((group) => group.uuid), [seed.CHT_CONTACTS_GROUP_UUID]);
    assert.deepEqual(start.params, { visit: 'anc1' });
    assert.equal(start.restart_participants, false);
    assert.equal((await failure(startFlow(client, 'not-a-flow', { contacts: [seed.CONTACT_GRACE_UUID], urns: [], groups: [] }, undefined))).code, 'bad-input');
  });

  it('polls completed runs across pages with a checkpoint that neither skips nor repeats', async () => {
    for (let index = 0; index < 260; index += 1) {
      const contact = await control('/_sandbox/runs', { contact: seed.CONTACT_GRACE_UUID, flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID });
      assert.ok(contact.uuid);
    }
    let saved: RunCheckpoint | undefined;
    const store = { load: () => saved, save: (value: RunCheckpoint) => { saved = value; } };
    const emitted: Run[] = [];
    const first = await pollRuns({ client, store, emit: (runs) => emitted.push(...runs) });
    assert.equal(first.pages, 2);
    assert.equal(emitted.length, 260);
    assert.equal(new Set(emitted.map((run) => run.uuid)).size, 260);
    assert.ok(emitted.every((run) => run.exit_type === 'completed' && run.values.feeling?.category === 'Good'));
    const again = await pollRuns({ client, store, emit: (runs) => emitted.push(...runs) });
    assert.equal(again.emitted, 0);
    await control('/_sandbox/runs', { contact: seed.CONTACT_DIANE_UUID, flow: seed.PREGNANCY_REMINDERS_FLOW_UUID, results: { anc_visit: 'no' } });
    const onlyPregnancy: Run[] = [];
    await pollRuns({ client, store, emit: (runs) => onlyPregnancy.push(...runs) }, { flow: seed.PREGNANCY_REMINDERS_FLOW_UUID });
    assert.deepEqual(onlyPregnancy.map((run) => run.values.anc_visit?.category), ['No']);
  });

  it('keeps the runs already seen at the checkpoint instant', () => {
    const run = (uuid: string, modified: string) => ({ uuid, modified_on: modified }) as Run;
    const checkpoint = advanceRunCheckpoint(undefined, [run('a', 't1'), run('b', 't2'), run('c', 't2')]);
    assert.deepEqual(checkpoint, { after: 't2', runUuids: ['b', 'c'] });
    assert.deepEqual(advanceRunCheckpoint(checkpoint, [run('d', 't2')]), { after: 't2', runUuids: ['b', 'c', 'd'] });
    assert.deepEqual(advanceRunCheckpoint(checkpoint, []), checkpoint);
  });

  it('starts from now when asked, without emitting history', async () => {
    await control('/_sandbox/runs', { contact: seed.CONTACT_GRACE_UUID, flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID });
    let saved: RunCheckpoint | undefined;
    const store = { load: () => saved, save: (value: RunCheckpoint) => { saved = value; } };
    const emitted: Run[] = [];
    await pollRuns({ client, store, emit: (runs) => emitted.push(...runs) }, { startAt: 'now' });
    await pollRuns({ client, store, emit: (runs) => emitted.push(...runs) });
    assert.equal(emitted.length, 0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await control('/_sandbox/runs', { contact: seed.CONTACT_GRACE_UUID, flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID });
    await pollRuns({ client, store, emit: (runs) => emitted.push(...runs) });
    assert.equal(emitted.length, 1);
  });
});
