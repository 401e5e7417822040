import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxApp } from '../../sandbox/core';
import { create } from '../../sandbox/rapidpro';
import * as seed from '../../sandbox/rapidpro/seed';
import { requireSamples, sampleJson } from '../support/samples';
import { shapeDifferences } from '../support/shape';

const auth = { Authorization: `Token ${seed.API_TOKEN}` };
const json = { ...auth, 'Content-Type': 'application/json' };

interface Receiver {
  url: string;
  received: Array<{ headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

/** A local webhook target answering with the given statuses in turn, then 200. */
async function startReceiver(statuses: number[]): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(statuses.shift() ?? 200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('RapidPro sandbox', () => {
  let app: SandboxApp;
  let base: string;

  beforeEach(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });

  afterEach(() => app.close());

  const get = async <T = Record<string, unknown>>(path: string): Promise<T> => (await fetch(`${base}${path}`, { headers: auth })).json() as Promise<T>;
  const post = (path: string, body: unknown): Promise<Response> => fetch(`${base}${path}`, { method: 'POST', headers: json, body: JSON.stringify(body) });
  const configure = (config: unknown): Promise<Response> =>
    fetch(`${base}/_sandbox/clients`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(config) });
  const completeRun = (body: unknown): Promise<Response> =>
    fetch(`${base}/_sandbox/runs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  describe('conformance with upstream samples', () => {
    beforeEach(function () { requireSamples(this); });

    it('accepts contact-create-request.json and answers in the shape of contact-create-response.json', async () => {
      // the sample's fields and group belong to its own workspace: create the fields, use our group
      assert.equal((await post('/api/v2/fields.json', { name: 'Nickname', type: 'text' })).status, 201);
      assert.equal((await post('/api/v2/fields.json', { name: 'Side Kick', type: 'text' })).status, 201);
      const request = sampleJson<Record<string, unknown>>('rapidpro/contact-create-request.json');
      request.groups = [seed.PREGNANT_WOMEN_GROUP_UUID];
      const response = await post('/api/v2/contacts.json', request);
      assert.equal(response.status, 201);
      const body = await response.json() as Record<string, unknown>;
      assert.deepEqual(shapeDifferences(sampleJson('rapidpro/contact-create-response.json'), body), []);
      assert.deepEqual(body.urns, ['tel:+250788123123', 'twitter:ben']);
      assert.deepEqual(body.groups, [{ uuid: seed.PREGNANT_WOMEN_GROUP_UUID, name: 'Pregnant women' }]);
      assert.deepEqual({ nickname: (body.fields as Record<string, unknown>).nickname, side_kick: (body.fields as Record<string, unknown>).side_kick }, { nickname: 'Macklemore', side_kick: 'Ryan Lewis' });
    });

    it('lists contacts in the shape of contacts-list.json', async () => {
      await configure({ name: 'flow-engine', runDelayMs: 5000 });
      await completeRun({ contact: seed.CONTACT_CLAUDINE_UUID, flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID });
      await post('/api/v2/flow_starts.json', { flow: seed.PREGNANCY_REMINDERS_FLOW_UUID, contacts: [seed.CONTACT_CLAUDINE_UUID] });
      const page = await waitFor(async () => {
        const list = await get<{ results: Array<{ flow: unknown }> }>(`/api/v2/contacts.json?uuid=${seed.CONTACT_CLAUDINE_UUID}`);
        return list.results[0]?.flow ? list : undefined;
      });
      // contact fields are workspace-specific: the sample's are not ours
      const optional = new Set(['$.results[0].fields.nickname', '$.results[0].fields.side_kick']);
      assert.deepEqual(shapeDifferences(sampleJson('rapidpro/contacts-list.json'), page, '$', optional), []);
      assert.deepEqual(page.results[0].flow, { uuid: seed.PREGNANCY_REMINDERS_FLOW_UUID, name: 'Pregnancy reminders' });
    });

    it('accepts flow-start-create-request.json and answers like flow-start-create-response.json', async () => {
      const request = sampleJson<Record<string, unknown>>('rapidpro/flow-start-create-request.json');
      // the sample's flow, group and contact belong to its own workspace: use ours
      request.flow = seed.PREGNANCY_REMINDERS_FLOW_UUID;
      request.groups = [seed.CHT_CONTACTS_GROUP_UUID];
      request.contacts = [seed.CONTACT_GRACE_UUID];
      const response = await post('/api/v2/flow_starts.json', request);
      assert.equal(response.status, 201);
      const body = await response.json() as { status: string; uuid: string; params: unknown };
      assert.deepEqual(shapeDifferences(sampleJson('rapidpro/flow-start-create-response.json'), body), []);
      assert.equal(body.status, 'pending');
      assert.deepEqual(body.params, { first_name: 'Ryan', last_name: 'Lewis' });
      // the start's URNs become contacts, and every contact gets a run that completes
      const runs = await waitFor(async () => {
        const list = await get<{ results: Array<{ exit_type: string | null }> }>(`/api/v2/runs.json?flow=${seed.PREGNANCY_REMINDERS_FLOW_UUID}`);
        return list.results.length === 5 && list.results.every((run) => run.exit_type === 'completed') ? list : undefined;
      });
      assert.equal(runs.results.length, 5);
      const starts = await get<{ results: Array<{ uuid: string; status: string }> }>('/api/v2/flow_starts.json');
      assert.deepEqual(starts.results.map((start) => [start.uuid, start.status]), [[body.uuid, 'completed']]);
    });

    it('delivers the resthook body in the shape of resthook-webhook-payload.json', async () => {
      const target = await startReceiver([]);
      try {
        await configure({ name: 'webhook', url: target.url, shape: 'resthook', auth: { type: 'header', name: 'Authorization', value: 'Token hook-secret' } });
        const sample = sampleJson<{ results: Record<string, { value: string; category: string }> }>('rapidpro/resthook-webhook-payload.json');
        const results = Object.fromEntries(Object.entries(sample.results).map(([key, result]) => [key, { value: result.value, category: result.category }]));
        assert.equal((await completeRun({ contact: seed.CONTACT_CLAUDINE_UUID, flow: seed.PREGNANCY_REMINDERS_FLOW_UUID, results })).status, 201);
        await waitFor(async () => (target.received.length ? true : undefined));
        const payload = JSON.parse(target.received[0].body) as Record<string, unknown>;
        assert.deepEqual(shapeDifferences(sample, payload), []);
        assert.equal(target.received[0].headers.authorization, 'Token hook-secret');
        assert.equal((payload.contact as { uuid: string }).uuid, seed.CONTACT_CLAUDINE_UUID);
      } finally {
        await target.close();
      }
    });
  });

  describe('contacts', () => {
    it('updates by uuid and by urn, creates by unknown urn, deletes', async () => {
      const updated = await post(`/api/v2/contacts.json?uuid=${seed.CONTACT_DIANE_UUID}`, { fields: { village: 'Remera' }, groups: [] });
      assert.equal(updated.status, 200);
      const contact = await updated.json() as { fields: Record<string, unknown>; groups: unknown[] };
      assert.equal(contact.fields.village, 'Remera');
      assert.deepEqual(contact.groups, []);

      const byUrn = await post(`/api/v2/contacts.json?urn=${encodeURIComponent('tel:+250788200001')}`, { name: 'Claudine M.' });
      assert.equal(byUrn.status, 200);
      assert.equal(((await byUrn.json()) as { uuid: string }).uuid, seed.CONTACT_CLAUDINE_UUID);

      const created = await post(`/api/v2/contacts.json?urn=${encodeURIComponent('tel:+250788999999')}`, { name: 'New' });
      assert.equal(created.status, 201);
      assert.deepEqual(((await created.json()) as { urns: string[] }).urns, ['tel:+250788999999']);

      const deleted = await fetch(`${base}/api/v2/contacts.json?uuid=${seed.CONTACT_GRACE_UUID}`, { method: 'DELETE', headers: auth });
      assert.equal(deleted.status, 204);
      assert.equal((await fetch(`${base}/api/v2/contacts.json?uuid=${seed.CONTACT_GRACE_UUID}`, { method: 'DELETE', headers: auth })).status, 404);
      const gone = await get<{ results: Array<{ uuid: string; status: unknown }> }>('/api/v2/contacts.json?deleted=true');
      assert.deepEqual(gone.results.map((c) => [c.uuid, c.status]), [[seed.CONTACT_GRACE_UUID, null]]);
      const modify = await post(`/api/v2/contacts.json?uuid=${seed.CONTACT_GRACE_UUID}`, { name: 'x' });
      assert.deepEqual(await modify.json(), { non_field_errors: ["Deleted contacts can't be modified."] });
    });

    it('answers validation errors as DRF field errors', async () => {
      const expectations: Array<[unknown, unknown]> = [
        [{ urns: ['tel:+250788200002'] }, { urns: { 0: ['URN is in use by another contact.'] } }],
        [{ urns: ['tel:0788'] }, { urns: { 0: ['Invalid URN: tel:0788. Ensure phone numbers contain country codes.'] } }],
        [{ language: 'english' }, { language: ['Ensure this field has no more than 3 characters.'] }],
        [{ language: 'xyz' }, { language: ['Not a valid ISO639-3 language code.'] }],
        [{ groups: ['Nope'] }, { groups: ['No such object: Nope'] }],
        [{ fields: { colour: 'red' } }, { fields: ['Invalid contact field key: colour'] }],
        [['not', 'an', 'object'], { non_field_errors: ['Request body should be a single JSON object'] }],
      ];
      for (const [body, errors] of expectations) {
        const response = await post('/api/v2/contacts.json', body);
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.deepEqual(await response.json(), JSON.parse(JSON.stringify(errors)));
      }
      const both = await post(`/api/v2/contacts.json?uuid=${seed.CONTACT_DIANE_UUID}&urn=tel:%2B250788200002`, {});
      assert.deepEqual(await both.json(), { detail: 'URL can only contain one of the following parameters: urn, uuid' });
      const badUuid = await fetch(`${base}/api/v2/contacts.json?uuid=xyz`, { headers: auth });
      assert.deepEqual(await badUuid.json(), { detail: "Param 'uuid': xyz is not a valid UUID." });
      const missing = await post('/api/v2/contacts.json?uuid=ad6acad9-959b-4d70-b144-5de2891e4d00', {});
      assert.equal(missing.status, 404);
    });

    it('pages 250 at a time with next/previous cursor URLs, newest first', async () => {
      for (let i = 0; i < 260; i += 1) {
        assert.equal((await post('/api/v2/contacts.json', { name: `Bulk ${i}`, urns: [`tel:+25078830${String(i).padStart(4, '0')}`] })).status, 201);
      }
      const first = await get<{ next: string; previous: null; results: Array<{ name: string }> }>('/api/v2/contacts.json?group=');
      assert.equal(first.results.length, 250);
      assert.equal(first.results[0].name, 'Bulk 259');
      assert.equal(first.previous, null);
      assert.match(first.next, new RegExp(`^${base}/api/v2/contacts\\.json\\?.*cursor=`));
      const second = await (await fetch(first.next, { headers: auth })).json() as { next: null; previous: string; results: Array<{ name: string }> };
      assert.equal(second.results.length, 13);
      assert.equal(second.next, null);
      const back = await (await fetch(second.previous, { headers: auth })).json() as { results: Array<{ name: string }> };
      assert.deepEqual(back.results.map((c) => c.name), first.results.map((c) => c.name));
    });

    it('filters by group name or uuid and by urn', async () => {
      const pregnant = await get<{ results: Array<{ uuid: string }> }>('/api/v2/contacts.json?group=Pregnant%20women');
      assert.deepEqual(pregnant.results.map((c) => c.uuid).sort(), [seed.CONTACT_CLAUDINE_UUID, seed.CONTACT_GRACE_UUID].sort());
      const byUuid = await get<{ results: unknown[] }>(`/api/v2/contacts.json?group=${seed.CHT_CONTACTS_GROUP_UUID}`);
      assert.equal(byUuid.results.length, 2);
      const byUrn = await get<{ results: Array<{ uuid: string }> }>(`/api/v2/contacts.json?urn=${encodeURIComponent('whatsapp:250788200004')}`);
      assert.deepEqual(byUrn.results.map((c) => c.uuid), [seed.CONTACT_GRACE_UUID]);
    });
  });

  describe('groups, fields, flows and runs', () => {
    it('creates groups and fields and rejects duplicates', async () => {
      const group = await post('/api/v2/groups.json', { name: 'ANC defaulters' });
      assert.equal(group.status, 201);
      assert.deepEqual(Object.keys(await group.json() as object), ['uuid', 'name', 'query', 'status', 'system', 'count']);
      assert.deepEqual(await (await post('/api/v2/groups.json', { name: 'pregnant women' })).json(), { name: ['This field must be unique.'] });
      assert.deepEqual(await (await post('/api/v2/groups.json', {})).json(), { name: ['This field is required.'] });

      const field = await post('/api/v2/fields.json', { name: 'Next visit', type: 'datetime' });
      assert.equal(field.status, 201);
      const created = await field.json() as { key: string; value_type: string };
      assert.equal(created.key, 'next_visit');
      assert.equal(created.value_type, 'datetime');
      assert.deepEqual(await (await post('/api/v2/fields.json', { name: 'Colour', type: 'video' })).json(), { type: ['"video" is not a valid choice.'] });
      assert.deepEqual(await (await post('/api/v2/fields.json', { name: 'Colour' })).json(), { non_field_errors: ["Field 'type' is required."] });
      const fields = await get<{ results: Array<{ key: string }> }>('/api/v2/fields.json');
      assert.deepEqual(fields.results.map((f) => f.key).sort(), ['cht_id', 'edd', 'next_visit', 'village']);
    });

    it('lists flows with their result keys', async () => {
      const flows = await get<{ results: Array<{ uuid: string; name: string; results: Array<{ key: string }> }> }>('/api/v2/flows.json');
      const reminders = flows.results.find((flow) => flow.uuid === seed.PREGNANCY_REMINDERS_FLOW_UUID);
      assert.equal(reminders?.name, 'Pregnancy reminders');
      assert.deepEqual(reminders?.results.map((r) => r.key), ['anc_visit', 'danger_signs']);
    });

    it('validates flow starts', async () => {
      assert.deepEqual(await (await post('/api/v2/flow_starts.json', {})).json(), { flow: ['This field is required.'] });
      assert.deepEqual(await (await post('/api/v2/flow_starts.json', { flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID })).json(), { non_field_errors: ['Must specify at least one group, contact or URN'] });
      assert.deepEqual(await (await post('/api/v2/flow_starts.json', { flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID, contacts: ['abcde'] })).json(), { contacts: ['No such object: abcde'] });
      assert.deepEqual(await (await post('/api/v2/flow_starts.json', { flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID, urns: ['foo:bar'] })).json(), { urns: { 0: ['Invalid URN: foo:bar. Ensure phone numbers contain country codes.'] } });
      assert.deepEqual(await (await post('/api/v2/flow_starts.json', { flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID, contacts: [seed.CONTACT_DIANE_UUID], params: 'x' })).json(), { params: ['Must be a valid JSON object'] });
    });

    it('serves runs with values, path and exit type, and refuses flow together with contact', async () => {
      await completeRun({ contact: seed.CONTACT_DIANE_UUID, flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID, results: { feeling: 'bad' } });
      const runs = await get<{ results: Array<Record<string, any>> }>(`/api/v2/runs.json?contact=${seed.CONTACT_DIANE_UUID}`);
      const [run] = runs.results;
      assert.equal(run.exit_type, 'completed');
      assert.equal(run.responded, true);
      assert.deepEqual(Object.keys(run.values.feeling), ['name', 'value', 'category', 'node', 'time']);
      assert.equal(run.values.feeling.category, 'Bad');
      assert.equal(run.path.length, 2);
      assert.deepEqual(run.contact, { uuid: seed.CONTACT_DIANE_UUID, urn: 'tel:+250788200002', name: 'Diane Uwimana' });
      const both = await fetch(`${base}/api/v2/runs.json?contact=${seed.CONTACT_DIANE_UUID}&flow=${seed.FOLLOW_UP_SURVEY_FLOW_UUID}`, { headers: auth });
      assert.deepEqual(await both.json(), { detail: 'You may only specify one of the contact, flow parameters' });
    });
  });

  describe('webhooks', () => {
    it('posts the flow editor default body and retries a failing receiver', async () => {
      const target = await startReceiver([503]);
      try {
        await configure({ name: 'webhook', url: target.url, auth: { type: 'basic', username: 'u', password: 'p' }, backoffMs: 10, flow: seed.PREGNANCY_REMINDERS_FLOW_UUID });
        await completeRun({ contact: seed.CONTACT_DIANE_UUID, flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID });
        const run = await (await completeRun({ contact: seed.CONTACT_CLAUDINE_UUID, flow: seed.PREGNANCY_REMINDERS_FLOW_UUID })).json() as { uuid: string };
        const deliveries = await waitFor(async () => {
          const list = await (await fetch(`${base}/_sandbox/deliveries`)).json() as Array<{ target: string; payload_id: string; attempt: number; status: number }>;
          return list.length === 2 ? list : undefined;
        });
        assert.deepEqual(deliveries.map((d) => [d.target, d.payload_id, d.attempt, d.status]), [['webhook', run.uuid, 1, 503], ['webhook', run.uuid, 2, 200]]);
        assert.deepEqual(JSON.parse(target.received[1].body), {
          contact: { uuid: seed.CONTACT_CLAUDINE_UUID, name: 'Claudine Mukamana', urn: 'tel:+250788200001' },
          flow: { uuid: seed.PREGNANCY_REMINDERS_FLOW_UUID, name: 'Pregnancy reminders' },
          results: { anc_visit: { value: 'yes', category: 'Yes' }, danger_signs: { value: 'none', category: 'None' } },
        });
        assert.equal(target.received[0].headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
      } finally {
        await target.close();
      }
    });
  });

  describe('auth, rate limits, faults and reset', () => {
    it('answers 403 like DRF behind session auth', async () => {
      const none = await fetch(`${base}/api/v2/contacts.json`);
      assert.equal(none.status, 403);
      assert.deepEqual(await none.json(), { detail: 'Authentication credentials were not provided.' });
      const wrong = await fetch(`${base}/api/v2/contacts.json`, { headers: { Authorization: 'Token nope' } });
      assert.deepEqual([wrong.status, await wrong.json()], [403, { detail: 'Invalid token' }]);
      const basic = { Authorization: `Basic ${Buffer.from(`${seed.USER_EMAIL}:${seed.API_TOKEN}`).toString('base64')}` };
      assert.equal((await fetch(`${base}/api/v2/contacts.json`, { headers: basic })).status, 200);
    });

    it('throttles over the configured rate with Retry-After', async () => {
      await configure({ name: 'rate-limit', perSecond: 2 });
      assert.equal((await fetch(`${base}/api/v2/flows.json`, { headers: auth })).status, 200);
      assert.equal((await fetch(`${base}/api/v2/flows.json`, { headers: auth })).status, 200);
      const throttled = await fetch(`${base}/api/v2/flows.json`, { headers: auth });
      assert.equal(throttled.status, 429);
      assert.equal(throttled.headers.get('retry-after'), '1');
      assert.deepEqual(await throttled.json(), { detail: 'Request was throttled. Expected available in 1 second.' });
      await configure({ name: 'rate-limit', perSecond: 0 });
      assert.equal((await fetch(`${base}/api/v2/flows.json`, { headers: auth })).status, 200);
    });

    it('injects a fault and resets to the seed', async () => {
      await fetch(`${base}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: 'contacts\\.json$', method: 'POST', status: 502, count: 1 }) });
      assert.equal((await post('/api/v2/contacts.json', { name: 'x' })).status, 502);
      assert.equal((await post('/api/v2/contacts.json', { name: 'x' })).status, 201);
      assert.equal((await get<{ results: unknown[] }>('/api/v2/contacts.json')).results.length, 4);
      await fetch(`${base}/_sandbox/reset`, { method: 'POST' });
      assert.equal((await get<{ results: unknown[] }>('/api/v2/contacts.json')).results.length, 3);
    });
  });
});
