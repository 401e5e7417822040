/**
 * OpenMRS REST reads and writes datetimes as `yyyy-MM-dd'T'HH:mm:ss.SSSZ` with a `+HHMM` offset.
 * Inputs from CommCare, CHT or a mapper arrive as ISO strings (with or without an offset), bare
 * dates or epoch milliseconds; those without an offset are wall-clock times in the configured
 * IANA time zone. MOTECH writes an unknown zone as +0000, which shifts every visit recorded
 * after local midnight to the previous day; here an unknown zone name is a bad-input error, and
 * an empty one means the zone of the Node-RED host (see `resolveTimeZone`).
 */
import { badInput } from '../../core/errors';

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The zone to use: the configured one, or the Node-RED host's own when none is configured. */
export function resolveTimeZone(configured: string | undefined): string {
  const zone = configured?.trim() || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  if (!isValidTimeZone(zone)) throw badInput(`unknown time zone "${zone}" (use an IANA name such as Africa/Nairobi)`, 'timeZone');
  return zone;
}

// Building an Intl.DateTimeFormat costs tens of microseconds, and writers check the zone per message.
const zoneValidity = new Map<string, boolean>();

export function isValidTimeZone(zone: string): boolean {
  let valid = zoneValidity.get(zone);
  if (valid === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      valid = true;
    } catch {
      valid = false;
    }
    // Bounded: zone names come from configuration, but a bad flow could send many.
    if (zoneValidity.size < 1000) zoneValidity.set(zone, valid);
  }
  return valid;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClockParts(instant: number, zone: string): number[] {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, formatter);
  }
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(new Date(instant))) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return [parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second];
}

/** Minutes east of UTC of `zone` at `instant` (e.g. 180 for Africa/Nairobi). */
export function zoneOffsetMinutes(instant: number, zone: string): number {
  const [year, month, day, hour, minute, second] = wallClockParts(instant, zone);
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  return Math.round((asUtc - (instant - (instant % 1000 + 1000) % 1000)) / 60_000);
}

/** The instant at which the wall clock of `zone` shows the given time (DST gaps move forward). */
function instantOfWallClock(fields: number[], millis: number, zone: string): number {
  const [year, month, day, hour, minute, second] = fields;
  const guess = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const first = guess - zoneOffsetMinutes(guess, zone) * 60_000;
  // Near a DST change the offset at the guess can differ from the offset at the answer.
  return guess - zoneOffsetMinutes(first, zone) * 60_000;
}

/** Parses what integrations send into an instant; `zone` applies when the input has no offset. */
export function parseInstant(value: unknown, zone: string, field = 'datetime'): number {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw badInput(`${field} is an invalid date`, field);
    return value.getTime();
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw badInput(`${field} is not a valid timestamp`, field);
    return value;
  }
  if (typeof value !== 'string') throw badInput(`${field} must be an ISO date or datetime`, field);
  const match = ISO.exec(value.trim());
  if (!match) throw badInput(`${field} must be an ISO date or datetime such as 2024-05-01 or 2024-05-01T09:30:00+03:00`, field);
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '0', offset] = match;
  const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)];
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  if (fields[1] < 1 || fields[1] > 12 || fields[2] < 1 || fields[2] > 31 || fields[3] > 23 || fields[4] > 59 || fields[5] > 59) {
    throw badInput(`${field} is not a real date or time`, field);
  }
  if (!offset) return instantOfWallClock(fields, millis, zone);
  const utc = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5], millis);
  if (/^z$/i.test(offset)) return utc;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return utc - sign * minutes * 60_000;
}

const pad = (value: number, width = 2): string => String(Math.abs(value)).padStart(width, '0');

/** `2024-05-01T09:30:00.000+0300`: the instant as the wall clock of `zone` shows it. */
export function formatOpenmrsDatetime(instant: number, zone: string): string {
  const offset = zoneOffsetMinutes(instant, zone);
  const [year, month, day, hour, minute, second] = wallClockParts(instant, zone);
  const millis = ((instant % 1000) + 1000) % 1000;
  const sign = offset < 0 ? '-' : '+';
  return `${year}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}.${pad(millis, 3)}${sign}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
}

/** Any accepted input as an OpenMRS datetime string in `zone`. */
export function toOpenmrsDatetime(value: unknown, zone: string, field?: string): string {
  return formatOpenmrsDatetime(parseInstant(value, zone, field), zone);
}

/** The calendar date (yyyy-MM-dd) of an input, as seen in `zone`; bare dates stay as they are. */
export function toOpenmrsDate(value: unknown, zone: string, field = 'date'): string {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value.trim())) {
    parseInstant(value, zone, field);
    return value.trim();
  }
  return formatOpenmrsDatetime(parseInstant(value, zone, field), zone).slice(0, 10);
}

/** Reads an OpenMRS datetime (`+0000` offsets, which Date.parse does not accept everywhere). */
export function parseOpenmrsDatetime(value: unknown): number | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  try {
    return parseInstant(value, 'UTC');
  } catch {
    return undefined;
  }
}
