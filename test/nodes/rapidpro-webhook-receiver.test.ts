import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { create } from '../../sandbox/rapidpro';
import * as seed from '../../sandbox/rapidpro/seed';
import receiverAuth from '../../nodes/core/receiver-auth-config';
import receipt from '../../nodes/core/receipt';
import webhookReceiver from '../../nodes/rapidpro/rapidpro-webhook-receiver';
import { helper, httpNode, loadFlow, unloadFlow } from '../support/node-helper';
import { requireSamples, sampleJson } from '../support/samples';

type Sandbox = ReturnType<typeof create>;

const TOKEN = 'demo-webhook-secret';
const credentials = { auth: { token: TOKEN } };

function flow(receiver: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'auth', type: 'chis-receiver-auth', mode: 'header', headerName: 'X-Demo-Token' },
    { id: 'rx', type: 'chis-rapidpro-webhook-receiver', z: 't', path: '/rapidpro/webhook', auth: 'auth', wires: [['out', 'ok']], ...receiver },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'ok', type: 'chis-receipt', z: 't', outcome: 'auto', wires: [] },
  ];
}

const defaultBody = {
  contact: { uuid: seed.CONTACT_CLAUDINE_UUID, name: 'Claudine Mukamana', urn: 'tel:+250788200001' },
  flow: { uuid: seed.PREGNANCY_REMINDERS_FLOW_UUID, name: 'Pregnancy reminders' },
  results: { anc_visit: { value: 'yes', category: 'Yes' } },
};

const post = (body: unknown, token = TOKEN) => request(httpNode()).post('/rapidpro/webhook').set('X-Demo-Token', token).send(body as object);

describe('chis-rapidpro-webhook-receiver node', function () {
  this.timeout(15_000);
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  it('emits the flow editor default body normalised, with the flow as topic, and answers after the confirm', async () => {
    await loadFlow([receiverAuth, receipt, webhookReceiver], flow(), credentials);
    const received = new Promise<any>((resolve) => helper.getNode('out').on('input', resolve));
    const response = await post(defaultBody);
    assert.equal(response.status, 200);
    assert.equal(response.body.status, 'accepted');
    const msg = await received;
    assert.deepEqual(msg.payload, { ...defaultBody, shape: 'default' });
    assert.equal(msg.topic, seed.PREGNANCY_REMINDERS_FLOW_UUID);
    assert.equal(typeof msg._receipt, 'string');
  });

  it('emits the resthook body normalised, and acknowledges its re-send without a second emission', async function () {
    requireSamples(this);
    await loadFlow([receiverAuth, receipt, webhookReceiver], flow(), credentials);
    const sample = sampleJson('rapidpro/resthook-webhook-payload.json');
    const emitted: any[] = [];
    helper.getNode('out').on('input', (msg: any) => emitted.push(msg));
    const first = await post(sample);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { status: 'accepted', id: `run:${sample.run.uuid}` });
    const again = await post(sample);
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'duplicate');
    assert.equal(emitted.length, 1);
    assert.equal(emitted[0].payload.shape, 'resthook');
    assert.equal(emitted[0].payload.run.uuid, sample.run.uuid);
    assert.deepEqual(emitted[0].payload.results.favorite_color, { value: 'red', category: 'Red', name: 'Favorite Color' });
  });

  it('refuses a missing or wrong token with 401 before the flow sees anything', async () => {
    await loadFlow([receiverAuth, receipt, webhookReceiver], flow(), credentials);
    let emitted = 0;
    helper.getNode('out').on('input', () => { emitted += 1; });
    await request(httpNode()).post('/rapidpro/webhook').send(defaultBody).expect(401);
    await post(defaultBody, 'wrong').expect(401);
    assert.equal(emitted, 0);
  });

  it('answers 400 to bodies no flow sends, and ignores flows outside its list with a 2xx', async () => {
    await loadFlow([receiverAuth, receipt, webhookReceiver], flow({ flows: [seed.FOLLOW_UP_SURVEY_FLOW_UUID] }), credentials);
    let emitted = 0;
    helper.getNode('out').on('input', () => { emitted += 1; });
    const invalid = await post({ results: {} });
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.error, /contact\.uuid/);
    const skipped = await post(defaultBody);
    assert.equal(skipped.status, 200);
    assert.equal(skipped.body.status, 'skipped');
    assert.equal(emitted, 0);
  });

  describe('with the RapidPro sandbox calling the webhook', () => {
    let app: Sandbox;
    let base: string;
    const control = (path: string, body: unknown) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

    before(async () => {
      app = create();
      base = `http://127.0.0.1:${await app.listen(0)}`;
    });
    after(() => app.close());

    for (const shape of ['default', 'resthook'] as const) {
      it(`receives a completed run in the ${shape} shape`, async () => {
        await loadFlow([receiverAuth, receipt, webhookReceiver], flow(), credentials);
        // The test runtime does not serve its HTTP-in app: put it on a port the sandbox can call.
        const server = http.createServer(httpNode());
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        try {
          const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rapidpro/webhook`;
          await control('/_sandbox/clients', { name: 'webhook', url, shape, auth: { type: 'header', name: 'X-Demo-Token', value: TOKEN } });
          const received = new Promise<any>((resolve) => helper.getNode('out').on('input', resolve));
          await control('/_sandbox/runs', { contact: seed.CONTACT_DIANE_UUID, flow: seed.FOLLOW_UP_SURVEY_FLOW_UUID, results: { feeling: 'bad' } });
          const msg = await received;
          assert.equal(msg.payload.shape, shape);
          assert.equal(msg.payload.contact.uuid, seed.CONTACT_DIANE_UUID);
          assert.deepEqual({ value: msg.payload.results.feeling.value, category: msg.payload.results.feeling.category }, { value: 'bad', category: 'Bad' });
          assert.equal(msg.topic, seed.FOLLOW_UP_SURVEY_FLOW_UUID);
          const deliveries = async () => (await (await fetch(`${base}/_sandbox/deliveries`)).json()) as Array<{ status: number }>;
          for (let tries = 0; tries < 50 && (await deliveries()).length === 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
          assert.deepEqual((await deliveries()).map((delivery) => delivery.status), [200]);
        } finally {
          await control('/_sandbox/clients', { name: 'webhook' });
          await fetch(`${base}/_sandbox/deliveries`, { method: 'DELETE' });
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
      });
    }
  });
});
