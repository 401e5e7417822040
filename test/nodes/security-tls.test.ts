/**
 * TLS verification is on by default for every system's config node: against an HTTPS server
 * with a self-signed certificate, calls fail with a TLS error (code "unreachable", not retried)
 * before any request is sent, and pass only when the config node's explicit allowSelfSigned
 * setting is on. The certificate is made at test time with openssl (skipped if absent).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connectionOptions } from '../../nodes/core/server-config';
import { HttpClient } from '../../nodes/core/http-client';
import { IntegrationError } from '../../nodes/core/errors';
import openmrsConfig from '../../nodes/openmrs/openmrs-config';
import patientRead from '../../nodes/openmrs/openmrs-patient-read';
import dhis2Config from '../../nodes/dhis2/dhis2-config';
import dhis2Read from '../../nodes/dhis2/dhis2-read';
import commcareConfig from '../../nodes/commcare/commcare-config';
import caseLookup from '../../nodes/commcare/commcare-case-lookup';
import rapidproConfig from '../../nodes/rapidpro/rapidpro-config';
import contactWriter from '../../nodes/rapidpro/rapidpro-contact-writer';
import chtConfig from '../../nodes/cht/cht-config';
import contactLookup from '../../nodes/cht/cht-contact-lookup';
import fhirConfig from '../../nodes/fhir/fhir-config';
import fhirWriter from '../../nodes/fhir/fhir-writer';
import openhimConfig from '../../nodes/openhim/openhim-config';
import openhimMediator from '../../nodes/openhim/openhim-mediator';
import receiverAuth from '../../nodes/core/receiver-auth-config';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

/** A key and self-signed certificate for 127.0.0.1, or undefined when openssl is not installed. */
function selfSignedCertificate(): { key: string; cert: string } | undefined {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(directory, 'key.pem'), '-out', path.join(directory, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: fs.readFileSync(path.join(directory, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(directory, 'cert.pem'), 'utf8') };
  } catch {
    return undefined;
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

const SYSTEMS = ['openmrs', 'dhis2', 'commcare', 'rapidpro', 'cht', 'fhir', 'token', 'openhim'];

function flow(base: string, allowSelfSigned: boolean | undefined): object[] {
  const connection = { timeoutMs: 3_000, maxAttempts: 1, ...(allowSelfSigned === undefined ? {} : { allowSelfSigned }) };
  return [
    { id: 't', type: 'tab' },
    { id: 'omrs', type: 'chis-openmrs-config', baseUrl: `${base}/openmrs`, apiStyle: 'rest', ...connection },
    { id: 'omrsRead', type: 'chis-openmrs-patient-read', z: 't', server: 'omrs', by: 'uuid', value: 'payload', valueType: 'msg', wires: [[], []] },
    { id: 'd2', type: 'chis-dhis2-config', baseUrl: `${base}/dhis2`, authType: 'basic', apiMode: 'tracker', ...connection },
    { id: 'd2Read', type: 'chis-dhis2-read', z: 't', server: 'd2', resource: 'metadata', metadataType: 'organisationUnits', pageSize: 2, wires: [[]] },
    { id: 'cc', type: 'chis-commcare-config', baseUrl: `${base}/commcare`, domain: 'demo', ...connection },
    { id: 'ccLookup', type: 'chis-commcare-case-lookup', z: 't', server: 'cc', by: 'case_id', idProperty: 'payload', outputProperty: 'case', wires: [[]] },
    { id: 'rp', type: 'chis-rapidpro-config', baseUrl: `${base}/rapidpro`, ...connection },
    { id: 'rpWriter', type: 'chis-rapidpro-contact-writer', z: 't', server: 'rp', groupMode: 'add', wires: [[]] },
    { id: 'cht', type: 'chis-cht-config', baseUrl: `${base}/cht`, ...connection },
    { id: 'chtLookup', type: 'chis-cht-contact-lookup', z: 't', server: 'cht', by: 'id', value: 'payload', valueType: 'msg', wires: [[], []] },
    { id: 'fhir', type: 'chis-fhir-config', baseUrl: `${base}/fhir`, authType: 'bearer', fhirVersion: 'R4', ...connection },
    { id: 'fhirOauth', type: 'chis-fhir-config', baseUrl: `${base}/fhir`, authType: 'oauth2', tokenUrl: `${base}/token`, clientId: 'c', fhirVersion: 'R4', ...connection },
    { id: 'fhirW', type: 'chis-fhir-writer', z: 't', server: 'fhir', operation: 'create', validate: true, wires: [[]] },
    { id: 'fhirW2', type: 'chis-fhir-writer', z: 't', server: 'fhirOauth', operation: 'create', validate: true, wires: [[]] },
    { id: 'him', type: 'chis-openhim-config', baseUrl: `${base}/openhim`, authScheme: 'basic', ...connection },
    { id: 'rxAuth', type: 'chis-receiver-auth', mode: 'basic' },
    { id: 'med', type: 'chis-openhim-mediator', name: 'TLS mediator', server: 'him', urn: 'urn:mediator:tls-test', version: '1.0.0', endpointUrl: 'http://127.0.0.1:1/x', auth: 'rxAuth', installChannel: false, heartbeatSeconds: 0.3 },
  ];
}

const credentials = {
  omrs: { username: 'u', password: 'p' }, d2: { username: 'u', password: 'p' }, cc: { username: 'u', apiKey: 'k' }, rp: { token: 't' },
  cht: { username: 'u', password: 'p' }, fhir: { token: 't' }, fhirOauth: { clientSecret: 's' }, him: { username: 'u@x', password: 'p' }, rxAuth: { username: 'a', password: 'b' },
};
const INPUTS: Record<string, object> = {
  omrsRead: { payload: 'a1b2c3d4-0000-4000-8000-000000000001' }, d2Read: { payload: 'go' }, ccLookup: { payload: 'case-1' },
  rpWriter: { payload: { urn: 'tel:+250788000009', name: 'TLS' } }, chtLookup: { payload: 'contact-1' },
  fhirW: { payload: { resourceType: 'Patient' } }, fhirW2: { payload: { resourceType: 'Patient' } },
};

describe('security: TLS verification', function () {
  this.timeout(30_000);
  let certificate: { key: string; cert: string } | undefined;
  let server: https.Server | undefined;
  let base = '';
  const seen: string[] = [];

  before(async function () {
    certificate = selfSignedCertificate();
    if (!certificate) {
      console.log('      (skipped: openssl is not installed, so no self-signed certificate can be made)');
      this.skip();
    }
    server = https.createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end('{"error":"test server"}');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  });

  it('the shared connection settings verify certificates unless allowSelfSigned is exactly true', () => {
    assert.equal(connectionOptions({ baseUrl: base } as never, 'x').rejectUnauthorized, true);
    assert.equal(connectionOptions({ baseUrl: base, allowSelfSigned: false } as never, 'x').rejectUnauthorized, true);
    assert.equal(connectionOptions({ baseUrl: base, allowSelfSigned: 'true' } as never, 'x').rejectUnauthorized, true);
    assert.equal(connectionOptions({ baseUrl: base, allowSelfSigned: true } as never, 'x').rejectUnauthorized, false);
  });

  it('HttpClient refuses the self-signed server with a clear, non-retryable TLS error, and accepts it when allowed', async () => {
    const before = seen.length;
    const strict = new HttpClient(connectionOptions({ baseUrl: base, maxAttempts: 3 } as never, 'test'));
    const error = await strict.request({ path: '/strict' }).then(() => undefined, (caught: unknown) => caught);
    assert.ok(error instanceof IntegrationError, String(error));
    assert.equal(error.code, 'unreachable');
    assert.equal(error.retryable, false);
    assert.match(error.message, /TLS (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
    assert.equal(seen.length, before, 'no request reached the server');
    const relaxed = new HttpClient(connectionOptions({ baseUrl: base, maxAttempts: 1, allowSelfSigned: true } as never, 'test'));
    const answer = await relaxed.request({ path: '/relaxed' }).then(() => undefined, (caught: unknown) => caught);
    assert.ok(answer instanceof IntegrationError);
    assert.equal(answer.status, 500, 'the request went through TLS and got the server\'s answer');
    assert.ok(seen.includes('/relaxed'));
  });

  for (const allowSelfSigned of [undefined, false, true]) {
    it(`every system's config node with allowSelfSigned ${String(allowSelfSigned)} ${allowSelfSigned ? 'reaches' : 'refuses'} the self-signed server`, async () => {
      seen.length = 0;
      await loadFlow([openmrsConfig, patientRead, dhis2Config, dhis2Read, commcareConfig, caseLookup, rapidproConfig, contactWriter, chtConfig, contactLookup, fhirConfig, fhirWriter, openhimConfig, openhimMediator, receiverAuth], flow(base, allowSelfSigned), credentials);
      try {
        for (const [id, msg] of Object.entries(INPUTS)) helper.getNode(id).receive(msg);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const errors = helper.getNode('omrsRead').error.getCalls().map((call: { args: unknown[] }) => call.args[0]);
        const reached = new Set(seen.map((url) => url.split('/')[1]));
        if (allowSelfSigned) {
          assert.deepEqual(SYSTEMS.filter((system) => !reached.has(system)), [], `not reached: ${[...reached].join(', ')}`);
        } else {
          assert.deepEqual([...reached], [], 'nothing may pass an unverified TLS handshake');
          const tls = errors.filter((error: unknown) => /TLS (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED|UNABLE_TO_VERIFY)/.test(String((error as Error)?.message ?? error)));
          assert.ok(tls.length >= Object.keys(INPUTS).length, `only ${tls.length} TLS errors: ${errors.map(String).join(' | ').slice(0, 500)}`);
          for (const error of tls) if (error instanceof IntegrationError) assert.equal(error.code, 'unreachable');
        }
      } finally {
        await unloadFlow();
      }
    });
  }
});
