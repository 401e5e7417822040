/**
 * A started Node-RED (child process) with this package installed, plus sandboxes on free
 * ports, for the flow tests. The example flows are retargeted from the sandboxes' default
 * ports to the test's ports and deployed with the demo credentials through the admin API.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SYSTEMS, startSandboxes, stopSandboxes, type RunningSandbox, type SystemName } from '../../sandbox';
import { DEMO_CREDENTIALS } from '../../scripts/demo-credentials';
import { PROJECT_ROOT, readFlow, retarget, startNodeRed, withCredentials, type FlowNode, type NodeRedProcess } from '../../scripts/runtime';
import { nodeRedScript } from './runtime-env';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface FlowHarness {
  runtime: NodeRedProcess;
  sandboxes: Record<string, RunningSandbox>;
  userDir: string;
  /** Deploys example flow files (retargeted, with demo credentials), replacing what ran before. */
  deployExamples(...files: string[]): Promise<FlowNode[]>;
  /** Restarts Node-RED on the same userDir; `crash` kills it with SIGKILL first. */
  restart(options?: { crash?: boolean }): Promise<void>;
  sandboxUrl(system: SystemName): string;
  stop(): Promise<void>;
}

export async function startHarness(options: { systems?: SystemName[]; name: string }): Promise<FlowHarness> {
  const running = await startSandboxes({ only: options.systems, ports: Object.fromEntries((options.systems ?? (Object.keys(SYSTEMS) as SystemName[])).map((name) => [name, 0])) });
  const sandboxes = Object.fromEntries(running.map((sandbox) => [sandbox.name, sandbox]));
  const origins: Record<string, string> = {};
  for (const sandbox of running) origins[`http://127.0.0.1:${SYSTEMS[sandbox.name].DEFAULT_PORT}`] = sandbox.url;
  const userDir = path.join(PROJECT_ROOT, '.test-output', `${options.name}-${process.pid}-${Date.now()}`);
  fs.mkdirSync(userDir, { recursive: true });
  const port = await freePort();
  const launch = () => startNodeRed({ userDir, port, redJs: nodeRedScript(), nodeBinary: process.env.CHIS_NODE_BINARY, echo: process.env.CHIS_ECHO_NODE_RED === '1' });
  const harness: FlowHarness = {
    runtime: await launch(),
    sandboxes,
    userDir,
    async deployExamples(...files) {
      const nodes = files.flatMap((file) => retarget(readFlow(file), origins));
      await harness.runtime.deploy(withCredentials(nodes, DEMO_CREDENTIALS));
      return nodes;
    },
    async restart(restartOptions = {}) {
      if (restartOptions.crash) await harness.runtime.kill9();
      else await harness.runtime.stop();
      harness.runtime = await launch();
      await harness.runtime.waitForFlowsStarted();
    },
    sandboxUrl(system) {
      const sandbox = sandboxes[system];
      if (!sandbox) throw new Error(`sandbox ${system} was not started`);
      return sandbox.url;
    },
    async stop() {
      await harness.runtime.stop();
      await stopSandboxes(running);
      if (process.env.CHIS_KEEP_TEST_OUTPUT !== '1') fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Polls until `check` returns a truthy value or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
