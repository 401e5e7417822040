/**
 * Tallies for a monthly (or weekly...) report: counts and sums over messages, per org unit and
 * period, turned into data value sets on demand. Pure state in, state out, so a node can persist
 * it after every message and a restart keeps the month's tallies.
 *
 * Totals, not increments, are emitted: sending a period again (a late record, a second flush)
 * overwrites DHIS2's value with the full count instead of adding to it.
 */
import { badInput } from '../../core/errors';
import type { DataValueSetInput } from './aggregate';
import { type PeriodType, periodBounds, periodOf } from './periods';

export interface AggregationRule {
  dataElement: string;
  categoryOptionCombo?: string;
  /** Where the org unit UID is in the message, e.g. "payload.orgUnit". */
  orgUnitPath: string;
  /** Where the date that picks the period is, e.g. "payload.visitDate". */
  datePath: string;
  /** Only messages whose value at filterPath equals filterValue count. */
  filterPath?: string;
  filterValue?: string;
  operation: 'count' | 'sum';
  /** For sums: the number to add. */
  valuePath?: string;
}

export interface TallyEntry {
  orgUnit: string;
  period: string;
  /** "dataElement|categoryOptionCombo" -> total */
  values: Record<string, number>;
  /** Changed since the last flush. */
  dirty: boolean;
}

export interface AggregatorState {
  entries: Record<string, TallyEntry>;
  /** Message ids already counted (when an id path is set), with the last day of their period. */
  seen: Record<string, string>;
}

export const emptyState = (): AggregatorState => ({ entries: {}, seen: {} });

/** Reads `payload.visit.date` or `payload.items[0].value` from a message; a leading "msg." is allowed. */
export function valueAtPath(root: unknown, path: string): unknown {
  const parts = path.replace(/^msg\./, '').replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean);
  let current = root;
  for (const part of parts) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

export function validateRules(rules: unknown): AggregationRule[] {
  if (!Array.isArray(rules) || rules.length === 0) throw badInput('the aggregator needs at least one rule', 'rules');
  return rules.map((rule: Partial<AggregationRule>, index) => {
    const where = `rules[${index}]`;
    if (!rule?.dataElement) throw badInput(`${where} needs a data element`, `${where}.dataElement`);
    if (!rule.orgUnitPath) throw badInput(`${where} needs an org unit path`, `${where}.orgUnitPath`);
    if (!rule.datePath) throw badInput(`${where} needs a date path`, `${where}.datePath`);
    const operation = rule.operation === 'sum' ? 'sum' : 'count';
    if (operation === 'sum' && !rule.valuePath) throw badInput(`${where} sums but has no value path`, `${where}.valuePath`);
    return { ...rule, operation } as AggregationRule;
  });
}

export interface AddResult {
  /** How many rules counted this message. */
  counted: number;
  duplicate: boolean;
  /** Rules skipped because the record's period ended before `oldestDay`. */
  tooOld: number;
}

/**
 * Adds one message to the tallies (in place). Rules whose org unit, date or number is missing
 * skip it. A record in a period that ended before `oldestDay` is not counted: that period's
 * tallies were dropped, and a fresh small total would overwrite the full one in DHIS2.
 */
export function addMessage(state: AggregatorState, rules: AggregationRule[], periodType: PeriodType, msg: unknown, id?: string, oldestDay?: string): AddResult {
  if (id !== undefined && state.seen[id]) return { counted: 0, duplicate: true, tooOld: 0 };
  let counted = 0;
  let tooOld = 0;
  let lastDay: string | undefined;
  for (const rule of rules) {
    if (rule.filterPath) {
      const actual = valueAtPath(msg, rule.filterPath);
      if (actual === undefined || actual === null || String(actual) !== String(rule.filterValue ?? '')) continue;
    }
    const orgUnit = valueAtPath(msg, rule.orgUnitPath);
    const date = valueAtPath(msg, rule.datePath);
    if (typeof orgUnit !== 'string' || !orgUnit || date === undefined || date === null || date === '') continue;
    let period: string;
    try {
      period = periodOf(date, periodType);
    } catch {
      continue;
    }
    const end = periodBounds(period)?.end;
    if (oldestDay && end && end < oldestDay) {
      tooOld += 1;
      continue;
    }
    let amount = 1;
    if (rule.operation === 'sum') {
      const raw = valueAtPath(msg, rule.valuePath ?? '');
      amount = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() ? Number(raw) : Number.NaN;
      if (!Number.isFinite(amount)) continue;
    }
    const key = `${orgUnit}|${period}`;
    const entry = (state.entries[key] ??= { orgUnit, period, values: {}, dirty: true });
    const valueKey = `${rule.dataElement}|${rule.categoryOptionCombo ?? ''}`;
    entry.values[valueKey] = (entry.values[valueKey] ?? 0) + amount;
    entry.dirty = true;
    lastDay = end ?? lastDay;
    counted += 1;
  }
  if (id !== undefined && counted > 0) state.seen[id] = lastDay ?? '9999-12-31';
  return { counted, duplicate: false, tooOld };
}

export interface FlushOptions {
  dataSet?: string;
  /** Only this period (any state); otherwise every changed period. */
  period?: string;
  /** Leave periods that have not ended yet (on `today`). */
  endedOnly?: boolean;
  /** YYYY-MM-DD, the day of the flush. */
  today: string;
  /** Periods that ended more than this many days ago are dropped after the flush. */
  retainDays: number;
}

export const addDays = (day: string, days: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** Data value sets for the chosen periods (marked clean), then old periods dropped. */
export function flush(state: AggregatorState, options: FlushOptions): DataValueSetInput[] {
  const out: DataValueSetInput[] = [];
  const entries = Object.values(state.entries).sort((a, b) => a.period.localeCompare(b.period) || a.orgUnit.localeCompare(b.orgUnit));
  for (const entry of entries) {
    if (options.period ? entry.period !== options.period : !entry.dirty) continue;
    const end = periodBounds(entry.period)?.end;
    if (!options.period && options.endedOnly && end && end >= options.today) continue;
    const values = Object.entries(entry.values).map(([key, total]) => {
      const [dataElement, categoryOptionCombo] = key.split('|');
      return { dataElement, ...(categoryOptionCombo ? { categoryOptionCombo } : {}), value: Number.isInteger(total) ? total : Number(total.toFixed(6)) };
    });
    out.push({ ...(options.dataSet ? { dataSet: options.dataSet } : {}), orgUnit: entry.orgUnit, period: entry.period, values });
    entry.dirty = false;
  }
  const oldest = addDays(options.today, -options.retainDays);
  for (const [key, entry] of Object.entries(state.entries)) {
    const end = periodBounds(entry.period)?.end;
    if (end && end < oldest && !entry.dirty) delete state.entries[key];
  }
  for (const [id, lastDay] of Object.entries(state.seen)) if (lastDay < oldest) delete state.seen[id];
  return out;
}

/** "Ngelehun: 12 · Kamabai: 3 (202403)"-style summary for a node status. */
export function describeTallies(state: AggregatorState): string {
  const entries = Object.values(state.entries);
  if (entries.length === 0) return 'no tallies';
  const periods = [...new Set(entries.map((e) => e.period))].sort();
  const latest = periods[periods.length - 1];
  const total = entries.filter((e) => e.period === latest).reduce((sum, e) => sum + Object.values(e.values).reduce((a, b) => a + b, 0), 0);
  const units = entries.filter((e) => e.period === latest).length;
  return `${latest}: ${Number(total.toFixed(2))} in ${units} org unit${units === 1 ? '' : 's'}${periods.length > 1 ? ` · ${periods.length} periods` : ''}`;
}
