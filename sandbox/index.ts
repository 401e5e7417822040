/**
 * Starts the sandbox servers: `npm run sandbox`, the demo, the flow tests and the benchmarks.
 * Each system module exports `create()`, its default port and the base path it serves.
 */
import type { SandboxApp } from './core';
import * as openmrs from './openmrs';
import * as dhis2 from './dhis2';
import * as commcare from './commcare';
import * as rapidpro from './rapidpro';
import * as cht from './cht';
import * as openhim from './openhim';
import * as fhir from './fhir';

export interface SandboxModule {
  create(): SandboxApp;
  DEFAULT_PORT: number;
  /** Path printed after the origin in the start-up line, e.g. "/openmrs/ws/rest/v1". */
  BASE_PATH: string;
}

export const SYSTEMS = { openmrs, dhis2, commcare, rapidpro, cht, openhim, fhir } satisfies Record<string, SandboxModule>;
export type SystemName = keyof typeof SYSTEMS;

export const PORT_ENV: Record<SystemName, string> = {
  openmrs: 'OPENMRS_PORT',
  dhis2: 'DHIS2_PORT',
  commcare: 'COMMCARE_PORT',
  rapidpro: 'RAPIDPRO_PORT',
  cht: 'CHT_PORT',
  openhim: 'OPENHIM_PORT',
  fhir: 'FHIR_PORT',
};

export interface RunningSandbox {
  name: SystemName;
  app: SandboxApp;
  port: number;
  url: string;
}

/**
 * Starts the named systems (all by default). A port of 0 picks a free one, which tests use
 * so they never collide with a running demo.
 */
export async function startSandboxes(options: { only?: SystemName[]; ports?: Partial<Record<SystemName, number>>; host?: string } = {}): Promise<RunningSandbox[]> {
  const names = options.only ?? (Object.keys(SYSTEMS) as SystemName[]);
  const host = options.host ?? '127.0.0.1';
  const running: RunningSandbox[] = [];
  try {
    for (const name of names) {
      const module: SandboxModule = SYSTEMS[name];
      const app = module.create();
      const requested = options.ports?.[name] ?? Number(process.env[PORT_ENV[name]] ?? module.DEFAULT_PORT);
      const port = await app.listen(requested, host);
      running.push({ name, app, port, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}` });
    }
  } catch (error) {
    await stopSandboxes(running);
    throw error;
  }
  return running;
}

export async function stopSandboxes(running: RunningSandbox[]): Promise<void> {
  await Promise.all(running.map((sandbox) => sandbox.app.close()));
}

if (require.main === module) {
  startSandboxes().then((running) => {
    for (const sandbox of running) {
      console.log(`${sandbox.name.padEnd(9)} ${sandbox.url}${SYSTEMS[sandbox.name].BASE_PATH}`);
    }
    const stop = (): void => { void stopSandboxes(running).then(() => process.exit(0)); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }).catch((error: Error) => {
    console.error(`sandbox: ${error.message}`);
    process.exit(1);
  });
}
