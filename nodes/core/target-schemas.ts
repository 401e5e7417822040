/**
 * The documents a mapping can be checked against. Each system folder registers the input
 * schema of its writer nodes (e.g. "openmrs.encounter", "commcare.case") so that a mapper
 * naming that schema fails on a wrong shape before anything is sent.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { FieldError } from './mapping';

export interface TargetSchemaEntry {
  /** Shown in the mapper's drop-down, e.g. "OpenMRS encounter (REST)". */
  title: string;
  /** A JSON Schema (draft-07 / 2019-09 subset understood by ajv 8). */
  schema: object;
}

export interface TargetSchemaSummary {
  name: string;
  title: string;
}

// Schemas come from many system folders: unknown keywords and formats must not break loading.
const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i);
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);

interface RegisteredSchema extends TargetSchemaEntry {
  validate: ValidateFunction;
}

const registry = new Map<string, RegisteredSchema>();

/**
 * Registers (or replaces) a schema. Compiles it at once so a broken schema fails when its
 * system module loads, not when an implementer first picks it.
 */
export function registerTargetSchema(name: string, entry: TargetSchemaEntry): void {
  if (typeof name !== 'string' || !name.trim()) throw new TypeError('a target schema needs a name');
  if (!entry || typeof entry.title !== 'string' || !entry.schema || typeof entry.schema !== 'object') {
    throw new TypeError(`target schema ${name}: needs a title and a schema object`);
  }
  registry.set(name, { title: entry.title, schema: entry.schema, validate: ajv.compile(entry.schema) });
}

export function getTargetSchema(name: string): TargetSchemaEntry | undefined {
  const found = registry.get(name);
  return found && { title: found.title, schema: found.schema };
}

export function listTargetSchemas(): TargetSchemaSummary[] {
  return [...registry.entries()].map(([name, entry]) => ({ name, title: entry.title })).sort((a, b) => a.name.localeCompare(b.name));
}

/** "/obs/0/value" -> "obs[0].value", the notation of mapping targets. */
function targetPathOf(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function toFieldError(error: ErrorObject, schemaName: string): FieldError {
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  let target: string;
  let problem: string;
  if (error.keyword === 'required' && params.missingProperty !== undefined) {
    target = targetPathOf(error.instancePath, params.missingProperty);
    problem = 'is required';
  } else if (error.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
    target = targetPathOf(error.instancePath, params.additionalProperty);
    problem = 'is not allowed';
  } else {
    target = targetPathOf(error.instancePath);
    // ajv's messages describe the schema (type, pattern, enum), never the value.
    problem = error.message ?? 'is invalid';
  }
  const where = target || '(document)';
  return { target: where, message: `${where}: ${problem} (target schema ${schemaName})` };
}

/**
 * A function returning the schema problems of a mapped document as field errors.
 * Throws a TypeError for a name nobody registered.
 */
export function targetSchemaValidator(name: string): (document: unknown) => FieldError[] {
  const entry = registry.get(name);
  if (!entry) throw new TypeError(`unknown target schema "${name}" (registered: ${listTargetSchemas().map((s) => s.name).join(', ') || 'none'})`);
  return (document) => (entry.validate(document) ? [] : (entry.validate.errors ?? []).map((error) => toFieldError(error, name)));
}
