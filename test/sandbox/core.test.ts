import assert from 'node:assert/strict';
import { SandboxApp, basicAuth } from '../../sandbox/core';

describe('sandbox kit', () => {
  let app: SandboxApp;
  let base: string;
  let items: string[];

  beforeEach(async () => {
    app = new SandboxApp({
      name: 'toy',
      auth: basicAuth('admin', 'secret'),
      reset: () => { items = ['seeded']; },
    });
    app.get('/items', () => ({ status: 200, body: { items } }));
    app.post('/items', (req) => {
      items.push(String((req.body as { name: string }).name));
      return { status: 201, body: { created: true } };
    });
    app.get('/items/:id', (req) => ({ status: 200, body: { id: req.params.id } }));
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });

  afterEach(() => app.close());

  const auth = { Authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` };
  const json = { ...auth, 'Content-Type': 'application/json' };

  it('routes with params and checks auth', async () => {
    assert.equal((await fetch(`${base}/items`)).status, 401);
    const response = await fetch(`${base}/items/abc`, { headers: auth });
    assert.deepEqual(await response.json(), { id: 'abc' });
    assert.equal((await fetch(`${base}/nothing`, { headers: auth })).status, 404);
    assert.equal((await fetch(`${base}/items/abc`, { method: 'DELETE', headers: auth })).status, 405);
  });

  it('resets state and re-seeds', async () => {
    await fetch(`${base}/items`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'new' }) });
    assert.deepEqual(((await (await fetch(`${base}/items`, { headers: auth })).json()) as { items: string[] }).items, ['seeded', 'new']);
    await fetch(`${base}/_sandbox/reset`, { method: 'POST' });
    assert.deepEqual(((await (await fetch(`${base}/items`, { headers: auth })).json()) as { items: string[] }).items, ['seeded']);
  });

  it('injects status faults with Retry-After for only the next N requests', async () => {
    await fetch(`${base}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: '^/items$', status: 429, retryAfter: 2, count: 2 }) });
    const first = await fetch(`${base}/items`, { headers: auth });
    assert.equal(first.status, 429);
    assert.equal(first.headers.get('retry-after'), '2');
    assert.equal((await fetch(`${base}/items`, { headers: auth })).status, 429);
    assert.equal((await fetch(`${base}/items`, { headers: auth })).status, 200);
  });

  it('drops connections and hangs on request', async () => {
    await fetch(`${base}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify([{ path: 'abc', reset: true, count: 1 }, { path: 'hang', hang: true }]) });
    await assert.rejects(fetch(`${base}/items/abc`, { headers: auth }));
    await assert.rejects(fetch(`${base}/items/hang`, { headers: auth, signal: AbortSignal.timeout(200) }));
    await fetch(`${base}/_sandbox/faults`, { method: 'DELETE' });
    assert.equal((await fetch(`${base}/items/hang`, { headers: auth })).status, 200);
  });

  it('adds latency without failing', async () => {
    await fetch(`${base}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: '.*', latencyMs: 50 }) });
    const started = Date.now();
    assert.equal((await fetch(`${base}/items`, { headers: auth })).status, 200);
    assert.ok(Date.now() - started >= 45);
  });

  it('logs requests with body hashes for duplicate checks', async () => {
    const body = JSON.stringify({ name: 'x' });
    await fetch(`${base}/items`, { method: 'POST', headers: json, body });
    await fetch(`${base}/items`, { method: 'POST', headers: json, body });
    const log = await (await fetch(`${base}/_sandbox/requests?method=POST&path=^/items$`)).json() as Array<{ bodyHash: string; status: number }>;
    assert.equal(log.length, 2);
    assert.equal(log[0].bodyHash, log[1].bodyHash);
    assert.equal(log[0].status, 201);
  });

  it('answers 400 to malformed JSON and keeps serving', async () => {
    const response = await fetch(`${base}/items`, { method: 'POST', headers: json, body: '{broken' });
    assert.equal(response.status, 400);
    assert.equal((await fetch(`${base}/items`, { headers: auth })).status, 200);
  });

  it('stores outbound client configs without echoing secrets', async () => {
    await fetch(`${base}/_sandbox/clients`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'forwarding', url: 'http://127.0.0.1:1/x', auth: { type: 'basic', username: 'u', password: 'p' } }) });
    const listed = await (await fetch(`${base}/_sandbox/clients`)).json() as Array<Record<string, unknown>>;
    assert.deepEqual(listed, [{ name: 'forwarding', url: 'http://127.0.0.1:1/x', auth: 'basic' }]);
    assert.equal(app.clients.get('forwarding')?.url, 'http://127.0.0.1:1/x');
  });
});
