/**
 * The CHT contact reads the look-up node uses (ChtClient.getContact, contactUuids and
 * lookupContacts), against the CHT sandbox's /api/v1/contact routes.
 */
import assert from 'node:assert/strict';
import { HttpClient } from '../../nodes/core/http-client';
import { ChtClient, chtHttpOptions, lookupContacts } from '../../nodes/cht/api';
import { create } from '../../sandbox/cht';
import * as seed from '../../sandbox/cht/seed';

describe('cht api: contact look-ups', () => {
  let app: ReturnType<typeof create>;
  let client: ChtClient;

  before(async () => {
    app = create();
    const baseUrl = `http://127.0.0.1:${await app.listen(0)}`;
    client = new ChtClient(new HttpClient(chtHttpOptions({ baseUrl, system: 'cht' }, { username: seed.USERNAME, password: seed.PASSWORD })));
  });
  after(async () => {
    client.http.close();
    await app.close();
  });

  it('reads a contact by uuid, a person or a place, and none for a report', async () => {
    assert.equal((await client.getContact(seed.PATIENT_ROSE_ID))?.name, 'Rose Akinyi');
    const clinic = await client.getContact(seed.CLINIC_ID, { withLineage: true });
    assert.equal((clinic?.parent as { name?: string } | undefined)?.name, 'Nyalenda Health Center');
    assert.equal(await client.getContact(seed.PREGNANCY_REPORT_ID), undefined);
    assert.equal(await client.getContact('missing'), undefined);
  });

  it('pages contact uuids by type with a cursor, and finds by an exact key:value', async () => {
    const first = await client.contactUuids({ type: 'person', limit: 2 });
    assert.equal(first.data.length, 2);
    assert.ok(first.cursor);
    const rest = await client.contactUuids({ type: 'person', limit: 10, cursor: first.cursor ?? undefined });
    assert.deepEqual(new Set([...first.data, ...rest.data]), new Set([seed.CHW_ID, seed.PATIENT_MARY_ID, seed.PATIENT_PETER_ID, seed.PATIENT_ROSE_ID]));
    assert.equal(rest.cursor, null);
    assert.deepEqual((await client.contactUuids({ freetext: `patient_id:${seed.PATIENT_PETER_PATIENT_ID}` })).data, [seed.PATIENT_PETER_ID]);
    // A word prefix matches too, as CHT's freetext search does.
    assert.ok((await client.contactUuids({ freetext: 'achi' })).data.includes(seed.PATIENT_MARY_ID));
    await assert.rejects(client.contactUuids({ freetext: 'ab' }), (error: { code?: string; status?: number }) => error.status === 400);
  });

  it('looks contacts up by id, phone and field, and refuses what CHT could not search', async () => {
    assert.deepEqual((await lookupContacts(client, { by: 'phone', value: seed.CHW_PHONE })).map((doc) => doc._id), [seed.CHW_ID]);
    assert.deepEqual((await lookupContacts(client, { by: 'field', field: 'role', value: 'CHW', contactType: 'person' })).map((doc) => doc._id), [seed.CHW_ID]);
    assert.deepEqual(await lookupContacts(client, { by: 'id', value: seed.CHW_ID, contactType: 'clinic' }), []);
    await assert.rejects(lookupContacts(client, { by: 'field', value: 'x y', field: 'name' }), /spaces/);
    await assert.rejects(lookupContacts(client, { by: 'field', value: 'abc' }), /field name/);
    await assert.rejects(lookupContacts(client, { by: 'id', value: ' ' }), /required/);
  });
});
