import assert from 'node:assert/strict';
import request from 'supertest';
import receiverAuth from '../../nodes/core/receiver-auth-config';
import receipt from '../../nodes/core/receipt';
import testReceiver from './fixtures/test-receiver';
import { settleReceipt, type ReceiptOutcome } from '../../nodes/core/receipts';
import { helper, httpNode, loadFlow, unloadFlow } from '../support/node-helper';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const GOOD = basic('demo', 'demo-secret');

function flow(options: { mode?: string; confirm?: 'auto' | 'none'; timeoutMs?: number } = {}) {
  const nodes: object[] = [
    { id: 't', type: 'tab' },
    { id: 'auth', type: 'chis-receiver-auth', mode: options.mode ?? 'basic' },
    { id: 'rx', type: 'test-receiver', z: 't', path: '/test/in', auth: 'auth', timeoutMs: options.timeoutMs ?? 2_000, wires: [['out']] },
    { id: 'out', type: 'helper', z: 't' },
  ];
  if (options.confirm !== 'none') {
    nodes.push({ id: 'ok', type: 'chis-receipt', z: 't', outcome: 'auto', wires: [] });
    (nodes[2] as { wires: string[][] }).wires = [['out', 'ok']];
  }
  return nodes;
}

const credentials = { auth: { username: 'demo', password: 'demo-secret' } };

describe('receiver endpoints and receipts (core)', function () {
  this.timeout(10_000);
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  it('answers 2xx only after the flow confirms, and emits the parsed body', async () => {
    await loadFlow([receiverAuth, receipt, testReceiver], flow(), credentials);
    const received = new Promise<any>((resolve) => helper.getNode('out').on('input', resolve));
    const response = await request(httpNode()).post('/test/in').set('Authorization', GOOD).send({ id: 'form-1', weight: 3.2 });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: 'accepted', id: 'form-1' });
    const msg = await received;
    assert.deepEqual(msg.payload, { id: 'form-1', weight: 3.2 });
    assert.equal(typeof msg._receipt, 'string');
    assert.equal(JSON.stringify(msg).includes('demo-secret'), false);
    assert.equal(msg.req, undefined);
  });

  it('acknowledges a re-sent message without emitting it again', async () => {
    await loadFlow([receiverAuth, receipt, testReceiver], flow(), credentials);
    let emitted = 0;
    helper.getNode('out').on('input', () => { emitted += 1; });
    await request(httpNode()).post('/test/in').set('Authorization', GOOD).send({ id: 'form-2' }).expect(200);
    const again = await request(httpNode()).post('/test/in').set('Authorization', GOOD).send({ id: 'form-2' });
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'duplicate');
    assert.equal(emitted, 1);
  });

  it('refuses wrong or missing credentials with 401 before the flow sees anything', async () => {
    await loadFlow([receiverAuth, receipt, testReceiver], flow(), credentials);
    let emitted = 0;
    helper.getNode('out').on('input', () => { emitted += 1; });
    const missing = await request(httpNode()).post('/test/in').send({ id: 'x' });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['www-authenticate'], 'Basic realm="chis"');
    await request(httpNode()).post('/test/in').set('Authorization', basic('demo', 'wrong')).send({ id: 'x' }).expect(401);
    assert.equal(emitted, 0);
  });

  it('rejects malformed JSON, unsafe XML, wrong content types and oversized bodies with clear errors', async () => {
    await loadFlow([receiverAuth, receipt, testReceiver], flow(), credentials);
    const malformed = await request(httpNode()).post('/test/in').set('Authorization', GOOD).set('Content-Type', 'application/json').send('{"id": ');
    assert.equal(malformed.status, 400);
    assert.match(malformed.body.error, /malformed JSON/);
    const xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>';
    const unsafe = await request(httpNode()).post('/test/in').set('Authorization', GOOD).set('Content-Type', 'application/xml').send(xxe);
    assert.equal(unsafe.status, 400);
    assert.match(unsafe.body.error, /DOCTYPE/);
    const text = await request(httpNode()).post('/test/in').set('Authorization', GOOD).set('Content-Type', 'text/plain').send('hello');
    assert.equal(text.status, 415);
    const big = await request(httpNode()).post('/test/in').set('Authorization', GOOD).send({ id: 'big', blob: 'x'.repeat(10_000) });
    assert.equal(big.status, 413);
    const invalid = await request(httpNode()).post('/test/in').set('Authorization', GOOD).send({ invalid: true });
    assert.equal(invalid.status, 400);
  });

  it('parses XML bodies with attributes as @keys', async () => {
    await loadFlow([receiverAuth, receipt, testReceiver], flow(), credentials);
    const received = new Promise<any>((resolve) => helper.getNode('out').on('input', resolve));
    await request(httpNode()).post('/test/in').set('Authorization', GOOD).set('Content-Type', 'text/xml')
      .send('<data id="xml-1" xmlns="http://example.org/form"><weight>3</weight></data>').expect(200);
    const msg = await received;
    assert.equal(msg.payload.data['@id'], 'xml-1');
    assert.equal(msg.payload.data.weight, '3');
  });

  it('acknowledges skipped messages without emitting them', async () => {
    await loadFlow([receiverAuth, receipt, testReceiver], flow(), credentials);
    let emitted = 0;
    helper.getNode('out').on('input', () => { emitted += 1; });
    const response = await request(httpNode()).post('/test/in').set('Authorization', GOOD).send({ id: 'other', skip: true });
    assert.equal(response.status, 200);
    assert.equal(response.body.status, 'skipped');
    assert.equal(emitted, 0);
  });

  it('tells the sender to retry when the flow fails with a retryable error, and to stop on bad input', async () => {
    await loadFlow([receiverAuth, receipt, testReceiver], flow({ confirm: 'none' }), credentials);
    const out = helper.getNode('out');
    // What a confirm node does for a message that a Catch node routed after a failed writer.
    const confirm = (outcome: ReceiptOutcome) => (msg: { _receipt: string }) => { settleReceipt(msg._receipt, outcome); };
    out.once('input', confirm({ accepted: false, code: 'timeout', message: 'OpenMRS timed out', retryable: true }));
    const retry = await request(httpNode()).post('/test/in').set('Authorization', GOOD).send({ id: 'f-retry' });
    assert.equal(retry.status, 503);
    assert.equal(retry.headers['retry-after'], '60');
    assert.equal(retry.body.code, 'timeout');
    out.once('input', confirm({ accepted: false, code: 'bad-input', message: 'weight is not a number', retryable: false }));
    const stop = await request(httpNode()).post('/test/in').set('Authorization', GOOD).send({ id: 'f-bad' });
    assert.equal(stop.status, 422);
    // A rejected message is not remembered as done: its re-send is processed again.
    out.once('input', confirm({ accepted: true }));
    await request(httpNode()).post('/test/in').set('Authorization', GOOD).send({ id: 'f-retry' }).expect(200);
  });

  it('answers 503 when no confirm node settles the receipt in time', async () => {
    await loadFlow([receiverAuth, receipt, testReceiver], flow({ confirm: 'none', timeoutMs: 200 }), credentials);
    const response = await request(httpNode()).post('/test/in').set('Authorization', GOOD).send({ id: 'lonely' });
    assert.equal(response.status, 503);
    assert.equal(response.body.code, 'no-receipt');
  });

  it('lets anonymous senders in only with the explicit none mode', async () => {
    await loadFlow([receiverAuth, receipt, testReceiver], flow({ mode: 'none' }), {});
    await request(httpNode()).post('/test/in').send({ id: 'anon' }).expect(200);
  });
});
