/**
 * What users install: `npm pack` of this project, installed with npm into a clean Node-RED
 * userDir, loads every node set without errors and lists the examples.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, startNodeRed, type NodeRedProcess } from '../../scripts/runtime';
import { freePort } from '../support/flow-harness';
import { nodeRedScript, nodeRedVersion } from '../support/runtime-env';

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string; 'node-red': { nodes: Record<string, string> } };

describe(`npm pack installed into a clean Node-RED ${nodeRedVersion()} userDir`, function () {
  this.timeout(240_000);
  const work = path.join(PROJECT_ROOT, '.test-output', `pack-${process.pid}`);
  const userDir = path.join(work, 'userDir');
  let runtime: NodeRedProcess | undefined;

  before(async () => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(userDir, { recursive: true });
    // --ignore-scripts: pack the build this test run uses (prepack would rebuild dist under us).
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: PROJECT_ROOT, encoding: 'utf8' })) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = path.join(work, path.basename(packed[0].filename));
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'clean-userdir', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', '--loglevel=error', tarball], { cwd: userDir, stdio: 'inherit' });
    runtime = await startNodeRed({ userDir, port: await freePort(), redJs: nodeRedScript(), nodeBinary: process.env.CHIS_NODE_BINARY, linkPackage: false });
  });

  after(async () => {
    await runtime?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('is a real install, not a link to the project', () => {
    const installed = path.join(userDir, 'node_modules', ...pkg.name.split('/'));
    assert.equal(fs.lstatSync(installed).isSymbolicLink(), false);
    assert.ok(fs.existsSync(path.join(installed, 'dist', 'nodes', 'core', 'mapper.html')), 'editor files ship beside the built js');
    assert.ok(fs.existsSync(path.join(installed, 'examples')), 'examples ship');
    assert.equal(fs.existsSync(path.join(installed, 'sandbox')), false, 'sandboxes are not shipped');
  });

  it('loads every node set without errors', async () => {
    const sets = (await runtime!.nodeSets()).filter((set) => set.module === pkg.name);
    assert.equal(sets.length, Object.keys(pkg['node-red'].nodes).length);
    for (const set of sets) assert.equal(set.err, undefined, `${set.id}: ${set.err}`);
  });
});
