/**
 * chis-cht-contact-lookup in a real Node-RED runtime against the CHT sandbox: by _id, by phone
 * and by a field, with type filters and lineage; what it does when CHT has no such contact.
 */
import assert from 'node:assert/strict';
import chtConfig from '../../nodes/cht/cht-config';
import contactLookup from '../../nodes/cht/cht-contact-lookup';
import { create } from '../../sandbox/cht';
import * as seed from '../../sandbox/cht/seed';
import { firstOutcome, helper, loadFlow, type LookupOutcome, unloadFlow } from '../support/node-helper';

const credentials = { cht: { username: seed.USERNAME, password: seed.PASSWORD } };


function flow(baseUrl: string, lookup: Record<string, unknown>): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'cht', type: 'chis-cht-config', baseUrl },
    { id: 'l', type: 'chis-cht-contact-lookup', z: 't', server: 'cht', ...lookup, wires: [['found'], ['none']] },
    { id: 'found', type: 'helper', z: 't' },
    { id: 'none', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

const lookup = (msg: Record<string, unknown>): Promise<LookupOutcome> => firstOutcome('l', msg);

describe('chis-cht-contact-lookup', function () {
  this.timeout(20_000);
  let app: ReturnType<typeof create>;
  let baseUrl: string;

  beforeEach(async () => {
    await helper.startServer();
    app = create();
    baseUrl = `http://127.0.0.1:${await app.listen(0)}`;
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    await app.close();
  });

  it('finds a person by _id, with msg.correlationId set to her _id', async () => {
    await loadFlow([chtConfig, contactLookup], flow(baseUrl, { by: 'id', value: 'payload', valueType: 'msg' }), credentials);
    const { port, msg } = await lookup({ payload: seed.PATIENT_MARY_ID, correlationId: 'upstream' });
    assert.equal(port, 'found', JSON.stringify(msg.error));
    assert.equal(msg.contact._id, seed.PATIENT_MARY_ID);
    assert.equal(msg.contact.phone, seed.PATIENT_MARY_PHONE);
    assert.deepEqual(msg.contacts.map((contact: { _id: string }) => contact._id), [seed.PATIENT_MARY_ID]);
    assert.equal(msg.correlationId, seed.PATIENT_MARY_ID);
    assert.equal(msg.payload, seed.PATIENT_MARY_ID, 'the input is left as it was');
    // Without lineage the parent is CHT's minified stub.
    assert.equal(msg.contact.parent._id, seed.CLINIC_ID);
    assert.equal(msg.contact.parent.name, undefined);
  });

  it('hydrates the parent places with lineage, into the chosen property', async () => {
    await loadFlow([chtConfig, contactLookup], flow(baseUrl, { by: 'id', value: seed.CLINIC_ID, valueType: 'str', withLineage: true, outputProperty: 'payload.place' }), credentials);
    const { port, msg } = await lookup({ payload: {} });
    assert.equal(port, 'found', JSON.stringify(msg.error));
    assert.equal(msg.payload.place._id, seed.CLINIC_ID);
    assert.equal(msg.payload.place.parent.name, 'Nyalenda Health Center');
    assert.equal(msg.payload.place.parent.parent.name, 'Kisumu District Hospital');
  });

  it('finds a person by phone, the value from a JSONata expression (a RapidPro URN)', async () => {
    await loadFlow([chtConfig, contactLookup], flow(baseUrl, { by: 'phone', value: "$substringAfter(payload.contact.urn, ':')", valueType: 'jsonata' }), credentials);
    const { port, msg } = await lookup({ payload: { contact: { urn: `tel:${seed.PATIENT_PETER_PHONE}` } } });
    assert.equal(port, 'found', JSON.stringify(msg.error));
    assert.equal(msg.contact._id, seed.PATIENT_PETER_ID);
    assert.equal(msg.correlationId, seed.PATIENT_PETER_ID);
  });

  it('finds a contact by a field (patient_id shortcode), filtered by contact type', async () => {
    await loadFlow([chtConfig, contactLookup], flow(baseUrl, { by: 'field', field: 'patient_id', value: 'payload', valueType: 'msg', contactType: 'person' }), credentials);
    const found = await lookup({ payload: seed.PATIENT_ROSE_PATIENT_ID });
    assert.equal(found.port, 'found', JSON.stringify(found.msg.error));
    assert.equal(found.msg.contact._id, seed.PATIENT_ROSE_ID);
    assert.equal(found.msg.contact.name, 'Rose Akinyi');
    const nobody = await lookup({ payload: '99999' });
    assert.equal(nobody.port, 'none');
    assert.equal(nobody.msg.contact, undefined);
  });

  it('leaves out contacts of another type', async () => {
    await loadFlow([chtConfig, contactLookup], flow(baseUrl, { by: 'field', field: 'patient_id', value: seed.PATIENT_ROSE_PATIENT_ID, valueType: 'str', contactType: 'clinic' }), credentials);
    const { port } = await lookup({ payload: 'x' });
    assert.equal(port, 'none');
    await unloadFlow();
    await loadFlow([chtConfig, contactLookup], flow(baseUrl, { by: 'field', field: 'place_id', value: seed.CLINIC_PLACE_ID, valueType: 'str', contactType: 'clinic' }), credentials);
    const place = await lookup({ payload: 'x' });
    assert.equal(place.port, 'found', JSON.stringify(place.msg.error));
    assert.equal(place.msg.contact._id, seed.CLINIC_ID);
  });

  it('sends a message about an unknown _id or phone to the second output, unchanged', async () => {
    await loadFlow([chtConfig, contactLookup], flow(baseUrl, { by: 'id', value: 'payload', valueType: 'msg' }), credentials);
    const unknown = await lookup({ payload: 'no-such-contact', correlationId: 'upstream' });
    assert.equal(unknown.port, 'none');
    assert.equal(unknown.msg.correlationId, 'upstream');
    // A report is not a contact.
    const report = await lookup({ payload: seed.PREGNANCY_REPORT_ID });
    assert.equal(report.port, 'none');
    await unloadFlow();
    await loadFlow([chtConfig, contactLookup], flow(baseUrl, { by: 'phone', value: 'payload', valueType: 'msg' }), credentials);
    assert.equal((await lookup({ payload: '+254700999888' })).port, 'none');
  });

  it('fails with bad-input when the value is missing or a field value has spaces', async () => {
    await loadFlow([chtConfig, contactLookup], flow(baseUrl, { by: 'field', field: 'name', value: 'payload', valueType: 'msg' }), credentials);
    const missing = await lookup({});
    assert.equal(missing.port, 'error');
    assert.equal(missing.msg.error.code, 'bad-input');
    const spaced = await lookup({ payload: 'Rose Akinyi' });
    assert.equal(spaced.port, 'error');
    assert.equal(spaced.msg.error.code, 'bad-input');
    assert.match(spaced.msg.error.message, /spaces/);
  });

  it('fails with auth when CHT refuses the credentials, and unreachable when it is down', async () => {
    await loadFlow([chtConfig, contactLookup], flow(baseUrl, { by: 'id', value: 'payload', valueType: 'msg' }), { cht: { username: seed.USERNAME, password: 'wrong' } });
    const refused = await lookup({ payload: seed.PATIENT_MARY_ID });
    assert.equal(refused.port, 'error');
    assert.equal(refused.msg.error.code, 'auth');
    await unloadFlow();
    await app.close();
    await loadFlow([chtConfig, contactLookup], [...flow(baseUrl, { by: 'id', value: 'payload', valueType: 'msg' }).map((node: any) => (node.id === 'cht' ? { ...node, maxAttempts: 1 } : node))], credentials);
    const down = await lookup({ payload: seed.PATIENT_MARY_ID });
    assert.equal(down.port, 'error');
    assert.equal(down.msg.error.code, 'unreachable');
    app = create();
    await app.listen(0);
  });
});
