import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { basicAuth, headerAuth } from '../../nodes/core/auth';
import { classifyStatus } from '../../nodes/core/errors';
import { HttpClient } from '../../nodes/core/http-client';
import { runForMessage, setExchangeSink } from '../../nodes/core/request-context';
import { type RequestLogInput, RequestLog, logBody, parseStatusFilter, truncateBytes } from '../../nodes/core/request-log';
import { REDACTED } from '../../nodes/core/redact';
import { acquireDatabase } from '../../nodes/core/sqlite';

const DAY_MS = 86_400_000;

function entry(overrides: Partial<RequestLogInput> = {}): RequestLogInput {
  return { time: Date.now(), system: 'openmrs', method: 'POST', url: 'http://openmrs/ws/rest/v1/encounter', status: 201, durationMs: 12, attempt: 1, ...overrides };
}

describe('request log', () => {
  let dir: string;
  let held: ReturnType<typeof acquireDatabase>;
  let log: RequestLog;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-request-log-'));
    held = acquireDatabase(dir, 'request-log');
    log = new RequestLog(held.db, { settings: { maxBodyBytes: 256, retentionDays: 7 } });
  });
  afterEach(() => {
    log.close();
    held.release();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('cuts bodies at the configured size in UTF-8 bytes, with a marker giving the full size', () => {
    const long = 'é'.repeat(1000);
    log.record(entry({ requestBody: long, responseBody: 'short' }));
    const [stored] = log.search();
    assert.match(stored.requestBody ?? '', /… \[truncated: 2000 bytes\]$/);
    const kept = (stored.requestBody ?? '').replace(/… \[truncated.*$/, '');
    assert.ok(Buffer.byteLength(kept) <= 256);
    assert.equal(kept, 'é'.repeat(128));
    assert.equal(stored.responseBody, 'short');
    assert.equal(truncateBytes('abc', 3), 'abc');
    assert.equal(logBody('anything', [], 0), null);
  });

  it('redacts a password in a JSON body, known secrets, and an echoed Authorization header', () => {
    const authorization = `Basic ${Buffer.from('admin:Admin123').toString('base64')}`;
    log.record(entry({
      requestBody: JSON.stringify({ username: 'nurse', password: 'Hunter2!', person: { names: [{ givenName: 'Amina' }] } }),
      responseBody: JSON.stringify({ echoed: { headers: { authorization } }, note: `sent with ${authorization}` }),
      secrets: ['admin:Admin123', 'Admin123', authorization],
    }));
    log.record(entry({
      requestBody: 'grant_type=password&username=svc&password=s3cr3t-pw&client_secret=abc123xyz',
      responseBody: `POST /x HTTP/1.1\r\nAuthorization: Bearer tok-999-xyz\r\nX-Api-Key: k-1234\r\n\r\n<login><password>xml-pass-1</password></login>`,
      url: 'http://dhis2/api/me?access_token=tok-in-url',
    }));
    const [text, json] = log.search();
    assert.deepEqual(JSON.parse(json.requestBody ?? ''), { username: 'nurse', password: REDACTED, person: { names: [{ givenName: 'Amina' }] } });
    assert.equal(JSON.parse(json.responseBody ?? '').echoed.headers.authorization, REDACTED);
    assert.equal(JSON.parse(json.responseBody ?? '').note, `sent with ${REDACTED}`);
    const all = JSON.stringify([text, json]);
    for (const secret of ['Hunter2!', 'Admin123', Buffer.from('admin:Admin123').toString('base64'), 's3cr3t-pw', 'abc123xyz', 'tok-999-xyz', 'k-1234', 'xml-pass-1']) {
      assert.equal(all.includes(secret), false, `${secret} is in the log`);
    }
    assert.match(text.requestBody ?? '', /username=svc/);
    assert.match(text.responseBody ?? '', /<login><password>\[redacted\]<\/password><\/login>/);
    assert.equal(text.url, `http://dhis2/api/me?access_token=${REDACTED}`);
  });

  it('finds entries by correlation id and by status class, newest first', () => {
    log.record(entry({ correlationId: 'form-1', status: 503, attempt: 1 }));
    log.record(entry({ correlationId: 'form-1', status: null, error: 'timeout', attempt: 2 }));
    log.record(entry({ correlationId: 'form-1', status: 201, attempt: 3 }));
    log.record(entry({ correlationId: 'form-2', status: 404, system: 'dhis2', method: 'GET' }));
    log.record(entry({ correlationId: 'form-2', status: 500, system: 'dhis2' }));
    assert.deepEqual(log.search({ correlationId: 'form-1' }).map((found) => found.attempt), [3, 2, 1]);
    assert.deepEqual(log.search({ status: '5xx' }).map((found) => [found.correlationId, found.status]), [['form-2', 500], ['form-1', 503]]);
    assert.deepEqual(log.search({ status: '4xx' }).map((found) => found.status), [404]);
    assert.deepEqual(log.search({ status: 500 }).map((found) => found.status), [500]);
    const failed = log.search({ status: 'error' });
    assert.deepEqual(failed.map((found) => [found.status, found.error]), [[null, 'timeout']]);
    assert.deepEqual(log.search({ correlationId: 'form-1', status: '2xx' }).map((found) => found.status), [201]);
    assert.deepEqual(log.search({ system: 'dhis2' }).length, 2);
    assert.equal(log.search({ status: 'bogus' }).length, 0);
    assert.equal(log.search({ limit: 2 }).length, 2);
    assert.deepEqual(parseStatusFilter('5XX'), { from: 500, to: 599 });
    assert.equal(parseStatusFilter(''), undefined);
  });

  it('prunes entries older than the retention period', () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    log.record(entry({ time: now - 8 * DAY_MS, correlationId: 'old' }));
    log.record(entry({ time: now - 6 * DAY_MS, correlationId: 'recent' }));
    log.record(entry({ time: now, correlationId: 'new' }));
    assert.equal(log.prune(now), 1);
    assert.deepEqual(log.search().map((found) => found.correlationId), ['new', 'recent']);
    log.configure({ retentionDays: 1 });
    assert.equal(log.prune(now), 1);
    assert.deepEqual(log.search().map((found) => found.correlationId), ['new']);
  });

  it('buffers entries and writes them in one go after the interval, at a full batch, or on close', async () => {
    const count = (): number => Number(held.db.prepare('SELECT COUNT(*) AS n FROM request_log').get()?.n);
    const buffered = new RequestLog(held.db, { flushIntervalMs: 30, flushBatch: 5 });
    buffered.record(entry());
    buffered.record(entry());
    assert.equal(count(), 0, 'written on the request path');
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(count(), 2);
    for (let index = 0; index < 5; index += 1) buffered.record(entry());
    assert.equal(count(), 7, 'a full batch is written at once');
    buffered.record(entry());
    buffered.close();
    assert.equal(count(), 8);
    buffered.record(entry());
    assert.equal(count(), 8, 'nothing after close');
  });

  it('keeps up with thousands of records a second', () => {
    const fast = new RequestLog(held.db, { flushIntervalMs: 1000 });
    const body = JSON.stringify({ patient: 'x'.repeat(200), obs: Array.from({ length: 10 }, (_, index) => ({ concept: `c${index}`, value: index })) });
    const started = process.hrtime.bigint();
    for (let index = 0; index < 5000; index += 1) fast.record(entry({ requestBody: body, responseBody: body, correlationId: `m-${index}` }));
    const recordMs = Number(process.hrtime.bigint() - started) / 1e6;
    fast.close();
    const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(Number(held.db.prepare('SELECT COUNT(*) AS n FROM request_log').get()?.n), 5000);
    // Generous bounds for a loaded CI machine; in practice a few ms and a few hundred ms.
    assert.ok(recordMs < 500, `recording 5000 entries took ${recordMs} ms`);
    assert.ok(totalMs < 5000, `writing 5000 entries took ${totalMs} ms`);
  });

  describe('fed by the HTTP client', () => {
    let server: http.Server;
    let base: string;
    before(async () => {
      let calls = 0;
      server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (chunk) => (body += chunk));
        req.on('end', () => {
          calls += 1;
          if (req.url === '/flaky' && calls % 2 === 1) {
            res.writeHead(503, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'busy' }));
            return;
          }
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ got: body ? JSON.parse(body) : null, auth: req.headers.authorization ?? req.headers['x-api-key'] }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    afterEach(() => setExchangeSink(undefined));

    it('records every attempt with the message correlation id, system, status and redacted bodies', async () => {
      setExchangeSink((report) => log.record(report));
      const client = new HttpClient({ baseUrl: base, system: 'openmrs', auth: basicAuth('admin', 'Admin123'), retry: { maxAttempts: 3, baseDelayMs: 1 } });
      const keyed = new HttpClient({ baseUrl: base, system: 'dhis2', auth: headerAuth('X-Api-Key', 'key-abcdef') });
      await runForMessage({ correlationId: 'case-42' }, () => client.put('/flaky', { body: { password: 'in-body-pw', name: 'Amina' } }));
      await runForMessage({ correlationId: 'case-43' }, () => keyed.get('/echo'));
      await client.get('/unrelated');
      client.close();
      keyed.close();
      const tagged = log.search({ correlationId: 'case-42' });
      assert.deepEqual(tagged.map((found) => [found.system, found.method, found.status, found.attempt]), [['openmrs', 'PUT', 200, 2], ['openmrs', 'PUT', 503, 1]]);
      assert.equal(new URL(tagged[0].url).pathname, '/flaky');
      assert.deepEqual(JSON.parse(tagged[0].requestBody ?? ''), { password: REDACTED, name: 'Amina' });
      assert.equal(JSON.parse(tagged[1].responseBody ?? '').error, 'busy');
      assert.equal(tagged[1].error, classifyStatus(503).code);
      assert.equal(JSON.parse(tagged[0].responseBody ?? '').auth, REDACTED);
      assert.equal(JSON.parse(log.search({ correlationId: 'case-43' })[0].responseBody ?? '').auth, REDACTED);
      assert.equal(log.search().find((found) => found.url.endsWith('/unrelated'))?.correlationId, null);
      const everything = JSON.stringify(log.search({ limit: 100 }));
      for (const secret of ['Admin123', 'key-abcdef', 'in-body-pw', Buffer.from('admin:Admin123').toString('base64')]) assert.equal(everything.includes(secret), false, secret);
    });

    it('records a failure with no response as status null and its error code', async () => {
      setExchangeSink((report) => log.record(report));
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const client = new HttpClient({ baseUrl: `http://127.0.0.1:${port}`, system: 'cht', retry: { maxAttempts: 2, baseDelayMs: 1 } });
      await assert.rejects(runForMessage({ correlationId: 'doc-1' }, () => client.get('/medic/_changes')));
      client.close();
      const failed = log.search({ correlationId: 'doc-1', status: 'error' });
      assert.deepEqual(failed.map((found) => [found.status, found.error, found.attempt]), [[null, 'unreachable', 2], [null, 'unreachable', 1]]);
    });
  });
});
