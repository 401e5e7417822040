import assert from 'node:assert/strict';
import {
  ADMIN_PASSWORD, ADMIN_USERNAME, DATA_ELEMENT_VISIT_WEIGHT, DEMO_API_TOKEN, ORG_UNIT_NGELEHUN_CHC, PROGRAM_COMMUNITY_FOLLOW_UP,
  PROGRAM_STAGE_VISIT, SEEDED_ENROLLMENT, SEEDED_VISIT_EVENT, create,
} from '../../sandbox/dhis2';
import dhis2Config from '../../nodes/dhis2/dhis2-config';
import dhis2Source from '../../nodes/dhis2/dhis2-source';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;
const credentials = { server: { username: ADMIN_USERNAME, password: ADMIN_PASSWORD } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function collect(count: number, timeoutMs = 6_000): Promise<any[]> {
  const received: any[] = [];
  return new Promise((resolve) => {
    const out = helper.getNode('out');
    const finish = () => { out.removeAllListeners('input'); resolve(received); };
    const timer = setTimeout(finish, timeoutMs);
    out.on('input', (msg: any) => {
      received.push(msg);
      if (received.length >= count) {
        clearTimeout(timer);
        // A little longer, to catch anything that should not have been sent.
        setTimeout(finish, 800);
      }
    });
  });
}

describe('chis-dhis2-source node (against the DHIS2 sandbox)', function () {
  this.timeout(40_000);
  let sandbox: Sandbox;
  let base: string;

  const addVisits = async (count: number): Promise<string[]> => {
    const events = Array.from({ length: count }, (_, index) => ({
      program: PROGRAM_COMMUNITY_FOLLOW_UP, programStage: PROGRAM_STAGE_VISIT, enrollment: SEEDED_ENROLLMENT, orgUnit: ORG_UNIT_NGELEHUN_CHC,
      status: 'COMPLETED', occurredAt: '2024-05-01', dataValues: [{ dataElement: DATA_ELEMENT_VISIT_WEIGHT, value: String(40 + index) }],
    }));
    const response = await fetch(`${base}/api/tracker?async=false&reportMode=FULL`, {
      method: 'POST', headers: { Authorization: `ApiToken ${DEMO_API_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ events }),
    });
    const report: any = await response.json();
    assert.equal(report.status, 'OK');
    return report.bundleReport.typeReportMap.EVENT.objectReports.map((o: any) => o.uid);
  };

  const nodes = (source: Record<string, unknown> = {}): object[] => [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-dhis2-config', baseUrl: base, authType: 'basic', apiMode: 'tracker' },
    { id: 'src', type: 'chis-dhis2-source', z: 't', server: 'server', resource: 'events', program: PROGRAM_COMMUNITY_FOLLOW_UP, ouMode: 'ACCESSIBLE', pageSize: 5, interval: 3600, output: 'single', wires: [['out']], ...source },
    { id: 'out', type: 'helper', z: 't' },
  ];

  beforeEach(async () => {
    sandbox = create();
    base = `http://127.0.0.1:${await sandbox.listen(0)}`;
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    await sandbox.close();
  });

  it('reads every page, then continues after a restart without re-sending or skipping', async () => {
    const created = await addVisits(11);
    const inits = [dhis2Config, dhis2Source];
    await loadFlow(inits, nodes(), credentials);
    const first = await collect(12);
    assert.deepEqual(first.map((msg) => msg.topic).sort(), [SEEDED_VISIT_EVENT, ...created].sort());
    assert.ok(first.every((msg) => msg.payload.dataValues));
    await helper.unload();
    await sleep(5);
    const later = await addVisits(3);
    await helper.load(inits, nodes(), credentials);
    const after = await collect(3, 4_000);
    assert.deepEqual(after.map((msg) => msg.topic).sort(), later.sort());
    // "Poll now" on input, with nothing new: nothing sent.
    const quiet = collect(1, 1_500);
    helper.getNode('src').receive({});
    assert.deepEqual(await quiet, []);
  });

  it('a restart in the middle of a poll resumes at the next page', async () => {
    const created = await addVisits(14);
    const inits = [dhis2Config, dhis2Source];
    sandbox.faults.add({ path: '^/api/tracker/events$', method: 'GET', latencyMs: 400 });
    await loadFlow(inits, nodes(), credentials);
    // The first page arrives; the node stops while it waits for the second.
    const firstPage = await collect(5, 3_000);
    await helper.unload();
    sandbox.faults.clear();
    await helper.load(inits, nodes(), credentials);
    const rest = await collect(10, 5_000);
    const all = [...firstPage, ...rest].map((msg) => msg.topic);
    assert.equal(new Set(all).size, all.length, 'nothing twice');
    assert.deepEqual([...all].sort(), [SEEDED_VISIT_EVENT, ...created].sort());
  });

  it('emits a page per message when asked, for metadata too', async () => {
    await loadFlow([dhis2Config, dhis2Source], nodes({ resource: 'metadata', metadataType: 'organisationUnits', output: 'page', pageSize: 4 }), credentials);
    const pages = await collect(2, 3_000);
    assert.deepEqual(pages.map((msg) => msg.payload.length), [4, 2]);
    assert.equal(pages[0].topic, 'dhis2/organisationUnits');
  });

  it('a server with an invalid base URL: no crash, a red status that says why', async () => {
    await loadFlow([dhis2Config, dhis2Source], nodes().map((node: any) => (node.id === 'server' ? { ...node, baseUrl: 'not a url' } : node)), credentials);
    const source = helper.getNode('src');
    await sleep(300);
    const status = source.status.lastCall.args[0];
    assert.equal(status.fill, 'red');
    assert.match(status.text, /^sent 0 · last error: \S+ \(.*(URL|url).*\)$/);
    assert.ok(source.warn.calledWithMatch(/DHIS2 poll failed/));
    source.receive({});
    await sleep(300);
    assert.equal(source.status.lastCall.args[0].fill, 'red', 'still running, and failing again on "poll now"');
  });
});
