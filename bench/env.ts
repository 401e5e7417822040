/**
 * What every scenario needs: the sandboxes in their own process, one started Node-RED with this
 * package (a child process, deployed over the admin API like a user's), raw clients, the
 * sandboxes' control API (latency, request log, faults) and Node-RED's peak RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEMO_CREDENTIALS } from '../scripts/demo-credentials';
import { mapperDriverFiles } from './mapper-driver';
import { readFlow, retarget, startNodeRed, withCredentials, type FlowNode, type NodeRedProcess } from '../scripts/runtime';
import { RawClient } from './raw-http';
import { BENCH_SANDBOXES } from './sandboxes';

export const BENCH_SYSTEMS = ['openmrs', 'commcare', 'dhis2'] as const;
export type BenchSystem = (typeof BENCH_SYSTEMS)[number];

export const AUTH: Record<BenchSystem, string> = {
  openmrs: `Basic ${Buffer.from('admin:Admin123').toString('base64')}`,
  commcare: 'ApiKey demo@example.org:demo-api-key',
  dhis2: `Basic ${Buffer.from('admin:district').toString('base64')}`,
};
export const RECEIVER_AUTH = `Basic ${Buffer.from('demo:demo-secret').toString('base64')}`;

export interface LoggedRequest { seq: number; time: string; method: string; path: string; query: string; status: number; body?: unknown }

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export class BenchEnv {
  readonly origins = {} as Record<BenchSystem, string>;
  /** One client per system for setup, checks and the raw limit. */
  readonly raw = {} as Record<BenchSystem, RawClient>;
  runtime!: NodeRedProcess;
  /**
   * The senders' client into Node-RED: the same plain keep-alive client as the limit's, so the
   * load generator (sharing the machine's CPUs) costs our side no more than it costs the limit.
   */
  sender!: RawClient;
  private sandboxChild?: ChildProcess;
  private userDir = '';

  static async start(options: { maxSockets: number }): Promise<BenchEnv> {
    const env = new BenchEnv();
    const ports = {} as Record<BenchSystem, number>;
    for (const system of BENCH_SYSTEMS) ports[system] = await freePort();
    env.sandboxChild = spawn(process.execPath, [...(process.env.CHIS_BENCH_PROFILE_SANDBOXES ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.CHIS_BENCH_PROFILE_SANDBOXES)}`] : []), path.join(__dirname, 'sandboxes.js'), JSON.stringify(ports)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      env.sandboxChild!.once('exit', (code) => reject(new Error(`sandboxes exited with ${code}`)));
      env.sandboxChild!.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve(); });
    });
    for (const system of BENCH_SYSTEMS) {
      env.origins[system] = `http://127.0.0.1:${ports[system]}`;
      env.raw[system] = new RawClient(env.origins[system], options.maxSockets);
    }
    env.userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-bench-'));
    fs.mkdirSync(path.join(env.userDir, 'nodes'));
    for (const [name, text] of Object.entries(mapperDriverFiles())) fs.writeFileSync(path.join(env.userDir, 'nodes', name), text);
    // CHIS_BENCH_PROFILE=<dir>: Node-RED writes a V8 CPU profile there when it stops (open in Chrome DevTools).
    // CHIS_BENCH_HEAP=<dir>: Node-RED can write heap snapshots there (the backlog scenario asks for one
    // once its queue is full, with SIGUSR2).
    const profileDir = process.env.CHIS_BENCH_PROFILE;
    const heapDir = process.env.CHIS_BENCH_HEAP;
    // CHIS_BENCH_NODE_FLAGS: more flags for Node-RED's node (e.g. --trace-gc, --max-semi-space-size=8).
    const nodeFlags = [
      ...(process.env.CHIS_BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : []),
      ...(heapDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${path.resolve(heapDir)}`] : []),
    ];
    try {
      // CHIS_NODE_RED_DIR: another Node-RED (npm test's node-red 5 pass runs the bench smoke test on it).
      const redJs = process.env.CHIS_NODE_RED_DIR ? path.join(process.env.CHIS_NODE_RED_DIR, 'red.js') : undefined;
      env.runtime = await startNodeRed({ userDir: env.userDir, port: await freePort(), nodeFlags, redJs, echo: process.env.CHIS_BENCH_ECHO === '1' });
      env.sender = new RawClient(env.runtime.url, options.maxSockets * 2);
    } catch (error) {
      await env.stop();
      throw error;
    }
    return env;
  }

  async stop(): Promise<void> {
    await this.runtime?.stop();
    for (const client of Object.values(this.raw)) client.close();
    this.sender?.close();
    if (this.sandboxChild && this.sandboxChild.exitCode === null) {
      const exited = new Promise((resolve) => this.sandboxChild!.once('exit', resolve));
      this.sandboxChild.kill('SIGTERM');
      await exited;
    }
    if (this.userDir) fs.rmSync(this.userDir, { recursive: true, force: true });
  }

  /** An example flow pointed at the bench's sandboxes, with the demo credentials. */
  exampleFlow(file: string): FlowNode[] {
    const origins: Record<string, string> = {};
    for (const system of BENCH_SYSTEMS) origins[`http://127.0.0.1:${BENCH_SANDBOXES[system].DEFAULT_PORT}`] = this.origins[system];
    return retarget(readFlow(file), origins);
  }

  async deploy(nodes: FlowNode[]): Promise<void> {
    await this.runtime.deploy(withCredentials(nodes, DEMO_CREDENTIALS));
  }

  control<T = unknown>(system: BenchSystem, method: string, route: string, body?: unknown): Promise<T> {
    return this.raw[system].json<T>({ method, path: `/_sandbox/${route}`, body });
  }

  /** A fixed simulated server latency on every API request of every sandbox (0 removes it). */
  async setLatency(ms: number): Promise<void> {
    for (const system of BENCH_SYSTEMS) {
      await this.control(system, 'DELETE', 'faults');
      if (ms > 0) await this.control(system, 'POST', 'faults', [{ path: '.*', latencyMs: ms }]);
    }
  }

  /** Makes a system answer 503 to everything (down), or clears that. */
  async setDown(system: BenchSystem, down: boolean, latencyMs: number): Promise<void> {
    await this.control(system, 'DELETE', 'faults');
    if (down) await this.control(system, 'POST', 'faults', [{ path: '.*', status: 503 }]);
    else if (latencyMs > 0) await this.control(system, 'POST', 'faults', [{ path: '.*', latencyMs }]);
  }

  async clearLogs(): Promise<void> {
    for (const system of BENCH_SYSTEMS) await this.control(system, 'DELETE', 'requests');
  }

  requests(system: BenchSystem, filter = ''): Promise<LoggedRequest[]> {
    return this.control<LoggedRequest[]>(system, 'GET', `requests${filter ? `?${filter}` : ''}`);
  }

  /** Starts a fresh peak-RSS window for Node-RED (Linux: writing 5 to clear_refs resets VmHWM). */
  resetPeakRss(): void {
    try {
      fs.writeFileSync(`/proc/${this.runtime.pid}/clear_refs`, '5');
    } catch {
      // Not Linux or not permitted: the peak then covers the process's whole life.
    }
  }

  /** Node-RED's resident memory now, split as the kernel counts it (anonymous = heaps, file = mapped code). */
  rssBreakdown(): string {
    try {
      const status = fs.readFileSync(`/proc/${this.runtime.pid}/status`, 'utf8');
      return ['VmRSS', 'RssAnon', 'RssFile', 'VmHWM'].map((key) => `${key} ${Math.round(Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024)} MB`).join(', ');
    } catch {
      return 'n/a';
    }
  }

  /** Asks Node-RED for a heap snapshot (CHIS_BENCH_HEAP set) and waits until it is written. */
  async heapSnapshot(): Promise<string | undefined> {
    const dir = process.env.CHIS_BENCH_HEAP;
    const pid = this.runtime.pid;
    if (!dir || !pid) return undefined;
    const before = new Set(fs.readdirSync(dir));
    process.kill(pid, 'SIGUSR2');
    let lastSize = -1;
    for (let waited = 0; waited < 120_000; waited += 500) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const written = fs.readdirSync(dir).find((file) => file.endsWith('.heapsnapshot') && !before.has(file));
      if (!written) continue;
      // Complete once its size stops changing and it parses as the JSON document it is.
      const size = fs.statSync(path.join(dir, written)).size;
      if (size === lastSize) {
        try {
          JSON.parse(fs.readFileSync(path.join(dir, written), 'utf8'));
          return path.join(dir, written);
        } catch {
          // still being written
        }
      }
      lastSize = size;
    }
    return undefined;
  }

  /** Node-RED's peak resident set size in MB since the last reset. */
  peakRssMb(): number | null {
    try {
      const status = fs.readFileSync(`/proc/${this.runtime.pid}/status`, 'utf8');
      const match = /VmHWM:\s+(\d+) kB/.exec(status);
      return match ? Number(match[1]) / 1024 : null;
    } catch {
      return null;
    }
  }
}
