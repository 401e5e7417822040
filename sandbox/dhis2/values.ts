/**
 * Value-type checks, ISO periods and DHIS2 timestamps. The error keys are the i18n keys DHIS2
 * itself puts into conflicts (e.g. `value_not_numeric`), which clients sometimes match on.
 */
import { DHIS2_UID } from '../core';

export type ValueType =
  | 'TEXT' | 'LONG_TEXT' | 'NUMBER' | 'INTEGER' | 'INTEGER_POSITIVE' | 'INTEGER_NEGATIVE'
  | 'INTEGER_ZERO_OR_POSITIVE' | 'BOOLEAN' | 'TRUE_ONLY' | 'DATE' | 'DATETIME' | 'PERCENTAGE'
  | 'PHONE_NUMBER' | 'EMAIL';

const NUMERIC = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const INTEGER = /^[-+]?\d+$/;
const MAX_TEXT = 50_000;

export const isUid = (value: unknown): value is string => typeof value === 'string' && DHIS2_UID.test(value);

/** Undefined when `value` fits `valueType`, otherwise the DHIS2 i18n key naming the problem. */
export function valueTypeError(valueType: ValueType, value: string): string | undefined {
  switch (valueType) {
    case 'NUMBER':
      return NUMERIC.test(value) && Number.isFinite(Number(value)) ? undefined : 'value_not_numeric';
    case 'PERCENTAGE':
      return NUMERIC.test(value) && Number(value) >= 0 && Number(value) <= 100 ? undefined : 'value_not_percentage';
    case 'INTEGER':
      return INTEGER.test(value) ? undefined : 'value_not_integer';
    case 'INTEGER_POSITIVE':
      return INTEGER.test(value) && Number(value) > 0 ? undefined : 'value_not_positive_integer';
    case 'INTEGER_NEGATIVE':
      return INTEGER.test(value) && Number(value) < 0 ? undefined : 'value_not_negative_integer';
    case 'INTEGER_ZERO_OR_POSITIVE':
      return INTEGER.test(value) && Number(value) >= 0 ? undefined : 'value_not_zero_or_positive_integer';
    case 'BOOLEAN':
      return /^(true|false)$/i.test(value) ? undefined : 'value_not_bool';
    case 'TRUE_ONLY':
      return /^true$/i.test(value) ? undefined : 'value_not_true_only';
    case 'DATE':
      return isIsoDate(value) ? undefined : 'value_not_valid_date';
    case 'DATETIME':
      return parseTimestamp(value) ? undefined : 'value_not_valid_datetime';
    case 'EMAIL':
      return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value) ? undefined : 'value_not_valid_email';
    case 'PHONE_NUMBER':
      return /^[+]?[\d\s()-]{3,50}$/.test(value) ? undefined : 'value_not_valid_phone_number';
    case 'TEXT':
    case 'LONG_TEXT':
      return value.length > MAX_TEXT ? 'value_length_greater_than_max_length' : undefined;
  }
}

function isIsoDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return Boolean(match && validDay(Number(match[1]), Number(match[2]), Number(match[3])));
}

function validDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Accepts the date and date-time forms DHIS2 accepts (with or without time, zone and millis). */
export function parseTimestamp(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '0', zone] = match;
  if (!validDay(Number(year), Number(month), Number(day)) || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return undefined;
  const millis = Number(fraction.slice(0, 3).padEnd(3, '0'));
  let time = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second), millis);
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    time -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return new Date(time);
}

/** DHIS2's timestamp format: ISO local time with millis and no zone, e.g. 2019-08-19T00:00:00.000. */
export function dhisTimestamp(date: Date): string {
  return date.toISOString().slice(0, 23);
}

export const now = (): string => dhisTimestamp(new Date());

/** Normalises an incoming date or date-time to the stored DHIS2 format, or undefined. */
export function normaliseTimestamp(value: unknown): string | undefined {
  const parsed = parseTimestamp(value);
  return parsed ? dhisTimestamp(parsed) : undefined;
}

export type PeriodType = 'Daily' | 'Weekly' | 'Monthly' | 'BiMonthly' | 'Quarterly' | 'SixMonthly' | 'Yearly';

export interface Period {
  id: string;
  periodType: PeriodType;
}

/** Parses the ISO period formats DHIS2 uses: 20240115, 2024W3, 202401, 202401B, 2024Q1, 2024S1, 2024. */
export function parsePeriod(value: unknown): Period | undefined {
  if (typeof value !== 'string') return undefined;
  let match = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (match) return validDay(Number(match[1]), Number(match[2]), Number(match[3])) ? { id: value, periodType: 'Daily' } : undefined;
  match = /^(\d{4})W(\d{1,2})$/.exec(value);
  if (match) return Number(match[2]) >= 1 && Number(match[2]) <= isoWeeksInYear(Number(match[1])) ? { id: value, periodType: 'Weekly' } : undefined;
  match = /^(\d{4})(\d{2})$/.exec(value);
  if (match) return Number(match[2]) >= 1 && Number(match[2]) <= 12 ? { id: value, periodType: 'Monthly' } : undefined;
  match = /^(\d{4})(\d{2})B$/.exec(value);
  if (match) return Number(match[2]) >= 1 && Number(match[2]) <= 6 ? { id: value, periodType: 'BiMonthly' } : undefined;
  match = /^(\d{4})Q([1-4])$/.exec(value);
  if (match) return { id: value, periodType: 'Quarterly' };
  match = /^(\d{4})S([12])$/.exec(value);
  if (match) return { id: value, periodType: 'SixMonthly' };
  if (/^\d{4}$/.test(value)) return { id: value, periodType: 'Yearly' };
  return undefined;
}

function isoWeeksInYear(year: number): number {
  // A year has 53 ISO weeks when Dec 28 falls in week 53, i.e. Jan 1 or Dec 31 is a Thursday.
  const jan1 = new Date(Date.UTC(year, 0, 1)).getUTCDay();
  const dec31 = new Date(Date.UTC(year, 11, 31)).getUTCDay();
  return jan1 === 4 || dec31 === 4 ? 53 : 52;
}
