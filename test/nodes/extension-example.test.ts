/**
 * The worked extension example (docs/examples/extension) is what docs/extending.md promises: it
 * compiles with the project's TypeScript against the package's published types
 * (dist/nodes/core/index.d.ts), loads into a real Node-RED runtime as a separate package would,
 * writes to a (local) server through the shared client, journals its write so chis-rollback
 * undoes it, fails bad input with a code, and migrates a config saved by its older version.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import rollback from '../../nodes/core/rollback';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const EXAMPLE_DIR = path.join(ROOT, 'docs', 'examples', 'extension');
const TOKEN = 'openelis-demo-token';

interface Exchange { method: string; url: string; authorization?: string; body: unknown }

/** A small OpenELIS-like results API: POST creates, DELETE removes. */
function startLab(): Promise<{ server: http.Server; url: string; exchanges: Exchange[]; results: Map<string, unknown> }> {
  const exchanges: Exchange[] = [];
  const results = new Map<string, unknown>();
  let next = 1;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => { raw += chunk; });
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      exchanges.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      res.setHeader('content-type', 'application/json');
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.statusCode = 401;
        res.end('{"error":"unauthorized"}');
      } else if (req.method === 'POST' && req.url === '/lab/api/results') {
        const id = `R${next++}`;
        results.set(id, body);
        res.statusCode = 201;
        res.end(JSON.stringify({ id, ...body }));
      } else if (req.method === 'DELETE' && req.url?.startsWith('/lab/api/results/')) {
        const id = decodeURIComponent(req.url.slice('/lab/api/results/'.length));
        res.statusCode = results.delete(id) ? 204 : 404;
        res.end();
      } else {
        res.statusCode = 404;
        res.end('{"error":"no such resource"}');
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/lab`, exchanges, results }));
  });
}

/** Compiles the example as its own package would be: against the built types, into a temp dir. */
function buildExample(): string {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-extension-'));
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'commonjs',
      moduleResolution: 'node10',
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      outDir,
      rootDir: EXAMPLE_DIR,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      baseUrl: outDir,
      ignoreDeprecations: '6.0',
      paths: { '@chis-interop/node-red-chis': [path.join(ROOT, 'dist', 'nodes', 'core', 'index.d.ts')] },
    },
    files: [path.join(EXAMPLE_DIR, 'openelis.ts')],
  };
  fs.writeFileSync(path.join(outDir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(outDir, 'tsconfig.json')], { cwd: outDir, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    throw new Error(`the extension example does not compile against dist/nodes/core/index.d.ts:\n${failure.stdout}${failure.stderr}`, { cause: error });
  }
  fs.copyFileSync(path.join(EXAMPLE_DIR, 'openelis.html'), path.join(outDir, 'openelis.html'));
  fs.copyFileSync(path.join(EXAMPLE_DIR, 'package.json'), path.join(outDir, 'package.json'));
  // Installed beside it, as `npm install @chis-interop/node-red-chis` would.
  fs.mkdirSync(path.join(outDir, 'node_modules', '@chis-interop'), { recursive: true });
  fs.symlinkSync(ROOT, path.join(outDir, 'node_modules', '@chis-interop', 'node-red-chis'), 'dir');
  return outDir;
}

describe('extension example (docs/examples/extension)', function () {
  this.timeout(60_000);
  let built: string;
  let lab: Awaited<ReturnType<typeof startLab>>;

  before(async () => {
    built = buildExample();
    lab = await startLab();
  });
  after(async () => {
    await unloadFlow();
    lab?.server.close();
    if (built) fs.rmSync(built, { recursive: true, force: true });
  });

  it('compiles against the published types and declares its node file', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(built, 'package.json'), 'utf8'));
    for (const file of Object.values(pkg['node-red'].nodes) as string[]) {
      assert.ok(fs.existsSync(path.join(built, file)), `${file} built`);
      assert.ok(fs.existsSync(path.join(built, file.replace(/\.js$/, '.html'))), `${file} has its editor file`);
    }
  });

  it('writes through the shared client, journals the write for rollback, and migrates an old config', async () => {
    const openelis = createRequire(path.join(built, 'package.json'))('./openelis.js');
    const flow = [
      { id: 't', type: 'tab' },
      { id: 'lab', type: 'openelis-config', baseUrl: lab.url, timeoutMs: 5000, maxAttempts: 2, maxConcurrent: 2, allowSelfSigned: false },
      // Saved by version 1.0 of the example: "endpoint", no configVersion.
      { id: 'w', type: 'openelis-result-writer', z: 't', server: 'lab', endpoint: 'api/results', wires: [['out']] },
      { id: 'out', type: 'helper', z: 't' },
      { id: 'c', type: 'catch', z: 't', scope: ['w'], wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 't' },
      { id: 'rb', type: 'chis-rollback', z: 't', wires: [['undone'], []] },
      { id: 'undone', type: 'helper', z: 't' },
    ];
    // x/y as the editor saves them: without them Node-RED treats a node as a config node.
    const placed = flow.map((node, index) => ('z' in node ? { ...node, x: 100 + 200 * index, y: 100 } : node));
    await loadFlow([openelis, rollback], placed, { lab: { token: TOKEN } });

    const written = await new Promise<any>((resolve, reject) => {
      helper.getNode('out').on('input', resolve);
      helper.getNode('caught').on('input', (msg: any) => reject(new Error(msg.error?.message)));
      helper.getNode('w').receive({ payload: { patientId: 'P-001', testCode: 'HIV-VL', value: 1200, unit: 'copies/mL' } });
    });
    assert.equal(written.payload.id, 'R1');
    assert.deepEqual(lab.exchanges[0], {
      method: 'POST',
      url: '/lab/api/results',
      authorization: `Bearer ${TOKEN}`,
      body: { patientId: 'P-001', testCode: 'HIV-VL', value: 1200, unit: 'copies/mL' },
    });
    assert.deepEqual(written.journal, [{ resource: 'result', id: 'R1', action: 'created', system: 'openelis', configId: 'lab' }]);
    assert.ok(lab.results.has('R1'));

    const undone = await new Promise<any>((resolve) => {
      helper.getNode('undone').on('input', resolve);
      helper.getNode('rb').receive({ journal: written.journal });
    });
    assert.equal(undone.rollback[0].outcome, 'undone');
    assert.equal(lab.exchanges[1].method, 'DELETE');
    assert.equal(lab.exchanges[1].url, '/lab/api/results/R1');
    assert.equal(lab.results.has('R1'), false);

    const refused = await new Promise<any>((resolve) => {
      helper.getNode('caught').on('input', resolve);
      helper.getNode('w').receive({ payload: { patientId: 'P-002' } });
    });
    assert.equal(refused.error.code, 'bad-input');
    assert.match(refused.error.message, /testCode/);
    assert.equal(lab.exchanges.length, 2, 'invalid input is not sent');
  });
});
