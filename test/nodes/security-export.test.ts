/**
 * The real Node-RED export path: all example flows are deployed through the admin API into a
 * started Node-RED (child process) with distinctive credentials for every config node; then
 * GET /flows, GET /credentials, the flow file on disk, the runtime's console output and the
 * receivers' answers must hold none of them, and flows_cred.json must be encrypted.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { combinedExampleFlows, PROJECT_ROOT, startNodeRed, withCredentials, type NodeRedProcess } from '../../scripts/runtime';
import { freePort } from '../support/flow-harness';
import { nodeRedScript } from '../support/runtime-env';

const SECRETS: Record<string, Record<string, string>> = {
  'chis-openmrs-config': { username: 'exp-omrs', password: 'ExportOpenmrsPw-3kd9' },
  'chis-dhis2-config': { username: 'exp-dhis2', password: 'ExportDhis2Pw-8sj2', token: 'd2pat_ExportDhis2Token77aa' },
  'chis-commcare-config': { username: 'exp@example.org', apiKey: 'ExportCommcareKey-1qz4' },
  'chis-rapidpro-config': { token: 'ExportRapidproToken-5mn7' },
  'chis-cht-config': { username: 'exp-cht', password: 'ExportChtPw-6tt1' },
  'chis-openhim-config': { username: 'exp@openhim.org', password: 'ExportOpenhimPw-2vv8' },
  'chis-fhir-config': { token: 'ExportFhirToken-9pp3', username: 'exp-fhir', password: 'ExportFhirPw-4rr5', clientSecret: 'ExportFhirClientSecret-7uu6' },
  'chis-receiver-auth': { username: 'exp-rx', password: 'ExportReceiverPw-0ww2', token: 'ExportReceiverToken-3ee4' },
};

function secretValues(): string[] {
  return Object.values(SECRETS).flatMap((fields) => Object.entries(fields).filter(([field]) => field !== 'username').map(([, value]) => value));
}

describe('security: credentials in a started Node-RED (admin API, files on disk)', function () {
  this.timeout(60_000);
  let runtime: NodeRedProcess | undefined;
  let userDir = '';

  before(async () => {
    userDir = path.join(PROJECT_ROOT, '.test-output', `security-export-${process.pid}-${Date.now()}`);
    fs.mkdirSync(userDir, { recursive: true });
    runtime = await startNodeRed({ userDir, port: await freePort(), redJs: nodeRedScript(), nodeBinary: process.env.CHIS_NODE_BINARY });
    await runtime.waitForFlowsStarted();
    await runtime.deploy(withCredentials(combinedExampleFlows(), SECRETS));
  });
  after(async () => {
    await runtime?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('GET /flows, GET /credentials and flows.json hold no secret; flows_cred.json is encrypted', async () => {
    const node = runtime as NodeRedProcess;
    const flows = await node.flows();
    const configs = flows.filter((item) => item.type in SECRETS);
    assert.ok(configs.length >= Object.keys(SECRETS).length - 1, 'the example flows use the config nodes');
    const texts: Array<{ where: string; text: string }> = [{ where: 'GET /flows', text: JSON.stringify(flows) }];
    for (const config of configs) {
      const response = await fetch(`${node.url}/credentials/${config.type}/${config.id}`, { headers: { Accept: 'application/json' } });
      assert.equal(response.status, 200);
      const text = await response.text();
      texts.push({ where: `GET /credentials/${config.type}/${config.id}`, text });
      // The editor learns only whether a password is set.
      assert.ok(!/"(password|apiKey|token|clientSecret)":"[^"]/.test(text), text);
    }
    texts.push({ where: 'flows.json', text: fs.readFileSync(path.join(userDir, 'flows.json'), 'utf8') });
    const credentialFile = fs.readFileSync(path.join(userDir, 'flows_cred.json'), 'utf8');
    assert.ok(/"\$":"/.test(credentialFile), 'the credential file is encrypted (credentialSecret)');
    texts.push({ where: 'flows_cred.json', text: credentialFile });
    // Let the sources poll (and fail against absent servers) for a moment, then read the log.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    texts.push({ where: 'Node-RED console output', text: node.output.join('\n') });
    const leaks = secretValues().flatMap((secret) => texts.filter(({ text }) => text.includes(secret) || text.includes(Buffer.from(secret).toString('base64').replace(/=+$/, ''))).map(({ where }) => `${secret} in ${where}`));
    assert.deepEqual(leaks, []);
  });

  it('a receiver refuses wrong credentials without echoing anything secret', async () => {
    const node = runtime as NodeRedProcess;
    const flows = await node.flows();
    const receiver = flows.find((item) => item.type === 'chis-commcare-form-receiver') as { path?: string } | undefined;
    assert.ok(receiver?.path, 'an example flow has a CommCare form receiver');
    const wrong = await fetch(`${node.url}${receiver.path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from('exp-rx:ExportReceiverPw-0ww2x').toString('base64')}` },
      body: '{"id":"x"}',
    });
    assert.equal(wrong.status, 401);
    const text = `${JSON.stringify(Object.fromEntries(wrong.headers))} ${await wrong.text()}`;
    for (const secret of secretValues()) assert.equal(text.includes(secret), false);
  });
});
