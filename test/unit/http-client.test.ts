import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AuthProvider, basicAuth, bearerAuth, headerAuth, oauth2ClientCredentials } from '../../nodes/core/auth';
import { IntegrationError, isIntegrationError } from '../../nodes/core/errors';
import {
  HttpClient,
  type HttpClientOptions,
  type RequestRecord,
  bundleNextPaging,
  linksRelNextPaging,
  nextLinkPaging,
  pageNumberPaging,
} from '../../nodes/core/http-client';

interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Handler = (request: ReceivedRequest, response: http.ServerResponse, raw: http.IncomingMessage) => void;

interface TestServer {
  url: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/** A throwaway server on a free port that records every request it gets. */
async function startServer(handler: Handler): Promise<TestServer> {
  const received: ReceivedRequest[] = [];
  const server = http.createServer((raw, response) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const request = { method: raw.method ?? '', url: raw.url ?? '', headers: raw.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      handler(request, response, raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** A port nothing listens on: bind one, then release it. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function failure(promise: Promise<unknown>): Promise<IntegrationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isIntegrationError(error), `expected an IntegrationError, got ${String(error)}`);
    return error;
  }
  return assert.fail('expected the request to fail');
}

const fastRetry = { baseDelayMs: 1, maxDelayMs: 5, jitter: 0 };

describe('HttpClient', () => {
  let server: TestServer | undefined;
  const clients: HttpClient[] = [];

  function client(options: Partial<HttpClientOptions> = {}): HttpClient {
    const created = new HttpClient({ baseUrl: `${server?.url}/api/`, system: 'test', retry: fastRetry, ...options });
    clients.push(created);
    return created;
  }

  afterEach(async () => {
    for (const created of clients.splice(0)) created.close();
    await server?.close();
    server = undefined;
  });

  describe('requests', () => {
    it('joins path and query, repeats array parameters and asks for JSON', async () => {
      server = await startServer((_request, response) => json(response, 200, { ok: true }));
      const response = await client().get<{ ok: boolean }>('/dataElements', { query: { filter: ['name:eq:ANC 1', 'domainType:eq:AGGREGATE'], paging: false, skip: undefined, page: 2 } });
      assert.deepEqual(response.data, { ok: true });
      assert.equal(response.status, 200);
      assert.equal(response.attempts, 1);
      assert.equal(response.headers['content-type'], 'application/json');
      const [received] = server.received;
      assert.equal(received.url, '/api/dataElements?filter=name%3Aeq%3AANC%201&filter=domainType%3Aeq%3AAGGREGATE&paging=false&page=2');
      assert.equal(received.headers.accept, 'application/json');
    });

    it('resolves an absolute or relative url, with query parameters replacing those already in it', async () => {
      server = await startServer((_request, response) => json(response, 200, {}));
      const api = client();
      await api.request({ url: `${server.url}/other/list?page=1&size=5`, query: { page: 2 } });
      await api.request({ url: '?cursor=abc' });
      assert.deepEqual(server.received.map((request) => request.url), ['/other/list?size=5&page=2', '/api/?cursor=abc']);
    });

    it('sends objects as JSON and strings as they are', async () => {
      server = await startServer((_request, response) => json(response, 201, { created: true }));
      const api = client({ headers: { 'X-Client': 'node-red' } });
      await api.post('/patient', { body: { name: 'Amina' } });
      await api.put('/raw', { body: '<xml/>', headers: { 'Content-Type': 'application/xml' } });
      await api.post('/text', { body: 'plain words' });
      const [posted, put, text] = server.received;
      assert.equal(posted.headers['content-type'], 'application/json');
      assert.equal(posted.headers['x-client'], 'node-red');
      assert.deepEqual(JSON.parse(posted.body), { name: 'Amina' });
      assert.equal(put.headers['content-type'], 'application/xml');
      assert.equal(put.body, '<xml/>');
      assert.equal(text.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(text.body, 'plain words');
    });

    it('returns text when asked and rejects a non-JSON body where JSON was expected', async () => {
      server = await startServer((_request, response) => {
        response.writeHead(200, { 'Content-Type': 'text/html' });
        response.end('<html><body>Please log in</body></html>');
      });
      const api = client();
      assert.equal((await api.get<string>('/page', { responseType: 'text' })).data, '<html><body>Please log in</body></html>');
      const error = await failure(api.get('/page'));
      assert.equal(error.code, 'remote-error');
      assert.equal(error.retryable, false);
      assert.match(error.message, /text\/html where JSON was expected: Please log in/);
    });

    it('treats acceptStatus as answers, not errors', async () => {
      server = await startServer((_request, response) => json(response, 404, { error: { message: 'Object with given uuid doesn\'t exist' } }));
      const api = client();
      const answer = await api.get('/patient/abc', { acceptStatus: [404] });
      assert.equal(answer.status, 404);
      assert.deepEqual(answer.data, { error: { message: 'Object with given uuid doesn\'t exist' } });
      const error = await failure(api.get('/patient/abc'));
      assert.equal(error.code, 'not-found');
      assert.equal(error.status, 404);
      assert.equal(error.system, 'test');
      assert.deepEqual(error.request, { method: 'GET', url: `${server.url}/api/patient/abc` });
      assert.equal(error.remote?.summary, 'Object with given uuid doesn\'t exist');
      assert.match(error.message, /^test GET .*\/api\/patient\/abc failed: HTTP 404: Object with given uuid doesn't exist$/);
    });

    it('uses the system\'s own error summary when given', async () => {
      server = await startServer((_request, response) => json(response, 409, { response: { importSummaries: [{ description: 'Event already exists' }] } }));
      const api = client({ summarizeError: (status, body) => `${status}: ${(body as { response: { importSummaries: Array<{ description: string }> } }).response.importSummaries[0].description}` });
      const error = await failure(api.post('/events', { body: {} }));
      assert.equal(error.code, 'conflict');
      assert.equal(error.remote?.summary, '409: Event already exists');
    });
  });

  describe('retries', () => {
    it('retries 503 until success and counts the attempts', async () => {
      let calls = 0;
      server = await startServer((_request, response) => {
        calls += 1;
        if (calls < 3) json(response, 503, { message: 'busy' });
        else json(response, 200, { calls });
      });
      const records: RequestRecord[] = [];
      const response = await client({ onRequestComplete: (record) => records.push(record) }).get<{ calls: number }>('/x');
      assert.equal(response.attempts, 3);
      assert.deepEqual(response.data, { calls: 3 });
      assert.deepEqual(records.map((record) => [record.attempt, record.status, record.error]), [
        [1, 503, 'remote-error'],
        [2, 503, 'remote-error'],
        [3, 200, undefined],
      ]);
    });

    it('waits the Retry-After of a 429 before trying again', async function () {
      this.timeout(5_000);
      const arrivals: number[] = [];
      server = await startServer((_request, response) => {
        arrivals.push(Date.now());
        if (arrivals.length === 1) json(response, 429, { detail: 'Request was throttled.' }, { 'Retry-After': '1' });
        else json(response, 200, {});
      });
      const response = await client().get('/contacts.json');
      assert.equal(response.attempts, 2);
      assert.ok(arrivals[1] - arrivals[0] >= 990, `waited ${arrivals[1] - arrivals[0]} ms`);
    });

    it('fails at once, rate-limited, when Retry-After is longer than the client waits', async () => {
      server = await startServer((_request, response) => json(response, 429, {}, { 'Retry-After': '3600' }));
      const error = await failure(client({ retry: { ...fastRetry, maxRetryAfterMs: 60_000 } }).get('/x'));
      assert.equal(error.code, 'rate-limited');
      assert.equal(error.retryAfterMs, 3_600_000);
      assert.equal(server.received.length, 1);
    });

    it('does not retry a non-idempotent POST that failed with 500', async () => {
      server = await startServer((_request, response) => json(response, 500, { message: 'NullPointerException' }));
      const error = await failure(client().post('/encounter', { body: { a: 1 } }));
      assert.equal(error.code, 'remote-error');
      assert.equal(error.retryable, true, 'a later, deliberate re-send may still succeed');
      assert.equal(server.received.length, 1);
    });

    it('retries a non-idempotent POST after 503, which proves it was not processed', async () => {
      server = await startServer((_request, response) => (server?.received.length === 1 ? json(response, 503, {}) : json(response, 201, { id: 1 })));
      const response = await client().post('/encounter', { body: { a: 1 } });
      assert.equal(response.status, 201);
      assert.equal(response.attempts, 2);
    });

    it('does not retry a POST when the connection dropped after sending', async () => {
      server = await startServer((_request, _response, raw) => raw.socket.destroy());
      const error = await failure(client().post('/encounter', { body: { a: 1 } }));
      assert.equal(error.code, 'unreachable');
      assert.equal(server.received.length, 1);
    });

    it('retries a POST that could not connect, and honours idempotent and retry:false', async () => {
      const port = await closedPort();
      const attempts: number[] = [];
      const api = new HttpClient({ baseUrl: `http://127.0.0.1:${port}`, system: 'test', retry: { ...fastRetry, maxAttempts: 3 }, onRequestComplete: (record) => attempts.push(record.attempt) });
      clients.push(api);
      const error = await failure(api.post('/encounter', { body: {} }));
      assert.equal(error.code, 'unreachable');
      assert.deepEqual(attempts, [1, 2, 3]);

      attempts.length = 0;
      await failure(api.get('/x', { retry: false }));
      assert.deepEqual(attempts, [1]);
    });

    it('retries an explicitly idempotent POST after 500', async () => {
      server = await startServer((_request, response) => (server?.received.length === 1 ? json(response, 500, {}) : json(response, 200, {})));
      assert.equal((await client().post('/fhir/Patient/_search', { body: '', idempotent: true })).attempts, 2);
    });
  });

  describe('authentication', () => {
    it('on 401 refreshes once and re-sends once', async () => {
      let token = 'first';
      let refreshes = 0;
      const auth: AuthProvider = {
        apply: (headers) => {
          headers.Authorization = `Bearer ${token}`;
        },
        refresh: async () => {
          refreshes += 1;
          token = 'second';
          return true;
        },
        secrets: () => [token],
      };
      server = await startServer((request, response) => (request.headers.authorization === 'Bearer second' ? json(response, 200, {}) : json(response, 401, {})));
      const response = await client({ auth }).get('/x');
      assert.equal(response.attempts, 2);
      assert.equal(refreshes, 1);

      token = 'revoked';
      refreshes = 0;
      server.received.length = 0;
      const alwaysRejected: AuthProvider = { ...auth, refresh: async () => ((refreshes += 1), true), apply: (headers) => void (headers.Authorization = 'Bearer revoked') };
      const error = await failure(client({ auth: alwaysRejected }).get('/x'));
      assert.equal(error.code, 'auth');
      assert.equal(refreshes, 1);
      assert.equal(server.received.length, 2);
    });

    it('gets, caches and renews an OAuth2 client-credentials token', async () => {
      let issued = 0;
      server = await startServer((request, response) => {
        if (request.url === '/token') {
          const expected = `Basic ${Buffer.from('client-id:client-secret-value').toString('base64')}`;
          const form = new URLSearchParams(request.body);
          if (request.headers.authorization !== expected || form.get('grant_type') !== 'client_credentials' || form.get('scope') !== 'read') {
            json(response, 401, { error: 'invalid_client' });
            return;
          }
          issued += 1;
          json(response, 200, { access_token: `token-${issued}`, token_type: 'Bearer', expires_in: 3600 });
          return;
        }
        // The server revokes token-1 after its first use.
        const valid = request.headers.authorization === `Bearer token-${issued}` && !(issued === 1 && server?.received.filter((r) => r.headers.authorization === 'Bearer token-1').length === 2);
        json(response, valid ? 200 : 401, {});
      });
      const auth = oauth2ClientCredentials({ tokenUrl: `${server.url}/token`, clientId: 'client-id', clientSecret: 'client-secret-value', scope: 'read' });
      const api = client({ auth });
      assert.equal((await api.get('/a')).attempts, 1);
      const second = await api.get('/b');
      assert.equal(second.attempts, 2, 'token-1 rejected, token-2 fetched and used');
      assert.equal(issued, 2);
      await api.get('/c');
      assert.equal(issued, 2, 'the cached token is reused');
      assert.deepEqual(auth.secrets(), ['client-secret-value', 'client-id:client-secret-value', 'token-1', 'token-2']);

      const wrong = oauth2ClientCredentials({ tokenUrl: `${server.url}/token`, clientId: 'client-id', clientSecret: 'wrong-secret', scope: 'read' });
      const error = await failure(client({ auth: wrong }).get('/a'));
      assert.equal(error.code, 'auth');
      assert.match(error.message, /token request .* failed: HTTP 401: invalid_client/);
      assert.doesNotMatch(JSON.stringify(error), /wrong-secret/);
    });

    it('fetches a new token when the cached one is about to expire', async () => {
      let fetched = 0;
      const auth = oauth2ClientCredentials({
        tokenUrl: 'http://unused.invalid/token',
        clientId: 'id',
        clientSecret: 'secret',
        expirySkewMs: 60_000,
        fetchToken: async () => ({ accessToken: `t${(fetched += 1)}`, expiresInSec: 30 }),
      });
      const headers: Record<string, string> = {};
      await auth.apply(headers);
      await auth.apply(headers);
      assert.equal(fetched, 2, 'a token that expires within the skew is not used');
      assert.equal(headers.Authorization, 'Bearer t2');
    });

    it('keeps session cookies and sends them back when asked to', async () => {
      server = await startServer((request, response) => {
        if (!request.headers.cookie) json(response, 200, { sessionId: 'A1B2C3D4E5F6' }, { 'Set-Cookie': 'JSESSIONID=A1B2C3D4E5F6; Path=/openmrs; HttpOnly' });
        else json(response, 200, { cookie: request.headers.cookie });
      });
      const records: RequestRecord[] = [];
      const api = client({ sessionCookies: true, onRequestComplete: (record) => records.push(record) });
      await api.get('/session');
      assert.deepEqual((await api.get('/patient')).data, { cookie: 'JSESSIONID=A1B2C3D4E5F6' }, 'data is the caller\'s own: not redacted');
      assert.equal(server.received[1].headers.cookie, 'JSESSIONID=A1B2C3D4E5F6');
      assert.equal(records.length, 2);
      assert.doesNotMatch(JSON.stringify(records), /A1B2C3D4E5F6/, 'the session id is a credential in the request log');

      server.received.length = 0;
      const withoutSession = client();
      await withoutSession.get('/session');
      await withoutSession.get('/session');
      assert.equal(server.received[1].headers.cookie, undefined);
    });
  });

  describe('network failures', () => {
    it('classifies a refused connection as unreachable and retryable', async () => {
      const api = new HttpClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, system: 'test' });
      clients.push(api);
      const error = await failure(api.get('/x', { retry: false }));
      assert.equal(error.code, 'unreachable');
      assert.equal(error.retryable, true);
      assert.match(error.message, /ECONNREFUSED/);
    });

    it('classifies a destroyed socket as unreachable', async () => {
      server = await startServer((_request, _response, raw) => raw.socket.destroy());
      const error = await failure(client().get('/x', { retry: false }));
      assert.equal(error.code, 'unreachable');
      assert.match(error.message, /ECONNRESET|socket hang up/);
    });

    it('times out a server that never answers', async () => {
      server = await startServer(() => undefined);
      const started = Date.now();
      const error = await failure(client({ timeoutMs: 100 }).get('/x', { retry: false }));
      assert.equal(error.code, 'timeout');
      assert.equal(error.retryable, true);
      assert.match(error.message, /timed out after 100 ms/);
      assert.ok(Date.now() - started < 1_000);
    });
  });

  describe('cancellation and concurrency', () => {
    it('close() aborts in-flight and queued requests, and later ones', async () => {
      server = await startServer(() => undefined);
      const api = client({ maxConcurrent: 1 });
      const inFlight = failure(api.get('/slow'));
      const queued = failure(api.get('/queued'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(api.stats, { active: 1, queued: 1 });
      api.close();
      for (const error of [await inFlight, await queued, await failure(api.get('/later'))]) {
        assert.equal(error.name, 'AbortError');
        assert.equal(error.code, 'unreachable');
        assert.equal(error.message, 'client closed');
        assert.equal(error.retryable, false);
      }
      assert.equal(server.received.length, 1);
    });

    it('close() cuts a retry wait short', async () => {
      server = await startServer((_request, response) => json(response, 503, {}));
      const api = client({ retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 } });
      const pending = failure(api.get('/busy'));
      while (server.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 20));
      api.close();
      const error = await pending;
      assert.equal(error.message, 'client closed');
      assert.equal(server.received.length, 1);
    });

    it('a caller abort fails the request with an AbortError, message "aborted"', async () => {
      server = await startServer(() => undefined);
      const controller = new AbortController();
      const pending = failure(client().get('/slow', { signal: controller.signal }));
      await new Promise((resolve) => setTimeout(resolve, 30));
      controller.abort(new Error('node closed'));
      const error = await pending;
      assert.equal(error.name, 'AbortError');
      assert.equal(error.message, 'aborted');
      assert.equal(error.code, 'unreachable');
    });

    it('never has more than maxConcurrent requests at the server', async () => {
      let inFlight = 0;
      let maxInFlight = 0;
      server = await startServer((_request, response) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight -= 1;
          json(response, 200, {});
        }, 20);
      });
      const api = client({ maxConcurrent: 3 });
      let maxQueued = 0;
      api.onStats(({ queued }) => (maxQueued = Math.max(maxQueued, queued)));
      await Promise.all(Array.from({ length: 10 }, (_, i) => api.get(`/item/${i}`)));
      assert.equal(maxInFlight, 3);
      assert.equal(maxQueued, 7);
      assert.deepEqual(api.stats, { active: 0, queued: 0 });
    });
  });

  describe('pagination', () => {
    async function collect<T>(iterator: AsyncGenerator<T[]>): Promise<T[][]> {
      const pages: T[][] = [];
      for await (const page of iterator) pages.push(page);
      return pages;
    }

    const pageOf = (url: string): number => Number(new URL(url, 'http://x').searchParams.get('page') ?? '1');

    it('follows a next URL field (RapidPro) and a relative nested one (CommCare)', async () => {
      server = await startServer((request, response) => {
        const page = pageOf(request.url);
        if (request.url.startsWith('/api/contacts.json')) json(response, 200, { results: [`c${page}`], next: page < 3 ? `${server?.url}/api/contacts.json?page=${page + 1}` : null });
        else json(response, 200, { objects: [`f${page}`], meta: { next: page < 3 ? `?page=${page + 1}` : null } });
      });
      const api = client();
      assert.deepEqual(await collect(api.paginate({ path: 'contacts.json' }, nextLinkPaging<string>())), [['c1'], ['c2'], ['c3']]);
      assert.deepEqual(await collect(api.paginate({ path: 'form/' }, nextLinkPaging<string>('objects', 'meta.next'))), [['f1'], ['f2'], ['f3']]);
    });

    it('follows OpenMRS links[rel=next], keeping the origin the client was pointed at', async () => {
      server = await startServer((request, response) => {
        const page = pageOf(request.url);
        const links = page < 3 ? [{ rel: 'next', uri: `http://internal-openmrs:8080/api/patient?q=a&page=${page + 1}` }] : [{ rel: 'prev', uri: 'x' }];
        json(response, 200, { results: [{ uuid: `p${page}` }], links });
      });
      const pages = await collect(client().paginate({ path: 'patient', query: { q: 'a' } }, linksRelNextPaging<{ uuid: string }>()));
      assert.deepEqual(pages, [[{ uuid: 'p1' }], [{ uuid: 'p2' }], [{ uuid: 'p3' }]]);
      assert.equal(server.received.length, 3);
    });

    it('counts DHIS2 pages by pager.pageCount, or by a short last page', async () => {
      server = await startServer((request, response) => {
        const page = pageOf(request.url);
        if (request.url.startsWith('/api/dataElements')) json(response, 200, { pager: { page, pageCount: 3, pageSize: 1 }, dataElements: [`d${page}`] });
        else json(response, 200, { page, pageSize: 2, instances: page < 3 ? [`t${page}a`, `t${page}b`] : [`t${page}a`] });
      });
      const api = client();
      assert.deepEqual(await collect(api.paginate({ path: 'dataElements', query: { pageSize: 1 } }, pageNumberPaging<string>('dataElements'))), [['d1'], ['d2'], ['d3']]);
      assert.deepEqual(await collect(api.paginate({ path: 'tracker/trackedEntities', query: { pageSize: 2 } }, pageNumberPaging<string>('instances'))), [
        ['t1a', 't1b'],
        ['t2a', 't2b'],
        ['t3a'],
      ]);
      assert.match(server.received[5].url, /pageSize=2&page=3$/);
    });

    it('follows FHIR Bundle link[relation=next] and yields the resources', async () => {
      server = await startServer((request, response) => {
        const page = pageOf(request.url);
        const link = [{ relation: 'self', url: request.url }, ...(page < 3 ? [{ relation: 'next', url: `${server?.url}/api/Patient?page=${page + 1}` }] : [])];
        json(response, 200, { resourceType: 'Bundle', type: 'searchset', link, entry: [{ resource: { resourceType: 'Patient', id: `${page}` } }] });
      });
      const pages = await collect(client().paginate({ path: 'Patient' }, bundleNextPaging<{ id: string }>()));
      assert.deepEqual(pages.map((page) => page.map((resource) => resource.id)), [['1'], ['2'], ['3']]);
    });

    it('stops at maxPages and refuses to loop on a page that links to itself', async () => {
      server = await startServer((request, response) => json(response, 200, { results: [1], next: `${server?.url}${request.url}` }));
      const api = client();
      assert.equal((await collect(api.paginate({ path: 'x' }, nextLinkPaging(), { maxPages: 1 }))).length, 1);
      await assert.rejects(collect(api.paginate({ path: 'x' }, nextLinkPaging())), /pagination loops/);
    });
  });

  describe('redaction', () => {
    const password = 'Sup3r-Secret!pw';
    const token = 'tok_7f3a9c2e41b8';
    const forbidden = [password, token, Buffer.from(password).toString('base64'), Buffer.from(`admin:${password}`).toString('base64'), encodeURIComponent(password)];

    function assertClean(value: unknown): void {
      const text = JSON.stringify(value);
      for (const secret of forbidden) assert.ok(!text.includes(secret), `found ${secret} in ${text}`);
    }

    it('keeps credentials out of errors and request records, even when the server echoes them', async () => {
      server = await startServer((request, response) => {
        const echo = { error: { message: `rejected ${request.headers.authorization} ${request.headers['x-api-key'] ?? ''} for ${request.url} with ${request.body}` }, password: 'x' };
        json(response, request.url.includes('boom') ? 500 : 400, echo);
      });
      const records: RequestRecord[] = [];
      const errors: IntegrationError[] = [];
      const basic = client({ auth: basicAuth('admin', password), onRequestComplete: (record) => records.push(record), retry: { ...fastRetry, maxAttempts: 2 } });
      errors.push(await failure(basic.post('/users', { body: { username: 'u', password, note: `pw is ${password}` }, query: { api_key: token } })));
      errors.push(await failure(basic.get('/boom', { query: { token } })));
      const keyed = client({ auth: headerAuth('X-Api-Key', token), onRequestComplete: (record) => records.push(record) });
      errors.push(await failure(keyed.post('/boom', { body: `raw ${token}` })));

      assert.equal(records.length, 4);
      for (const error of errors) {
        assertClean(error.toJSON());
        assertClean(error.message);
        assertClean(String(error.stack));
      }
      assertClean(records);
      assert.match(errors[0].message, /rejected \[redacted\] /);
      assert.match(errors[0].request?.url ?? '', /api_key=\[redacted\]/);
      assert.deepEqual((records[0].requestBody as Record<string, unknown>).password, '[redacted]');
    });

    it('keeps URL credentials and network details out of connection errors', async () => {
      const port = await closedPort();
      const api = new HttpClient({ baseUrl: `http://admin:${encodeURIComponent(password)}@127.0.0.1:${port}/api`, system: 'test', retry: { maxAttempts: 1 }, auth: bearerAuth(token) });
      clients.push(api);
      const error = await failure(api.get('/x', { query: { access_token: token } }));
      assertClean(error.toJSON());
      assertClean(error.message);
      assert.equal(error.cause, undefined, 'the axios error (holding request headers) is not attached');
    });
  });
});
