/**
 * `npm run bench -- --quick` still runs end to end: every scenario against the sandboxes in a
 * started Node-RED, each beside its baselines, and writes rows with the keys. A smoke
 * test, not a timed one: rates are only checked to be measured at all (the figures themselves
 * are bench/README.md's business).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RESULT_KEYS } from '../../bench/results';
import { PROJECT_ROOT } from '../../scripts/runtime';
import { nodeRedVersion } from '../support/runtime-env';

describe(`the benchmark harness (npm run bench -- --quick) on Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(300_000);

  it('runs every scenario with its raw limit and OpenFn peer and writes the issue\'s keys', () => {
    const file = path.join(PROJECT_ROOT, 'bench', 'results', 'quick.json');
    fs.rmSync(file, { force: true });
    const run = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'bench', 'run.js'), '--quick'], { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.equal(run.status, 0, `${run.stdout.slice(-2_000)}\n${run.stderr.slice(-2_000)}`);
    const rows = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<Record<string, unknown>>;
    assert.deepEqual(rows.map((row) => String(row.scenario).split(' ')[0]), ['1', '1', '2', '2', '3', '3', '4', '5']);
    for (const row of rows) {
      assert.deepEqual(Object.keys(row), [...RESULT_KEYS]);
      assert.ok(Number(row.msgs_per_s) > 0, `${row.scenario}: a rate was measured`);
      assert.ok(Number(row.limit_msgs_per_s) > 0, `${row.scenario}: its raw limit was measured`);
    }
    for (const row of rows.filter((candidate) => /^[124] /.test(String(candidate.scenario)))) {
      assert.ok(Number(row.peer_msgs_per_s) > 0, `${row.scenario}: the OpenFn peer ran`);
    }
  });
});
