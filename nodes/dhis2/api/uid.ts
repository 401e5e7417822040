/**
 * DHIS2 identifiers. A client that names its objects before sending them makes a retried import
 * an update of what the first attempt may already have stored, instead of a second copy.
 */
import { createHash, randomInt } from 'node:crypto';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALPHANUMERIC = `${LETTERS}0123456789`;
const UID_LENGTH = 11;

export const UID_PATTERN = /^[A-Za-z][A-Za-z0-9]{10}$/;

export function isUid(value: unknown): value is string {
  return typeof value === 'string' && UID_PATTERN.test(value);
}

/** 11 characters, a letter first, each drawn without modulo bias from a CSPRNG. */
export function generateUid(): string {
  let uid = LETTERS[randomInt(LETTERS.length)];
  for (let index = 1; index < UID_LENGTH; index += 1) uid += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return uid;
}

/**
 * The same UID for the same key, every time: an object named from the source record's id (a
 * CommCare form id, say) is updated, not duplicated, when that record is delivered again.
 */
export function uidFromKey(key: string): string {
  const bytes = createHash('sha256').update(key).digest();
  let uid = LETTERS[bytes[0] % LETTERS.length];
  for (let index = 1; index < UID_LENGTH; index += 1) uid += ALPHANUMERIC[bytes[index] % ALPHANUMERIC.length];
  return uid;
}
