import assert from 'node:assert/strict';
import request from 'supertest';
import receiverAuth from '../../nodes/core/receiver-auth-config';
import receipt from '../../nodes/core/receipt';
import outboxIn from '../../nodes/core/outbox-in';
import outboxOut from '../../nodes/core/outbox-out';
import testReceiver from './fixtures/test-receiver';
import { eventually } from '../support/flow-harness';
import { helper, httpNode, loadFlow, unloadFlow } from '../support/node-helper';

const GOOD = `Basic ${Buffer.from('demo:demo-secret').toString('base64')}`;
const credentials = { auth: { username: 'demo', password: 'demo-secret' } };
const INITS = [receiverAuth, receipt, outboxIn, outboxOut, testReceiver];

interface FlowOptions { maxQueued?: number; withSender?: boolean; threshold?: number; cooldownMs?: number; maxAttempts?: number; confirmTimeoutMs?: number; secondSender?: boolean }

/** receiver -> outbox in; outbox out -> "work" (the test plays the writer) -> confirm / reject. */
function flow(options: FlowOptions = {}): object[] {
  const nodes: object[] = [
    { id: 't', type: 'tab' },
    { id: 'auth', type: 'chis-receiver-auth', mode: 'basic' },
    { id: 'rx', type: 'test-receiver', z: 't', path: '/outbox/in', auth: 'auth', timeoutMs: 3_000, wires: [['in']] },
    { id: 'in', type: 'chis-outbox-in', z: 't', queue: 'encounters', keyType: 'msg', key: 'payload.id', maxQueued: options.maxQueued ?? 1_000, retryAfterSeconds: 7, wires: [['stored']] },
    { id: 'stored', type: 'helper', z: 't' },
    { id: 'ok', type: 'chis-receipt', z: 't', outcome: 'auto', wires: [] },
    { id: 'ko', type: 'chis-receipt', z: 't', outcome: 'auto', wires: [] },
  ];
  if (options.withSender !== false) {
    nodes.push(
      {
        id: 'out', type: 'chis-outbox-out', z: 't', queue: 'encounters', concurrency: 2, maxAttempts: options.maxAttempts ?? 5,
        backoffBaseMs: 100, backoffMaxMs: 400, breakerThreshold: options.threshold ?? 50, breakerCooldownMs: options.cooldownMs ?? 1_000,
        confirmTimeoutMs: options.confirmTimeoutMs ?? 3_000, wires: [['work']],
      },
      { id: 'work', type: 'helper', z: 't' },
    );
  }
  if (options.secondSender) nodes.push({ id: 'out2', type: 'chis-outbox-out', z: 't', queue: 'encounters', wires: [[]] });
  return nodes;
}

type Verdict = 'ok' | 'retry' | 'permanent' | 'silent';
interface Work { id: string; attempt: number; at: number }

/** Plays the writer: each message emitted by outbox out gets the verdict `decide` returns. */
function playWriter(decide: (msg: any) => Verdict): Work[] {
  const seen: Work[] = [];
  helper.getNode('work').on('input', (msg: any) => {
    seen.push({ id: msg.payload.id, attempt: msg.outbox.attempt, at: Date.now() });
    const verdict = decide(msg);
    if (verdict === 'ok') helper.getNode('ok').receive(msg);
    if (verdict === 'retry') helper.getNode('ko').receive({ ...msg, error: { message: 'OpenMRS is down', code: 'unreachable', cause: { retryable: true } } });
    if (verdict === 'permanent') {
      helper.getNode('ko').receive({ ...msg, error: { message: 'Patient is required', code: 'validation', cause: { retryable: false, status: 400 } } });
    }
  });
  return seen;
}

function statusesOf(id: string): string[] {
  const statuses: string[] = [];
  helper.getNode(id).on('call:status', (call: any) => statuses.push(String(call.args[0]?.text ?? '')));
  return statuses;
}

const post = (body: object) => request(httpNode()).post('/outbox/in').set('Authorization', GOOD).send(body);
const queues = async () => (await helper.request().get('/chis/outbox').expect(200)).body.queues as Array<Record<string, any>>;
const deadLetters = async () => (await helper.request().get('/chis/outbox/dead-letters?queue=encounters').expect(200)).body.deadLetters as Array<Record<string, any>>;

describe('outbox in / outbox out nodes (durable delivery)', function () {
  this.timeout(30_000);
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  it('answers the sender once the message is stored, then sends it and confirms delivery', async () => {
    await loadFlow(INITS, flow(), credentials);
    const stored = new Promise<any>((resolve) => helper.getNode('stored').on('input', resolve));
    const seen = playWriter(() => 'ok');
    const outStatuses = statusesOf('out');
    const response = await post({ id: 'form-1', weight: 61.5 });
    assert.equal(response.status, 200);
    assert.equal(response.body.status, 'accepted');
    const storedMsg = await stored;
    assert.equal(storedMsg._receipt, undefined, 'the receipt was settled by outbox in');
    assert.equal(storedMsg.outbox.duplicate, false);
    await eventually(async () => (await queues()).find((queue) => queue.queue === 'encounters')?.depth === 0 && seen.length === 1);
    assert.deepEqual(seen.map((work) => [work.id, work.attempt]), [['form-1', 1]]);
    await eventually(() => outStatuses.some((text) => /sent 1/.test(text)), 3_000);
  });

  it('retries a retryable failure with a growing backoff, then delivers once', async () => {
    await loadFlow(INITS, flow(), credentials);
    const seen = playWriter((msg) => (msg.outbox.attempt < 3 ? 'retry' : 'ok'));
    await post({ id: 'form-2' }).expect(200);
    await eventually(() => seen.length === 3, 10_000);
    await eventually(async () => (await queues())[0]?.depth === 0);
    assert.deepEqual(seen.map((work) => work.attempt), [1, 2, 3]);
    const gaps = [seen[1].at - seen[0].at, seen[2].at - seen[1].at];
    assert.ok(gaps[0] >= 75, `first backoff ${gaps[0]} ms (base 100 ms, jitter ±20%)`);
    assert.ok(gaps[1] >= 150, `second backoff ${gaps[1]} ms (doubled)`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(seen.length, 3, 'nothing sent after delivery');
  });

  it('counts no confirmation within the timeout as retryable', async () => {
    await loadFlow(INITS, flow({ confirmTimeoutMs: 200 }), credentials);
    const seen = playWriter((msg) => (msg.outbox.attempt === 1 ? 'silent' : 'ok'));
    await post({ id: 'form-silent' }).expect(200);
    await eventually(async () => seen.length === 2 && (await queues())[0]?.depth === 0, 5_000);
  });

  it('makes a permanent failure a dead letter, listed with its error and payload, then retries or discards it from the admin API', async () => {
    await loadFlow(INITS, flow(), credentials);
    let fixed = false;
    const seen = playWriter((msg) => (fixed ? 'ok' : msg.payload.id === 'form-4' || msg.payload.id === 'form-5' ? 'permanent' : 'ok'));
    const outStatuses = statusesOf('out');
    await post({ id: 'form-4', name: 'no patient' }).expect(200);
    await post({ id: 'form-5' }).expect(200);
    const letters = await eventually(async () => {
      const listed = await deadLetters();
      return listed.length === 2 ? listed : undefined;
    });
    const four = letters.find((letter) => letter.key === 'form-4');
    assert.ok(four);
    assert.deepEqual(four.error, { code: 'validation', message: 'Patient is required', status: 400 });
    assert.deepEqual(four.msg.payload, { id: 'form-4', name: 'no patient' });
    assert.equal(four.attempts, 1, 'a permanent error is not retried');
    assert.equal((await queues())[0].dead, 2);
    await eventually(() => outStatuses.some((text) => /dead 2/.test(text)), 3_000);

    fixed = true;
    await helper.request().post(`/chis/outbox/dead-letters/${four.id}/retry`).expect(200);
    await eventually(() => seen.filter((work) => work.id === 'form-4').length === 2, 5_000);
    const five = letters.find((letter) => letter.key === 'form-5');
    assert.ok(five);
    await helper.request().delete(`/chis/outbox/dead-letters/${five.id}`).expect(200);
    await helper.request().delete(`/chis/outbox/dead-letters/${five.id}`).expect(404);
    await helper.request().post('/chis/outbox/dead-letters/999999/retry').expect(404);
    await eventually(async () => (await deadLetters()).length === 0 && (await queues()).every((queue) => queue.depth === 0));
    assert.equal(seen.filter((work) => work.id === 'form-5').length, 1, 'a discarded letter is not sent');
  });

  it('dead-letters a message that runs out of attempts', async () => {
    await loadFlow(INITS, flow({ maxAttempts: 2 }), credentials);
    const seen = playWriter(() => 'retry');
    await post({ id: 'form-6' }).expect(200);
    const [letter] = await eventually(async () => {
      const listed = await deadLetters();
      return listed.length ? listed : undefined;
    }, 5_000);
    assert.equal(letter.attempts, 2);
    assert.equal(letter.error.code, 'unreachable');
    assert.equal(seen.length, 2);
  });

  it('opens the circuit after consecutive failures, sends nothing during the cooldown, and resumes once the system is back', async () => {
    await loadFlow(INITS, flow({ threshold: 2, cooldownMs: 1_500 }), credentials);
    let up = false;
    const seen = playWriter(() => (up ? 'ok' : 'retry'));
    const outStatuses = statusesOf('out');
    for (let i = 0; i < 4; i += 1) await post({ id: `form-b${i}` }).expect(200);
    await eventually(async () => (await queues())[0]?.circuit === 'open', 5_000);
    await eventually(() => outStatuses.some((text) => /circuit open \(retry in \d+ s\)/.test(text)), 3_000);
    const sentWhenOpened = seen.length;
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(seen.length, sentWhenOpened, 'nothing is sent while the circuit is open');
    up = true;
    await eventually(async () => (await queues())[0]?.depth === 0, 10_000);
    const afterOpen = seen.slice(sentWhenOpened);
    assert.ok(afterOpen.length >= 4, 'every message was delivered');
    assert.equal((await queues())[0].circuit, 'closed');
  });

  it('answers 503 with Retry-After through a real receiver when the queue is past its bound', async () => {
    await loadFlow(INITS, flow({ maxQueued: 2, withSender: false }), credentials);
    const inStatuses = statusesOf('in');
    await post({ id: 'a' }).expect(200);
    await post({ id: 'b' }).expect(200);
    const refused = await post({ id: 'c' });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '7');
    assert.equal(refused.body.code, 'rate-limited');
    const again = await post({ id: 'a' });
    assert.equal(again.status, 200, 'a re-send of a stored message is still acknowledged');
    assert.equal((await queues())[0].depth, 2);
    assert.ok(inStatuses.some((text) => /queued 2/.test(text)), inStatuses.join(' | '));
  });

  it('stores a message re-sent under the same dedup key once', async () => {
    await loadFlow(INITS, flow({ withSender: false }), credentials);
    const outputs: any[] = [];
    helper.getNode('stored').on('input', (msg: any) => outputs.push(msg));
    // Straight into outbox in (no receiver, whose own de-duplication would hide the outbox's).
    helper.getNode('in').receive({ payload: { id: 'form-7', v: 1 } });
    helper.getNode('in').receive({ payload: { id: 'form-7', v: 1 } });
    helper.getNode('in').receive({ payload: { id: 'form-8' } });
    await eventually(() => outputs.length === 3);
    assert.deepEqual(outputs.map((msg) => msg.outbox.duplicate), [false, true, false]);
    assert.equal(outputs[0].outbox.id, outputs[1].outbox.id);
    assert.equal((await queues())[0].depth, 2);
  });

  it('refuses a second outbox out on the same queue with a clear status', async () => {
    await loadFlow(INITS, flow({ secondSender: true }), credentials);
    const second = helper.getNode('out2');
    const statuses: string[] = [];
    second.on('call:status', (call: any) => statuses.push(call.args[0]?.text));
    // The status was set in the constructor: read it from the spy's history.
    const history = (second.status as any).getCalls?.().map((call: any) => call.args[0]?.text) ?? statuses;
    assert.ok(history.some((text: string) => /already sent by node out/.test(text)), JSON.stringify(history));
  });
});
