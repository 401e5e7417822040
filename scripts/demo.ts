/**
 * `npm start`: the sandbox servers on their default ports, then Node-RED with this package in
 * a git-ignored userDir (.demo/), every example flow deployed with the demo credentials.
 * PORT sets the editor's port (default 1880). Ctrl-C stops everything.
 */
import path from 'node:path';
import { SYSTEMS, startSandboxes, stopSandboxes, type RunningSandbox } from '../sandbox';
import { DEMO_CREDENTIALS } from './demo-credentials';
import { combinedExampleFlows, PROJECT_ROOT, RECOMMENDED_HEAP_FLAG, startNodeRed, withCredentials, type NodeRedProcess } from './runtime';
import { configureDemoClients } from './demo-clients';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 1880);
  const host = process.env.HOST ?? '127.0.0.1';
  let sandboxes: RunningSandbox[] = [];
  let runtime: NodeRedProcess | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping the demo ...');
    await runtime?.stop();
    await stopSandboxes(sandboxes);
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    sandboxes = await startSandboxes({ host });
    console.log('sandbox servers:');
    for (const sandbox of sandboxes) console.log(`  ${sandbox.name.padEnd(9)} ${sandbox.url}${SYSTEMS[sandbox.name].BASE_PATH}`);

    // A capped old generation keeps a long outbox backlog near its live size instead of the
    // several hundred MB of garbage V8 lets pile up by default (bench/README.md, scenario 5).
    runtime = await startNodeRed({ userDir: path.join(PROJECT_ROOT, '.demo'), port, host, nodeFlags: [RECOMMENDED_HEAP_FLAG], echo: process.env.CHIS_DEMO_QUIET !== '1' });
    const flows = combinedExampleFlows();
    await runtime.deploy(withCredentials(flows, DEMO_CREDENTIALS));
    await configureDemoClients(sandboxes, runtime.url);
    const tabs = flows.filter((node) => node.type === 'tab').length;
    console.log(`\nNode-RED editor: ${runtime.url}/  (${tabs} example flow${tabs === 1 ? '' : 's'} deployed)`);
    console.log('Press Ctrl-C to stop.');
  } catch (error) {
    console.error(`demo failed to start: ${(error as Error).message}`);
    await stop(1);
  }
}

void main();
