/**
 * Date handling as the OpenMRS server does it: REST writes `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (the server
 * here runs in UTC, so `+0000`), reads ISO datetimes with `Z`, `+HHMM` or `+HH:MM`, and treats a
 * value without an offset as server time. Birthdates are plain dates.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Epoch ms, or undefined when the text is not an ISO date or datetime. */
export function parseDatetime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = ISO.exec(value.trim());
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '0', offset] = match;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const utc = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s), Number(fraction.padEnd(3, '0').slice(0, 3)));
  if (!offset || /^z$/i.test(offset)) return utc;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  return utc - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}

/** The calendar date as written (a birthdate of 1979-12-08T00:00:00.000+0530 is 1979-12-08). */
export function parseDate(value: unknown): string | undefined {
  if (typeof value !== 'string' || parseDatetime(value) === undefined) return undefined;
  return value.trim().slice(0, 10);
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

export function restDatetime(ms: number): string {
  const date = new Date(ms);
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}+0000`;
}

export function restDate(date: string): string {
  return `${date}T00:00:00.000+0000`;
}

/** FHIR instants as HAPI prints them for OpenMRS: 2024-06-25T10:56:16.000+00:00. */
export function fhirInstant(ms: number): string {
  return restDatetime(ms).replace(/\+0000$/, '+00:00');
}

/** Atom feed timestamps: second precision, Z. */
export function atomTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** dd/MM/yyyy, as encounter display strings show the date. */
export function displayDate(ms: number): string {
  const date = new Date(ms);
  return `${pad(date.getUTCDate())}/${pad(date.getUTCMonth() + 1)}/${date.getUTCFullYear()}`;
}

export function ageInYears(birthdate: string, now = Date.now()): number {
  const [year, month, day] = birthdate.split('-').map(Number);
  const today = new Date(now);
  let age = today.getUTCFullYear() - year;
  if (today.getUTCMonth() + 1 < month || (today.getUTCMonth() + 1 === month && today.getUTCDate() < day)) age -= 1;
  return age;
}
