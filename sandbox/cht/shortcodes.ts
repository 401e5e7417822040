/**
 * Shortcodes (patient_id, place_id) as CHT's sentinel generates them: random digits plus a
 * weighted mod-11 check digit, so a transposed digit gives an invalid code. Five digits at first.
 */
import { randomInt } from 'node:crypto';

export const SHORTCODE_LENGTH = 5;

export function withCheckDigit(digits: string): string {
  const weightOfFirst = digits.length + 1;
  let total = 0;
  for (let i = 0; i < digits.length; i += 1) total += Number(digits[i]) * (weightOfFirst - i);
  const check = total % 11;
  return `${digits}${check === 10 ? 0 : check}`;
}

export function randomShortcode(length = SHORTCODE_LENGTH): string {
  let digits = '';
  for (let i = 0; i < length - 1; i += 1) digits += String(randomInt(10));
  return withCheckDigit(digits);
}
