import assert from 'node:assert/strict';
import { create } from '../../sandbox/commcare';
import * as seed from '../../sandbox/commcare/seed';
import commcareConfig from '../../nodes/commcare/commcare-config';
import caseSource from '../../nodes/commcare/commcare-case-source';
import { currentUserDir, helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;

const credentials = { server: { username: seed.WEB_USER.username, apiKey: seed.WEB_USER.apiKey } };

function flow(baseUrl: string, source: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-commcare-config', baseUrl, domain: seed.DOMAIN },
    { id: 'src', type: 'chis-commcare-case-source', z: 't', server: 'server', pageSize: 2, interval: 3600, output: 'single', wires: [['out']], ...source },
    { id: 'out', type: 'helper', z: 't' },
  ];
}

/** Collects what the source emits until `count` messages arrived (or fails after a while). */
function collect(count: number, timeoutMs = 5000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const messages: any[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${count} messages arrived`)), timeoutMs);
    helper.getNode('out').on('input', (msg: any) => {
      messages.push(msg);
      if (messages.length === count) {
        clearTimeout(timer);
        // Give a wrongly re-sent message the chance to show up.
        setTimeout(() => resolve(messages), 200);
      }
    });
  });
}

describe('chis-commcare-case-source node (against the CommCare sandbox)', function () {
  this.timeout(30_000);
  let app: Sandbox;
  let base: string;

  before(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });
  after(() => app.close());
  beforeEach(async () => {
    await app.reset();
    // The sandbox stamps its seeded cases a few ms ahead of its clock; let the clock pass them.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  it('emits every case across pages, and after a restart only what changed since', async () => {
    const inits = [commcareConfig, caseSource];
    // The first poll waits for a timer and an HTTP round trip: listening after the load is in time.
    await loadFlow(inits, flow(base), credentials);
    const first = await collect(4);
    assert.deepEqual(first.map((msg) => msg.payload.case_id).sort(), [seed.PATIENT_MUKAMANA_ID, seed.PATIENT_UWIMANA_ID, seed.PATIENT_INGABIRE_ID, seed.REFERRAL_MUKAMANA_ID].sort());
    assert.equal(first[0].topic, first[0].payload.case_type);
    const pages = app.log.query(new URLSearchParams({ method: 'GET', path: '/api/case/v2/?$' }));
    assert.equal(pages.length, 2, 'two pages of two cases');

    // Restart on the same userDir, after a phone form changed one case.
    const userDir = currentUserDir();
    await helper.unload();
    const submitted = await fetch(`${base}/_sandbox/submit`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ '@xmlns': seed.XMLNS.trackerVisit, case: { '@case_id': seed.PATIENT_UWIMANA_ID, '@user_id': seed.CHW_AMINA_ID, update: { last_visit_date: '2024-06-02' } }, meta: { instanceID: 'visit-restart' } }),
    });
    assert.equal(submitted.status, 201);
    helper.settings({ userDir });
    await helper.load(inits, flow(base), credentials);
    const after = await collect(1);
    assert.deepEqual(after.map((msg) => msg.payload.case_id), [seed.PATIENT_UWIMANA_ID]);
    assert.equal(after[0].payload.properties.last_visit_date, '2024-06-02');
  });

  it('polls on input, by case type and owner, emitting a page as one message in batch mode', async () => {
    await loadFlow([commcareConfig, caseSource], flow(base, { caseType: 'patient', ownerId: seed.KIMIRONKO_LOCATION_ID, output: 'batch', pageSize: 10 }), credentials);
    const [batch] = await collect(1);
    assert.deepEqual(batch.payload.map((record: { external_id: string }) => record.external_id).sort(), ['CHT-P-0001', 'CHT-P-0002']);
    const polled = app.log.query(new URLSearchParams({ method: 'GET', path: '/api/case/v2/?$' })).length;
    helper.getNode('src').receive({});
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(app.log.query(new URLSearchParams({ method: 'GET', path: '/api/case/v2/?$' })).length, polled + 1);
  });
});
