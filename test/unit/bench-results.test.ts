/**
 * The benchmark's result writer (bench/results.ts): bench/results/latest.json holds exactly the
 * keys issue #11 fixes, ratios are ours divided by theirs, and missing baselines stay null.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatTable, percentile, RESULT_KEYS, toResult, writeResults } from '../../bench/results';

describe('bench result writer', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-bench-results-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes an array of rows with exactly the issue\'s keys, in order', () => {
    const file = path.join(dir, 'results', 'latest.json');
    writeResults(file, [
      toResult({ scenario: 'a', msgsPerSecond: 400, latenciesMs: [1, 2, 3, 4], peakRssMb: 123.456, limitMsgsPerSecond: 500, peerMsgsPerSecond: 100 }),
      toResult({ scenario: 'b', msgsPerSecond: 10 }),
    ]);
    const rows = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<Record<string, unknown>>;
    assert.equal(rows.length, 2);
    for (const row of rows) assert.deepEqual(Object.keys(row), [...RESULT_KEYS]);
    assert.deepEqual(RESULT_KEYS, ['scenario', 'msgs_per_s', 'p50_ms', 'p99_ms', 'peak_rss_mb', 'limit_msgs_per_s', 'ratio_to_limit', 'peer_msgs_per_s', 'ratio_to_peer']);
    assert.deepEqual(rows[0], { scenario: 'a', msgs_per_s: 400, p50_ms: 2, p99_ms: 4, peak_rss_mb: 123.5, limit_msgs_per_s: 500, ratio_to_limit: 0.8, peer_msgs_per_s: 100, ratio_to_peer: 4 });
    assert.deepEqual(rows[1], { scenario: 'b', msgs_per_s: 10, p50_ms: null, p99_ms: null, peak_rss_mb: null, limit_msgs_per_s: null, ratio_to_limit: null, peer_msgs_per_s: null, ratio_to_peer: null });
  });

  it('takes nearest-rank percentiles without sorting the caller\'s array', () => {
    const values = [5, 1, 4, 2, 3];
    assert.equal(percentile(values, 0.5), 3);
    assert.equal(percentile(values, 0.99), 5);
    assert.deepEqual(values, [5, 1, 4, 2, 3]);
    assert.equal(percentile([], 0.5), null);
  });

  it('prints one table row per result with a dash for what was not measured', () => {
    const table = formatTable([toResult({ scenario: 'mapper', msgsPerSecond: 20_000 })]).split('\n');
    assert.equal(table.length, 3);
    assert.match(table[0], /^\| Scenario \| msgs\/s \|/);
    assert.equal(table[2], '| mapper | 20000 | – | – | – | – | – | – | – |');
  });
});
