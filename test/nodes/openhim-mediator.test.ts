import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Node, NodeAPI } from 'node-red';
import type { SandboxApp } from '../../sandbox/core';
import { create, DEMO_CLIENT_ID, DEMO_CLIENT_PASSWORD, DEMO_CLIENT_ROLE, ROOT_EMAIL, ROOT_PASSWORD } from '../../sandbox/openhim';
import receiverAuth from '../../nodes/core/receiver-auth-config';
import { IntegrationError } from '../../nodes/core/errors';
import { handleInput } from '../../nodes/core/node-kit';
import openhimConfig from '../../nodes/openhim/openhim-config';
import openhimMediator from '../../nodes/openhim/openhim-mediator';
import mediatorIn from '../../nodes/openhim/openhim-mediator-in';
import openhimResponse from '../../nodes/openhim/openhim-response';
import { recordOrchestration, recordRequest, type OrchestrationCarrier } from '../../nodes/openhim/api';
import { helper, httpNode, loadFlow, unloadFlow } from '../support/node-helper';

type Json = Record<string, any>;

const URN = 'urn:mediator:dhis2-sync';
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ROOT = { Authorization: basic(ROOT_EMAIL, ROOT_PASSWORD), 'Content-Type': 'application/json' };

/** Stands in for the DHIS2 and CommCare nodes: records its upstream calls, or fails like a writer would. */
function testStep(RED: NodeAPI): void {
  RED.nodes.registerType('openhim-test-step', function (this: Node, def: any) {
    RED.nodes.createNode(this, def);
    handleInput<any>(this, async (msg: any & OrchestrationCarrier, send) => {
      recordOrchestration(msg, 'DHIS2 org units',
        { method: 'GET', url: 'http://dhis2:8080/api/organisationUnits?paging=false', headers: { Authorization: 'Basic c2VjcmV0' }, timestamp: Date.now() - 1000 },
        { status: 200, body: { organisationUnits: [{ id: 'ImspTQPwCqd' }] } });
      if (msg.payload?.fail) throw new IntegrationError('commcare POST /a/demo/api/case/v2/ failed: HTTP 503', { code: 'remote-error', status: 503, system: 'commcare' });
      recordRequest(msg, { method: 'POST', url: 'http://commcare:8000/a/demo/api/case/v2/', status: 201, durationMs: 12, attempt: 1, requestBody: [{ case_type: 'household' }], responseBody: { cases: [] } });
      msg.payload = { synced: 3 };
      msg.properties = { synced: 3, orgUnit: 'ImspTQPwCqd' };
      send(msg);
    });
  });
}

describe('OpenHIM mediator nodes', function () {
  this.timeout(20_000);
  let openhim: SandboxApp;
  let core: string;
  let nodeServer: http.Server;
  let nodePort: number;

  beforeEach(async () => {
    openhim = create();
    core = `http://127.0.0.1:${await openhim.listen(0)}`;
    // node-red-node-test-helper's server does not serve httpNode routes, so OpenHIM reaches them here.
    nodeServer = http.createServer((req, res) => httpNode()(req, res));
    await new Promise<void>((resolve) => nodeServer.listen(0, '127.0.0.1', () => resolve()));
    nodePort = (nodeServer.address() as AddressInfo).port;
    await helper.startServer();
  });

  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    await new Promise<void>((resolve) => nodeServer.close(() => resolve()));
    await openhim.close();
  });

  const api = async (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${core}${path}`, { ...init, headers: { ...ROOT, ...(init.headers as Json | undefined) } });

  function flow(authScheme: 'basic' | 'token' = 'basic'): object[] {
    return [
      { id: 't', type: 'tab' },
      { id: 'srv', type: 'chis-openhim-config', baseUrl: core, authScheme, timeoutMs: 5000, maxAttempts: 1 },
      { id: 'auth', type: 'chis-receiver-auth', mode: 'basic' },
      {
        id: 'med', type: 'chis-openhim-mediator', name: 'DHIS2 sync', server: 'srv', urn: URN, version: '1.0.0',
        endpointUrl: `http://127.0.0.1:${nodePort}/openhim/dhis2-sync`, auth: 'auth',
        installChannel: true, channelName: 'DHIS2 sync', urlPattern: '^/dhis2-sync$', methods: 'POST', allow: DEMO_CLIENT_ROLE,
        heartbeatSeconds: 0.2,
        configDefs: JSON.stringify([{ param: 'orgUnit', displayName: 'Org unit', type: 'string' }]),
        config: JSON.stringify({ orgUnit: 'ImspTQPwCqd' }),
      },
      { id: 'in', type: 'chis-openhim-mediator-in', z: 't', mediator: 'med', receiptTimeoutMs: 5000, wires: [['step', 'seen'], ['cfg']] },
      { id: 'step', type: 'openhim-test-step', z: 't', wires: [['resp']] },
      { id: 'c', type: 'catch', z: 't', scope: ['step'], wires: [['resp']] },
      { id: 'resp', type: 'chis-openhim-response', z: 't', status: 'auto', includeOrchestrations: true, wires: [['out']] },
      { id: 'seen', type: 'helper', z: 't' },
      { id: 'cfg', type: 'helper', z: 't' },
      { id: 'out', type: 'helper', z: 't' },
    ];
  }

  const credentials = {
    srv: { username: ROOT_EMAIL, password: ROOT_PASSWORD },
    auth: { username: 'openhim-core', password: 'route-secret' },
  };

  async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 8000): Promise<T> {
    const started = Date.now();
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() - started > timeoutMs) throw new Error('timed out waiting');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const nextInput = (id: string): Promise<any> => new Promise((resolve) => helper.getNode(id).once('input', resolve));

  async function registered(): Promise<Json> {
    return waitFor(async () => {
      const response = await api(`/mediators/${encodeURIComponent(URN)}`);
      return response.status === 200 ? (await response.json()) as Json : undefined;
    });
  }

  for (const scheme of ['basic', 'token'] as const) {
    it(`registers the mediator, installs its channel and heartbeats (${scheme} auth)`, async () => {
      const firstConfig = new Promise<any>((resolve) => {
        // The config output is wired before the flow starts, so listen on the helper as soon as it exists.
        const poll = setInterval(() => {
          const node = helper.getNode('cfg');
          if (node) {
            clearInterval(poll);
            node.once('input', resolve);
          }
        }, 1);
      });
      await loadFlow([receiverAuth, openhimConfig, openhimMediator, mediatorIn, openhimResponse, testStep], flow(scheme), credentials);
      const mediator = await registered();
      assert.equal(mediator.name, 'DHIS2 sync');
      assert.equal(mediator.endpoints[0].port, nodePort);
      assert.equal(mediator.endpoints[0].path, '/openhim/dhis2-sync');
      assert.deepEqual((await firstConfig).payload, { orgUnit: 'ImspTQPwCqd' });

      const channels = await waitFor(async () => {
        const list = (await (await api('/channels')).json()) as Json[];
        return list.length ? list : undefined;
      });
      assert.deepEqual(channels.map((channel) => channel.name), ['DHIS2 sync']);
      assert.deepEqual(channels[0].allow, [DEMO_CLIENT_ROLE]);
      assert.equal(channels[0].routes[0].username, 'openhim-core');

      const firstBeat = (await registered())._lastHeartbeat;
      const laterBeat = await waitFor(async () => {
        const beat = (await registered())._lastHeartbeat;
        return beat && beat !== firstBeat ? beat : undefined;
      });
      assert.ok(Date.parse(laterBeat) > Date.parse(firstBeat ?? '1970-01-01'));
      let status: string | undefined;
      helper.getNode('in').on('call:status', (call: any) => { status = call.args[0]?.text; });
      await waitFor(() => (status?.startsWith('registered · heartbeat ok') ? true : undefined));
      assert.match(status!, /^registered · heartbeat ok \ds ago · \/openhim\/dhis2-sync: accepted 0$/);
    });
  }

  it('emits config changes an admin makes in the console', async () => {
    await loadFlow([receiverAuth, openhimConfig, openhimMediator, mediatorIn, openhimResponse, testStep], flow(), credentials);
    await registered();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const changed = nextInput('cfg');
    assert.equal((await api(`/mediators/${encodeURIComponent(URN)}/config`, { method: 'PUT', body: JSON.stringify({ orgUnit: 'O6uvpzGd5pu' }) })).status, 200);
    const msg = await changed;
    assert.equal(msg.topic, 'openhim-config');
    assert.deepEqual(msg.payload, { orgUnit: 'O6uvpzGd5pu' });
    assert.equal(msg.openhim.urn, URN);
  });

  async function routedRequest(body: Json): Promise<{ response: Response; transaction: Json; seen: any }> {
    await loadFlow([receiverAuth, openhimConfig, openhimMediator, mediatorIn, openhimResponse, testStep], flow(), credentials);
    await waitFor(async () => (((await (await api('/channels')).json()) as Json[]).length ? true : undefined));
    const seen = nextInput('seen');
    const response = await fetch(`${core}/router/dhis2-sync?period=202401`, {
      method: 'POST',
      headers: { Authorization: basic(DEMO_CLIENT_ID, DEMO_CLIENT_PASSWORD), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const id = response.headers.get('x-openhim-transactionid')!;
    const transaction = (await (await api(`/transactions/${id}`)).json()) as Json;
    return { response, transaction, seen: await seen };
  }

  it('answers a routed request with the response, status, orchestrations and properties in the transaction log', async () => {
    const { response, transaction, seen } = await routedRequest({ period: '202401' });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { synced: 3 });
    assert.equal(seen.openhim.transactionId, transaction._id);
    assert.equal(seen.openhim.clientId, DEMO_CLIENT_ID);
    assert.equal(seen.openhim.urn, URN);
    assert.deepEqual(seen.openhim.query, { period: '202401' });
    assert.deepEqual(seen.payload, { period: '202401' });

    assert.equal(transaction.status, 'Successful');
    assert.deepEqual(transaction.properties, { synced: '3', orgUnit: 'ImspTQPwCqd' });
    assert.deepEqual(transaction.orchestrations.map((orchestration: Json) => orchestration.name), ['DHIS2 org units', 'POST /a/demo/api/case/v2/']);
    const [dhis2, commcare] = transaction.orchestrations;
    assert.equal(dhis2.request.host, 'dhis2');
    assert.equal(dhis2.request.querystring, 'paging=false');
    assert.notEqual(dhis2.request.headers.Authorization, 'Basic c2VjcmV0', 'credentials are redacted');
    assert.equal(dhis2.response.status, 200);
    assert.equal(commcare.response.status, 201);
    assert.equal(commcare.request.body, '[{"case_type":"household"}]');
    assert.equal(JSON.stringify(transaction).includes('route-secret'), false);
  });

  it('answers Failed with the error summary after a Catch, keeping the orchestrations made so far', async () => {
    const { response, transaction } = await routedRequest({ fail: true });
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), { error: 'commcare POST /a/demo/api/case/v2/ failed: HTTP 503', code: 'remote-error' });
    assert.equal(transaction.status, 'Failed');
    assert.deepEqual(transaction.orchestrations.map((orchestration: Json) => orchestration.name), ['DHIS2 org units']);
  });

  it('offers client roles and client ids for the channel allow list, and a connection test', async () => {
    await loadFlow([receiverAuth, openhimConfig, openhimMediator, mediatorIn, openhimResponse, testStep], flow('token'), credentials);
    const roles = await helper.request().get('/chis/lookup/chis-openhim-config/srv/roles').expect(200);
    assert.deepEqual(roles.body.map((option: Json) => option.value), [DEMO_CLIENT_ROLE, DEMO_CLIENT_ID]);
    const test = await helper.request().get('/chis/lookup/chis-openhim-config/srv/test').expect(200);
    assert.match(test.body[0].label, /^Connected to the OpenHIM core API/);
  });

  it('refuses requests without the route credentials', async () => {
    await loadFlow([receiverAuth, openhimConfig, openhimMediator, mediatorIn, openhimResponse, testStep], flow(), credentials);
    const direct = await fetch(`http://127.0.0.1:${nodePort}/openhim/dhis2-sync`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(direct.status, 401);
  });
});
