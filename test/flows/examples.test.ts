/**
 * Every example flow deploys into a started Node-RED through the admin API, with every node
 * type of this package loaded and the flows running.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { listFlowFiles, PROJECT_ROOT, readFlow } from '../../scripts/runtime';
import { startHarness, type FlowHarness } from '../support/flow-harness';
import { nodeRedVersion } from '../support/runtime-env';

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string; 'node-red': { nodes: Record<string, string> } };

describe(`example flows in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(120_000);
  let harness: FlowHarness;

  before(async () => {
    harness = await startHarness({ name: 'examples' });
  });

  after(async () => {
    await harness?.stop();
  });

  it('loads every node set of the package without errors', async () => {
    const sets = (await harness.runtime.nodeSets()).filter((set) => set.module === pkg.name);
    const loaded = new Map(sets.map((set) => [set.id.split('/').pop(), set]));
    for (const name of Object.keys(pkg['node-red'].nodes)) {
      const set = loaded.get(name);
      assert.ok(set, `node set ${name} is not registered`);
      assert.equal(set.err, undefined, `node set ${name} failed to load: ${set.err}`);
      assert.equal(set.enabled, true);
      assert.ok(set.types.length > 0);
    }
  });

  it('lists every example flow under Import > Examples', async () => {
    // What the editor's Import > Examples menu asks for: the modules, then one module's flows.
    const modules = await harness.runtime.api<string[]>('GET', '/library/examples/flows/');
    assert.ok(modules.includes(pkg.name), `examples of ${pkg.name} are not listed: ${modules.join(', ')}`);
    const listing = await harness.runtime.api<Array<{ fn?: string }>>('GET', `/library/examples/flows/${pkg.name}`);
    const examples = listing.map((entry) => entry.fn);
    assert.deepEqual([...examples].sort(), listFlowFiles().map((file) => file.replace(/\.json$/, '')).sort());
  });

  for (const file of listFlowFiles()) {
    it(`deploys and starts ${file}`, async () => {
      const deployed = await harness.deployExamples(file);
      assert.deepEqual(harness.runtime.missingTypes(), []);
      const state = await harness.runtime.api<{ state: string }>('GET', '/flows/state');
      assert.equal(state.state, 'start');
      const running = new Set((await harness.runtime.flows()).map((node) => node.id));
      for (const node of readFlow(file)) assert.ok(running.has(node.id), `${node.type} ${node.id} is not deployed`);
      // Credentials were added at deploy time and must never come back through the admin API.
      const exported = JSON.stringify(await harness.runtime.flows());
      for (const node of deployed) assert.ok(!('credentials' in node));
      for (const secret of ['Admin123', 'demo-api-key', 'demo-secret', 'district', 'demo-rapidpro-token']) {
        assert.ok(!exported.includes(secret), `the flows export contains ${secret}`);
      }
    });
  }
});
