/**
 * Input contracts: every node validates what it is given with ajv before touching a remote
 * system, and answers bad input with a `bad-input` error that names the field.
 */
import Ajv, { type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import { badInput } from './errors';

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: true });

export type Schema<T = unknown> = JSONSchemaType<T> | Record<string, unknown>;

/** Where in the message a validated value lives, for error messages: "msg.payload". */
export function describeError(error: ErrorObject, root: string): string {
  const missing = error.keyword === 'required' ? `.${(error.params as { missingProperty: string }).missingProperty}` : '';
  const pointer = error.instancePath.split('/').slice(1).map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join('');
  const where = `${root}${pointer}${missing}`;
  if (error.keyword === 'required') return `${where} is required`;
  if (error.keyword === 'enum') return `${where} must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where} ${error.message ?? 'is invalid'}`;
}

export interface Validator<T> {
  (value: unknown, root?: string): T;
  schema: Schema<T>;
}

/**
 * Compiles a schema once (at node construction) into a function that returns the value typed,
 * or throws bad-input naming every invalid field (never the field's value: it may be patient data).
 */
export function compileValidator<T>(schema: Schema<T>, defaultRoot = 'msg.payload'): Validator<T> {
  const validate: ValidateFunction = ajv.compile(schema as Record<string, unknown>);
  const validator = ((value: unknown, root = defaultRoot): T => {
    if (validate(value)) return value as T;
    const messages = (validate.errors ?? []).slice(0, 5).map((error) => describeError(error, root));
    const first = validate.errors?.[0];
    const field = first ? describeError(first, root).split(' ')[0] : root;
    throw badInput(`invalid input: ${messages.join('; ')}`, field);
  }) as Validator<T>;
  validator.schema = schema;
  return validator;
}
