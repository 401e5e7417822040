/**
 * Search over the current versions of one resource type, per the FHIR R4 search spec for the
 * parameter kinds our flows use: token, string, reference and date (with prefixes), plus the
 * :not, :missing, :exact and :contains modifiers. Repeated parameters are ANDed, comma
 * separated values ORed.
 *
 * Unknown parameters are ignored (left out of the self link), as a lenient server does; with
 * `Prefer: handling=strict` they are a 400, as HAPI answers by default.
 */
import { FhirError, type Resource } from './outcome';
import { current, type FhirStore, type Version } from './store';

type Kind = 'token' | 'string' | 'reference' | 'date';

interface ParamDefinition {
  kind: Kind;
  paths: string[];
  /** For reference params that only point at one type, e.g. `patient`. */
  target?: string;
}

/** Parameters that shape the result rather than filter it. `_include` is applied by the interactions; `_revinclude` is accepted but not applied. */
export const RESULT_PARAMS = new Set(['_count', '_sort', '_summary', '_total', '_elements', '_include', '_revinclude', '_format', '_pretty', '_contained', '_containedType']);

const PEOPLE = new Set(['Patient', 'Practitioner', 'RelatedPerson', 'Person']);

/** Per-type overrides first, then the common definition. */
const DEFINITIONS: Record<string, Record<string, ParamDefinition>> = {
  '*': {
    _lastUpdated: { kind: 'date', paths: ['meta.lastUpdated'] },
    _tag: { kind: 'token', paths: ['meta.tag'] },
    _profile: { kind: 'token', paths: ['meta.profile'] },
    identifier: { kind: 'token', paths: ['identifier'] },
    status: { kind: 'token', paths: ['status'] },
    code: { kind: 'token', paths: ['code'] },
    gender: { kind: 'token', paths: ['gender'] },
    active: { kind: 'token', paths: ['active'] },
    intent: { kind: 'token', paths: ['intent'] },
    priority: { kind: 'token', paths: ['priority'] },
    category: { kind: 'token', paths: ['category'] },
    type: { kind: 'token', paths: ['type'] },
    'business-status': { kind: 'token', paths: ['businessStatus'] },
    'connection-type': { kind: 'token', paths: ['connectionType'] },
    role: { kind: 'token', paths: ['code'] },
    telecom: { kind: 'token', paths: ['telecom'] },
    phone: { kind: 'token', paths: ['telecom'] },
    email: { kind: 'token', paths: ['telecom'] },
    name: { kind: 'string', paths: ['name', 'alias'] },
    family: { kind: 'string', paths: ['name.family'] },
    given: { kind: 'string', paths: ['name.given'] },
    address: { kind: 'string', paths: ['address'] },
    'address-city': { kind: 'string', paths: ['address.city'] },
    'address-state': { kind: 'string', paths: ['address.state'] },
    'address-country': { kind: 'string', paths: ['address.country'] },
    'address-postalcode': { kind: 'string', paths: ['address.postalCode'] },
    birthdate: { kind: 'date', paths: ['birthDate'] },
    'authored-on': { kind: 'date', paths: ['authoredOn'] },
    date: { kind: 'date', paths: ['effectiveDateTime', 'effectivePeriod', 'effectiveInstant', 'period', 'date'] },
    subject: { kind: 'reference', paths: ['subject'] },
    patient: { kind: 'reference', paths: ['subject', 'patient'], target: 'Patient' },
    for: { kind: 'reference', paths: ['for'] },
    owner: { kind: 'reference', paths: ['owner'] },
    requester: { kind: 'reference', paths: ['requester'] },
    'based-on': { kind: 'reference', paths: ['basedOn'] },
    focus: { kind: 'reference', paths: ['focus'] },
    encounter: { kind: 'reference', paths: ['encounter', 'context'] },
    'part-of': { kind: 'reference', paths: ['partOf'] },
    partof: { kind: 'reference', paths: ['partOf'] },
    performer: { kind: 'reference', paths: ['performer'] },
    practitioner: { kind: 'reference', paths: ['practitioner'] },
    organization: { kind: 'reference', paths: ['organization', 'managingOrganization'] },
    location: { kind: 'reference', paths: ['location'] },
    endpoint: { kind: 'reference', paths: ['endpoint'] },
    'general-practitioner': { kind: 'reference', paths: ['generalPractitioner'] },
    'service-provider': { kind: 'reference', paths: ['serviceProvider'] },
    participant: { kind: 'reference', paths: ['participant.individual'] },
  },
  Task: {
    subject: { kind: 'reference', paths: ['for'] },
    patient: { kind: 'reference', paths: ['for'], target: 'Patient' },
  },
  Encounter: {
    practitioner: { kind: 'reference', paths: ['participant.individual'], target: 'Practitioner' },
    location: { kind: 'reference', paths: ['location.location'] },
  },
};

export function definitionFor(type: string, name: string): ParamDefinition | undefined {
  if (name === 'name' && PEOPLE.has(type)) return { kind: 'string', paths: ['name'] };
  return DEFINITIONS[type]?.[name] ?? DEFINITIONS['*'][name];
}

/** All values at a dotted path, flattening arrays on the way. */
function valuesAt(resource: unknown, path: string): unknown[] {
  let values: unknown[] = [resource];
  for (const part of path.split('.')) {
    const next: unknown[] = [];
    for (const value of values) {
      const child = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
      if (Array.isArray(child)) next.push(...child);
      else if (child !== undefined && child !== null) next.push(child);
    }
    values = next;
  }
  return values;
}

function normalise(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (!value || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  const parts = ['text', 'family', 'given', 'prefix', 'suffix', 'line', 'city', 'district', 'state', 'postalCode', 'country'];
  return parts.flatMap((part) => {
    const child = record[part];
    if (typeof child === 'string') return [child];
    return Array.isArray(child) ? child.filter((item): item is string => typeof item === 'string') : [];
  });
}

function matchesString(value: unknown, search: string, modifier: string | undefined): boolean {
  return stringsOf(value).some((candidate) => {
    if (modifier === 'exact') return candidate === search;
    if (modifier === 'contains') return normalise(candidate).includes(normalise(search));
    return normalise(candidate).startsWith(normalise(search));
  });
}

function matchesToken(value: unknown, search: string): boolean {
  const bar = search.indexOf('|');
  const system = bar >= 0 ? search.slice(0, bar) : undefined;
  const code = bar >= 0 ? search.slice(bar + 1) : search;
  const check = (candidateSystem: unknown, candidateCode: unknown): boolean => {
    if (system !== undefined) {
      if (system === '' ? candidateSystem !== undefined : candidateSystem !== system) return false;
    }
    return code === '' || String(candidateCode) === code;
  };
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
    return code !== '' && String(value) === code; // primitive codes carry their system implicitly
  }
  if (!value || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.coding)) return record.coding.some((coding: Record<string, unknown>) => check(coding?.system, coding?.code));
  if ('code' in record) return check(record.system, record.code);
  if ('value' in record) return check(record.system, record.value);
  return false;
}

function referenceParts(reference: string, type?: string): { type?: string; id: string } {
  const path = reference.replace(/\/_history\/[^/]+$/, '');
  const segments = path.split('/');
  if (segments.length >= 2) return { type: segments[segments.length - 2], id: segments[segments.length - 1] };
  return { type, id: path };
}

function matchesReference(value: unknown, search: string, modifierType: string | undefined, target: string | undefined): boolean {
  if (!value || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  if (typeof record.reference !== 'string') return false;
  const actual = referenceParts(record.reference, typeof record.type === 'string' ? record.type : undefined);
  const wanted = referenceParts(search, modifierType);
  if (actual.id !== wanted.id) return false;
  const wantedType = wanted.type ?? target;
  return !wantedType || !actual.type || actual.type === wantedType;
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** A date/dateTime/instant as the half-open range [low, high) its precision covers. */
export function dateRange(text: string): [number, number] | undefined {
  const match = DATE.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const offsetMs = zone && zone !== 'Z' ? (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000 : 0;
  const base = (y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number =>
    Date.UTC(y, mo, d, h, mi, s, ms) - offsetMs;
  const y = Number(year);
  if (!month) return [base(y, 0, 1, 0, 0, 0, 0), base(y + 1, 0, 1, 0, 0, 0, 0)];
  const mo = Number(month) - 1;
  if (!day) return [base(y, mo, 1, 0, 0, 0, 0), base(y, mo + 1, 1, 0, 0, 0, 0)];
  const d = Number(day);
  if (!hour) return [base(y, mo, d, 0, 0, 0, 0), base(y, mo, d + 1, 0, 0, 0, 0)];
  const h = Number(hour);
  const mi = Number(minute);
  if (!second) return [base(y, mo, d, h, mi, 0, 0), base(y, mo, d, h, mi + 1, 0, 0)];
  const s = Number(second);
  if (!fraction) return [base(y, mo, d, h, mi, s, 0), base(y, mo, d, h, mi, s + 1, 0)];
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  return [base(y, mo, d, h, mi, s, ms), base(y, mo, d, h, mi, s, ms + 1)];
}

function valueRange(value: unknown): [number, number] | undefined {
  if (typeof value === 'string') return dateRange(value);
  if (value && typeof value === 'object') {
    const period = value as { start?: string; end?: string };
    if (period.start === undefined && period.end === undefined) return undefined;
    const low = period.start ? dateRange(period.start)?.[0] : Number.NEGATIVE_INFINITY;
    const high = period.end ? dateRange(period.end)?.[1] : Number.POSITIVE_INFINITY;
    return low === undefined || high === undefined ? undefined : [low, high];
  }
  return undefined;
}

const DATE_PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

export function parseDateSearch(search: string): { prefix: string; range: [number, number] } {
  const prefix = DATE_PREFIXES.includes(search.slice(0, 2)) ? search.slice(0, 2) : 'eq';
  const range = dateRange(prefix === 'eq' && !search.startsWith('eq') ? search : search.slice(2));
  if (!range) throw new FhirError(400, `Invalid date/time format: "${search}"`);
  return { prefix, range };
}

function matchesDate(value: unknown, search: { prefix: string; range: [number, number] }): boolean {
  const actual = valueRange(value);
  if (!actual) return false;
  const [low, high] = search.range;
  const [valueLow, valueHigh] = actual;
  switch (search.prefix) {
    case 'ne': return !(valueLow >= low && valueHigh <= high);
    case 'gt': return valueHigh > high;
    case 'ge': return valueHigh > low;
    case 'lt': return valueLow < low;
    case 'le': return valueLow < high;
    case 'sa': return valueLow >= high;
    case 'eb': return valueHigh <= low;
    case 'ap': return valueLow < high && valueHigh > low;
    default: return valueLow >= low && valueHigh <= high;
  }
}

type Test = (resource: Resource) => boolean;

function buildTest(type: string, name: string, modifier: string | undefined, rawValue: string): Test | undefined {
  const alternatives = rawValue.split(',');
  if (name === '_id') return (resource) => alternatives.includes(resource.id ?? '');
  const definition = definitionFor(type, name);
  if (!definition) return undefined;
  const values = (resource: Resource): unknown[] => definition.paths.flatMap((path) => valuesAt(resource, path));
  if (modifier === 'missing') {
    const missing = rawValue === 'true';
    return (resource) => (values(resource).length === 0) === missing;
  }
  switch (definition.kind) {
    case 'token': {
      const test: Test = (resource) => values(resource).some((value) => alternatives.some((alternative) => matchesToken(value, alternative)));
      return modifier === 'not' ? (resource) => !test(resource) : test;
    }
    case 'string':
      return (resource) => values(resource).some((value) => alternatives.some((alternative) => matchesString(value, alternative, modifier)));
    case 'reference':
      return (resource) => values(resource).some((value) => alternatives.some((alternative) => matchesReference(value, alternative, modifier, definition.target)));
    case 'date': {
      const searches = alternatives.map(parseDateSearch);
      return (resource) => values(resource).some((value) => searches.some((search) => matchesDate(value, search)));
    }
    default:
      return undefined;
  }
}

export interface SearchOutcome {
  matches: Version[];
  /** The parameters that were applied, for the Bundle self link. */
  applied: Array<[string, string]>;
}

/** Current, non-deleted versions of `type` matching `params`, sorted per `_sort`. */
export function search(store: FhirStore, type: string, params: URLSearchParams, strict = false): SearchOutcome {
  const tests: Test[] = [];
  const applied: Array<[string, string]> = [];
  for (const [key, value] of params) {
    if (RESULT_PARAMS.has(key)) {
      if (key === '_count' || key === '_sort' || key === '_summary') applied.push([key, value]);
      continue;
    }
    const [name, modifier] = key.split(':');
    const test = buildTest(type, name, modifier, value);
    if (!test) {
      if (strict) throw new FhirError(400, `Unknown search parameter "${key}" for resource type "${type}"`);
      continue;
    }
    tests.push(test);
    applied.push([key, value]);
  }

  const candidates = candidateVersions(store, type, params);
  const matches = candidates.filter((version) => tests.every((test) => test(version.resource!)));
  sortVersions(matches, params.get('_sort'));
  return { matches, applied };
}

/** Uses the identifier index when the search names one identifier value; otherwise scans the type. */
function candidateVersions(store: FhirStore, type: string, params: URLSearchParams): Version[] {
  const identifiers = params.getAll('identifier');
  const result: Version[] = [];
  if (identifiers.length > 0) {
    const ids = new Set<string>();
    for (const alternative of identifiers[0].split(',')) {
      const value = alternative.includes('|') ? alternative.slice(alternative.indexOf('|') + 1) : alternative;
      if (value === '') return liveVersions(store, type); // `system|` needs a scan
      for (const id of store.idsWithIdentifierValue(type, value)) ids.add(id);
    }
    for (const id of ids) {
      const entry = store.get(type, id);
      const version = entry && current(entry);
      if (version?.resource) result.push(version);
    }
    return result;
  }
  return liveVersions(store, type);
}

function liveVersions(store: FhirStore, type: string): Version[] {
  const result: Version[] = [];
  for (const entry of store.entries(type)) {
    const version = current(entry);
    if (version.resource) result.push(version);
  }
  return result;
}

function sortVersions(versions: Version[], sort: string | null): void {
  if (!sort) return;
  const keys = sort.split(',').map((key) => ({ descending: key.startsWith('-'), name: key.replace(/^-/, '') }))
    .filter((key) => key.name === '_lastUpdated' || key.name === '_id');
  if (keys.length === 0) return;
  versions.sort((a, b) => {
    for (const key of keys) {
      const left = key.name === '_id' ? a.id : a.lastUpdated;
      const right = key.name === '_id' ? b.id : b.lastUpdated;
      const order = left < right ? -1 : left > right ? 1 : a.seq - b.seq;
      if (order !== 0) return key.descending ? -order : order;
    }
    return 0;
  });
}
