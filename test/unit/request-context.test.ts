import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from '../../nodes/core/http-client';
import { basicAuth } from '../../nodes/core/auth';
import { recordingFor, runRecording, takeRecording, type RecordedExchange } from '../../nodes/core/request-context';

describe('per-message request recording', () => {
  let server: http.Server;
  let base: string;

  before(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('records the exchanges made inside a recording, redacted, and nothing outside it', async () => {
    const client = new HttpClient({ baseUrl: base, system: 'test', auth: basicAuth('user', 'pa55word-secret') });
    const records: RecordedExchange[] = [];
    await runRecording(records, async () => {
      await client.get('/first');
      await client.get('/missing', { acceptStatus: [404] });
    });
    await client.get('/outside');
    assert.deepEqual(records.map((record) => [record.method, new URL(record.url).pathname, record.status]), [['GET', '/first', 200], ['GET', '/missing', 404]]);
    assert.ok(records.every((record) => !Number.isNaN(Date.parse(record.startedAt))));
    assert.equal(JSON.stringify(records).includes('pa55word-secret'), false);
    client.close();
  });

  it('keeps concurrent recordings apart', async () => {
    const client = new HttpClient({ baseUrl: base, system: 'test' });
    const a: RecordedExchange[] = [];
    const b: RecordedExchange[] = [];
    await Promise.all([
      runRecording(a, () => client.get('/a')),
      runRecording(b, async () => { await client.get('/b1'); await client.get('/b2'); }),
    ]);
    assert.deepEqual(a.map((record) => new URL(record.url).pathname), ['/a']);
    assert.deepEqual(b.map((record) => new URL(record.url).pathname), ['/b1', '/b2']);
    client.close();
  });

  it('keeps a recording by id until it is taken, across separate pieces of work', async () => {
    const client = new HttpClient({ baseUrl: base, system: 'test' });
    await runRecording(recordingFor('request-1'), () => client.get('/part-1'));
    await runRecording(recordingFor('request-1'), () => client.get('/part-2'));
    assert.deepEqual(takeRecording('request-1').map((record) => new URL(record.url).pathname), ['/part-1', '/part-2']);
    assert.deepEqual(takeRecording('request-1'), []);
    client.close();
  });
});
