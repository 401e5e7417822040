/**
 * How this package recognises its own writes when they come back through the changes feed
 * (package rule: every two-way flow marks its writes, as cht-interoperability's `meta.source`
 * does on the FHIR side). Contacts and updated docs carry a top-level `chis_origin`; a report's
 * fields only keep what its JSON form defines, so the record writer sends the marker both as a
 * field (kept when the form has a `chis_origin` field) and in `_meta` (which CHT keeps with the
 * record's `sms_message`).
 *
 * An update also stamps the revision number it will create (`chis_rev_gen`), so a later edit
 * made in CHT (a higher revision that still carries the marker) is not mistaken for ours.
 */
import type { ChtDoc } from './types';

export const CHIS_ORIGIN_PROPERTY = 'chis_origin';
export const CHIS_ORIGIN_VALUE = 'chis-node-red';
export const CHIS_REV_GEN_PROPERTY = 'chis_rev_gen';

export function markerFields(): Record<string, string> {
  return { [CHIS_ORIGIN_PROPERTY]: CHIS_ORIGIN_VALUE };
}

const marked = (value: unknown): boolean =>
  Boolean(value && typeof value === 'object' && (value as Record<string, unknown>)[CHIS_ORIGIN_PROPERTY] === CHIS_ORIGIN_VALUE);

/** The revision number of a `_rev` ("3-abc..." -> 3). */
export function revGeneration(rev: unknown): number | undefined {
  const generation = typeof rev === 'string' ? Number.parseInt(rev, 10) : Number.NaN;
  return Number.isFinite(generation) ? generation : undefined;
}

/** The marker fields of an update written over revision `latestRev`. */
export function updateMarkerFields(latestRev: string | undefined): Record<string, string | number> {
  return { ...markerFields(), [CHIS_REV_GEN_PROPERTY]: (revGeneration(latestRev) ?? 0) + 1 };
}

/** True for a document whose current revision this package wrote. */
export function isOwnWrite(doc: ChtDoc | undefined): boolean {
  if (!doc) return false;
  if (marked(doc)) {
    const stamped = doc[CHIS_REV_GEN_PROPERTY];
    return typeof stamped !== 'number' || stamped === revGeneration(doc._rev);
  }
  return marked(doc.fields) || marked(doc.sms_message);
}
