import { randomBytes, randomUUID } from 'node:crypto';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALPHANUMERIC = `0123456789${LETTERS}`;

export const uuid = (): string => randomUUID();

/** DHIS2 UID: 11 characters, a letter first, then letters and digits. */
export function dhis2Uid(): string {
  const bytes = randomBytes(11);
  let uid = LETTERS[bytes[0] % LETTERS.length];
  for (let i = 1; i < 11; i += 1) uid += ALPHANUMERIC[bytes[i] % ALPHANUMERIC.length];
  return uid;
}

export const DHIS2_UID = /^[A-Za-z][A-Za-z0-9]{10}$/;

/** CouchDB-style revision: "<generation>-<32 hex>". */
export function couchRev(generation: number): string {
  return `${generation}-${randomBytes(16).toString('hex')}`;
}

/** Case ids as CommCare HQ makes them: a dashed lowercase UUID. */
export const commcareCaseId = (): string => randomUUID();
