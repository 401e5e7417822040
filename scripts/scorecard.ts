/**
 * `npm run scorecard`: the Flow Library scorecard (`node-red-dev validate`) of this package, with
 * the offline catalogue stub preloaded. node-red-dev exits 0 whatever it finds, so this reads the
 * scorecard JSON it writes and exits 1 when a check failed or did not run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Every check node-red-dev 0.1.x scores (P02 is disabled in the tool itself). */
export const SCORECARD_CHECKS = ['P01', 'P03', 'P04', 'P05', 'P06', 'P07', 'P08', 'N01', 'N02', 'D01', 'D02', 'D03'] as const;

export interface ScorecardCheck {
  test: boolean;
  [detail: string]: unknown;
}

export interface ScorecardResult {
  /** The scorecard as node-red-dev wrote it. */
  scorecard: Record<string, unknown>;
  /** Checks that failed or are missing from the scorecard, with node-red-dev's details. */
  failures: { check: string; details: unknown }[];
  /** node-red-dev's own console output (its warnings explain failures). */
  log: string;
}

const projectRoot = path.resolve(__dirname, '..', '..');

export function runScorecard(packageDir: string = projectRoot): ScorecardResult {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-scorecard-'));
  const outFile = path.join(outDir, 'scorecard.json');
  try {
    const cli = path.join(path.dirname(require.resolve('node-red-dev/package.json', { paths: [packageDir, projectRoot] })), 'bin', 'run');
    const stub = path.join(__dirname, 'scorecard-catalogue-stub.js');
    const run = spawnSync(process.execPath, ['--require', stub, cli, 'validate', '--path', packageDir, '--output', outFile, '--embed', 'true'], {
      cwd: packageDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    const log = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    if (!fs.existsSync(outFile)) {
      throw new Error(`node-red-dev validate wrote no scorecard (exit ${run.status}${run.error ? `, ${run.error.message}` : ''}):\n${log}`);
    }
    const scorecard = JSON.parse(fs.readFileSync(outFile, 'utf8')) as Record<string, unknown>;
    const failures = SCORECARD_CHECKS.flatMap((check) => {
      const result = scorecard[check] as ScorecardCheck | undefined;
      return result?.test === true ? [] : [{ check, details: result ?? 'not scored' }];
    });
    return { scorecard, failures, log };
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const { scorecard, failures, log } = runScorecard();
  console.log(log.trim());
  console.log('\nScorecard');
  for (const check of SCORECARD_CHECKS) {
    const result = scorecard[check] as ScorecardCheck | undefined;
    const { test, ...details } = result ?? { test: false };
    const detailText = Object.keys(details).length > 0 ? `  ${JSON.stringify(details)}` : '';
    console.log(`  ${test ? 'pass' : 'FAIL'}  ${check}${result ? '' : '  (not scored)'}${detailText}`);
  }
  console.log(failures.length === 0 ? '\nAll scorecard checks passed.' : `\n${failures.length} scorecard check(s) failed: ${failures.map((f) => f.check).join(', ')}`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}
