/**
 * The mapping engine behind the chis-mapper node: a plain-JSON description of how to build a
 * target document (an OpenMRS encounter, a CommCare case, a DHIS2 event...) from a source
 * message, compiled once and applied to every message. It does not depend on Node-RED.
 *
 * Two rules shape it:
 * - A missing answer must never wipe data: empty values are not written unless asked to.
 * - Values are patient data: errors name the field and the value's type, never the value.
 */
import jsonata from 'jsonata';
import { badInput } from './errors';
import { targetSchemaValidator } from './target-schemas';

export const MAPPING_VERSION = 1;

export type SourceSpec =
  | { kind: 'path'; path: string }
  | { kind: 'jsonata'; expression: string }
  | { kind: 'constant'; value: unknown };

export type ValueType = 'string' | 'number' | 'integer' | 'boolean' | 'date' | 'datetime' | 'json' | 'auto';

export interface ValueMap {
  entries: Array<{ from: string; to: unknown }>;
  /** What to do with a value no entry matches. Default "error": an unmapped code is a data problem. */
  otherwise?: 'pass' | 'error' | 'default';
  default?: unknown;
}

export interface FieldMapping {
  /** Where to write: "obs[0].value", "identifiers[]", "obs[concept=5089AAAA].value", "properties.phone". */
  target: string;
  source: SourceSpec;
  valueMap?: ValueMap;
  type?: ValueType;
  /** IANA name ("Africa/Abidjan") or offset ("+01:00") for date-times written without an offset. Default UTC. */
  timezone?: string;
  required?: boolean;
  /** Used when the source is empty; a target-side value, so it skips the value map. */
  default?: unknown;
  /** Default true: an empty result (undefined, null, '') is not written. */
  omitIfEmpty?: boolean;
  /** Free text for reviewers: why this row exists. */
  note?: string;
}

export interface Mapping {
  version: 1;
  fields: FieldMapping[];
  /** Start from an empty document (default) or from a copy of the source. */
  keep?: 'none' | 'source';
  /** A name registered with registerTargetSchema: the output is validated against it. */
  targetSchema?: string;
}

export interface FieldError {
  target: string;
  message: string;
}

export interface ApplyContext {
  /** The whole message, bound to $msg in JSONata expressions. */
  msg?: unknown;
  /** Backs $env("NAME") in JSONata expressions. */
  env?: (name: string) => string | undefined;
}

export interface MappingResult {
  output: Record<string, unknown>;
  errors: FieldError[];
}

export interface CompiledMapping {
  readonly mapping: Mapping;
  apply(source: unknown, context?: ApplyContext): Promise<MappingResult>;
}

// ---------------------------------------------------------------------------------------------
// Paths

export type Segment =
  | { kind: 'key'; key: string }
  | { kind: 'index'; index: number }
  | { kind: 'append' }
  | { kind: 'match'; key: string; value: string };

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_INDEX = 10_000;

function checkKey(key: string): string {
  if (FORBIDDEN_KEYS.has(key)) throw new Error(`"${key}" is not allowed in a path`);
  return key;
}

function unquote(text: string): string {
  const quote = text[0];
  if ((quote === '"' || quote === "'") && text.length >= 2 && text[text.length - 1] === quote) return text.slice(1, -1);
  return text;
}

/** The text between "[" at `start` and its "]", skipping "]" inside quotes. */
function bracketContent(path: string, start: number): { content: string; end: number } {
  let quote: string | undefined;
  for (let i = start + 1; i < path.length; i += 1) {
    const ch = path[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === ']') {
      return { content: path.slice(start + 1, i), end: i + 1 };
    }
  }
  throw new Error('unclosed "["');
}

function bracketSegment(content: string, allowAppend: boolean): Segment {
  const trimmed = content.trim();
  if (trimmed === '') {
    if (!allowAppend) throw new Error('"[]" (append) is only allowed in targets');
    return { kind: 'append' };
  }
  if (/^\d+$/.test(trimmed)) {
    const index = Number(trimmed);
    if (index > MAX_INDEX) throw new Error(`index ${index} is larger than ${MAX_INDEX}`);
    return { kind: 'index', index };
  }
  if (trimmed[0] === '"' || trimmed[0] === "'") {
    const key = unquote(trimmed);
    if (key === trimmed) throw new Error(`unbalanced quotes in [${content}]`);
    return { kind: 'key', key: checkKey(key) };
  }
  const equals = trimmed.indexOf('=');
  if (equals > 0) {
    const key = checkKey(trimmed.slice(0, equals).trim());
    return { kind: 'match', key, value: unquote(trimmed.slice(equals + 1).trim()) };
  }
  throw new Error(`[${content}] must be an index, [], ["key"] or [key=value]`);
}

/**
 * Parses "form.case.@case_id", "obs[0].value", "identifier[system=\"http://x.org/id\"].value",
 * 'form["odd.key"]'. Any character but "." and "[" belongs to a key, so CommCare's "@"/"#" keys work.
 */
export function parsePath(path: string, options: { target: boolean }): Segment[] {
  const text = path.trim();
  if (!text) throw new Error('the path is empty');
  const segments: Segment[] = [];
  let i = 0;
  let expectKey = true;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '[') {
      const { content, end } = bracketContent(text, i);
      segments.push(bracketSegment(content, options.target));
      i = end;
      expectKey = false;
    } else if (ch === '.' && !expectKey) {
      i += 1;
      expectKey = true;
      if (i === text.length) throw new Error('the path ends with "."');
    } else if (expectKey) {
      let end = i;
      while (end < text.length && text[end] !== '.' && text[end] !== '[') end += 1;
      const key = text.slice(i, end);
      if (!key) throw new Error('the path has an empty segment ("..")');
      if (key.includes(']')) throw new Error(`"]" without "[" in "${key}"`);
      segments.push({ kind: 'key', key: checkKey(key) });
      i = end;
      expectKey = false;
    } else {
      throw new Error(`unexpected "${ch}" at position ${i + 1}`);
    }
  }
  if (options.target && segments[segments.length - 1].kind === 'match') {
    throw new Error('[key=value] picks an array element; name the property to write after it, e.g. obs[concept=...].value');
  }
  return segments;
}

const hasOwn = (object: object, key: PropertyKey): boolean => Object.prototype.hasOwnProperty.call(object, key);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function matches(element: unknown, segment: { key: string; value: string }): boolean {
  if (!isRecord(element) || !hasOwn(element, segment.key)) return false;
  const found = element[segment.key];
  return (typeof found === 'string' || typeof found === 'number' || typeof found === 'boolean') && String(found) === segment.value;
}

/** Reads own properties only: a path can never reach Object.prototype or an array method. */
export function readPath(root: unknown, segments: readonly Segment[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null) return undefined;
    switch (segment.kind) {
      case 'key':
        if (Array.isArray(current) || !hasOwn(current, segment.key)) return undefined;
        current = (current as Record<string, unknown>)[segment.key];
        break;
      case 'index':
        if (Array.isArray(current)) {
          current = hasOwn(current, segment.index) ? current[segment.index] : undefined;
        } else if (segment.index !== 0) {
          return undefined;
        }
        // else: CommCare sends a repeat group with one entry as an object, not a one-element array.
        break;
      case 'match':
        if (!Array.isArray(current)) return undefined;
        current = current.find((element) => matches(element, segment));
        break;
      case 'append':
        return undefined;
    }
  }
  return current;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date object';
  return typeof value;
}

function formatSegments(segments: readonly Segment[], count: number): string {
  let text = '';
  for (const segment of segments.slice(0, count)) {
    if (segment.kind === 'key') text += text ? `.${segment.key}` : segment.key;
    else if (segment.kind === 'index') text += `[${segment.index}]`;
    else if (segment.kind === 'append') text += '[]';
    else text += `[${segment.key}=${segment.value}]`;
  }
  return text;
}

/** Writes `value`, creating objects and arrays on the way. Returns a problem, or undefined. */
export function writePath(root: Record<string, unknown>, segments: readonly Segment[], value: unknown): string | undefined {
  let container: unknown = root;
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i];
    const last = i === segments.length - 1;
    const wantsArray = segment.kind !== 'key';
    if (wantsArray ? !Array.isArray(container) : !isRecord(container)) {
      return `cannot write into ${formatSegments(segments, i) || 'the document'}: it is ${describeType(container)}, not ${wantsArray ? 'an array' : 'an object'}`;
    }
    const next = segments[i + 1];
    const fresh = (): unknown => (next && next.kind !== 'key' ? [] : {});
    if (segment.kind === 'key') {
      const record = container as Record<string, unknown>;
      if (last) {
        record[segment.key] = value;
        return undefined;
      }
      const existing = hasOwn(record, segment.key) ? record[segment.key] : undefined;
      if (existing === undefined || existing === null) record[segment.key] = fresh();
      container = record[segment.key];
    } else {
      const array = container as unknown[];
      if (segment.kind === 'append') {
        array.push(last ? value : fresh());
        if (last) return undefined;
        container = array[array.length - 1];
      } else if (segment.kind === 'index') {
        if (last) {
          array[segment.index] = value;
          return undefined;
        }
        const existing = hasOwn(array, segment.index) ? array[segment.index] : undefined;
        if (existing === undefined || existing === null) array[segment.index] = fresh();
        container = array[segment.index];
      } else {
        let element = array.find((candidate) => matches(candidate, segment));
        if (!element) {
          element = { [segment.key]: segment.value };
          array.push(element);
        }
        container = element;
      }
    }
  }
  return undefined;
}

/**
 * A copy made of fresh plain objects and arrays without "__proto__" keys, so nothing a mapping
 * outputs shares references with the mapping or the source, or can re-point a prototype when a
 * later node merges it.
 */
export function safeClone(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 100) throw new Error('value is nested more than 100 levels deep');
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return value.map((item) => safeClone(item, depth + 1));
  if (ArrayBuffer.isView(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key !== '__proto__') copy[key] = safeClone((value as Record<string, unknown>)[key], depth + 1);
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Coercion

class Failure {
  constructor(readonly reason: string) {}
}

type Zone = { kind: 'fixed'; minutes: number } | { kind: 'named'; format: Intl.DateTimeFormat };

const UTC: Zone = { kind: 'fixed', minutes: 0 };
const namedZones = new Map<string, Zone>();

export function parseTimezone(text: string): Zone {
  const trimmed = text.trim();
  if (/^(Z|UTC|GMT)$/i.test(trimmed)) return UTC;
  const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(trimmed);
  if (offset) {
    const minutes = Number(offset[2]) * 60 + Number(offset[3]);
    if (Number(offset[2]) > 14 || Number(offset[3]) > 59) throw new Error(`timezone offset ${trimmed} is out of range`);
    return { kind: 'fixed', minutes: offset[1] === '-' ? -minutes : minutes };
  }
  let zone = namedZones.get(trimmed);
  if (!zone) {
    try {
      zone = {
        kind: 'named',
        format: new Intl.DateTimeFormat('en-US', {
          timeZone: trimmed, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
        }),
      };
    } catch {
      throw new Error(`unknown timezone "${trimmed}" (use an IANA name like Africa/Lagos or an offset like +01:00)`);
    }
    namedZones.set(trimmed, zone);
  }
  return zone;
}

/** The zone's offset from UTC, in minutes, at an instant. */
function offsetAt(zone: Zone, epochMs: number): number {
  if (zone.kind === 'fixed') return zone.minutes;
  const parts: Record<string, number> = {};
  for (const part of zone.format.formatToParts(new Date(epochMs))) parts[part.type] = Number(part.value);
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return Math.round((wall - Math.floor(epochMs / 1000) * 1000) / 60000);
}

/** The instant at which the zone's clocks show `wallMs` (a wall time encoded as if UTC). */
function instantOfWallTime(zone: Zone, wallMs: number): number {
  const guess = wallMs - offsetAt(zone, wallMs) * 60000;
  return wallMs - offsetAt(zone, guess) * 60000;
}

interface ParsedDateTime {
  /** The clock reading, encoded as if it were UTC. */
  wallMs: number;
  /** Minutes east of UTC when the text carries an offset. */
  offset?: number;
}

const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

function parseIsoDateTime(text: string): ParsedDateTime | undefined {
  const match = ISO_DATETIME.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone] = match;
  const wallMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(fraction.padEnd(3, '0').slice(0, 3)));
  const check = new Date(wallMs);
  // Date.UTC rolls 2024-02-30 over to March: a round trip catches impossible dates and times.
  if (check.getUTCFullYear() !== Number(y) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)
    || check.getUTCHours() !== Number(h) || check.getUTCMinutes() !== Number(mi) || check.getUTCSeconds() !== Number(s)) {
    return undefined;
  }
  if (zone === undefined) return { wallMs };
  if (/^z$/i.test(zone)) return { wallMs, offset: 0 };
  const digits = zone.replace(':', '');
  const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5) || '0');
  return { wallMs, offset: zone[0] === '-' ? -minutes : minutes };
}

function pad(value: number, width = 2): string {
  return String(Math.abs(value)).padStart(width, '0');
}

function formatDateTime(instantMs: number, offsetMinutes: number): string {
  const wall = new Date(instantMs + offsetMinutes * 60000).toISOString();
  const millis = wall.slice(19, 23);
  const sign = offsetMinutes < 0 ? '-' : '+';
  return `${wall.slice(0, 19)}${millis === '.000' ? '' : millis}${sign}${pad(Math.trunc(offsetMinutes / 60))}:${pad(offsetMinutes % 60)}`;
}

/** An instant given as epoch milliseconds or a Date, or undefined for anything else. */
function instantOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.getTime();
  return undefined;
}

const TRUE_WORDS = new Set(['true', 'yes', '1', 'y']);
const FALSE_WORDS = new Set(['false', 'no', '0', 'n']);

/** Converts one non-empty value to a field's type, or says why it cannot. */
type Converter = (value: unknown, zone: Zone) => unknown;

function toStringValue(value: unknown): unknown {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return new Failure(`expected a string, got ${describeType(value)}`);
}

function toNumberValue(value: unknown, type: 'number' | 'integer'): unknown {
  let number: number | undefined;
  if (typeof value === 'number') number = value;
  else if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) number = Number(value);
  if (number === undefined || !Number.isFinite(number)) {
    return new Failure(`expected ${type === 'number' ? 'a number' : 'an integer'}, got ${typeof value === 'string' ? 'a string that is not a number' : describeType(value)}`);
  }
  if (type === 'integer' && !Number.isInteger(number)) return new Failure(`expected an integer, got a ${typeof value === 'string' ? 'string holding a ' : ''}number with decimals`);
  return number;
}

function toBooleanValue(value: unknown): unknown {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' || typeof value === 'number') {
    const word = String(value).trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  return new Failure(`expected a boolean (true/false, yes/no, 1/0), got ${describeType(value)}`);
}

const PLAIN_DATE = /^\d{4}-\d{2}-\d{2}$/;

function toDateValue(value: unknown, zone: Zone): unknown {
  // The common case, a bare YYYY-MM-DD: valid exactly when it survives a round trip through
  // Date.UTC (as parseIsoDateTime checks), and then it is its own answer.
  if (typeof value === 'string' && value.length === 10 && PLAIN_DATE.test(value)) {
    const year = Number(value.slice(0, 4));
    const month = Number(value.slice(5, 7));
    const day = Number(value.slice(8, 10));
    const check = new Date(Date.UTC(year, month - 1, day));
    if (check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day) return value;
  }
  const instant = instantOf(value);
  if (instant !== undefined) return formatDateTime(instant, offsetAt(zone, instant)).slice(0, 10);
  const parsed = typeof value === 'string' ? parseIsoDateTime(value) : undefined;
  if (!parsed) return new Failure(`expected a date (YYYY-MM-DD), got ${typeof value === 'string' ? 'a string that is not an ISO 8601 date' : describeType(value)}`);
  // The calendar day as written: the sender's own day is the one that was meant.
  return new Date(parsed.wallMs).toISOString().slice(0, 10);
}

function toDatetimeValue(value: unknown, zone: Zone): unknown {
  const instant = instantOf(value);
  if (instant !== undefined) return formatDateTime(instant, offsetAt(zone, instant));
  const parsed = typeof value === 'string' ? parseIsoDateTime(value) : undefined;
  if (!parsed) return new Failure(`expected a date-time (ISO 8601), got ${typeof value === 'string' ? 'a string that is not an ISO 8601 date-time' : describeType(value)}`);
  if (parsed.offset !== undefined) return formatDateTime(parsed.wallMs - parsed.offset * 60000, parsed.offset);
  const at = instantOfWallTime(zone, parsed.wallMs);
  return formatDateTime(at, offsetAt(zone, at));
}

function toJsonValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return safeClone(JSON.parse(value));
  } catch {
    return new Failure('expected JSON text, got a string that is not valid JSON');
  }
}

const SCALAR_CONVERTERS: Record<ValueType, Converter> = {
  string: toStringValue,
  number: (value) => toNumberValue(value, 'number'),
  integer: (value) => toNumberValue(value, 'integer'),
  boolean: toBooleanValue,
  date: toDateValue,
  datetime: toDatetimeValue,
  json: toJsonValue,
  auto: (value) => value,
};

/** The field's converter, chosen once when the mapping is compiled. */
function converterFor(type: ValueType): Converter {
  const scalar = SCALAR_CONVERTERS[type];
  if (type === 'json' || type === 'auto') return scalar;
  return (value, zone) => {
    if (!Array.isArray(value)) return scalar(value, zone);
    // Arrays (e.g. a split multi-select answer) are converted element by element.
    const result: unknown[] = [];
    for (const item of value) {
      const converted = scalar(item, zone);
      if (converted instanceof Failure) return new Failure(`in a list: ${converted.reason}`);
      result.push(converted);
    }
    return result;
  };
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

// ---------------------------------------------------------------------------------------------
// Compilation

const FIELD_KEYS: ReadonlySet<string> = new Set(['target', 'source', 'valueMap', 'type', 'timezone', 'required', 'default', 'omitIfEmpty', 'note']);
const MAPPING_KEYS: ReadonlySet<string> = new Set(['version', 'fields', 'keep', 'targetSchema']);
const VALUE_MAP_KEYS: ReadonlySet<string> = new Set(['entries', 'otherwise', 'default']);
const TYPES: ReadonlySet<string> = new Set(['string', 'number', 'integer', 'boolean', 'date', 'datetime', 'json', 'auto']);
const OTHERWISE: ReadonlySet<string> = new Set(['pass', 'error', 'default']);

type Expression = ReturnType<typeof jsonata>;

interface CompiledField {
  target: string;
  /** How errors name the field: the target, and where its value came from. */
  label: string;
  targetPath: Segment[];
  sourcePath?: Segment[];
  expression?: Expression;
  constant?: unknown;
  valueMap?: { lookup: Map<string, unknown>; otherwise: 'pass' | 'error' | 'default'; fallback: unknown };
  type: ValueType;
  convert: Converter;
  zone: Zone;
  required: boolean;
  fallback: unknown;
  omitIfEmpty: boolean;
}

function unknownKeys(value: object, allowed: ReadonlySet<string>): string[] {
  return Object.keys(value).filter((key) => !allowed.has(key));
}

function compileField(field: FieldMapping, row: number): CompiledField {
  const fail = (problem: string): never => {
    const target = isRecord(field) && typeof field.target === 'string' ? ` (${field.target})` : '';
    throw badInput(`mapping row ${row}${target}: ${problem}`, `mapping.fields[${row - 1}]`);
  };
  const attempt = <T>(what: string, work: () => T): T => {
    try {
      return work();
    } catch (error) {
      return fail(`${what}: ${(error as Error).message}`);
    }
  };
  if (!isRecord(field)) return fail('must be an object');
  const extra = unknownKeys(field, FIELD_KEYS);
  if (extra.length) fail(`unknown propert${extra.length > 1 ? 'ies' : 'y'} ${extra.join(', ')}`);
  if (typeof field.target !== 'string' || !field.target.trim()) fail('target is missing');
  const targetPath = attempt('invalid target', () => parsePath(field.target, { target: true }));
  const source = field.source as Partial<Record<string, unknown>> | undefined;
  if (!isRecord(source)) return fail('source is missing');
  const compiled: CompiledField = {
    target: field.target.trim(),
    label: field.target.trim(),
    targetPath,
    type: 'auto',
    convert: SCALAR_CONVERTERS.auto,
    zone: UTC,
    required: false,
    fallback: undefined,
    omitIfEmpty: true,
  };
  switch (source.kind) {
    case 'path':
      if (typeof source.path !== 'string') fail('source.path must be a string');
      compiled.sourcePath = attempt('invalid source path', () => parsePath(source.path as string, { target: false }));
      compiled.label = `${compiled.target} (from ${(source.path as string).trim()})`;
      break;
    case 'jsonata':
      if (typeof source.expression !== 'string' || !source.expression.trim()) fail('source.expression must be a JSONata expression');
      compiled.expression = attempt('invalid JSONata expression', () => jsonata(source.expression as string));
      compiled.label = `${compiled.target} (expression)`;
      break;
    case 'constant':
      if (!hasOwn(source, 'value')) fail('source.value is missing');
      compiled.constant = source.value;
      break;
    default:
      fail('source.kind must be "path", "jsonata" or "constant"');
  }
  if (field.type !== undefined) {
    if (!TYPES.has(field.type)) fail(`type must be one of ${[...TYPES].join(', ')}`);
    compiled.type = field.type;
  }
  compiled.convert = converterFor(compiled.type);
  if (field.timezone !== undefined && field.timezone !== '') {
    if (typeof field.timezone !== 'string') fail('timezone must be a string');
    compiled.zone = attempt('invalid timezone', () => parseTimezone(field.timezone as string));
  }
  for (const flag of ['required', 'omitIfEmpty'] as const) {
    if (field[flag] !== undefined && typeof field[flag] !== 'boolean') fail(`${flag} must be true or false`);
  }
  compiled.required = field.required === true;
  compiled.omitIfEmpty = field.omitIfEmpty !== false;
  compiled.fallback = field.default;
  if (field.valueMap !== undefined) compiled.valueMap = compileValueMap(field.valueMap, fail);
  return compiled;
}

function compileValueMap(valueMap: ValueMap, fail: (problem: string) => never): CompiledField['valueMap'] {
  if (!isRecord(valueMap) || !Array.isArray(valueMap.entries)) return fail('valueMap.entries must be a list');
  const extra = unknownKeys(valueMap, VALUE_MAP_KEYS);
  if (extra.length) fail(`unknown valueMap propert${extra.length > 1 ? 'ies' : 'y'} ${extra.join(', ')}`);
  const otherwise = valueMap.otherwise ?? 'error';
  if (!OTHERWISE.has(otherwise)) fail('valueMap.otherwise must be "pass", "error" or "default"');
  if (otherwise === 'default' && valueMap.default === undefined) fail('valueMap.otherwise is "default" but valueMap.default is not set');
  const lookup = new Map<string, unknown>();
  valueMap.entries.forEach((entry, index) => {
    const from: unknown = isRecord(entry) ? entry.from : undefined;
    if (typeof from !== 'string' && typeof from !== 'number' && typeof from !== 'boolean') fail(`valueMap entry ${index + 1}: "from" must be a string`);
    if (lookup.has(String(from))) fail(`valueMap entry ${index + 1}: "${String(from)}" is mapped twice`);
    lookup.set(String(from), entry.to);
  });
  return { lookup, otherwise, fallback: valueMap.default };
}

function applyValueMap(value: unknown, valueMap: NonNullable<CompiledField['valueMap']>): unknown {
  if (Array.isArray(value)) {
    const result: unknown[] = [];
    for (const item of value) {
      const mapped = applyValueMap(item, valueMap);
      if (mapped instanceof Failure) return mapped;
      result.push(mapped);
    }
    return result;
  }
  const key = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
  if (key !== undefined && valueMap.lookup.has(key)) return safeClone(valueMap.lookup.get(key));
  if (valueMap.otherwise === 'pass') return value;
  if (valueMap.otherwise === 'default') return safeClone(valueMap.fallback);
  return new Failure(`no value-map entry for the ${describeType(value)} received`);
}

const RETURNED_FUNCTION = Symbol('returned a function');

/**
 * A JSONata lambda is a plain object holding its closure, which includes the input document:
 * copying it would leak the source into the output, so functions of either kind are refused.
 */
function cloneResult(result: unknown): unknown {
  return holdsFunction(result, 0) ? RETURNED_FUNCTION : safeClone(result);
}

function holdsFunction(value: unknown, depth: number): boolean {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null || value instanceof Date || ArrayBuffer.isView(value)) return false;
  if ((value as Record<string, unknown>)._jsonata_lambda === true || (value as Record<string, unknown>)._jsonata_function === true) return true;
  // Deeper values are refused by safeClone anyway.
  return depth <= 100 && Object.values(value).some((item) => holdsFunction(item, depth + 1));
}

/** JSONata messages can quote the offending value (e.g. "Unable to cast value to a number: ..."). */
function describeExpressionError(error: unknown): string {
  const details = error as { code?: string; message?: string; value?: unknown; position?: number };
  let message = details.message ?? String(error);
  if (details.value !== undefined && details.value !== null) {
    const shown = typeof details.value === 'string' ? details.value : JSON.stringify(details.value);
    if (shown) message = message.split(shown).join(`<${describeType(details.value)}>`);
  }
  return `expression failed${details.code ? ` (${details.code})` : ''}: ${message}`;
}

/**
 * Validates a mapping and prepares it for fast repeated use: paths are parsed and JSONata
 * expressions compiled once. Throws a bad-input IntegrationError naming the faulty row.
 */
export function compileMapping(mapping: Mapping): CompiledMapping {
  if (!isRecord(mapping)) throw badInput('the mapping must be an object', 'mapping');
  const extra = unknownKeys(mapping, MAPPING_KEYS);
  if (extra.length) throw badInput(`the mapping has unknown properties: ${extra.join(', ')}`, 'mapping');
  if (mapping.version !== MAPPING_VERSION) throw badInput(`the mapping version must be ${MAPPING_VERSION}`, 'mapping.version');
  if (!Array.isArray(mapping.fields)) throw badInput('the mapping needs a list of fields', 'mapping.fields');
  if (mapping.keep !== undefined && mapping.keep !== 'none' && mapping.keep !== 'source') throw badInput('mapping.keep must be "none" or "source"', 'mapping.keep');
  const fields = mapping.fields.map((field, index) => compileField(field, index + 1));
  let validateTarget: ((document: unknown) => FieldError[]) | undefined;
  if (mapping.targetSchema) {
    try {
      validateTarget = targetSchemaValidator(mapping.targetSchema);
    } catch (error) {
      throw badInput((error as Error).message, 'mapping.targetSchema');
    }
  }
  const keepSource = mapping.keep === 'source';
  const hasExpressions = fields.some((field) => field.expression);

  return {
    mapping,
    async apply(source, context = {}) {
      const errors: FieldError[] = [];
      let output: Record<string, unknown> = {};
      if (keepSource) {
        if (isRecord(source)) {
          try {
            output = safeClone(source) as Record<string, unknown>;
          } catch (error) {
            errors.push({ target: '(document)', message: `keep "source": ${(error as Error).message}` });
          }
        } else errors.push({ target: '(document)', message: `keep "source" needs an object to copy, got ${describeType(source)}` });
      }
      const bindings = hasExpressions ? { msg: context.msg, env: (name: string) => context.env?.(name) } : undefined;
      for (const field of fields) {
        let value: unknown;
        try {
          if (field.sourcePath) value = readPath(source, field.sourcePath);
          else if (field.expression) value = cloneResult(await field.expression.evaluate(source, bindings));
          else value = safeClone(field.constant);
        } catch (error) {
          errors.push({ target: field.target, message: `${field.label}: ${describeExpressionError(error)}` });
          continue;
        }
        if (value === RETURNED_FUNCTION) value = new Failure('the expression returned a function (or a value holding one)');
        else if (isEmpty(value) && field.fallback !== undefined) value = safeClone(field.fallback);
        else if (field.valueMap && !isEmpty(value)) value = applyValueMap(value, field.valueMap);
        if (!(value instanceof Failure) && !isEmpty(value) && field.type !== 'auto') value = field.convert(value, field.zone);
        if (value instanceof Failure) {
          errors.push({ target: field.target, message: `${field.label}: ${value.reason}` });
          continue;
        }
        if (isEmpty(value)) {
          if (field.required) {
            errors.push({ target: field.target, message: `${field.label}: is required, but the source is missing or empty` });
            continue;
          }
          if (field.omitIfEmpty) continue;
          // Written on purpose (omitIfEmpty false): null survives JSON, undefined would vanish.
          if (value === undefined) value = null;
        }
        const problem = writePath(output, field.targetPath, value);
        if (problem) errors.push({ target: field.target, message: `${field.label}: ${problem}` });
      }
      if (validateTarget && errors.length === 0) errors.push(...validateTarget(output));
      return { output, errors };
    },
  };
}

/** One line listing the failing fields (never their values), for a node error. */
export function summariseFieldErrors(errors: readonly FieldError[], limit = 10): string {
  const shown = errors.slice(0, limit).map((error) => error.message);
  const more = errors.length > limit ? `; and ${errors.length - limit} more` : '';
  return `mapping failed for ${errors.length} field${errors.length === 1 ? '' : 's'}: ${shown.join('; ')}${more}`;
}
