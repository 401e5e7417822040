/**
 * Aggregate data: building a dataValueSet from a writer's input (period from a date, category
 * option combos by name through a mapping table) and reading the import summary per value.
 */
import { IntegrationError, badInput } from '../../core/errors';
import type { Dhis2Client } from './client';
import { describeConflict } from './errors';
import { isPeriodType, periodOf } from './periods';
import type { DataValueConflict, DataValueImportSummary, Json } from './types';
import { isUid } from './uid';

export interface DataValueInput {
  dataElement: string;
  categoryOptionCombo?: string;
  attributeOptionCombo?: string;
  period?: string;
  orgUnit?: string;
  value: unknown;
  comment?: string;
}

export interface DataValueSetInput {
  dataSet?: string;
  orgUnit: string;
  period?: string;
  date?: string;
  periodType?: string;
  completeDate?: string;
  attributeOptionCombo?: string;
  values?: DataValueInput[];
  dataValues?: DataValueInput[];
}

/** One row of the editor's table: a name used in messages, the combo UID it means, optionally for one data element only. */
export interface ComboMapping {
  name: string;
  categoryOptionCombo: string;
  dataElement?: string;
}

export interface DataValueSet extends Json {
  dataSet?: string;
  orgUnit: string;
  period: string;
  completeDate?: string;
  attributeOptionCombo?: string;
  dataValues: Array<{ dataElement: string; categoryOptionCombo?: string; attributeOptionCombo?: string; period?: string; orgUnit?: string; value: string; comment?: string }>;
}

const normalise = (name: string): string => name.trim().toLowerCase();

export function resolveCombo(value: string, dataElement: string, mappings: ComboMapping[], field: string): string {
  if (isUid(value)) return value;
  const wanted = normalise(value);
  const match = mappings.find((row) => row.dataElement === dataElement && normalise(row.name) === wanted)
    ?? mappings.find((row) => !row.dataElement && normalise(row.name) === wanted);
  if (!match) throw badInput(`${field} "${value}" is neither a UID nor a name in the category option combo table`, field);
  return match.categoryOptionCombo;
}

export function buildDataValueSet(input: DataValueSetInput, mappings: ComboMapping[] = []): DataValueSet {
  let period = input.period;
  if (!period) {
    if (!isPeriodType(input.periodType)) throw badInput('msg.payload needs a period, or a date and a periodType', 'msg.payload.period');
    period = periodOf(input.date, input.periodType, 'msg.payload.date');
  }
  const values = input.values ?? input.dataValues ?? [];
  const key = input.values ? 'values' : 'dataValues';
  const set: DataValueSet = { orgUnit: input.orgUnit, period, dataValues: [] };
  if (input.dataSet) set.dataSet = input.dataSet;
  if (input.completeDate) set.completeDate = input.completeDate;
  if (input.attributeOptionCombo) set.attributeOptionCombo = input.attributeOptionCombo;
  values.forEach((item, index) => {
    const field = `msg.payload.${key}[${index}]`;
    const out: DataValueSet['dataValues'][number] = { dataElement: item.dataElement, value: item.value === null || item.value === undefined ? '' : String(item.value) };
    if (item.categoryOptionCombo) out.categoryOptionCombo = resolveCombo(item.categoryOptionCombo, item.dataElement, mappings, `${field}.categoryOptionCombo`);
    if (item.attributeOptionCombo) out.attributeOptionCombo = item.attributeOptionCombo;
    if (item.period) out.period = item.period;
    if (item.orgUnit) out.orgUnit = item.orgUnit;
    if (item.comment) out.comment = item.comment;
    set.dataValues.push(out);
  });
  return set;
}

export interface ValueConflict {
  /** Position in the data value set (and in msg.payload.values), when DHIS2 says. */
  index?: number;
  dataElement?: string;
  categoryOptionCombo?: string;
  errorCode?: string;
  message: string;
}

export interface AggregateResult {
  status: 'SUCCESS' | 'WARNING';
  dryRun: boolean;
  period: string;
  orgUnit: string;
  importCount: { imported: number; updated: number; ignored: number; deleted: number };
  conflicts: ValueConflict[];
}

/** Each conflict once per value it names (2.40.9 lists indexes; older versions only an object). */
export function conflictsPerValue(conflicts: DataValueConflict[] | undefined, set: DataValueSet): ValueConflict[] {
  const out: ValueConflict[] = [];
  for (const conflict of conflicts ?? []) {
    const indexes = (conflict.indexes ?? []).filter((index) => index >= 0 && index < set.dataValues.length);
    const base = { errorCode: conflict.errorCode, message: describeConflict(conflict) };
    if (indexes.length === 0) {
      const dataElement = conflict.objects?.dataElement ?? (isUid(conflict.object) ? conflict.object : undefined);
      out.push({ ...base, ...(dataElement ? { dataElement } : {}) });
      continue;
    }
    for (const index of indexes) {
      const value = set.dataValues[index];
      out.push({ ...base, index, dataElement: value.dataElement, ...(value.categoryOptionCombo ? { categoryOptionCombo: value.categoryOptionCombo } : {}) });
    }
  }
  return out;
}

export interface AggregateWriteOptions {
  dryRun?: boolean;
  failOnConflicts?: boolean;
  signal?: AbortSignal;
}

/**
 * Imports one data value set. A summary with conflicts only (some values rejected) is a result
 * with warnings, unless failOnConflicts; an aborted import (status ERROR) always fails.
 */
export async function writeDataValueSet(client: Dhis2Client, set: DataValueSet, options: AggregateWriteOptions = {}): Promise<AggregateResult> {
  const summary: DataValueImportSummary = await client.importDataValueSet(set, { dryRun: options.dryRun, signal: options.signal });
  const conflicts = conflictsPerValue(summary.conflicts, set);
  const count = { imported: 0, updated: 0, ignored: 0, deleted: 0, ...summary.importCount };
  if (summary.status === 'ERROR' || (options.failOnConflicts && conflicts.length)) {
    const lines = conflicts.map((c) => (c.index === undefined ? c.message : `value ${c.index} (${c.dataElement}): ${c.message}`));
    const reason = lines.slice(0, 5).join('; ') || summary.description || 'import failed';
    throw new IntegrationError(`dhis2 ${summary.status === 'ERROR' ? 'rejected the data value set' : 'rejected some values'}: ${reason}`, {
      code: 'validation',
      retryable: false,
      system: 'dhis2',
      remote: { summary: reason, details: { status: summary.status, importCount: count, conflicts } },
    });
  }
  return { status: conflicts.length ? 'WARNING' : 'SUCCESS', dryRun: Boolean(options.dryRun), period: set.period, orgUnit: set.orgUnit, importCount: count, conflicts };
}
