/**
 * Contact URNs (`scheme:path`). RapidPro matches contacts by the exact normalised URN, so one
 * phone number written two ways ("0788 200 001", "+250788200001") would make two contacts:
 * numbers are normalised here before any look-up or write.
 */
import { badInput } from '../../core/errors';

/** The schemes RapidPro knows (gocommon urns); anything else is refused before it is sent. */
export const URN_SCHEMES = [
  'tel', 'whatsapp', 'ext', 'mailto', 'telegram', 'facebook', 'twitter', 'twitterid', 'viber', 'line', 'instagram',
  'discord', 'webchat', 'slack', 'fcm', 'vk', 'wechat', 'jiochat', 'freshchat', 'rocketchat',
] as const;

const KNOWN_SCHEMES: ReadonlySet<string> = new Set(URN_SCHEMES);
/** E.164 allows at most 15 digits; fewer than 6 is a short code, not a person's phone. */
const E164 = /^\+[1-9]\d{5,14}$/;

export interface UrnOptions {
  /**
   * Country calling code (e.g. "250") for numbers written nationally with a leading 0; without
   * it such numbers are refused rather than guessed.
   */
  defaultCountryCode?: string;
  /** Where the URN came from, for the error ("msg.payload.urn"). */
  field?: string;
}

/** Digits of a phone number in international form: "+<digits>", or undefined if it is not one. */
export function internationalNumber(raw: string, defaultCountryCode?: string): string | undefined {
  let number = raw.trim().replace(/[\s\-()./]/g, '');
  if (number.startsWith('00')) number = `+${number.slice(2)}`;
  const country = defaultCountryCode?.replace(/^\+/, '').trim();
  if (!number.startsWith('+') && country && /^\d{1,3}$/.test(country)) {
    if (number.startsWith('0')) number = `+${country}${number.slice(1)}`;
    else if (number.startsWith(country)) number = `+${number}`;
  }
  return E164.test(number) ? number : undefined;
}

/** The URN as RapidPro stores it; throws bad-input naming the field when it cannot be one. */
export function normalizeUrn(value: unknown, options: UrnOptions = {}): string {
  const field = options.field ?? 'urn';
  if (typeof value !== 'string' || !value.trim()) throw badInput(`${field} must be a URN such as tel:+250788123456`, field);
  const text = value.trim();
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon).trim().toLowerCase() : '';
  const path = colon > 0 ? text.slice(colon + 1).trim() : '';
  if (!KNOWN_SCHEMES.has(scheme)) {
    throw badInput(`${field} must start with a URN scheme (${URN_SCHEMES.slice(0, 4).join(':, ')}:, …), e.g. tel:+250788123456`, field);
  }
  if (!path) throw badInput(`${field} has no path after "${scheme}:"`, field);
  switch (scheme) {
    case 'tel': {
      const number = internationalNumber(path, options.defaultCountryCode);
      if (!number) throw badInput(`${field} is not a phone number with its country code (+ and 6 to 15 digits)`, field);
      return `tel:${number}`;
    }
    case 'whatsapp': {
      // WhatsApp ids are the international number without "+".
      const number = internationalNumber(path, options.defaultCountryCode) ?? (path.startsWith('0') ? undefined : internationalNumber(`+${path.replace(/^\+/, '')}`));
      if (!number) throw badInput(`${field} is not a WhatsApp number with its country code`, field);
      return `whatsapp:${number.slice(1)}`;
    }
    case 'telegram':
    case 'twitterid':
      if (!/^\d+$/.test(path)) throw badInput(`${field}: a ${scheme} id is numeric`, field);
      return `${scheme}:${path}`;
    case 'mailto':
      if (!/^[^@\s]+@[^@\s]+$/.test(path)) throw badInput(`${field} is not an email address`, field);
      return `mailto:${path.toLowerCase()}`;
    case 'twitter':
      return `twitter:${path.replace(/^@/, '').toLowerCase()}`;
    default:
      if (/\s/.test(path)) throw badInput(`${field} must not contain spaces`, field);
      return `${scheme}:${path}`;
  }
}

export function urnScheme(urn: string): string {
  return urn.slice(0, urn.indexOf(':'));
}
