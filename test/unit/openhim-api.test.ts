import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { SandboxApp } from '../../sandbox/core';
import { create, ROOT_EMAIL, ROOT_PASSWORD, ROOT_PASSWORD_SALT } from '../../sandbox/openhim';
import { connectionOptions, type ConnectionDef } from '../../nodes/core/server-config';
import { IntegrationError } from '../../nodes/core/errors';
import {
  OpenhimClient, MediatorSession, buildMediatorResponse, buildRegistration, collectOrchestrations, failedMediatorResponse,
  legacyAuthHeaders, legacyAuthToken, legacyPasswordHash, orchestrationFromRequestRecord, parseHeartbeatAnswer,
  recordOrchestration, recordRequest, statusForHttp, type MediatorConfig, type MediatorState, type OrchestrationCarrier,
} from '../../nodes/openhim/api';
import { describeMediatorState } from '../../nodes/openhim/mediator-status';
import { requireSamples, sampleJson } from '../support/samples';
import { shapeDifferences } from '../support/shape';

type Json = Record<string, any>;

const sha512 = (text: string): string => createHash('sha512').update(text).digest('hex');

function connection(baseUrl: string): ReturnType<typeof connectionOptions> {
  return connectionOptions({ baseUrl, timeoutMs: 2000, maxAttempts: 1 } as ConnectionDef, 'openhim');
}

describe('openhim api', () => {
  describe('legacy token auth', () => {
    it('computes the token as openhim-mediator-utils does: sha512(sha512(salt + password) + salt + ts)', () => {
      const salt = 'salt-1';
      const ts = '2024-03-01T10:00:00.000Z';
      const utilsPasshash = sha512(salt + 'secret');
      assert.equal(legacyPasswordHash(salt, 'secret'), utilsPasshash);
      assert.equal(legacyAuthToken(utilsPasshash, salt, ts), sha512(utilsPasshash + salt + ts));
      assert.deepEqual(legacyAuthHeaders('root@openhim.org', 'secret', { salt, ts }), {
        'auth-username': 'root@openhim.org', 'auth-ts': ts, 'auth-salt': salt, 'auth-token': sha512(utilsPasshash + salt + ts),
      });
      // The sandbox stores the root user's passport exactly like core: sha512(salt + password).
      assert.equal(legacyPasswordHash(ROOT_PASSWORD_SALT, ROOT_PASSWORD), sha512(ROOT_PASSWORD_SALT + ROOT_PASSWORD));
    });

    describe('against the sandbox', () => {
      let app: SandboxApp;
      let base: string;
      beforeEach(async () => {
        app = create();
        base = `http://127.0.0.1:${await app.listen(0)}`;
      });
      afterEach(() => app.close());

      it('authenticates every request with a fresh salt and server time', async () => {
        const client = OpenhimClient.create(connection(base), 'token', { username: ROOT_EMAIL, password: ROOT_PASSWORD });
        try {
          assert.deepEqual(await client.listChannels(), []);
          assert.deepEqual(await client.listChannels(), []);
        } finally {
          client.close();
        }
      });

      it('fails with code auth for a wrong password or an unknown user, without leaking the password', async () => {
        for (const [username, password] of [[ROOT_EMAIL, 'wrong-password'], ['nobody@example.org', 'wrong-password']]) {
          const client = OpenhimClient.create(connection(base), 'token', { username, password });
          try {
            await assert.rejects(client.listChannels(), (error: IntegrationError) => {
              assert.equal(error.code, 'auth');
              assert.equal(JSON.stringify(error.toJSON()).includes('wrong-password'), false);
              return true;
            });
          } finally {
            client.close();
          }
        }
      });

      it('also speaks basic auth', async () => {
        const client = OpenhimClient.create(connection(base), 'basic', { username: ROOT_EMAIL, password: ROOT_PASSWORD });
        try {
          assert.deepEqual(await client.listChannels(), []);
        } finally {
          client.close();
        }
      });
    });
  });

  describe('registration', () => {
    const settings = {
      urn: 'urn:mediator:dhis2-sync',
      version: '1.0.0',
      name: 'DHIS2 sync',
      endpointUrl: 'http://nodered:1880/openhim/dhis2-sync',
      channel: { name: 'DHIS2 sync', urlPattern: '^/dhis2-sync$', methods: ['POST'], allow: ['interop'] },
      routeCredentials: { username: 'openhim', password: 'route-secret' },
    };

    it('builds an endpoint and a default channel routed to this Node-RED', () => {
      const registration = buildRegistration(settings);
      assert.deepEqual(registration.endpoints, [{ name: 'DHIS2 sync', host: 'nodered', port: '1880', path: '/openhim/dhis2-sync', primary: true, type: 'http' }]);
      assert.deepEqual(registration.defaultChannelConfig, [{
        name: 'DHIS2 sync', urlPattern: '^/dhis2-sync$', type: 'http', methods: ['POST'], allow: ['interop'],
        routes: [{ name: 'DHIS2 sync', host: 'nodered', port: 1880, path: '/openhim/dhis2-sync', primary: true, type: 'http', username: 'openhim', password: 'route-secret' }],
      }]);
      const secured = buildRegistration({ ...settings, endpointUrl: 'https://nodered.example.org/x' });
      assert.equal(secured.endpoints[0].port, '443');
      assert.equal(secured.endpoints[0].secured, true);
    });

    it('refuses what core would refuse, naming the field', () => {
      const field = (change: Json): string | undefined => {
        try {
          buildRegistration({ ...settings, ...change });
          return undefined;
        } catch (error) {
          return (error as IntegrationError).field;
        }
      };
      assert.equal(field({ urn: ' ' }), 'urn');
      assert.equal(field({ version: '1.0' }), 'version');
      assert.equal(field({ endpointUrl: 'ftp://x' }), 'endpointUrl');
      assert.equal(field({ endpointUrl: 'http://u:p@x/' }), 'endpointUrl');
      assert.equal(field({ channel: { ...settings.channel, urlPattern: '([' } }), 'urlPattern');
      assert.equal(field({ channel: { ...settings.channel, methods: ['FETCH'] } }), 'methods');
    });

    const samples: Array<[string, string[]]> = [
      ['openhim/cht-ltfu-mediator-config.json', ['$.defaultChannelConfig[0].routes[0].pathTransform: missing']],
      ['openhim/mediator-registration-with-config.json', []],
      ['openhim/mediator-config-file-queue.json', []],
    ];
    for (const [file, expected] of samples) {
      it(`has the shape of the upstream registration ${file}`, function () {
        requireSamples(this);
        const sample = sampleJson<Json>(file);
        const registration = buildRegistration({
          urn: sample.urn,
          version: sample.version,
          name: sample.name,
          description: sample.description,
          endpointUrl: `http://${sample.endpoints[0].host}:${sample.endpoints[0].port}${sample.endpoints[0].path ?? '/'}`,
          channel: sample.defaultChannelConfig?.[0] && { ...sample.defaultChannelConfig[0], methods: sample.defaultChannelConfig[0].methods ?? [] },
          configDefs: sample.configDefs,
          config: sample.config,
        });
        // We route to the endpoint's path; the CHT mediator rewrites the path with pathTransform instead.
        assert.deepEqual(shapeDifferences(sample, registration), expected);
      });
    }
  });

  describe('mediator response', () => {
    it('has the shape of the upstream application/json+openhim sample', function () {
      requireSamples(this);
      const sample = sampleJson<Json>('openhim/mediator-response-json-openhim.json');
      const msg: OrchestrationCarrier = {};
      recordOrchestration(msg, 'orch1',
        { method: 'POST', url: 'http://someserver:8080/orch1', body: 'orchestration 1', timestamp: '2015-01-15T14:51:55.000+02:00' },
        { status: 201, headers: { 'Content-Type': 'text/plain' }, body: 'created', timestamp: '2015-01-15T14:51:55.000+02:00' });
      recordOrchestration(msg, 'orch2', { method: 'GET', path: '/orch2' }, { status: 200, headers: { 'Content-Type': 'text/xml' }, body: '<data>test orchestration 2</data>' });
      const built = buildMediatorResponse({
        urn: 'urn:mediator:test-mediator', httpStatus: 200, body: 'a test response', orchestrations: collectOrchestrations(msg), properties: { pro1: 'val1', pro2: 'val2' },
      });
      assert.deepEqual(shapeDifferences(sample, built), []);
      assert.equal(built.status, 'Successful');
      assert.equal(built.response.headers['Content-Type'], 'text/plain; charset=utf-8');
      assert.deepEqual(built.orchestrations[0].request, { host: 'someserver', port: '8080', path: '/orch1', body: 'orchestration 1', method: 'POST', timestamp: '2015-01-15T12:51:55.000Z' });
    });

    it('derives the transaction status from the HTTP status, and answers Failed after an error', () => {
      assert.deepEqual([200, 201, 204, 400, 404, 500, 503].map(statusForHttp), ['Successful', 'Successful', 'Successful', 'Completed', 'Completed', 'Failed', 'Failed']);
      const json = buildMediatorResponse({ urn: 'u', body: { a: 1 }, properties: { count: 3 } });
      assert.equal(json.response.body, '{"a":1}');
      assert.equal(json.response.headers['Content-Type'], 'application/json');
      assert.deepEqual(json.properties, { count: '3' });
      const failed = failedMediatorResponse('u', { message: 'dhis2 GET /api failed: HTTP 503', code: 'remote-error' });
      assert.equal(failed.status, 'Failed');
      assert.equal(failed.response.status, 500);
      assert.deepEqual(JSON.parse(failed.response.body), { error: 'dhis2 GET /api failed: HTTP 503', code: 'remote-error' });
      assert.equal(failedMediatorResponse('u', { message: 'bad', code: 'bad-input' }).response.status, 400);
    });

    it('turns HttpClient request records into orchestrations, oldest first, with credentials hidden', () => {
      const msg: OrchestrationCarrier = { orchestrations: [{ name: 'late', request: { method: 'GET', path: '/late', timestamp: '2030-01-01T00:00:00Z' } }] };
      recordRequest(msg, { method: 'POST', url: 'https://play.dhis2.org/api/tracker?async=false&api_key=k1', status: 200, durationMs: 40, attempt: 1, requestBody: { a: 1 }, responseBody: { ok: true } });
      recordRequest(msg, { method: 'GET', url: 'http://cc/a/x/api/case', status: 0, durationMs: 5, attempt: 1, error: 'timeout' });
      const [first, second, last] = collectOrchestrations(msg);
      assert.equal(first.name, 'POST /api/tracker');
      assert.equal(first.request.host, 'play.dhis2.org');
      assert.equal(first.request.port, '443');
      assert.equal(first.request.querystring?.includes('k1'), false);
      assert.equal(first.request.body, '{"a":1}');
      assert.equal(first.response?.status, 200);
      assert.equal(first.response?.body, '{"ok":true}');
      assert.equal(second.response, undefined);
      assert.deepEqual(second.error, { message: 'timeout' });
      assert.equal(last.name, 'late');
      const named = orchestrationFromRequestRecord({ name: 'Pull org units', method: 'GET', url: 'http://x/api', status: 200, durationMs: 1, attempt: 1 });
      assert.equal(named.name, 'Pull org units');
    });

    it('reads heartbeat answers: empty means no news, JSON is config', () => {
      assert.equal(parseHeartbeatAnswer(''), undefined);
      assert.equal(parseHeartbeatAnswer('OK'), undefined);
      assert.deepEqual(parseHeartbeatAnswer('{"a":1}'), { a: 1 });
      assert.throws(() => parseHeartbeatAnswer('<html>'), { code: 'remote-error' });
    });
  });

  describe('mediator session', function () {
    this.timeout(10_000);
    let app: SandboxApp;
    let base: string;
    let port: number;
    beforeEach(async () => {
      app = create();
      port = await app.listen(0);
      base = `http://127.0.0.1:${port}`;
    });
    afterEach(() => app.close());

    const registration = () => buildRegistration({
      urn: 'urn:mediator:session-test', version: '1.0.0', name: 'Session test', endpointUrl: 'http://127.0.0.1:9/x',
      channel: { name: 'Session test', urlPattern: '^/x$', methods: ['POST'], allow: ['interop'] },
      configDefs: [{ param: 'orgUnit', type: 'string' }], config: { orgUnit: 'ImspTQPwCqd' },
    });

    function waitFor<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const poll = (): void => {
          const value = check();
          if (value !== undefined) resolve(value);
          else if (Date.now() - started > timeoutMs) reject(new Error('timed out waiting'));
          else setTimeout(poll, 20);
        };
        poll();
      });
    }

    it('registers, installs the missing channel once, heartbeats, passes config changes on and re-registers when deleted', async () => {
      const client = OpenhimClient.create(connection(base), 'basic', { username: ROOT_EMAIL, password: ROOT_PASSWORD });
      const configs: MediatorConfig[] = [];
      const states: MediatorState[] = [];
      const session = new MediatorSession({ client: () => client, registration, installChannels: ['Session test'], heartbeatMs: 100, onConfig: (config) => configs.push(config), onState: (state) => states.push(state) });
      try {
        session.start();
        await waitFor(() => (configs.length ? true : undefined));
        assert.deepEqual(configs[0], { orgUnit: 'ImspTQPwCqd' });
        assert.equal(session.state.phase, 'registered');
        assert.deepEqual(session.state.installedChannels, ['Session test']);
        const mediator = await client.getMediator('urn:mediator:session-test');
        assert.equal(mediator.name, 'Session test');
        await waitFor(() => (states.length >= 3 ? true : undefined));
        assert.ok((await client.getMediator('urn:mediator:session-test'))._lastHeartbeat);
        assert.match(describeMediatorState(session.state).text ?? '', /^registered · heartbeat ok \ds ago$/);

        await client.setMediatorConfig('urn:mediator:session-test', { orgUnit: 'O6uvpzGd5pu' });
        await waitFor(() => (configs.length >= 2 ? true : undefined));
        assert.deepEqual(configs[1], { orgUnit: 'O6uvpzGd5pu' });

        await client.http.delete('mediators/urn:mediator:session-test', { responseType: 'text' });
        await waitFor(() => (configs.length >= 3 ? true : undefined));
        assert.equal((await client.listChannels()).length, 1, 'the existing channel is not installed twice');
      } finally {
        await session.stop();
        client.close();
      }
    });

    it('keeps retrying with backoff while core is unreachable, and says so', async () => {
      await app.close();
      const client = OpenhimClient.create(connection(base), 'basic', { username: ROOT_EMAIL, password: ROOT_PASSWORD });
      const session = new MediatorSession({ client: () => client, registration, installChannels: [], heartbeatMs: 100 });
      try {
        session.start();
        await waitFor(() => (session.state.phase === 'failing' ? true : undefined));
        assert.equal(session.state.error?.code, 'unreachable');
        assert.equal(describeMediatorState(session.state).text, 'core unreachable (retrying)');
        app = create();
        await app.listen(port);
        await waitFor(() => (session.state.phase === 'registered' ? true : undefined), 8000);
      } finally {
        await session.stop();
        client.close();
      }
    });
  });
});
