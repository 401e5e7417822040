/**
 * Migrations of node config: flows saved with an older version of a node keep working.
 *
 * Each node type has an ordered list of steps; step `to: n` turns a config of version n-1 into
 * version n. A config's version is its `configVersion` property (absent = 0, i.e. saved before
 * the node had migrations). The runtime migrates in the node's constructor, before the config is
 * read; the editor applies the same declarative steps in `oneditprepare` (resources/chis-editor.js
 * `CHIS.editor.migrate`), so a saved flow is rewritten at its next deploy.
 *
 * Steps are data when they can be (rename, default, value map), so the same literal serves the
 * runtime (.ts) and the editor (.html); `apply` is for runtime-only reshaping.
 */
import type { NodeDef } from 'node-red';

export const CONFIG_VERSION_FIELD = 'configVersion';

export type NodeConfig = Record<string, unknown>;

export interface MigrationStep {
  /** The version this step produces: 1 for the first step, then 2, 3, ... */
  to: number;
  /** Why the shape changed (shown in logs and docs). */
  why: string;
  /** Old property name -> new property name (the old one is removed). */
  rename?: Record<string, string>;
  /** Properties that old configs lack, with the value that keeps the old behaviour. */
  defaults?: Record<string, unknown>;
  /** Property -> old value -> new value, for options whose names changed. */
  values?: Record<string, Record<string, unknown>>;
  /** Anything the data forms cannot say; runs after rename, defaults and values. */
  apply?: (config: NodeConfig) => NodeConfig;
}

export interface MigrationResult<T> {
  config: T;
  from: number;
  to: number;
  /** The `why` of each step applied, oldest first. */
  applied: string[];
  /** Set when the config is newer than this package knows (a flow from a later release). */
  newerThanKnown?: boolean;
}

const registry = new Map<string, readonly MigrationStep[]>();

/** Declares a node type's steps (replacing earlier ones); they must be numbered 1..n in order. */
export function registerMigrations(type: string, steps: readonly MigrationStep[]): void {
  steps.forEach((step, index) => {
    if (step.to !== index + 1) throw new Error(`migrations of ${type}: step ${index + 1} says to: ${step.to}; number steps 1, 2, 3 in order`);
  });
  registry.set(type, [...steps]);
}

export function migrationsOf(type: string): readonly MigrationStep[] {
  return registry.get(type) ?? [];
}

/** The version a config of this type has once migrated: its number of steps. */
export function currentConfigVersion(type: string): number {
  return migrationsOf(type).length;
}

export function configVersionOf(config: NodeConfig): number {
  const version = Number(config[CONFIG_VERSION_FIELD]);
  return Number.isInteger(version) && version > 0 ? version : 0;
}

/**
 * A copy that keeps non-enumerable properties: Node-RED hands constructors their flow and module
 * as hidden properties of the config (`_flow`, `_module`, `_path`), and a node needs them.
 */
function cloneConfig<T extends object>(config: T): T {
  return Object.create(Object.getPrototypeOf(config), Object.getOwnPropertyDescriptors(config)) as T;
}

function applyStepInPlace(config: NodeConfig, step: MigrationStep): void {
  for (const [from, to] of Object.entries(step.rename ?? {})) {
    if (from in config) {
      if (!(to in config)) config[to] = config[from];
      delete config[from];
    }
  }
  for (const [name, value] of Object.entries(step.defaults ?? {})) {
    if (config[name] === undefined) config[name] = value;
  }
  for (const [name, mapping] of Object.entries(step.values ?? {})) {
    const old = config[name];
    if (typeof old === 'string' && Object.prototype.hasOwnProperty.call(mapping, old)) config[name] = mapping[old];
  }
  if (step.apply) {
    const reshaped = step.apply({ ...config });
    for (const key of Object.keys(config)) delete config[key];
    Object.assign(config, reshaped);
  }
}

/** One step applied to a copy of the config. */
export function applyStep(config: NodeConfig, step: MigrationStep): NodeConfig {
  const next = cloneConfig(config);
  applyStepInPlace(next, step);
  return next;
}

/** Brings a saved config up to the current version without changing the one passed in. */
export function migrateConfig<T extends object>(type: string, config: T): MigrationResult<T> {
  const steps = migrationsOf(type);
  const from = configVersionOf(config as NodeConfig);
  if (from >= steps.length) {
    return { config, from, to: from, applied: [], ...(from > steps.length ? { newerThanKnown: true } : {}) };
  }
  const migrated = cloneConfig(config) as NodeConfig;
  const applied: string[] = [];
  for (const step of steps.slice(from)) {
    applyStepInPlace(migrated, step);
    applied.push(step.why);
  }
  migrated[CONFIG_VERSION_FIELD] = steps.length;
  return { config: migrated as T, from, to: steps.length, applied };
}

/**
 * Wraps a node constructor so it receives its config migrated. For node types whose constructor
 * goes through `registerNodeType`, pass the wrapped constructor there.
 */
export function withMigrations<TThis, TDef extends NodeDef>(
  type: string,
  constructor: (this: TThis, def: TDef) => void,
  onMigrated?: (result: MigrationResult<TDef>) => void,
): (this: TThis, def: TDef) => void {
  return function migratedConstructor(this: TThis, def: TDef): void {
    const result = migrateConfig(type, def);
    if (result.applied.length > 0 || result.newerThanKnown) onMigrated?.(result);
    constructor.call(this, result.config);
  };
}
