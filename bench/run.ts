/**
 * `npm run bench` (add `-- --quick` for a run under a minute): issue #11's scenarios against the
 * sandboxes at 5 ms and 0 ms simulated server latency, each beside the raw-HTTP limit and OpenFn.
 * Prints a table and writes bench/results/latest.json (quick.json with --quick, only-<n>.json with --only=<n>).
 */
import os from 'node:os';
import path from 'node:path';
import { BenchEnv } from './env';
import { backlogScenario } from './backlog';
import { encounterScenario, mapperScenario, prepareEncounterFlow, preparePatients, prepareTrackerFlow, sourceScenario, trackerScenario } from './scenarios';
import { formatTable, toResult, writeResults, type BenchResult, type Measurement } from './results';

const QUICK = process.argv.includes('--quick');
/** `--backlog=<n>`: another backlog size for scenario 5 (e.g. to see how memory grows with it). */
const BACKLOG = Number(process.argv.find((arg) => arg.startsWith('--backlog='))?.slice('--backlog='.length)) || undefined;
const ONLY = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const COUNTS = QUICK
  ? { encounters: 200, people: 100, tracker: 400, patients: 150, mapper: 20_000, backlog: 1_000, drainBudgetMs: 8_000 }
  : { encounters: 2_000, people: 400, tracker: 5_000, patients: 2_000, mapper: 200_000, backlog: 100_000, drainBudgetMs: 60_000 };
const LATENCIES = [5, 0];
const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

const wanted = (scenario: string): boolean => !ONLY || ONLY.includes(scenario);

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} CPUs (${cpu}), Node.js ${process.version}, ${os.platform()} ${os.release()}`;
}

async function main(): Promise<void> {
  const began = performance.now();
  console.log(`chis benchmark${QUICK ? ' (quick)' : ''} on ${machine()}`);
  const env = await BenchEnv.start({ maxSockets: 64 });
  const results: BenchResult[] = [];
  const record = (measurement: Measurement): void => {
    const result = toResult(measurement);
    results.push(result);
    console.log(`  ${result.scenario}: ${result.msgs_per_s} msgs/s, limit ${result.limit_msgs_per_s}, OpenFn ${result.peer_msgs_per_s}`);
  };
  const encounter5ms: { rate?: number; limit?: number } = {};
  try {
    if (wanted('1')) {
      const fixture = await prepareEncounterFlow(env, COUNTS.people);
      for (const latencyMs of LATENCIES) {
        const measurement = await encounterScenario(env, fixture, { count: COUNTS.encounters, latencyMs });
        if (latencyMs === 5) Object.assign(encounter5ms, { rate: measurement.msgsPerSecond, limit: measurement.limitMsgsPerSecond });
        record(measurement);
        if (process.env.CHIS_BENCH_VERBOSE === '1') console.log(measurement.perMessage.map((r) => `    ${r.system} ${r.method} ${r.path}`).join('\n'));
      }
    }
    if (wanted('2')) {
      const cases = await prepareTrackerFlow(env);
      for (const latencyMs of LATENCIES) {
        const measurement = await trackerScenario(env, cases, { count: COUNTS.tracker, latencyMs });
        record(measurement);
        if (process.env.CHIS_BENCH_VERBOSE === '1') console.log(measurement.perMessage.map((r) => `    ${r.system} ${r.method} ${r.path}`).join('\n'));
      }
    }
    if (wanted('3')) {
      const patients = await preparePatients(env, COUNTS.patients);
      for (const latencyMs of LATENCIES) record(await sourceScenario(env, patients, { count: COUNTS.patients, latencyMs }, `${latencyMs}ms-${Date.now()}`));
    }
    if (wanted('4')) {
      const measurement = await mapperScenario(env, COUNTS.mapper);
      record(measurement);
      console.log(`    mapper: ${(1e6 / measurement.msgsPerSecond).toFixed(1)} µs/msg in the runtime; compiled mapping called directly: ${Math.round(measurement.directMsgsPerSecond)} msgs/s`);
    }
    if (wanted('5')) {
      const backlog = await backlogScenario(env, { count: BACKLOG ?? COUNTS.backlog, people: COUNTS.people, drainBudgetMs: COUNTS.drainBudgetMs, encounterRate: encounter5ms.rate, encounterLimit: encounter5ms.limit });
      for (const measurement of backlog) record(measurement);
    }
  } finally {
    await env.stop();
  }
  // Partial runs (--only) never overwrite the full table.
  const name = `${ONLY ? `only-${ONLY.join('-')}${QUICK ? '-quick' : ''}` : QUICK ? 'quick' : 'latest'}.json`;
  const file = path.join(PROJECT_ROOT, 'bench', 'results', name);
  writeResults(file, results);
  console.log(`\n${formatTable(results)}\n\n${machine()}; ${((performance.now() - began) / 1000).toFixed(1)} s; written to ${path.relative(PROJECT_ROOT, file)}`);
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
