import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxApp } from '../../sandbox/core';
import {
  create, DEMO_CLIENT_ID, DEMO_CLIENT_PASSWORD, DEMO_CLIENT_ROLE, ROOT_EMAIL, ROOT_PASSWORD,
} from '../../sandbox/openhim';
import { requireSamples, sampleJson } from '../support/samples';
import { shapeDifferences } from '../support/shape';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ROOT = { Authorization: basic(ROOT_EMAIL, ROOT_PASSWORD) };
const ROOT_JSON = { ...ROOT, 'Content-Type': 'application/json' };
const CLIENT = { Authorization: basic(DEMO_CLIENT_ID, DEMO_CLIENT_PASSWORD) };

type Json = Record<string, any>;

interface TestMediator {
  port: number;
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

/** A stand-in mediator: answers every request with `reply` and records what it received. */
async function startMediator(reply: (req: http.IncomingMessage) => { status: number; contentType: string; body: string }): Promise<TestMediator> {
  const requests: TestMediator['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = reply(req);
      res.writeHead(answer.status, { 'Content-Type': answer.contentType });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function channelFor(name: string, urlPattern: string, port: number, extra: Json = {}): Json {
  return {
    name,
    urlPattern,
    methods: ['GET', 'POST'],
    allow: [DEMO_CLIENT_ROLE],
    type: 'http',
    routes: [{ name: `${name} route`, host: '127.0.0.1', port, primary: true, type: 'http' }],
    ...extra,
  };
}

describe('openhim sandbox', () => {
  let app: SandboxApp;
  let base: string;

  beforeEach(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });

  afterEach(() => app.close());

  const api = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${base}${path}`, { ...init, headers: { ...ROOT_JSON, ...(init.headers as Record<string, string> | undefined) } });
  const post = (path: string, body: unknown): Promise<Response> => api(path, { method: 'POST', body: JSON.stringify(body) });

  async function addChannel(channel: Json): Promise<Json> {
    assert.equal((await post('/channels', channel)).status, 201);
    const channels = await (await api('/channels')).json() as Json[];
    return channels.find((candidate) => candidate.name === channel.name)!;
  }

  describe('conformance with upstream samples', () => {
    const registrations = [
      'openhim/mediator-config-file-queue.json',
      'openhim/mediator-registration-with-config.json',
      'openhim/cht-ltfu-mediator-config.json',
    ];

    for (const file of registrations) {
      it(`accepts the registration ${file} and stores it in the same shape`, async function () {
        requireSamples(this);
        const registration = sampleJson<Json>(file);
        const response = await post('/mediators', registration);
        assert.equal(response.status, 201, await response.text());
        const stored = await (await api(`/mediators/${encodeURIComponent(registration.urn)}`)).json() as Json;
        // Mongoose casts route ports to Number, so a string port in the registration comes back numeric.
        const castPorts = new Set(['$.endpoints[0].port: expected string, got number']);
        assert.deepEqual(shapeDifferences(registration, stored).filter((difference) => !castPorts.has(difference)), []);
        assert.equal(typeof stored.endpoints[0].port, 'number');
        assert.match(stored._id, /^[0-9a-f]{24}$/);
      });
    }

    it('records the orchestrations of an application/json+openhim mediator response', async function () {
      requireSamples(this);
      const sample = sampleJson<Json>('openhim/mediator-response-json-openhim.json');
      const mediator = await startMediator(() => ({ status: 200, contentType: 'application/json+openhim; charset=utf-8', body: JSON.stringify(sample) }));
      try {
        const channel = await addChannel(channelFor('Test mediator', '^/test-mediator$', mediator.port));
        const response = await fetch(`${base}/router/test-mediator?patient=1`, { method: 'POST', headers: { ...CLIENT, 'Content-Type': 'application/json' }, body: '{"a":1}' });
        assert.equal(response.status, sample.response.status);
        assert.equal(await response.text(), sample.response.body);
        assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
        const transactionId = response.headers.get('x-openhim-transactionid')!;
        assert.match(transactionId, /^[0-9a-f]{24}$/);

        assert.equal(mediator.requests[0].url, '/test-mediator?patient=1');
        assert.equal(mediator.requests[0].body, '{"a":1}');
        assert.equal(mediator.requests[0].headers['x-openhim-transactionid'], transactionId);
        assert.equal(mediator.requests[0].headers['x-openhim-clientid'], DEMO_CLIENT_ID);
        assert.equal(mediator.requests[0].headers.authorization, undefined, 'client credentials are not forwarded');

        const transaction = await (await api(`/transactions/${transactionId}`)).json() as Json;
        assert.equal(transaction.status, sample.status);
        assert.equal(transaction.channelID, channel._id);
        assert.deepEqual(transaction.properties, sample.properties);
        assert.deepEqual(transaction.orchestrations.map((orchestration: Json) => orchestration.name), ['orch1', 'orch2']);
        assert.deepEqual(shapeDifferences(sample.orchestrations, transaction.orchestrations), []);
        assert.equal(transaction.orchestrations[0].request.timestamp, '2015-01-15T12:51:55.000Z');
        assert.equal(transaction.response.body, 'a test response');
        assert.equal(transaction.request.body, '{"a":1}');
        assert.equal(transaction.request.querystring, 'patient=1');
      } finally {
        await mediator.close();
      }
    });
  });

  describe('authentication', () => {
    it('answers 401 without or with wrong credentials, and accepts basic auth', async () => {
      assert.equal((await fetch(`${base}/mediators`)).status, 401);
      const wrong = await fetch(`${base}/mediators`, { headers: { Authorization: basic(ROOT_EMAIL, 'nope') } });
      assert.equal(wrong.status, 401);
      assert.equal(await wrong.text(), 'Unauthorized');
      assert.equal((await fetch(`${base}/mediators`, { headers: ROOT })).status, 200);
      assert.equal((await fetch(`${base}/no-such-api`)).status, 401, 'authentication comes before routing');
      const unknown = await fetch(`${base}/no-such-api`, { headers: ROOT });
      assert.equal(unknown.status, 404);
      assert.equal(await unknown.text(), 'Not Found');
    });

    it('accepts the legacy token scheme of openhim-mediator-utils within the auth window', async () => {
      const unknown = await fetch(`${base}/authenticate/nobody@example.org`);
      assert.equal(unknown.status, 404);
      const { salt, ts } = await (await fetch(`${base}/authenticate/${ROOT_EMAIL}`)).json() as { salt: string; ts: string };
      assert.ok(salt && Number.isFinite(Date.parse(ts)));
      const sha512 = (text: string): string => createHash('sha512').update(text).digest('hex');
      const headersAt = (time: Date, password = ROOT_PASSWORD): Record<string, string> => {
        const sent = time.toString(); // mediator-utils hashes and sends Date#toString()
        return { 'auth-username': ROOT_EMAIL, 'auth-ts': sent, 'auth-salt': salt, 'auth-token': sha512(sha512(salt + password) + salt + sent) };
      };
      assert.equal((await fetch(`${base}/mediators`, { headers: headersAt(new Date()) })).status, 200);
      assert.equal((await fetch(`${base}/mediators`, { headers: headersAt(new Date(Date.now() - 30_000)) })).status, 401, 'stale ts');
      assert.equal((await fetch(`${base}/mediators`, { headers: headersAt(new Date(), 'wrong') })).status, 401, 'wrong password');
      const iso = new Date().toISOString();
      const isoToken = sha512(sha512(salt + ROOT_PASSWORD) + salt + iso);
      assert.equal((await fetch(`${base}/mediators`, { headers: { 'auth-username': ROOT_EMAIL, 'auth-ts': iso, 'auth-salt': salt, 'auth-token': isoToken } })).status, 200);
      assert.equal((await fetch(`${base}/mediators`, { headers: { 'auth-username': ROOT_EMAIL } })).status, 401, 'incomplete token headers');
    });
  });

  describe('mediators', () => {
    const mediator = {
      urn: 'urn:mediator:sandbox-test',
      version: '1.0.0',
      name: 'Sandbox test mediator',
      endpoints: [{ name: 'Main', host: '127.0.0.1', port: '7001', primary: true, type: 'http' }],
      configDefs: [{ param: 'target', type: 'string' }, { param: 'retries', type: 'number' }, { param: 'secret', type: 'password' }],
      config: { target: 'http://a', retries: 2, secret: 's3cret' },
      defaultChannelConfig: [channelFor('Sandbox test', '^/sandbox-test$', 7001), channelFor('Other', '^/other$', 7001)],
    };

    it('validates registrations with core error texts', async () => {
      const cases: Array<[Json, string]> = [
        [{ ...mediator, urn: undefined }, 'Could not add Mediator via the API: ValidationError: URN is required'],
        [{ ...mediator, version: '1.0' }, 'Could not add Mediator via the API: ValidationError: Version is required. Must be in SemVer form x.y.z'],
        [{ ...mediator, endpoints: [] }, 'Could not add Mediator via the API: ValidationError: At least 1 endpoint is required'],
        [{ ...mediator, name: undefined }, 'Could not add Mediator via the API: ValidationError: Mediator validation failed: name: Path `name` is required.'],
        [{ ...mediator, config: { target: 3 } }, 'Could not add Mediator via the API: ValidationError: Expected config param target to be a string.'],
        [{ ...mediator, config: { unknown: 'x' } }, 'Could not add Mediator via the API: ValidationError: No config definition found for parameter unknown'],
        [{ ...mediator, configDefs: [{ param: 'mode', type: 'option' }] , config: undefined }, "Could not add Mediator via the API: ValidationError: Expected field 'values' to be an array (option param 'mode')"],
      ];
      for (const [body, message] of cases) {
        const response = await post('/mediators', body);
        assert.equal(response.status, 400, message);
        assert.equal(await response.text(), message);
      }
      assert.deepEqual(await (await api('/mediators')).json(), []);
    });

    it('updates on a newer version only, keeping config the admin set', async () => {
      assert.equal((await post('/mediators', mediator)).status, 201);
      assert.equal((await api(`/mediators/${mediator.urn}/config`, { method: 'PUT', body: JSON.stringify({ target: 'http://admin', retries: 5, secret: 'x' }) })).status, 200);
      assert.equal((await post('/mediators', { ...mediator, name: 'ignored', version: '0.9.0' })).status, 201);
      let stored = await (await api(`/mediators/${mediator.urn}`)).json() as Json;
      assert.equal(stored.name, 'Sandbox test mediator');
      assert.equal((await post('/mediators', { ...mediator, name: 'Renamed', version: '1.1.0' })).status, 201);
      stored = await (await api(`/mediators/${encodeURIComponent(mediator.urn)}`)).json() as Json;
      assert.equal(stored.name, 'Renamed');
      assert.equal(stored.version, '1.1.0');
      assert.equal(stored.config.target, 'http://admin');
      assert.equal(stored.config.secret, '**********', 'password params are masked');
      assert.equal((await api('/mediators')).status, 200);
      assert.equal((await api('/mediators/urn:mediator:none')).status, 404);
    });

    it('answers heartbeats with config only when asked for or changed', async () => {
      await post('/mediators', mediator);
      const beat = (body: Json): Promise<Response> => post(`/mediators/${mediator.urn}/heartbeat`, body);
      let response = await beat({ uptime: 12.5 });
      assert.equal(response.status, 200);
      assert.equal(await response.text(), '');
      response = await beat({ uptime: 13, config: true });
      assert.deepEqual(await response.json(), mediator.config);
      const stored = await (await api(`/mediators/${mediator.urn}`)).json() as Json;
      assert.equal(stored._uptime, 13);
      assert.ok(Date.parse(stored._lastHeartbeat) > 0);

      await new Promise((resolve) => setTimeout(resolve, 5));
      const put = await api(`/mediators/${mediator.urn}/config`, { method: 'PUT', body: JSON.stringify({ target: 'http://b', retries: 1 }) });
      assert.equal(await put.text(), 'OK');
      assert.deepEqual(await (await beat({ uptime: 14 })).json(), { target: 'http://b', retries: 1 });
      assert.equal(await (await beat({ uptime: 15 })).text(), '', 'config is sent once after a change');

      assert.equal((await beat({})).status, 400);
      assert.equal((await post('/mediators/urn:none/heartbeat', { uptime: 1 })).status, 404);
      const invalid = await api(`/mediators/${mediator.urn}/config`, { method: 'PUT', body: JSON.stringify({ retries: 'many' }) });
      assert.equal(invalid.status, 400);
      assert.equal(await invalid.text(), 'Expected config param retries to be a number.');
    });

    it('installs default channels and removes mediators', async () => {
      await post('/mediators', mediator);
      const bad = await post(`/mediators/${mediator.urn}/channels`, ['Missing']);
      assert.equal(bad.status, 400);
      assert.equal((await post(`/mediators/${mediator.urn}/channels`, ['Sandbox test'])).status, 201);
      let channels = await (await api('/channels')).json() as Json[];
      assert.deepEqual(channels.map((channel) => channel.name), ['Sandbox test']);
      assert.equal(channels[0].urlPattern, '^/sandbox-test$');
      assert.equal(channels[0].routes[0].port, 7001);
      assert.equal(channels[0].authType, 'private');
      assert.equal((await post(`/mediators/${mediator.urn}/channels`, [])).status, 201);
      channels = await (await api('/channels')).json() as Json[];
      assert.equal(channels.length, 3);
      assert.equal((await post('/mediators/urn:none/channels', [])).status, 404);

      const removed = await api(`/mediators/${mediator.urn}`, { method: 'DELETE' });
      assert.match(await removed.text(), /successfully removed/);
      assert.equal((await api(`/mediators/${mediator.urn}`)).status, 404);
    });
  });

  describe('channels and clients', () => {
    it('creates, reads, updates and deletes channels with core validation', async () => {
      const noPrimary = await post('/channels', { ...channelFor('A', '^/a$', 1), routes: [{ name: 'r', host: 'h', port: 1 }] });
      assert.equal(noPrimary.status, 400);
      assert.equal(await noPrimary.text(), 'Channel must have a primary route');
      const noName = await post('/channels', { ...channelFor('A', '^/a$', 1), name: undefined });
      assert.equal(noName.status, 400);
      assert.match(await noName.text(), /Path `name` is required/);
      const repeated = await post('/channels', { ...channelFor('A', '^/a$', 1), methods: ['GET', 'GET'] });
      assert.equal(await repeated.text(), "Channel methods can't be repeated. Repeated methods are GET");

      const created = await post('/channels', channelFor('A', '^/a$', 1));
      assert.equal(await created.text(), 'Channel successfully created');
      const [channel] = await (await api('/channels')).json() as Json[];
      assert.equal((await api(`/channels/${channel._id}`)).status, 200);
      const updated = await api(`/channels/${channel._id}`, { method: 'PUT', body: JSON.stringify({ urlPattern: '^/b$' }) });
      assert.equal(await updated.text(), 'The channel was successfully updated');
      assert.equal(((await (await api(`/channels/${channel._id}`)).json()) as Json).urlPattern, '^/b$');
      assert.equal((await api(`/channels/${channel._id}`, { method: 'DELETE' })).status, 200);
      const missing = await api(`/channels/${channel._id}`);
      assert.equal(missing.status, 404);
      assert.equal(await missing.text(), `We could not find a channel with Id:'${channel._id}'.`);
    });

    it('lists the seeded client and adds clients with hashes or a plain password', async () => {
      const clients = await (await api('/clients')).json() as Json[];
      assert.equal(clients[0].clientID, DEMO_CLIENT_ID);
      assert.deepEqual(clients[0].roles, [DEMO_CLIENT_ROLE]);
      const salt = 'salt-1';
      const passwordHash = createHash('sha512').update('pw-1' + salt).digest('hex');
      assert.equal((await post('/clients', { clientID: 'hashed', name: 'Hashed', roles: ['interop'], passwordAlgorithm: 'sha512', passwordSalt: salt, passwordHash })).status, 201);
      assert.equal((await post('/clients', { clientID: 'plain', name: 'Plain', roles: ['interop'], password: 'pw-2' })).status, 201);
      const duplicate = await post('/clients', { clientID: 'plain', name: 'Again', roles: [] });
      assert.equal(duplicate.status, 400);
      assert.match(await duplicate.text(), /E11000 duplicate key/);
      assert.equal((await post('/clients', { name: 'No id', roles: [] })).status, 400);
      const plain = await (await api('/clients/plain?byNamedClientID=true')).json() as Json;
      assert.equal(plain.password, undefined);
      assert.equal(plain.passwordAlgorithm, 'sha512');

      const mediator = await startMediator(() => ({ status: 200, contentType: 'application/json', body: '{"ok":true}' }));
      try {
        await addChannel(channelFor('Hashed', '^/hashed$', mediator.port));
        assert.equal((await fetch(`${base}/router/hashed`, { headers: { Authorization: basic('hashed', 'pw-1') } })).status, 200);
        assert.equal((await fetch(`${base}/router/hashed`, { headers: { Authorization: basic('plain', 'pw-2') } })).status, 200);
      } finally {
        await mediator.close();
      }
    });
  });

  describe('router and transactions', () => {
    let mediator: TestMediator;

    beforeEach(async () => {
      mediator = await startMediator((req) => req.url?.startsWith('/fail')
        ? { status: 502, contentType: 'text/plain', body: 'bad gateway' }
        : { status: 201, contentType: 'application/fhir+json', body: '{"resourceType":"Patient"}' });
    });

    afterEach(() => mediator.close());

    it('answers 401 for unknown clients and wrong roles, 404 when no channel matches', async () => {
      await addChannel(channelFor('Private', '^/private$', mediator.port, { allow: ['admins-only'] }));
      const noAuth = await fetch(`${base}/router/private`);
      assert.equal(noAuth.status, 401);
      assert.equal(noAuth.headers.get('www-authenticate'), 'Basic');
      assert.equal((await fetch(`${base}/router/private`, { headers: CLIENT })).status, 401, 'role not allowed');
      assert.equal((await fetch(`${base}/router/nothing-here`, { headers: CLIENT })).status, 404);
      assert.equal((await fetch(`${base}/router/private`, { method: 'PUT', headers: CLIENT })).status, 404, 'method not in channel');
      await addChannel(channelFor('Public', '^/public$', mediator.port, { authType: 'public', allow: [] }));
      assert.equal((await fetch(`${base}/router/public`)).status, 201);
      assert.equal(mediator.requests.length, 1);
      assert.equal(((await (await api('/transactions')).json()) as Json[]).length, 1, 'rejected requests leave no transaction');
    });

    it('passes plain responses through, applies pathTransform and derives the status', async () => {
      const channel = await addChannel({
        ...channelFor('Transform', '^/transform/.*$', mediator.port),
        routes: [{ name: 'Primary', host: '127.0.0.1', port: mediator.port, primary: true, pathTransform: 's/\\/transform/\\/fhir/' }],
      });
      const response = await fetch(`${base}/router/transform/Patient`, { method: 'POST', headers: { ...CLIENT, 'Content-Type': 'application/json' }, body: '{}' });
      assert.equal(response.status, 201);
      assert.equal(response.headers.get('content-type'), 'application/fhir+json');
      assert.deepEqual(await response.json(), { resourceType: 'Patient' });
      assert.equal(mediator.requests[0].url, '/fhir/Patient');

      await addChannel(channelFor('Failing', '^/fail$', mediator.port));
      assert.equal((await fetch(`${base}/router/fail`, { headers: CLIENT })).status, 502);
      await addChannel(channelFor('Down', '^/down$', 1));
      const down = await fetch(`${base}/router/down`, { headers: CLIENT });
      assert.equal(down.status, 500);
      assert.equal(await down.text(), 'An internal server error occurred');

      const all = await (await api('/transactions')).json() as Json[];
      assert.deepEqual(all.map((transaction) => transaction.status), ['Failed', 'Failed', 'Successful']);
      assert.equal(all[0].orchestrations, undefined, 'the default representation hides bodies and orchestrations');
      assert.equal(all[0].request.body, undefined);
      const full = await (await api('/transactions?filterRepresentation=full')).json() as Json[];
      assert.ok(full[0].error.message);
      assert.deepEqual(full[2].orchestrations, []);

      const byChannel = await (await api(`/transactions?filters=${encodeURIComponent(JSON.stringify({ channelID: channel._id }))}`)).json() as Json[];
      assert.equal(byChannel.length, 1);
      assert.equal(byChannel[0].request.path, '/transform/Patient');
      const failed = await (await api(`/transactions?filters=${encodeURIComponent(JSON.stringify({ status: 'Failed' }))}`)).json() as Json[];
      assert.equal(failed.length, 2);
      const byStatusClass = await (await api(`/transactions?filters=${encodeURIComponent(JSON.stringify({ 'response.status': '2xx' }))}`)).json() as Json[];
      assert.equal(byStatusClass.length, 1);
    });

    it('pages transactions newest first with filterPage and filterLimit', async () => {
      await addChannel(channelFor('Paged', '^/paged$', mediator.port));
      for (let index = 0; index < 5; index += 1) {
        await fetch(`${base}/router/paged?n=${index}`, { headers: CLIENT });
      }
      const page = async (number: number): Promise<string[]> =>
        ((await (await api(`/transactions?filterPage=${number}&filterLimit=2`)).json()) as Json[]).map((transaction) => transaction.request.querystring);
      assert.deepEqual(await page(0), ['n=4', 'n=3']);
      assert.deepEqual(await page(1), ['n=2', 'n=1']);
      assert.deepEqual(await page(2), ['n=0']);
      assert.equal((await api('/transactions/000000000000000000000000')).status, 404);
    });
  });

  describe('control API', () => {
    it('injects faults on API routes and resets to the seed', async () => {
      await post('/mediators', { urn: 'urn:x', version: '1.0.0', name: 'x', endpoints: [{ name: 'e', host: 'h', port: 1 }] });
      await fetch(`${base}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: '^/mediators$', method: 'POST', status: 503, count: 1 }) });
      assert.equal((await post('/mediators', { urn: 'urn:y' })).status, 503);
      assert.equal((await api('/mediators')).status, 200);
      await fetch(`${base}/_sandbox/reset`, { method: 'POST' });
      assert.deepEqual(await (await api('/mediators')).json(), []);
      assert.equal(((await (await api('/clients')).json()) as Json[]).length, 1);
    });
  });
});
