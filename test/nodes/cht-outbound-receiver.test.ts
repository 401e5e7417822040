import assert from 'node:assert/strict';
import http from 'node:http';
import request from 'supertest';
import { HttpClient } from '../../nodes/core/http-client';
import receiverAuth from '../../nodes/core/receiver-auth-config';
import receipt from '../../nodes/core/receipt';
import { ChtClient, chtHttpOptions, payloadHash } from '../../nodes/cht/api';
import outboundReceiver from '../../nodes/cht/cht-outbound-receiver';
import { create } from '../../sandbox/cht';
import * as seed from '../../sandbox/cht/seed';
import { helper, httpNode, loadFlow, unloadFlow } from '../support/node-helper';

const TOKEN = 'Token s3cret-push';
const credentials = { auth: { token: TOKEN } };

const flow = [
  { id: 't', type: 'tab' },
  // CHT's `header` auth sends the stored value as the Authorization header.
  { id: 'auth', type: 'chis-receiver-auth', mode: 'header', headerName: 'Authorization' },
  { id: 'rx', type: 'chis-cht-outbound-receiver', z: 't', path: '/cht/outbound', auth: 'auth', idProperty: 'id, _id', receiptTimeoutMs: 3000, wires: [['out', 'ok']] },
  { id: 'ok', type: 'chis-receipt', z: 't', outcome: 'auto', wires: [] },
  { id: 'out', type: 'helper', z: 't' },
];

describe('chis-cht-outbound-receiver node', function () {
  this.timeout(20_000);
  let app: ReturnType<typeof create>;
  let client: ChtClient;
  let runtime: http.Server;
  let messages: any[];

  beforeEach(async () => {
    await helper.startServer();
    await loadFlow([receiverAuth, receipt, outboundReceiver], flow, credentials);
    messages = [];
    helper.getNode('out').on('input', (msg: any) => messages.push(msg));
    // The test helper's own server does not serve httpNode: give the runtime's endpoints a port.
    runtime = http.createServer(httpNode());
    await new Promise<void>((resolve) => runtime.listen(0, '127.0.0.1', resolve));
    app = create();
    const baseUrl = `http://127.0.0.1:${await app.listen(0)}`;
    client = new ChtClient(new HttpClient(chtHttpOptions({ baseUrl, system: 'cht' }, { username: seed.USERNAME, password: seed.PASSWORD })));
    await client.http.post('_sandbox/clients', {
      body: {
        name: 'outbound',
        pushes: {
          patients_to_chis: {
            relevant_to: "doc.type === 'person' && doc.role === 'patient'",
            destination: {
              base_url: `http://127.0.0.1:${(runtime.address() as { port: number }).port}`,
              path: '/cht/outbound',
              auth: { type: 'header', name: 'Authorization', value_key: 'chis_push' },
            },
            mapping: { id: 'doc._id', name: 'doc.name', patient_id: { path: 'doc.patient_id', optional: true }, household: 'doc.parent.name' },
          },
        },
        credentials: { chis_push: TOKEN },
      },
    });
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    runtime.closeAllConnections();
    await new Promise((resolve) => runtime.close(resolve));
    client.http.close();
    await app.close();
  });

  const idle = () => client.http.post('_sandbox/sentinel/idle');
  const deliveries = async (docId: string) => (await client.http.get<any[]>('_sandbox/deliveries', { query: { doc_id: docId } })).data;

  it('accepts CHT\'s push, emits a changed payload of the same doc as an update, and acknowledges an identical re-send without emitting it', async () => {
    const person = await client.createPerson({ name: 'Akinyi Odhiambo', type: 'person', role: 'patient', place: seed.CLINIC_ID });
    await idle();
    assert.equal(messages.length, 1);
    const [first] = messages;
    assert.equal(first.payload.id, person.id);
    assert.equal(first.payload.household, 'Achieng Household');
    assert.match(first.payload.patient_id, /^\d+$/);
    assert.deepEqual(first.cht, { docId: person.id, payloadHash: payloadHash(first.payload), resend: false });
    assert.equal(first.topic, person.id);
    assert.equal(first.correlationId, person.id);

    // The doc changes in CHT: CHT pushes the new payload, which is an update, not a duplicate.
    await client.updateDoc(person.id, { name: 'Akinyi Odhiambo Otieno' });
    await idle();
    assert.equal(messages.length, 2);
    assert.equal(messages[1].payload.name, 'Akinyi Odhiambo Otieno');
    assert.deepEqual(messages[1].cht, { docId: person.id, payloadHash: payloadHash(messages[1].payload), resend: true });
    const sent = await deliveries(person.id);
    assert.deepEqual(sent.filter((entry) => entry.outcome === 'delivered').map((entry) => entry.status), [200, 200]);

    // CHT retries a delivery whose answer it lost: the same payload again, keys in another order.
    const last = sent.filter((entry) => entry.outcome === 'delivered').pop().payload;
    const reordered = Object.fromEntries(Object.entries(last).reverse());
    const again = await request(httpNode()).post('/cht/outbound').set('Authorization', TOKEN).set('Content-Type', 'application/json').send(JSON.stringify(reordered));
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'duplicate');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(messages.length, 2);
    assert.match(helper.getNode('rx').status.lastCall.args[0].text, /accepted 2 · duplicates 1/);
  });

  it('refuses a push with wrong or missing credentials with 401', async () => {
    const payload = JSON.stringify({ id: 'x', name: 'n' });
    await request(httpNode()).post('/cht/outbound').set('Authorization', 'Token wrong').set('Content-Type', 'application/json').send(payload).expect(401);
    await request(httpNode()).post('/cht/outbound').set('Content-Type', 'application/json').send(payload).expect(401);
    const bad = await request(httpNode()).post('/cht/outbound').set('Authorization', TOKEN).set('Content-Type', 'application/json').send('"just text"');
    assert.equal(bad.status, 400);
    assert.equal(messages.length, 0);
  });

  it('answers 503 when the flow does not confirm, so CHT keeps the push queued and retries', async () => {
    await unloadFlow();
    await loadFlow([receiverAuth, receipt, outboundReceiver], flow.map((node) => (node.id === 'rx' ? { ...node, receiptTimeoutMs: 200, wires: [['out']] } : node)), credentials);
    const response = await request(httpNode()).post('/cht/outbound').set('Authorization', TOKEN).set('Content-Type', 'application/json').send(JSON.stringify({ id: 'doc-1', v: 1 }));
    assert.equal(response.status, 503);
    // Not confirmed, so not remembered: the retry is processed, and is not marked as an update.
    const retry = new Promise<any>((resolve) => helper.getNode('out').once('input', resolve));
    void request(httpNode()).post('/cht/outbound').set('Authorization', TOKEN).set('Content-Type', 'application/json').send(JSON.stringify({ id: 'doc-1', v: 1 })).then(() => undefined);
    assert.equal((await retry).cht.resend, false);
  });
});
