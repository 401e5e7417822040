/** Query-parameter parsing shared by the tracker, legacy and metadata read endpoints. */
import type { Metadata } from './metadata';
import type { SandboxUser } from './seed';
import type { TrackedEntity } from './store';
import { WebMessageError, booleanParam, positiveIntParam } from './web-message';

/** Values of the first present parameter, split on `;` and `,` (DHIS2 accepted both over the versions). */
export function listParam(query: URLSearchParams, ...names: string[]): string[] {
  for (const name of names) {
    const values = query.getAll(name);
    if (values.length > 0) return values.flatMap((value) => value.split(/[;,]/)).map((value) => value.trim()).filter(Boolean);
  }
  return [];
}

export function firstParam(query: URLSearchParams, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = query.get(name);
    if (value) return value;
  }
  return undefined;
}

export interface Paging {
  paged: boolean;
  page: number;
  pageSize: number;
  totalPages: boolean;
}

export function pagingParams(query: URLSearchParams): Paging {
  const paged = booleanParam(query, 'paging', true) && !booleanParam(query, 'skipPaging', false);
  return {
    paged,
    page: positiveIntParam(query, 'page', 1),
    pageSize: positiveIntParam(query, 'pageSize', 50),
    totalPages: booleanParam(query, 'totalPages', false),
  };
}

export function pageOf<T>(items: T[], paging: Paging): T[] {
  if (!paging.paged) return items;
  const start = (paging.page - 1) * paging.pageSize;
  return items.slice(start, start + paging.pageSize);
}

export const pageCount = (total: number, pageSize: number): number => Math.max(1, Math.ceil(total / pageSize));

export type OrgUnitMode = 'SELECTED' | 'CHILDREN' | 'DESCENDANTS' | 'ACCESSIBLE' | 'CAPTURE' | 'ALL';
const ORG_UNIT_MODES: OrgUnitMode[] = ['SELECTED', 'CHILDREN', 'DESCENDANTS', 'ACCESSIBLE', 'CAPTURE', 'ALL'];

/**
 * The org units a read may return, or undefined for "no restriction". Throws DHIS2's 409 when
 * neither org units nor a mode that implies them were given (unless `optional`).
 */
export function orgUnitScope(metadata: Metadata, user: SandboxUser, roots: string[], modeRaw: string | undefined, optional: boolean): Set<string> | undefined {
  const mode = (modeRaw?.toUpperCase() ?? (roots.length > 0 ? 'SELECTED' : undefined)) as OrgUnitMode | undefined;
  if (mode && !ORG_UNIT_MODES.includes(mode)) throw new WebMessageError(400, `Value '${modeRaw}' is not valid for parameter ouMode. Valid values are: [${ORG_UNIT_MODES.join(', ')}]`);
  for (const root of roots) {
    if (!metadata.orgUnits.has(root)) throw new WebMessageError(400, `Organisation unit does not exist: ${root}`);
  }
  if (mode === 'ALL') return undefined;
  if (mode === 'ACCESSIBLE' || mode === 'CAPTURE') {
    return user.authorities.includes('ALL') ? undefined : metadata.selectOrgUnits(user.organisationUnits, 'DESCENDANTS');
  }
  if (roots.length === 0) {
    if (optional) return undefined;
    throw new WebMessageError(409, 'At least one organisation unit must be specified');
  }
  return metadata.selectOrgUnits(roots, mode ?? 'SELECTED');
}

interface AttributeCondition { attribute: string; operator: string; value: string }

/** Parses `attr:OP:value[:OP:value]` filters; `/` escapes `:`, `,`, `;` and `/` in values. */
export function parseAttributeFilters(metadata: Metadata, filters: string[]): AttributeCondition[] {
  const conditions: AttributeCondition[] = [];
  for (const filter of filters) {
    const parts = splitEscaped(filter);
    const attribute = parts[0];
    if (!metadata.attributes.has(attribute)) throw new WebMessageError(409, `Attribute does not exist: ${attribute}`);
    for (let i = 1; i < parts.length; i += 2) {
      const operator = parts[i].toUpperCase();
      const value = parts[i + 1] ?? '';
      conditions.push({ attribute, operator, value });
    }
  }
  return conditions;
}

function splitEscaped(filter: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < filter.length; i += 1) {
    const char = filter[i];
    if (char === '/' && i + 1 < filter.length) {
      current += filter[i + 1];
      i += 1;
    } else if (char === ':') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

export function matchesCondition(entity: TrackedEntity, condition: AttributeCondition): boolean {
  const stored = entity.attributes.get(condition.attribute)?.value;
  const operator = condition.operator;
  if (operator === 'NULL') return stored === undefined;
  if (operator === '!NULL') return stored !== undefined;
  if (stored === undefined) return operator === 'NE';
  const actual = stored.toLowerCase();
  const expected = condition.value.toLowerCase();
  const numeric = Number(stored) - Number(condition.value);
  const compare = Number.isNaN(numeric) ? actual.localeCompare(expected) : numeric;
  switch (operator) {
    case 'EQ': return actual === expected;
    case 'NE': case 'NEQ': return actual !== expected;
    case 'LIKE': case 'ILIKE': return actual.includes(expected);
    case 'SW': return actual.startsWith(expected);
    case 'EW': return actual.endsWith(expected);
    case 'IN': return expected.split(';').includes(actual);
    case 'GT': return compare > 0;
    case 'GE': return compare >= 0;
    case 'LT': return compare < 0;
    case 'LE': return compare <= 0;
    default: throw new WebMessageError(409, `Query operator is not valid: ${condition.operator}`);
  }
}
