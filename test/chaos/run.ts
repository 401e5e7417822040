/**
 * `npm run test:chaos`: the long chaos run (10,000 forms and 5 kill -9 by default).
 *   node dist/test/chaos/run.js --messages 10000 --kills 5 [--seed N]
 * Prints the summary table and ends with the `chaos: sent N, ...` line; exits 1 unless nothing
 * was lost or doubled and every dead letter is a deliberately bad form.
 */
import { finalLine, runChaos, summaryTable } from './chaos';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number`);
  return value;
}

async function main(): Promise<void> {
  const messages = option('messages', 10_000);
  const result = await runChaos({
    messages,
    kills: option('kills', 5),
    seed: option('seed', Date.now()),
    drainTimeoutMs: option('drain-timeout-s', Math.max(180, messages / 10)) * 1000,
    log: (line) => console.log(line),
  });
  console.log('');
  console.log(summaryTable(result));
  if (result.problems.length) console.log(`\nproblems:\n${result.problems.map((problem) => `- ${problem}`).join('\n')}`);
  console.log(finalLine(result));
  const ok = result.drained && result.lost === 0 && result.duplicates === 0 && result.deadLettered === result.bad && result.badDeadLettered === result.bad;
  process.exitCode = ok ? 0 : 1;
}

main().catch((error: Error) => {
  console.error(`chaos: ${error.stack ?? error.message}`);
  process.exitCode = 1;
});
