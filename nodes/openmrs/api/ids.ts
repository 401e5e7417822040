/** Uuids OpenMRS records get from what created them, so a second attempt finds the first. */
import { createHash } from 'node:crypto';

/** A name-based uuid (RFC 4122 layout, version 5 bits) for what a step creates under a key. */
export function uuidFromKey(kind: string, key: string): string {
  const hex = createHash('sha256').update(`chis:${kind}:${key}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
