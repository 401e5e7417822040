/**
 * Starts a real Node-RED process with this package installed in a throwaway or demo userDir,
 * and talks to it over the admin API. Used by `npm start` (the demo) and by the flow tests, so
 * both exercise the same install path as a user's `npm install`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const PACKAGE_NAME: string = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).name;

export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  credentials?: Record<string, string>;
  [key: string]: unknown;
}

export interface RuntimeOptions {
  userDir: string;
  port: number;
  host?: string;
  /** Node.js binary; defaults to the one running this script. */
  nodeBinary?: string;
  /** Node-RED's red.js; defaults to the project's node-red dependency. */
  redJs?: string;
  env?: NodeJS.ProcessEnv;
  /** Echo Node-RED's log lines to this process's stdout. */
  echo?: boolean;
  /** Flags for Node-RED's node, e.g. a heap cap. */
  nodeFlags?: string[];
  /** Link this project into the userDir (default); false when the package was installed there. */
  linkPackage?: boolean;
}

/** What the demo, and the README for deployments with long outbox backlogs, start Node-RED with. */
export const RECOMMENDED_HEAP_FLAG = '--max-old-space-size=256';

export const DEFAULT_RED_JS = path.join(PROJECT_ROOT, 'node_modules', 'node-red', 'red.js');

/** Writes settings.js and links this package into userDir/node_modules, as `npm install` would. */
export function prepareUserDir(userDir: string, options: { port: number; host: string; linkPackage?: boolean }): void {
  if (options.linkPackage !== false) {
    fs.mkdirSync(path.join(userDir, 'node_modules', ...PACKAGE_NAME.split('/').slice(0, -1)), { recursive: true });
    const link = path.join(userDir, 'node_modules', ...PACKAGE_NAME.split('/'));
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(PROJECT_ROOT, link, 'dir');
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'chis-node-red-userdir', private: true, dependencies: { [PACKAGE_NAME]: '*' } }, null, 2));
  }
  const settings = {
    uiPort: options.port,
    uiHost: options.host,
    flowFile: 'flows.json',
    // The demo userDir is local and git-ignored; real installs set their own secret.
    credentialSecret: process.env.CHIS_CREDENTIAL_SECRET ?? 'chis-demo-credential-secret',
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    logging: { console: { level: 'info', metrics: false, audit: false } },
    editorTheme: { tours: false, projects: { enabled: false } },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
  };
  fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
}

export class NodeRedProcess {
  readonly url: string;
  readonly output: string[] = [];
  private exited: Promise<number | null>;

  constructor(private readonly child: ChildProcess, url: string) {
    this.url = url;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** A crash, not a shutdown: no close handlers run. */
  async kill9(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async api<T = unknown>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await fetch(`${this.url}${route}`, {
      method,
      headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route} -> ${response.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Replaces all flows (full deploy) and waits until they report started. */
  async deploy(nodes: FlowNode[]): Promise<void> {
    const logged = this.output.length;
    await this.api('POST', '/flows', { flows: nodes }, { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' });
    // /flows/state already says "start" while the old flows stop: wait for the runtime's own
    // "Started flows" line of this deploy, so receivers are registered when we return. A start-up
    // "Started flows" line read late would look like this deploy's: only count one that follows
    // this deploy's "Stopped flows" (when that line shows up at all).
    const deadline = Date.now() + 15_000;
    const stoppedBy = Date.now() + 5_000;
    const started = (): boolean => {
      const lines = this.output.slice(logged);
      const stopped = lines.findIndex((line) => /Stopped (flows|modified)/.test(line));
      if (stopped < 0 && Date.now() < stoppedBy) return false;
      return lines.slice(Math.max(stopped, 0)).some((line) => /Started (flows|modified)/.test(line));
    };
    while (!started()) {
      if (Date.now() > deadline) throw new Error(`flows did not start after deploy:\n${this.output.slice(logged).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.waitForFlowsStarted();
  }

  async flows(): Promise<FlowNode[]> {
    const result = await this.api<{ flows: FlowNode[] }>('GET', '/flows', undefined, { 'Node-RED-API-Version': 'v2' });
    return result.flows;
  }

  /** Node sets loaded by the runtime (GET /nodes). */
  async nodeSets(): Promise<Array<{ id: string; module: string; types: string[]; enabled: boolean; loaded: boolean; err?: string }>> {
    return this.api('GET', '/nodes');
  }

  async waitForFlowsStarted(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.api<{ state: string }>('GET', '/flows/state');
      if (state.state === 'start') return;
      if (Date.now() > deadline) throw new Error(`flows did not start: state ${state.state}\n${this.output.slice(-20).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Log lines that name a node type that could not be found ("Waiting for missing types"). */
  missingTypes(): string[] {
    return this.output.filter((line) => /missing type|Waiting for missing types/i.test(line));
  }
}

export async function startNodeRed(options: RuntimeOptions): Promise<NodeRedProcess> {
  const host = options.host ?? '127.0.0.1';
  prepareUserDir(options.userDir, { port: options.port, host, linkPackage: options.linkPackage });
  const child = spawn(options.nodeBinary ?? process.execPath, [
    ...(options.nodeFlags ?? []),
    options.redJs ?? DEFAULT_RED_JS,
    '--userDir', options.userDir,
    '--settings', path.join(options.userDir, 'settings.js'),
    '--port', String(options.port),
  ], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const runtime = new NodeRedProcess(child, `http://${host}:${options.port}`);
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      runtime.output.push(line);
      if (options.echo) console.log(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Node-RED exited with ${child.exitCode}:\n${runtime.output.join('\n')}`);
    try {
      const response = await fetch(`${runtime.url}/settings`, { headers: { Accept: 'application/json' } });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Node-RED did not start within 60 s:\n${runtime.output.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return runtime;
}

/** Reads an example flow from flows/. */
export function readFlow(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'flows', file), 'utf8')) as FlowNode[];
}

export function listFlowFiles(): string[] {
  return fs.readdirSync(path.join(PROJECT_ROOT, 'flows')).filter((file) => file.endsWith('.json')).sort();
}

/**
 * Points a flow's config nodes at other sandbox origins, e.g. when the tests run the sandboxes
 * on free ports: every string property starting with a default origin is rewritten.
 */
export function retarget(nodes: FlowNode[], origins: Record<string, string>): FlowNode[] {
  return nodes.map((node) => {
    const copy: FlowNode = { ...node };
    for (const [key, value] of Object.entries(copy)) {
      if (typeof value !== 'string') continue;
      for (const [from, to] of Object.entries(origins)) {
        if (value.startsWith(from)) copy[key] = to + value.slice(from.length);
      }
    }
    return copy;
  });
}

/**
 * Adds credentials to nodes by node id, else by node type (flows/ files never hold any): the
 * admin API stores them in Node-RED's encrypted credential store on deploy.
 */
export function withCredentials(nodes: FlowNode[], byTypeOrId: Record<string, Record<string, string>>): FlowNode[] {
  return nodes.map((node) => {
    // A node's own entry (by id) wins over its type's: one server can need other credentials than the rest.
    const credentials = byTypeOrId[node.id] ?? byTypeOrId[node.type];
    return credentials ? { ...node, credentials: { ...credentials } } : node;
  });
}

/** All example flows as one deployable list; config nodes shared between files appear once. */
export function combinedExampleFlows(): FlowNode[] {
  const byId = new Map<string, FlowNode>();
  for (const file of listFlowFiles()) {
    for (const node of readFlow(file)) byId.set(node.id, node);
  }
  return [...byId.values()];
}
