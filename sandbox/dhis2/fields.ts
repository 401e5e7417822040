/**
 * The `fields` parameter of the DHIS2 API: `id,name`, `*` / `:all`, `!exclude` and nested
 * `programStages[id,name]`. A nested selection on a `{id}` reference resolves the referenced
 * object first, which is how DHIS2 expands references.
 */
import { WebMessageError } from './web-message';

export interface FieldTree {
  all: boolean;
  include: Map<string, FieldTree | undefined>;
  exclude: Set<string>;
}

const PRESETS: Record<string, string[]> = {
  ':identifiable': ['id', 'name', 'code', 'created', 'lastUpdated'],
  ':nameable': ['id', 'name', 'shortName', 'code', 'created', 'lastUpdated'],
};

export function parseFields(expression: string): FieldTree {
  const tree: FieldTree = { all: false, include: new Map(), exclude: new Set() };
  for (const item of splitTopLevel(expression)) {
    const field = item.trim();
    if (!field) continue;
    if (field === '*' || field === ':all' || field === ':owner') {
      tree.all = true;
    } else if (PRESETS[field]) {
      for (const name of PRESETS[field]) tree.include.set(name, undefined);
    } else if (field.startsWith('!')) {
      tree.exclude.add(field.slice(1));
    } else {
      const bracket = field.indexOf('[');
      if (bracket < 0) {
        tree.include.set(field, undefined);
      } else {
        if (!field.endsWith(']')) throw new WebMessageError(400, `Illegal fields expression: ${expression}`);
        tree.include.set(field.slice(0, bracket), parseFields(field.slice(bracket + 1, -1)));
      }
    }
  }
  return tree;
}

function splitTopLevel(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expression.length; i += 1) {
    const char = expression[i];
    if (char === '[') depth += 1;
    else if (char === ']') depth -= 1;
    else if (char === ',' && depth === 0) {
      parts.push(expression.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) throw new WebMessageError(400, `Illegal fields expression: ${expression}`);
  }
  if (depth !== 0) throw new WebMessageError(400, `Illegal fields expression: ${expression}`);
  parts.push(expression.slice(start));
  return parts;
}

export type Resolver = (id: string) => object | undefined;

/** Applies a field tree to a value; `resolve` expands `{id}` references when sub-fields are asked for. */
export function selectFields(value: unknown, tree: FieldTree, resolve?: Resolver): unknown {
  if (Array.isArray(value)) return value.map((item) => selectFields(item, tree, resolve));
  if (value === null || typeof value !== 'object') return value;
  let source = value as Record<string, unknown>;
  const wantsMore = tree.all || [...tree.include.keys()].some((key) => key !== 'id');
  if (resolve && wantsMore && typeof source.id === 'string' && Object.keys(source).length === 1) {
    source = (resolve(source.id) as Record<string, unknown> | undefined) ?? source;
  }
  const result: Record<string, unknown> = {};
  if (tree.all) {
    for (const [key, child] of Object.entries(source)) if (!tree.exclude.has(key)) result[key] = child;
  }
  for (const [key, subtree] of tree.include) {
    if (tree.exclude.has(key) || !(key in source)) continue;
    result[key] = subtree ? selectFields(source[key], subtree, resolve) : source[key];
  }
  return result;
}
