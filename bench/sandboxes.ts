/**
 * Runs the sandboxes the benchmark needs in their own process, so that neither Node-RED nor the
 * raw client nor OpenFn shares a thread with the servers they are measured against.
 * Started by bench/run.ts with the systems and ports as JSON in argv[2]; prints "ready".
 * Imports only the three systems it serves, so work in progress on the others cannot stop it.
 */
import type { SandboxApp } from '../sandbox/core';
import * as commcare from '../sandbox/commcare';
import * as dhis2 from '../sandbox/dhis2';
import * as openmrs from '../sandbox/openmrs';

export const BENCH_SANDBOXES = { openmrs, commcare, dhis2 };
export type BenchSystem = keyof typeof BENCH_SANDBOXES;

async function main(ports: Record<BenchSystem, number>): Promise<void> {
  const apps: SandboxApp[] = [];
  for (const [name, port] of Object.entries(ports) as Array<[BenchSystem, number]>) {
    const app = BENCH_SANDBOXES[name].create();
    await app.listen(port, '127.0.0.1');
    apps.push(app);
  }
  console.log('ready');
  const stop = (): void => { void Promise.all(apps.map((app) => app.close())).then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main(JSON.parse(process.argv[2] ?? '{}') as Record<BenchSystem, number>).catch((error: Error) => {
    console.error(`bench sandboxes: ${error.message}`);
    process.exit(1);
  });
}
