/**
 * `npm test` after build, type check and lint: every mocha suite, first on the project's
 * node-red 4.x (this Node.js), with the editor in Chromium after the flow tests, then the node
 * and flow suites again on node-red 5.x under Node 22.
 * Ends with one plain line: `tests: N passed, N failed, N skipped`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './runtime';

interface Phase {
  name: string;
  globs: string[];
  nodeBinary?: string;
  env?: NodeJS.ProcessEnv;
}

interface PhaseResult {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  exitCode: number;
  /** Mocha's "N failing" section, repeated at the end so a log's tail names what failed. */
  failures?: string;
}

const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools', 'nr5');
const MOCHA = path.join(PROJECT_ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
const dist = (glob: string): string => path.join('dist', 'test', glob);

/** node-red 5 needs Node >= 22.9; both come from the npm registry into a git-ignored folder. */
function ensureNodeRed5(): { nodeBinary: string; nodeRedDir: string } | undefined {
  const nodeBinary = path.join(TOOLS_DIR, 'node_modules', 'node', 'bin', 'node');
  const nodeRedDir = path.join(TOOLS_DIR, 'node_modules', 'node-red');
  if (!fs.existsSync(nodeBinary) || !fs.existsSync(path.join(nodeRedDir, 'red.js'))) {
    console.log('\n== installing node@22 and node-red@5 into .tools/nr5 for the compatibility pass');
    fs.mkdirSync(TOOLS_DIR, { recursive: true });
    fs.writeFileSync(path.join(TOOLS_DIR, 'package.json'), JSON.stringify({
      name: 'chis-compat-tools',
      private: true,
      allowScripts: { node: true },
    }, null, 2));
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', 'node@22', 'node-red@5'], { cwd: TOOLS_DIR, stdio: 'inherit' });
    if (install.status !== 0) return undefined;
  }
  return { nodeBinary, nodeRedDir };
}

function runPhase(phase: Phase): PhaseResult {
  console.log(`\n== ${phase.name}`);
  const files = phase.globs.filter((glob) => fs.existsSync(path.join(PROJECT_ROOT, glob.split('*')[0])));
  if (files.length === 0) return { name: phase.name, passed: 0, failed: 0, skipped: 0, exitCode: 0 };
  const result = spawnSync(phase.nodeBinary ?? process.execPath, [MOCHA, '--color', '--exit', ...files], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...phase.env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  // eslint-disable-next-line no-control-regex
  const plain = result.stdout.replace(/\u001b\[[0-9;]*m/g, '');
  const count = (word: string): number => Number(new RegExp(`(\\d+) ${word}`).exec(plain)?.[1] ?? 0);
  const failingAt = plain.search(/^\s*\d+ failing/m);
  const failures = failingAt >= 0 ? plain.slice(failingAt).trim().slice(0, 20_000) : undefined;
  return { name: phase.name, passed: count('passing'), failed: count('failing'), skipped: count('pending'), exitCode: result.status ?? 1, failures };
}

/** The editor in Debian's Chromium: a missing browser fails the phase, since CI (.ci/run) installs it. */
function runBrowserPhase(): PhaseResult {
  const name = 'browser tests on node-red 4';
  const chromium = process.env.CHIS_CHROMIUM ?? '/usr/bin/chromium';
  if (!fs.existsSync(chromium)) {
    console.log(`\n== ${name}\nFAILED: Chromium not found at ${chromium}. Install Debian's package (apt-get install chromium) or set CHIS_CHROMIUM; .ci/run installs it.`);
    return { name, passed: 0, failed: 1, skipped: 0, exitCode: 1 };
  }
  return runPhase({ name, globs: [dist('browser/**/*.test.js')] });
}

function main(): void {
  const results: PhaseResult[] = [];
  results.push(runPhase({ name: 'unit and sandbox tests', globs: [dist('unit/**/*.test.js'), dist('sandbox/**/*.test.js')] }));
  results.push(runPhase({ name: 'node tests on node-red 4', globs: [dist('nodes/**/*.test.js')] }));
  results.push(runPhase({ name: 'flow tests on node-red 4', globs: [dist('flows/**/*.test.js')] }));
  results.push(runBrowserPhase());

  if (process.env.CHIS_SKIP_NR5 === '1') {
    console.log('\n== node-red 5 pass skipped (CHIS_SKIP_NR5=1)');
  } else {
    const tools = ensureNodeRed5();
    if (!tools) {
      results.push({ name: 'node-red 5 tools install', passed: 0, failed: 1, skipped: 0, exitCode: 1 });
    } else {
      const env = { CHIS_NODE_RED_DIR: tools.nodeRedDir, CHIS_NODE_BINARY: tools.nodeBinary };
      results.push(runPhase({ name: 'node tests on node-red 5 (Node 22)', globs: [dist('nodes/**/*.test.js')], nodeBinary: tools.nodeBinary, env }));
      results.push(runPhase({ name: 'flow tests on node-red 5 (Node 22)', globs: [dist('flows/**/*.test.js')], nodeBinary: tools.nodeBinary, env }));
    }
  }

  for (const result of results.filter((phase) => phase.failures)) {
    console.log(`\n== failures in ${result.name}\n${result.failures}`);
  }
  console.log('\nphase                                     passed  failed  skipped');
  for (const result of results) {
    console.log(`${result.name.padEnd(40)} ${String(result.passed).padStart(7)} ${String(result.failed).padStart(7)} ${String(result.skipped).padStart(8)}${result.exitCode !== 0 && result.failed === 0 ? '  (runner exit ' + result.exitCode + ')' : ''}`);
  }
  const total = (key: 'passed' | 'failed' | 'skipped'): number => results.reduce((sum, result) => sum + result[key], 0);
  const failed = total('failed') + results.filter((result) => result.exitCode !== 0 && result.failed === 0).length;
  console.log(`\ntests: ${total('passed')} passed, ${failed} failed, ${total('skipped')} skipped`);
  process.exit(failed > 0 ? 1 : 0);
}

main();
