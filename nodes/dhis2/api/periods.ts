/**
 * DHIS2 period identifiers computed from dates (ISO 8601 calendar): Daily 20240131, Weekly
 * 2024W5 (ISO week, so 2024-12-30 is 2025W1 and 2021-01-03 is 2020W53), Monthly 202401,
 * BiMonthly 202401B, Quarterly 2024Q1, SixMonthly 2024S1, Yearly 2024.
 *
 * A date is read as written: "2024-03-31T23:30:00+03:00" is in March, because the visit
 * happened on the 31st where it happened, whatever the server's zone.
 */
import { badInput } from '../../core/errors';

export const PERIOD_TYPES = ['Daily', 'Weekly', 'Monthly', 'BiMonthly', 'Quarterly', 'SixMonthly', 'Yearly'] as const;
export type PeriodType = (typeof PERIOD_TYPES)[number];

export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

export function isPeriodType(value: unknown): value is PeriodType {
  return typeof value === 'string' && (PERIOD_TYPES as readonly string[]).includes(value);
}

/** The calendar date a value names: "2024-03-31", an ISO datetime (its written date) or a Date (UTC). */
export function calendarDate(value: unknown, field = 'date'): CalendarDate {
  if (value instanceof Date && !Number.isNaN(value.getTime())) {
    return { year: value.getUTCFullYear(), month: value.getUTCMonth() + 1, day: value.getUTCDate() };
  }
  const match = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])/.exec(value.trim()) : null;
  if (match) {
    const date = { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
    const probe = new Date(Date.UTC(date.year, date.month - 1, date.day));
    if (probe.getUTCFullYear() === date.year && probe.getUTCMonth() === date.month - 1 && probe.getUTCDate() === date.day) return date;
  }
  throw badInput(`${field} is not a date (expected YYYY-MM-DD or an ISO datetime)`, field);
}

/** ISO 8601 week-numbering year and week: the week with the year's first Thursday is week 1. */
export function isoWeek(date: CalendarDate): { year: number; week: number } {
  const utc = new Date(Date.UTC(date.year, date.month - 1, date.day));
  const weekday = utc.getUTCDay() || 7;
  // The Thursday of the same week decides the year the week belongs to.
  utc.setUTCDate(utc.getUTCDate() + 4 - weekday);
  const year = utc.getUTCFullYear();
  const firstDay = Date.UTC(year, 0, 1);
  const week = Math.floor((utc.getTime() - firstDay) / 86_400_000 / 7) + 1;
  return { year, week };
}

export function periodOf(value: unknown, periodType: PeriodType, field = 'date'): string {
  const date = calendarDate(value, field);
  switch (periodType) {
    case 'Daily':
      return `${date.year}${pad(date.month)}${pad(date.day)}`;
    case 'Weekly': {
      const { year, week } = isoWeek(date);
      return `${year}W${week}`;
    }
    case 'Monthly':
      return `${date.year}${pad(date.month)}`;
    case 'BiMonthly':
      return `${date.year}${pad(Math.ceil(date.month / 2))}B`;
    case 'Quarterly':
      return `${date.year}Q${Math.ceil(date.month / 3)}`;
    case 'SixMonthly':
      return `${date.year}S${date.month <= 6 ? 1 : 2}`;
    case 'Yearly':
      return String(date.year);
  }
  throw badInput(`unknown period type ${String(periodType)}`, 'periodType');
}

/** The first and last calendar day of a period identifier (YYYY-MM-DD), or undefined if it is not one this module makes. */
export function periodBounds(period: string): { start: string; end: string } | undefined {
  const iso = (time: number): string => new Date(time).toISOString().slice(0, 10);
  const monthSpan = (year: number, first: number, months: number) => ({ start: iso(Date.UTC(year, first - 1, 1)), end: iso(Date.UTC(year, first - 1 + months, 0)) });
  let match: RegExpExecArray | null;
  if ((match = /^(\d{4})(\d{2})(\d{2})$/.exec(period))) {
    const day = `${match[1]}-${match[2]}-${match[3]}`;
    return { start: day, end: day };
  }
  if ((match = /^(\d{4})W(\d{1,2})$/.exec(period))) {
    const year = Number(match[1]);
    const jan4 = new Date(Date.UTC(year, 0, 4));
    const mondayOfWeek1 = Date.UTC(year, 0, 4 - ((jan4.getUTCDay() || 7) - 1));
    const start = mondayOfWeek1 + (Number(match[2]) - 1) * 7 * 86_400_000;
    return { start: iso(start), end: iso(start + 6 * 86_400_000) };
  }
  if ((match = /^(\d{4})(\d{2})B$/.exec(period))) return monthSpan(Number(match[1]), Number(match[2]) * 2 - 1, 2);
  if ((match = /^(\d{4})(\d{2})$/.exec(period))) return monthSpan(Number(match[1]), Number(match[2]), 1);
  if ((match = /^(\d{4})Q([1-4])$/.exec(period))) return monthSpan(Number(match[1]), Number(match[2]) * 3 - 2, 3);
  if ((match = /^(\d{4})S([12])$/.exec(period))) return monthSpan(Number(match[1]), match[2] === '1' ? 1 : 7, 6);
  if ((match = /^(\d{4})$/.exec(period))) return monthSpan(Number(match[1]), 1, 12);
  return undefined;
}
