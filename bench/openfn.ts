/**
 * The peer: OpenFn's adaptors, called the way OpenFn's runtime runs a job for each message:
 * `execute(...operations)(state)` with `configuration` in the state. Their per-request console
 * logging is silenced while timing, as it would otherwise dominate.
 */
type Operation = (state: OpenFnState) => Promise<OpenFnState> | OpenFnState;
export interface OpenFnState { configuration?: Record<string, unknown>; data?: unknown; references?: unknown[]; [key: string]: unknown }
type Execute = (...operations: Operation[]) => (state: OpenFnState) => Promise<OpenFnState>;

export interface OpenmrsAdaptor { execute: Execute; create: (path: string, data: unknown) => Operation }
export interface HttpAdaptor {
  execute: Execute;
  get: (path: string, options?: Record<string, unknown>) => Operation;
  post: (path: string, body: unknown, options?: Record<string, unknown>) => Operation;
}
export interface CommonAdaptor { execute: Execute; fn: (func: (state: OpenFnState) => OpenFnState) => Operation }

/* eslint-disable @typescript-eslint/no-require-imports -- the adaptors are optional dev dependencies, loaded only here */
export const openmrsAdaptor = (): OpenmrsAdaptor => require('@openfn/language-openmrs') as OpenmrsAdaptor;
export const httpAdaptor = (): HttpAdaptor => require('@openfn/language-http') as HttpAdaptor;
export const commonAdaptor = (): CommonAdaptor => require('@openfn/language-common') as CommonAdaptor;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Runs `work` with console.log/info/warn/debug silenced. */
export async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, warn: console.warn, debug: console.debug };
  const noop = (): void => undefined;
  Object.assign(console, { log: noop, info: noop, warn: noop, debug: noop });
  try {
    return await work();
  } finally {
    Object.assign(console, saved);
  }
}
