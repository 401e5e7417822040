/**
 * Structural comparison for conformance tests: does `actual` have the shape of `expected`
 * (the upstream sample)? Every key in the sample must exist in the actual value with the same
 * JSON type, recursively; arrays are compared by their first element. Values may differ.
 */
export function shapeDifferences(expected: unknown, actual: unknown, path = '$', optional: Set<string> = new Set()): string[] {
  const expectedType = jsonType(expected);
  const actualType = jsonType(actual);
  if (expected === null) return []; // null in a sample says nothing about the type
  if (expectedType !== actualType) return [`${path}: expected ${expectedType}, got ${actualType}`];
  if (expectedType === 'array') {
    const [first] = expected as unknown[];
    const [actualFirst] = actual as unknown[];
    if (first === undefined || actualFirst === undefined) return [];
    return shapeDifferences(first, actualFirst, `${path}[0]`, optional);
  }
  if (expectedType === 'object') {
    const differences: string[] = [];
    for (const [key, value] of Object.entries(expected as Record<string, unknown>)) {
      const childPath = `${path}.${key}`;
      if (!(key in (actual as Record<string, unknown>))) {
        if (!optional.has(childPath)) differences.push(`${childPath}: missing`);
        continue;
      }
      differences.push(...shapeDifferences(value, (actual as Record<string, unknown>)[key], childPath, optional));
    }
    return differences;
  }
  return [];
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
