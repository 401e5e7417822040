/**
 * Credentials never leave Node-RED's credential store. Every system's config node is deployed
 * with distinctive secrets and driven against a hostile server that answers 401 or 500 and
 * echoes the request (headers, URL, body) in its error body. Everything the runtime produces
 * is captured (messages on every output, Catch, statuses, node errors and warnings, the runtime
 * log, the flow export from GET /flows) and searched for each secret in every wire form.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import receiverAuth from '../../nodes/core/receiver-auth-config';
import receipt from '../../nodes/core/receipt';
import openmrsConfig from '../../nodes/openmrs/openmrs-config';
import patientRead from '../../nodes/openmrs/openmrs-patient-read';
import dhis2Config from '../../nodes/dhis2/dhis2-config';
import dhis2Read from '../../nodes/dhis2/dhis2-read';
import commcareConfig from '../../nodes/commcare/commcare-config';
import caseLookup from '../../nodes/commcare/commcare-case-lookup';
import rapidproConfig from '../../nodes/rapidpro/rapidpro-config';
import contactWriter from '../../nodes/rapidpro/rapidpro-contact-writer';
import webhookReceiver from '../../nodes/rapidpro/rapidpro-webhook-receiver';
import chtConfig from '../../nodes/cht/cht-config';
import contactLookup from '../../nodes/cht/cht-contact-lookup';
import fhirConfig from '../../nodes/fhir/fhir-config';
import fhirWriter from '../../nodes/fhir/fhir-writer';
import openhimConfig from '../../nodes/openhim/openhim-config';
import openhimMediator from '../../nodes/openhim/openhim-mediator';
import { helper, httpNode, loadFlow, unloadFlow } from '../support/node-helper';
import type { SandboxApp } from '../../sandbox/core';
import { create as createOpenmrs } from '../../sandbox/openmrs';
import * as openmrsSeed from '../../sandbox/openmrs/seed';
import { create as createDhis2, ADMIN_PASSWORD, ADMIN_USERNAME, DEMO_API_TOKEN } from '../../sandbox/dhis2';
import { create as createCommcare } from '../../sandbox/commcare';
import * as commcareSeed from '../../sandbox/commcare/seed';
import { create as createRapidpro } from '../../sandbox/rapidpro';
import * as rapidproSeed from '../../sandbox/rapidpro/seed';
import { create as createCht } from '../../sandbox/cht';
import * as chtSeed from '../../sandbox/cht/seed';
import { create as createFhir, FHIR_CLIENT_ID, FHIR_CLIENT_SECRET, FHIR_STATIC_TOKEN, TOKEN_PATH } from '../../sandbox/fhir';

const SECRETS = {
  openmrsPassword: 'OpenmrsPw-Zq81x-secret',
  dhis2Password: 'Dhis2Pw-Kk27v-secret',
  dhis2Token: 'd2pat_Dhis2Token9Yt4secret',
  commcareApiKey: 'CommcareKey-Ww55q-secret',
  rapidproToken: 'RapidproToken-Pp63m-secret',
  chtPassword: 'ChtPw-Hh91r-secret',
  fhirToken: 'FhirBearer-Tt18n-secret',
  fhirPassword: 'FhirPw-Bb40k-secret',
  fhirClientSecret: 'FhirClientSecret-Cc77j-secret',
  openhimPassword: 'OpenhimPw-Oo36d-secret',
  openhimTokenPassword: 'OpenhimTokenPw-Ll12s-secret',
  receiverPassword: 'ReceiverPw-Rr84f-secret',
  receiverToken: 'ReceiverToken-Gg29e-secret',
  receiverHmacKey: 'ReceiverHmac-Ee66w-secret',
};
const USERS = { openmrs: 'omrs-user', dhis2: 'dhis2-user', commcare: 'cc-user@example.org', cht: 'cht-user', fhir: 'fhir-user', openhim: 'him@example.org', receiver: 'rx-user', fhirClient: 'chis-client' };

/** Each secret as it can appear on the wire or in a log: verbatim, URL-encoded, base64 of it and of "user:secret". */
function secretForms(): Array<{ name: string; form: string }> {
  const forms: Array<{ name: string; form: string }> = [];
  const users = Object.values(USERS);
  for (const [name, secret] of Object.entries(SECRETS)) {
    forms.push({ name, form: secret }, { name: `${name} (url-encoded)`, form: encodeURIComponent(secret) });
    forms.push({ name: `${name} (base64)`, form: Buffer.from(secret).toString('base64').replace(/=+$/, '') });
    for (const user of users) forms.push({ name: `${name} (basic base64 for ${user})`, form: Buffer.from(`${user}:${secret}`).toString('base64').replace(/=+$/, '') });
  }
  return forms;
}

/** Every search form of these secrets (as secretForms, for the sandboxes' demo credentials). */
function formsOf(secrets: Record<string, string>, users: string[]): Array<{ name: string; form: string }> {
  const forms: Array<{ name: string; form: string }> = [];
  for (const [name, secret] of Object.entries(secrets)) {
    forms.push({ name, form: secret }, { name: `${name} (base64)`, form: Buffer.from(secret).toString('base64').replace(/=+$/, '') });
    for (const user of users) forms.push({ name: `${name} (basic base64 for ${user})`, form: Buffer.from(`${user}:${secret}`).toString('base64').replace(/=+$/, '') });
  }
  return forms;
}

/** Text of anything captured: own properties (enumerable or not) of errors included, cycles cut. */
function dump(value: unknown): string {
  const seen = new WeakSet<object>();
  const walk = (current: unknown, depth: number): unknown => {
    if (typeof current === 'string' || typeof current === 'number' || typeof current === 'boolean' || current == null) return current;
    if (typeof current === 'function') return `[function ${current.name}]`;
    if (typeof current !== 'object' || depth > 40) return String(current);
    if (Buffer.isBuffer(current)) return current.toString('utf8');
    if (seen.has(current)) return '[circular]';
    seen.add(current);
    const copy: Record<string, unknown> = {};
    for (const key of Object.getOwnPropertyNames(current)) {
      try {
        copy[key] = walk((current as Record<string, unknown>)[key], depth + 1);
      } catch {
        copy[key] = '[unreadable]';
      }
    }
    if (current instanceof Error) {
      copy.stack = current.stack;
      copy.cause = walk(current.cause, depth + 1);
      const toJSON = (current as { toJSON?: () => unknown }).toJSON;
      if (typeof toJSON === 'function') copy.toJSON = walk(toJSON.call(current), depth + 1);
    }
    return copy;
  };
  return JSON.stringify(walk(value, 0));
}

interface Hostile { url: string; requests: Array<{ url: string; authorization?: string }>; close(): Promise<void> }

/** Answers every request with the status its first path segment names (/s401/..., /s500/...), echoing the request. */
async function hostileServer(): Promise<Hostile> {
  const requests: Hostile['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
      const status = Number(/^\/s(\d{3})\//.exec(req.url ?? '')?.[1] ?? 500);
      const echo = { headers: req.headers, url: req.url, body: Buffer.concat(chunks).toString('utf8') };
      const body = JSON.stringify({ error: `denied: ${req.headers.authorization ?? 'no authorization'}`, message: `request was ${JSON.stringify(echo)}`, detail: echo });
      res.writeHead(status, { 'Content-Type': 'application/json', 'WWW-Authenticate': `Basic realm="${req.headers.authorization ?? ''}"` });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function flow(base: string): object[] {
  const connection = { timeoutMs: 3_000, maxAttempts: 1 };
  const out = (id: string) => ({ id, type: 'helper', z: 't' });
  return [
    { id: 't', type: 'tab' },
    { id: 'omrs', type: 'chis-openmrs-config', baseUrl: `${base}/openmrs`, apiStyle: 'rest', ...connection },
    { id: 'omrsRead', type: 'chis-openmrs-patient-read', z: 't', server: 'omrs', by: 'uuid', value: 'payload', valueType: 'msg', wires: [['o1'], ['o1']] },
    { id: 'd2basic', type: 'chis-dhis2-config', baseUrl: `${base}/dhis2`, authType: 'basic', apiMode: 'tracker', ...connection },
    { id: 'd2pat', type: 'chis-dhis2-config', baseUrl: `${base}/dhis2`, authType: 'pat', apiMode: 'tracker', ...connection },
    { id: 'd2ReadBasic', type: 'chis-dhis2-read', z: 't', server: 'd2basic', resource: 'metadata', metadataType: 'organisationUnits', pageSize: 2, wires: [['o2']] },
    { id: 'd2ReadPat', type: 'chis-dhis2-read', z: 't', server: 'd2pat', resource: 'metadata', metadataType: 'organisationUnits', pageSize: 2, wires: [['o2']] },
    { id: 'cc', type: 'chis-commcare-config', baseUrl: `${base}/commcare`, domain: 'demo', ...connection },
    { id: 'ccLookup', type: 'chis-commcare-case-lookup', z: 't', server: 'cc', by: 'case_id', idProperty: 'payload', outputProperty: 'case', wires: [['o3']] },
    { id: 'rp', type: 'chis-rapidpro-config', baseUrl: `${base}/rapidpro`, ...connection },
    { id: 'rpWriter', type: 'chis-rapidpro-contact-writer', z: 't', server: 'rp', groupMode: 'add', wires: [['o4']] },
    { id: 'cht', type: 'chis-cht-config', baseUrl: `${base}/cht`, ...connection },
    { id: 'chtLookup', type: 'chis-cht-contact-lookup', z: 't', server: 'cht', by: 'id', value: 'payload', valueType: 'msg', wires: [['o5'], ['o5']] },
    { id: 'fhirBearer', type: 'chis-fhir-config', baseUrl: `${base}/fhir`, authType: 'bearer', fhirVersion: 'R4', ...connection },
    { id: 'fhirBasic', type: 'chis-fhir-config', baseUrl: `${base}/fhir`, authType: 'basic', fhirVersion: 'R4', ...connection },
    { id: 'fhirOauth', type: 'chis-fhir-config', baseUrl: `${base}/fhir`, authType: 'oauth2', tokenUrl: `${base}/token`, clientId: 'chis-client', fhirVersion: 'R4', ...connection },
    { id: 'fhirW1', type: 'chis-fhir-writer', z: 't', server: 'fhirBearer', operation: 'create', validate: true, wires: [['o6']] },
    { id: 'fhirW2', type: 'chis-fhir-writer', z: 't', server: 'fhirBasic', operation: 'create', validate: true, wires: [['o6']] },
    { id: 'fhirW3', type: 'chis-fhir-writer', z: 't', server: 'fhirOauth', operation: 'create', validate: true, wires: [['o6']] },
    { id: 'him', type: 'chis-openhim-config', baseUrl: `${base}/openhim`, authScheme: 'basic', ...connection },
    { id: 'himToken', type: 'chis-openhim-config', baseUrl: `${base}/openhim`, authScheme: 'token', ...connection },
    { id: 'rxAuthBasic', type: 'chis-receiver-auth', mode: 'basic' },
    { id: 'rxAuthHeader', type: 'chis-receiver-auth', mode: 'header', headerName: 'X-Demo-Token' },
    { id: 'rxAuthHmac', type: 'chis-receiver-auth', mode: 'hmac', signatureHeader: 'X-Signature', algorithm: 'sha256', encoding: 'hex' },
    {
      id: 'med', type: 'chis-openhim-mediator', name: 'Sec mediator', server: 'him', urn: 'urn:mediator:sec-test', version: '1.0.0',
      endpointUrl: 'http://127.0.0.1:1/sec', auth: 'rxAuthBasic', installChannel: false, heartbeatSeconds: 0.3,
    },
    {
      id: 'medToken', type: 'chis-openhim-mediator', name: 'Sec mediator 2', server: 'himToken', urn: 'urn:mediator:sec-test-2', version: '1.0.0',
      endpointUrl: 'http://127.0.0.1:1/sec2', auth: 'rxAuthHeader', installChannel: false, heartbeatSeconds: 0.3,
    },
    { id: 'rxHeader', type: 'chis-rapidpro-webhook-receiver', z: 't', path: '/sec/cred/header', auth: 'rxAuthHeader', receiptTimeoutMs: 2_000, wires: [['o7', 'ok']] },
    { id: 'rxHmac', type: 'chis-rapidpro-webhook-receiver', z: 't', path: '/sec/cred/hmac', auth: 'rxAuthHmac', receiptTimeoutMs: 2_000, wires: [['o7', 'ok']] },
    { id: 'rxBasic', type: 'chis-rapidpro-webhook-receiver', z: 't', path: '/sec/cred/basic', auth: 'rxAuthBasic', receiptTimeoutMs: 2_000, wires: [['o7', 'ok']] },
    { id: 'ok', type: 'chis-receipt', z: 't', outcome: 'auto', wires: [] },
    { id: 'catchAll', type: 'catch', z: 't', wires: [['caught']] },
    out('o1'), out('o2'), out('o3'), out('o4'), out('o5'), out('o6'), out('o7'), out('caught'),
  ];
}

const credentials = {
  omrs: { username: USERS.openmrs, password: SECRETS.openmrsPassword },
  d2basic: { username: USERS.dhis2, password: SECRETS.dhis2Password },
  d2pat: { token: SECRETS.dhis2Token },
  cc: { username: USERS.commcare, apiKey: SECRETS.commcareApiKey },
  rp: { token: SECRETS.rapidproToken },
  cht: { username: USERS.cht, password: SECRETS.chtPassword },
  fhirBearer: { token: SECRETS.fhirToken },
  fhirBasic: { username: USERS.fhir, password: SECRETS.fhirPassword },
  fhirOauth: { clientSecret: SECRETS.fhirClientSecret },
  him: { username: USERS.openhim, password: SECRETS.openhimPassword },
  himToken: { username: USERS.openhim, password: SECRETS.openhimTokenPassword },
  rxAuthBasic: { username: USERS.receiver, password: SECRETS.receiverPassword },
  rxAuthHeader: { token: SECRETS.receiverToken },
  rxAuthHmac: { token: SECRETS.receiverHmacKey },
};

const INPUT_NODES = ['omrsRead', 'd2ReadBasic', 'd2ReadPat', 'ccLookup', 'rpWriter', 'chtLookup', 'fhirW1', 'fhirW2', 'fhirW3'];
const OUTPUT_NODES = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'caught'];

function inputFor(id: string): Record<string, unknown> {
  if (id === 'rpWriter') return { payload: { urn: 'tel:+250788000009', name: 'Sec Test' } };
  if (id.startsWith('fhirW')) return { payload: { resourceType: 'Patient', name: [{ family: 'Test' }] } };
  if (id.startsWith('d2Read')) return { payload: 'go' };
  return { payload: 'a1b2c3d4-0000-4000-8000-000000000001' };
}

describe('security: credentials never leave the credential store', function () {
  this.timeout(60_000);
  let hostile: Hostile;
  before(async () => { hostile = await hostileServer(); });
  after(() => hostile.close());
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  it('failing (401, 500) calls of every system and every receiver auth mode leak no secret anywhere', async () => {
    const captured: Array<{ where: string; text: string }> = [];
    for (const status of [401, 500]) {
      const red = await loadFlow(
        [receiverAuth, receipt, openmrsConfig, patientRead, dhis2Config, dhis2Read, commcareConfig, caseLookup, rapidproConfig, contactWriter, webhookReceiver, chtConfig, contactLookup, fhirConfig, fhirWriter, openhimConfig, openhimMediator],
        flow(`${hostile.url}/s${status}`),
        credentials,
      );
      assert.ok(red, 'runtime loaded');
      const seenBefore = hostile.requests.length;
      let outputs = 0;
      for (const id of OUTPUT_NODES) {
        helper.getNode(id).on('input', (msg: unknown) => {
          outputs += 1;
          captured.push({ where: `msg at ${id} (${status})`, text: dump(msg) });
        });
      }
      for (const id of INPUT_NODES) helper.getNode(id).receive(inputFor(id));
      // Receivers: wrong and right secrets, each auth mode.
      const body = { contact: { uuid: 'c0a8b2d4-0000-4000-8000-000000000002', name: 'Sec', urn: 'tel:+250788000002' }, flow: { uuid: 'f0a8b2d4-0000-4000-8000-000000000002', name: 'Sec' }, results: {} };
      const answers = await Promise.all([
        request(httpNode()).post('/sec/cred/header').set('X-Demo-Token', `${SECRETS.receiverToken}x`).send(body),
        request(httpNode()).post('/sec/cred/header').set('X-Demo-Token', SECRETS.receiverToken).send(body),
        request(httpNode()).post('/sec/cred/basic').set('Authorization', `Basic ${Buffer.from(`${USERS.receiver}:${SECRETS.receiverPassword}`).toString('base64')}`).send(body),
        request(httpNode()).post('/sec/cred/hmac').set('X-Signature', SECRETS.receiverHmacKey).send(body),
      ]);
      assert.deepEqual(answers.map((answer) => answer.status), [401, 200, 200, 401]);
      for (const answer of answers) captured.push({ where: `receiver answer (${status})`, text: `${JSON.stringify(answer.headers)} ${answer.text}` });
      // Let every node fail (or answer) and the mediators heartbeat a few times.
      const deadline = Date.now() + 8_000;
      while (Date.now() < deadline && outputs < INPUT_NODES.length + 2) await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.ok(outputs >= INPUT_NODES.length + 2, `only ${outputs} messages came out`);
      const called = new Set(hostile.requests.slice(seenBefore).map((entry) => entry.url.split('/')[2]));
      assert.deepEqual(['openmrs', 'dhis2', 'commcare', 'rapidpro', 'cht', 'fhir', 'token', 'openhim'].filter((system) => !called.has(system)), [], 'every system called the hostile server');
      const anyNode = helper.getNode('o1');
      for (const method of ['status', 'error', 'warn', 'log', 'debug', 'trace', 'send']) {
        const spy = (anyNode as unknown as Record<string, { getCalls?: () => Array<{ args: unknown[] }> }>)[method];
        for (const call of spy?.getCalls?.() ?? []) captured.push({ where: `node.${method} (${status})`, text: dump(call.args) });
      }
      for (const call of helper.log().getCalls()) captured.push({ where: `runtime log (${status})`, text: dump(call.args) });
      // What GET /flows exports: the runtime's deployed flow configuration (the test helper
      // serves no admin API; test/flows/*.test.ts drive the real one).
      const exported = (helper as unknown as { _redNodes: { getFlows(): { flows: unknown[] } } })._redNodes.getFlows();
      assert.ok(exported.flows.length > 10);
      captured.push({ where: `flow export (${status})`, text: JSON.stringify(exported) });
      // The test itself must have seen the secrets go out, or finding nothing proves nothing.
      const sent = JSON.stringify(hostile.requests);
      assert.ok(sent.includes(SECRETS.rapidproToken) && sent.includes(SECRETS.fhirToken), 'secrets were sent to the hostile server');
      assert.ok(captured.some((entry) => entry.text.includes('denied')), 'the echoed error bodies were captured');
      await unloadFlow();
    }
    const leaks: string[] = [];
    for (const { name, form } of secretForms()) {
      for (const entry of captured) {
        const at = entry.text.indexOf(form);
        if (at >= 0) leaks.push(`${name} in ${entry.where}: …${entry.text.slice(Math.max(0, at - 120), at + form.length + 40)}…`);
      }
    }
    assert.deepEqual(leaks.slice(0, 10), [], `${leaks.length} leaks`);
  });

  it('successful calls against the sandboxes leak no credential either', async () => {
    const sandboxes: Record<string, SandboxApp> = { openmrs: createOpenmrs(), dhis2: createDhis2(), commcare: createCommcare(), rapidpro: createRapidpro(), cht: createCht(), fhir: createFhir() };
    const bases: Record<string, string> = {};
    for (const [name, app] of Object.entries(sandboxes)) bases[name] = `http://127.0.0.1:${await app.listen(0)}`;
    try {
      const connection = { timeoutMs: 5_000, maxAttempts: 2 };
      await loadFlow([openmrsConfig, patientRead, dhis2Config, dhis2Read, commcareConfig, caseLookup, rapidproConfig, contactWriter, chtConfig, contactLookup, fhirConfig, fhirWriter], [
        { id: 't', type: 'tab' },
        { id: 'omrs', type: 'chis-openmrs-config', baseUrl: `${bases.openmrs}/openmrs`, apiStyle: 'rest', ...connection },
        { id: 'omrsRead', type: 'chis-openmrs-patient-read', z: 't', server: 'omrs', by: 'uuid', value: 'payload', valueType: 'msg', wires: [['ok'], ['ok']] },
        { id: 'd2basic', type: 'chis-dhis2-config', baseUrl: bases.dhis2, authType: 'basic', apiMode: 'tracker', ...connection },
        { id: 'd2pat', type: 'chis-dhis2-config', baseUrl: bases.dhis2, authType: 'pat', apiMode: 'tracker', ...connection },
        { id: 'd2ReadBasic', type: 'chis-dhis2-read', z: 't', server: 'd2basic', resource: 'metadata', metadataType: 'organisationUnits', pageSize: 2, wires: [['ok']] },
        { id: 'd2ReadPat', type: 'chis-dhis2-read', z: 't', server: 'd2pat', resource: 'metadata', metadataType: 'organisationUnits', pageSize: 2, wires: [['ok']] },
        { id: 'cc', type: 'chis-commcare-config', baseUrl: bases.commcare, domain: commcareSeed.DOMAIN, ...connection },
        { id: 'ccLookup', type: 'chis-commcare-case-lookup', z: 't', server: 'cc', by: 'case_id', idProperty: 'payload', outputProperty: 'case', wires: [['ok']] },
        { id: 'rp', type: 'chis-rapidpro-config', baseUrl: bases.rapidpro, ...connection },
        { id: 'rpWriter', type: 'chis-rapidpro-contact-writer', z: 't', server: 'rp', groupMode: 'add', wires: [['ok']] },
        { id: 'cht', type: 'chis-cht-config', baseUrl: bases.cht, ...connection },
        { id: 'chtLookup', type: 'chis-cht-contact-lookup', z: 't', server: 'cht', by: 'id', value: 'payload', valueType: 'msg', wires: [['ok'], ['ok']] },
        { id: 'fhirBearer', type: 'chis-fhir-config', baseUrl: `${bases.fhir}/fhir`, authType: 'bearer', fhirVersion: 'R4', ...connection },
        { id: 'fhirOauth', type: 'chis-fhir-config', baseUrl: `${bases.fhir}/fhir`, authType: 'oauth2', tokenUrl: TOKEN_PATH, clientId: FHIR_CLIENT_ID, fhirVersion: 'R4', ...connection },
        { id: 'fhirW1', type: 'chis-fhir-writer', z: 't', server: 'fhirBearer', operation: 'create', validate: true, wires: [['ok']] },
        { id: 'fhirW2', type: 'chis-fhir-writer', z: 't', server: 'fhirOauth', operation: 'create', validate: true, wires: [['ok']] },
        { id: 'catchAll', type: 'catch', z: 't', wires: [['caught']] },
        { id: 'ok', type: 'helper', z: 't' },
        { id: 'caught', type: 'helper', z: 't' },
      ], {
        omrs: { username: openmrsSeed.USERNAME, password: openmrsSeed.PASSWORD },
        d2basic: { username: ADMIN_USERNAME, password: ADMIN_PASSWORD },
        d2pat: { token: DEMO_API_TOKEN },
        cc: { username: commcareSeed.WEB_USER.username, apiKey: commcareSeed.WEB_USER.apiKey },
        rp: { token: rapidproSeed.API_TOKEN },
        cht: { username: chtSeed.USERNAME, password: chtSeed.PASSWORD },
        fhirBearer: { token: FHIR_STATIC_TOKEN },
        fhirOauth: { clientSecret: FHIR_CLIENT_SECRET },
      });
      const captured: Array<{ where: string; text: string }> = [];
      const done = { ok: 0, caught: 0 };
      for (const id of ['ok', 'caught'] as const) {
        helper.getNode(id).on('input', (msg: unknown) => {
          done[id] += 1;
          captured.push({ where: `msg at ${id}`, text: dump(msg) });
        });
      }
      const inputs: Record<string, object> = {
        omrsRead: { payload: openmrsSeed.PATIENTS.amina },
        d2ReadBasic: { payload: 'go' },
        d2ReadPat: { payload: 'go' },
        ccLookup: { payload: commcareSeed.SEEDED_CASES[0].caseId },
        rpWriter: { payload: { urn: 'tel:+250788555001', name: 'Credential Check' } },
        chtLookup: { payload: chtSeed.PATIENT_MARY_ID },
        fhirW1: { payload: { resourceType: 'Patient', name: [{ family: 'Bearer' }] } },
        fhirW2: { payload: { resourceType: 'Patient', name: [{ family: 'Oauth' }] } },
      };
      for (const [id, msg] of Object.entries(inputs)) helper.getNode(id).receive(msg);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && done.ok + done.caught < Object.keys(inputs).length) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(done, { ok: Object.keys(inputs).length, caught: 0 }, captured.filter((entry) => entry.where.includes('caught')).map((entry) => entry.text.slice(0, 300)).join('\n'));
      const anyNode = helper.getNode('ok');
      for (const method of ['status', 'error', 'warn', 'log', 'send']) {
        const spy = (anyNode as unknown as Record<string, { getCalls?: () => Array<{ args: unknown[] }> }>)[method];
        for (const call of spy?.getCalls?.() ?? []) captured.push({ where: `node.${method}`, text: dump(call.args) });
      }
      for (const call of helper.log().getCalls()) captured.push({ where: 'runtime log', text: dump(call.args) });
      captured.push({ where: 'flow export', text: JSON.stringify((helper as unknown as { _redNodes: { getFlows(): unknown } })._redNodes.getFlows()) });
      // CHT's demo password is the word "password": searched for only inside its Basic value.
      const forms = formsOf(
        { openmrs: openmrsSeed.PASSWORD, dhis2: ADMIN_PASSWORD, dhis2Token: DEMO_API_TOKEN, commcare: commcareSeed.WEB_USER.apiKey, rapidpro: rapidproSeed.API_TOKEN, fhirToken: FHIR_STATIC_TOKEN, fhirClientSecret: FHIR_CLIENT_SECRET },
        [openmrsSeed.USERNAME, ADMIN_USERNAME, commcareSeed.WEB_USER.username, FHIR_CLIENT_ID],
      ).concat({ name: 'cht (basic)', form: Buffer.from(`${chtSeed.USERNAME}:${chtSeed.PASSWORD}`).toString('base64').replace(/=+$/, '') });
      const leaks = forms.flatMap(({ name, form }) => captured.filter((entry) => entry.text.includes(form)).map((entry) => `${name} in ${entry.where}`));
      assert.deepEqual(leaks, []);
    } finally {
      await unloadFlow();
      for (const app of Object.values(sandboxes)) await app.close();
    }
  });

  it('the example flows in flows/ carry no credentials', () => {
    const directory = path.resolve(__dirname, '../../../flows');
    const files = fs.readdirSync(directory).filter((file) => file.endsWith('.json'));
    assert.ok(files.length > 0);
    const problems: string[] = [];
    const visit = (value: unknown, where: string): void => {
      if (Array.isArray(value)) value.forEach((item, index) => visit(item, `${where}[${index}]`));
      else if (value && typeof value === 'object') {
        for (const [key, item] of Object.entries(value)) {
          if (key === 'credentials' && item && typeof item === 'object' && Object.values(item).some((secret) => typeof secret === 'string' && secret !== '')) problems.push(`${where}.credentials`);
          if (/^(password|apiKey|token|clientSecret|secret)$/i.test(key) && typeof item === 'string' && item !== '') problems.push(`${where}.${key}`);
          visit(item, `${where}.${key}`);
        }
      } else if (typeof value === 'string' && /^(Basic|Bearer|ApiKey|Token) [A-Za-z0-9+/=:._-]{8,}$/.test(value)) problems.push(`${where}: an Authorization value`);
    };
    for (const file of files) {
      const text = fs.readFileSync(path.join(directory, file), 'utf8');
      visit(JSON.parse(text), file);
      if (/https?:\/\/[^/\s"]+:[^/\s"@]+@/.test(text)) problems.push(`${file}: a URL with a password`);
    }
    assert.deepEqual(problems, []);
  });
});
