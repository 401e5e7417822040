/**
 * The CommCare sandbox's lookup tables behave like HQ's tastypie resources
 * (corehq/apps/fixtures/resources/v0_1.py, docs/api/fixture.rst): empty bodies on create and
 * update, PUT-creates for unknown ids, 202 deletes, the canned 404 for a row of an unknown
 * table, and the flat fixture API filtered by tag.
 */
import assert from 'node:assert/strict';
import { create } from '../../sandbox/commcare';
import * as seed from '../../sandbox/commcare/seed';

const headers = { Authorization: `ApiKey ${seed.WEB_USER.username}:${seed.WEB_USER.apiKey}`, 'Content-Type': 'application/json' };
const V05 = `/a/${seed.DOMAIN}/api/v0.5`;

const vaccines = {
  tag: 'vaccines',
  fields: [{ field_name: 'name', properties: ['lang'] }, { field_name: 'price', properties: [] }],
  is_global: true,
};
const mmr = (tableId: string, price = '7') => ({
  data_type_id: tableId,
  fields: {
    name: { field_list: [{ field_value: 'MMR', properties: { lang: 'en' } }] },
    price: { field_list: [{ field_value: price, properties: {} }] },
  },
});

describe('CommCare sandbox: lookup tables', () => {
  let app: ReturnType<typeof create>;
  let base: string;

  before(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });
  after(() => app.close());
  beforeEach(() => app.reset());

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : '';
    } catch {
      // plain text stays text
    }
    return { status: response.status, body: parsed };
  };

  async function createVaccines(): Promise<string> {
    const created = await call('POST', `${V05}/lookup_table/`, vaccines);
    assert.equal(created.status, 201);
    assert.equal(created.body, '', 'HQ answers a create with an empty body');
    const list = await call('GET', `${V05}/lookup_table/`);
    return list.body.objects.find((table: { tag: string }) => table.tag === 'vaccines').id;
  }

  it('creates a table, lists it in tastypie pages and refuses a second table with the same tag', async () => {
    const id = await createVaccines();
    assert.match(id, /^[0-9a-f]{32}$/);
    const list = await call('GET', `${V05}/lookup_table/`);
    assert.deepEqual(list.body.meta, { limit: 20, next: null, offset: 0, previous: null, total_count: 1 });
    assert.deepEqual(list.body.objects[0], { id, tag: 'vaccines', is_global: true, fields: vaccines.fields, item_attributes: [], resource_uri: '' });
    const again = await call('POST', `${V05}/lookup_table/`, vaccines);
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, { error: 'A lookup table with name vaccines already exists' });
  });

  it('validates table fields and keeps the tag on update', async () => {
    const bad = await call('POST', `${V05}/lookup_table/`, { tag: 'bad', fields: [{ properties: [] }] });
    assert.equal(bad.status, 400);
    assert.ok(Array.isArray(bad.body), 'validation errors come as a bare list of messages');
    const id = await createVaccines();
    const renamed = await call('PUT', `${V05}/lookup_table/${id}/`, { tag: 'other' });
    assert.deepEqual(renamed, { status: 400, body: { error: 'Lookup table tag cannot be changed' } });
    const updated = await call('PUT', `${V05}/lookup_table/${id}/`, { tag: 'vaccines', fields: [...vaccines.fields, { field_name: 'doses' }] });
    assert.equal(updated.status, 204);
    assert.deepEqual((await call('GET', `${V05}/lookup_table/${id}/`)).body.fields.map((field: { field_name: string }) => field.field_name), ['name', 'price', 'doses']);
    assert.equal((await call('GET', `${V05}/lookup_table/nope/`)).status, 404);
  });

  it('creates, updates and deletes rows; an unknown table is the canned 404', async () => {
    const id = await createVaccines();
    const created = await call('POST', `${V05}/lookup_table_item/`, mmr(id));
    assert.deepEqual(created, { status: 201, body: '' });
    const rows = await call('GET', `${V05}/lookup_table_item/`);
    assert.equal(rows.body.meta.total_count, 1);
    const row = rows.body.objects[0];
    assert.deepEqual(row, { id: row.id, data_type_id: id, fields: mmr(id).fields, item_attributes: {}, sort_key: 1, resource_uri: '' });

    assert.equal((await call('PUT', `${V05}/lookup_table_item/${row.id}/`, mmr(id, '10'))).status, 204);
    assert.equal((await call('GET', `${V05}/lookup_table_item/${row.id}/`)).body.fields.price.field_list[0].field_value, '10');

    const orphan = await call('POST', `${V05}/lookup_table_item/`, mmr('0123456789abcdef0123456789abcdef'));
    assert.equal(orphan.status, 404);
    assert.deepEqual(orphan.body, { error_message: 'Sorry, this request could not be processed. Please try again later.' });
    const malformed = await call('POST', `${V05}/lookup_table_item/`, { data_type_id: id, fields: { name: { field_list: [{ properties: {} }] } } });
    assert.deepEqual(malformed, { status: 400, body: ["'field_value' is a required property"] });
    assert.deepEqual(await call('POST', `${V05}/lookup_table_item/`, { fields: {} }), { status: 400, body: { error: 'data_type_id must be specified' } });

    assert.equal((await call('DELETE', `${V05}/lookup_table_item/${row.id}/`)).status, 202);
    assert.equal((await call('GET', `${V05}/lookup_table_item/${row.id}/`)).status, 404);
  });

  it('a PUT to an unknown row id creates a row under a new id (tastypie put_detail fallback)', async () => {
    const id = await createVaccines();
    const put = await call('PUT', `${V05}/lookup_table_item/ffffffffffffffffffffffffffffffff/`, mmr(id));
    assert.equal(put.status, 201);
    const rows = (await call('GET', `${V05}/lookup_table_item/`)).body.objects;
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0].id, 'ffffffffffffffffffffffffffffffff');
  });

  it('the fixture API lists one table by tag with flat fields, all rows by default', async () => {
    const id = await createVaccines();
    for (let index = 0; index < 25; index += 1) {
      await call('POST', `${V05}/lookup_table_item/`, { data_type_id: id, fields: { name: { field_list: [{ field_value: `V${index}` }] }, price: { field_list: [{ field_value: String(index) }] } } });
    }
    await call('POST', `${V05}/lookup_table/`, { tag: 'other', fields: [{ field_name: 'x' }] });
    const fixtures = await call('GET', `${V05}/fixture/?fixture_type=vaccines`);
    assert.equal(fixtures.status, 200);
    assert.equal(fixtures.body.objects.length, 25, 'limit 0 by default: no paging');
    assert.equal(fixtures.body.meta.next, null);
    assert.deepEqual(fixtures.body.objects[3], { id: fixtures.body.objects[3].id, fixture_type: 'vaccines', fields: { name: 'V3', price: '3' }, resource_uri: '' });
    assert.deepEqual((await call('GET', `${V05}/fixture/?fixture_type=nothing`)).body.objects, []);
    const one = await call('GET', `${V05}/fixture/${fixtures.body.objects[0].id}/`);
    assert.equal(one.body.fields.name, 'V0');
  });

  it('deleting a table deletes its rows; reset empties everything', async () => {
    const id = await createVaccines();
    await call('POST', `${V05}/lookup_table_item/`, mmr(id));
    assert.equal((await call('DELETE', `${V05}/lookup_table/${id}/`)).status, 202);
    assert.equal((await call('GET', `${V05}/lookup_table_item/`)).body.meta.total_count, 0);
    await createVaccines();
    await app.reset();
    assert.equal((await call('GET', `${V05}/lookup_table/`)).body.meta.total_count, 0);
  });

  it('needs the API key', async () => {
    const response = await fetch(`${base}${V05}/lookup_table/`);
    assert.equal(response.status, 401);
  });
});
