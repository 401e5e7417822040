/**
 * Security of the real receiver nodes in a running Node-RED: authentication by default,
 * anonymous access only by opt-in (yellow status), size and content-type limits, malformed and
 * hostile bodies answered 4xx without reaching the flow, and an HTTP fuzz run the runtime survives.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import receiverAuth from '../../nodes/core/receiver-auth-config';
import receipt from '../../nodes/core/receipt';
import formReceiver from '../../nodes/commcare/commcare-form-receiver';
import webhookReceiver from '../../nodes/rapidpro/rapidpro-webhook-receiver';
import { helper, httpNode, loadFlow, unloadFlow } from '../support/node-helper';

const USER = 'hq-forwarder';
const PASSWORD = 'S3cure-forward-pass';
const GOOD = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

interface ReceiverCase {
  type: string;
  init: (RED: any) => void;
  path: string;
  formats: string[];
  maxBytes: number;
  /** A body this receiver accepts and emits. */
  valid: object;
}

const RECEIVERS: ReceiverCase[] = [
  {
    type: 'chis-commcare-form-receiver', init: formReceiver, path: '/sec/commcare/forms', formats: ['json', 'xml'], maxBytes: 5 * 1024 * 1024,
    valid: { id: 'f-1', form: { '@xmlns': 'http://example.org/sec', meta: { instanceID: 'f-1' } }, app_id: 'a1', received_on: '2026-01-01T00:00:00Z' },
  },
  {
    type: 'chis-rapidpro-webhook-receiver', init: webhookReceiver, path: '/sec/rapidpro/webhook', formats: ['json'], maxBytes: 1024 * 1024,
    valid: { contact: { uuid: 'c0a8b2d4-0000-4000-8000-000000000001', name: 'Sec Test', urn: 'tel:+250788000001' }, flow: { uuid: 'f0a8b2d4-0000-4000-8000-000000000001', name: 'Sec' }, results: {} },
  },
];

function flow(receiver: ReceiverCase, auth: { mode?: string; none?: boolean }): object[] {
  const nodes: object[] = [
    { id: 't', type: 'tab' },
    { id: 'rx', type: receiver.type, z: 't', path: receiver.path, auth: auth.none ? '' : 'auth', receiptTimeoutMs: 3_000, wires: [['out', 'ok']] },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'ok', type: 'chis-receipt', z: 't', outcome: 'auto', wires: [] },
  ];
  if (!auth.none) nodes.push({ id: 'auth', type: 'chis-receiver-auth', mode: auth.mode ?? 'basic' });
  return nodes;
}

interface RawResponse { status: number; text: string; body: any }

/**
 * Sends bytes exactly as given (supertest would JSON-serialise a Buffer sent as application/json),
 * through a real socket to the runtime's httpNode app.
 */
async function rawPost(path: string, body: Buffer, headers: Record<string, string>): Promise<RawResponse> {
  const server = http.createServer(httpNode());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await new Promise<RawResponse>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, method: 'POST', path, headers: { ...headers, 'Content-Length': String(body.length), Connection: 'close' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try { parsed = JSON.parse(text); } catch { parsed = undefined; }
          resolve({ status: res.statusCode ?? 0, text, body: parsed ?? {} });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    server.close();
  }
}

/** Every status the node with this id has shown so far (the helper spies on Node.prototype). */
function statuses(id: string): Array<{ fill?: string; shape?: string; text?: string }> {
  const node = helper.getNode(id);
  return node.status.getCalls().filter((call: any) => call.thisValue === node).map((call: any) => call.args[0]);
}

function countOutput(): { count: number } {
  const counter = { count: 0 };
  helper.getNode('out').on('input', () => { counter.count += 1; });
  return counter;
}

for (const receiver of RECEIVERS) {
  describe(`security: ${receiver.type} in a running Node-RED`, function () {
    this.timeout(60_000);
    beforeEach(() => helper.startServer());
    afterEach(async () => {
      await unloadFlow();
      await helper.stopServer();
    });

    const post = (body: string | Buffer, type = 'application/json', auth: string | null = GOOD) =>
      rawPost(receiver.path, Buffer.isBuffer(body) ? body : Buffer.from(body), { 'Content-Type': type, ...(auth ? { Authorization: auth } : {}) });

    it('without an authentication config refuses every request with 401 and shows a red status', async () => {
      await loadFlow([receiverAuth, receipt, receiver.init], flow(receiver, { none: true }));
      const output = countOutput();
      const status = statuses('rx').at(-1);
      assert.equal(status?.fill, 'red');
      assert.match(status?.text ?? '', /no authentication/);
      for (const auth of [null, GOOD, 'Bearer anything']) {
        const response = await post(JSON.stringify(receiver.valid), 'application/json', auth);
        assert.equal(response.status, 401);
        assert.equal(response.body.error, 'unauthorized');
      }
      assert.equal(output.count, 0);
    });

    it('with credentials configured refuses missing and wrong ones with 401 before the flow', async () => {
      await loadFlow([receiverAuth, receipt, receiver.init], flow(receiver, {}), { auth: { username: USER, password: PASSWORD } });
      const output = countOutput();
      for (const auth of [null, `Basic ${Buffer.from(`${USER}:wrong`).toString('base64')}`, `Bearer ${PASSWORD}`, 'Basic !!!notbase64']) {
        const response = await post(JSON.stringify(receiver.valid), 'application/json', auth);
        assert.equal(response.status, 401, String(auth));
      }
      assert.equal(output.count, 0);
      // Authentication comes before parsing: a bad body from a stranger learns nothing.
      assert.equal((await post('{not json', 'application/json', null)).status, 401);
    });

    it('lets anonymous senders in only with the explicit "none" mode, and warns with a yellow status', async () => {
      await loadFlow([receiverAuth, receipt, receiver.init], flow(receiver, { mode: 'none' }));
      const first = statuses('rx').at(-1);
      assert.equal(first?.fill, 'yellow');
      assert.match(first?.text ?? '', /NO AUTH/);
      const response = await post(JSON.stringify(receiver.valid), 'application/json', null);
      assert.notEqual(response.status, 401);
      assert.ok(response.status < 500, `status ${response.status}`);
      assert.equal(statuses('rx').at(-1)?.fill, 'yellow');
      const warnings = helper.getNode('rx').warn.getCalls().map((call: any) => String(call.args[0]));
      assert.ok(warnings.some((text: string) => /anonymous access/.test(text)), 'the deploy warns about anonymous access');
    });

    it('with a mode but no secret in the credential store refuses everyone and warns at deploy', async () => {
      await loadFlow([receiverAuth, receipt, receiver.init], flow(receiver, { mode: 'bearer' }));
      const output = countOutput();
      const warnings = helper.getNode('rx').warn.getCalls().map((call: any) => String(call.args[0]));
      assert.ok(warnings.some((text: string) => /no token set: every request is refused/.test(text)), warnings.join(' | '));
      for (const auth of [null, 'Bearer ', 'Bearer undefined', 'Bearer null']) {
        assert.equal((await post(JSON.stringify(receiver.valid), 'application/json', auth)).status, 401, String(auth));
      }
      assert.equal(output.count, 0);
    });

    it('refuses oversized bodies (413), unexpected content types (415), malformed and hostile bodies (400)', async () => {
      await loadFlow([receiverAuth, receipt, receiver.init], flow(receiver, {}), { auth: { username: USER, password: PASSWORD } });
      const output = countOutput();
      const huge = await post(JSON.stringify({ padding: 'x'.repeat(receiver.maxBytes + 10) }));
      assert.equal(huge.status, 413);
      assert.match(huge.body.error, /larger than/);
      for (const type of ['text/plain', 'text/html', 'multipart/form-data; boundary=x', 'application/octet-stream', ...(receiver.formats.includes('xml') ? [] : ['application/xml'])]) {
        const response = await post('<x/>', type);
        assert.equal(response.status, 415, type);
        assert.match(response.body.error, /content type must be one of/);
      }
      const malformed = await post('{"name": "Amina Yusuf", "hiv_status": positive}');
      assert.equal(malformed.status, 400);
      assert.match(malformed.body.error, /^malformed JSON/);
      assert.equal(malformed.body.error.includes('positive'), false);
      const deep = await post(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
      assert.equal(deep.status, 400);
      assert.match(deep.body.error, /nested more than/);
      const brokenUtf8 = await post(Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]));
      assert.equal(brokenUtf8.status, 400);
      assert.match(brokenUtf8.body.error, /UTF-8/);
      if (receiver.formats.includes('xml')) {
        const xxe = await post('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><data>&x;</data>', 'application/xml');
        assert.equal(xxe.status, 400);
        assert.match(xxe.body.error, /DOCTYPE/);
        const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><lolz>&lol9;</lolz>`;
        const expansion = await post(laughs, 'text/xml');
        assert.equal(expansion.status, 400);
        assert.equal(expansion.text.includes('lollol'), false);
        const brokenXml = await post('<data><name>Amina</data>', 'application/xml');
        assert.equal(brokenXml.status, 400);
        assert.match(brokenXml.body.error, /^malformed XML/);
        const deepXml = await post(`${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`, 'application/xml');
        assert.equal(deepXml.status, 400);
      }
      assert.equal(output.count, 0);
      // The runtime is still serving, and the status says why the last request was refused.
      assert.equal(statuses('rx').at(-1)?.fill, 'red');
      assert.equal((await post(JSON.stringify(receiver.valid), 'application/json', null)).status, 401);
    });

    it('fuzz over HTTP: random bodies, content types and encodings get 2xx or a 4xx with a message; only accepted ones reach the flow', async () => {
      await loadFlow([receiverAuth, receipt, receiver.init], flow(receiver, {}), { auth: { username: USER, password: PASSWORD } });
      const output = countOutput();
      let accepted = 0;
      const body = fc.oneof(
        fc.jsonValue({ maxDepth: 6 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
        fc.record({ id: fc.string(), form: fc.anything({ maxDepth: 3 }), contact: fc.anything({ maxDepth: 2 }), flow: fc.anything({ maxDepth: 2 }) }, { requiredKeys: [] })
          .map((value) => Buffer.from(JSON.stringify(value) ?? '{}')),
        fc.uint8Array({ maxLength: 3_000 }).map((bytes) => Buffer.from(bytes)),
        fc.string({ unit: 'binary', maxLength: 2_000 }).map((text) => Buffer.from(text)),
        fc.integer({ min: 1, max: 5_000 }).map((depth) => Buffer.from(`${'{"a":['.repeat(depth)}${']}'.repeat(depth)}`)),
        fc.string({ maxLength: 200 }).map((text) => Buffer.from(`<data><x>${text}</x></data>`)),
        fc.integer({ min: 10_000, max: 300_000 }).map((size) => Buffer.from(JSON.stringify({ id: 'big', text: 'é'.repeat(size) }))),
      );
      const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/xml', 'text/xml', 'text/plain', 'application/x-www-form-urlencoded', 'application/fhir+json', '', 'application/json; charset=latin1');
      const encoding = fc.constantFrom('identity', 'gzip', 'none');
      await fc.assert(fc.asyncProperty(body, contentType, encoding, async (raw, type, coding) => {
        const headers: Record<string, string> = { Authorization: GOOD };
        if (type) headers['Content-Type'] = type;
        if (coding !== 'none') headers['Content-Encoding'] = coding;
        const response = await rawPost(receiver.path, coding === 'gzip' ? gzipSync(raw) : raw, headers);
        assert.ok(response.status < 500, `status ${response.status}: ${response.text.slice(0, 200)}`);
        if (response.status >= 400) {
          assert.equal(typeof response.body.error, 'string', response.text.slice(0, 200));
          assert.ok(response.body.error.length > 0);
        } else if (response.body.status === 'accepted') {
          accepted += 1;
        }
      }), { numRuns: 150 });
      assert.equal(output.count, accepted);
      // Still alive and still refusing strangers.
      assert.equal((await post('{}', 'application/json', null)).status, 401);
    });
  });
}
