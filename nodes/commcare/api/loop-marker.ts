/**
 * How this package recognises its own writes when they come back (package rule: every two-way
 * flow marks its writes). HQ turns every Case API v2 change into a generated form with xmlns
 * `http://commcarehq.org/case_api` and the request's User-Agent as `meta.deviceID`
 * (corehq/apps/hqcase/views.py, api/updates.py), and data forwarding sends those forms like any
 * other. The client therefore sends a recognisable User-Agent, and the case writer also stamps
 * each case with `chis_origin` and `chis_written_at` properties, which survive proxies that
 * rewrite the User-Agent and let the case source tell its own updates apart.
 */
import { type CaseBlock, caseBlocks, formBlock, formXmlns } from './forms';
import type { CommcareCase } from './types';

/** The xmlns of the forms HQ generates for Case API v2 creates and updates. */
export const CASE_API_XMLNS = 'http://commcarehq.org/case_api';
/** Sent as User-Agent; HQ records it as the generated form's meta.deviceID. */
export const CHIS_DEVICE_ID = 'chis-node-red';
/** Case property naming the writer, set on every case this package writes. */
export const CHIS_ORIGIN_PROPERTY = 'chis_origin';
export const CHIS_ORIGIN_VALUE = 'chis-node-red';
/** Case property holding when this package last wrote the case (ISO 8601, UTC). */
export const CHIS_WRITTEN_AT_PROPERTY = 'chis_written_at';
/**
 * A case modified within this long of our own write stamp counts as our own write. HQ sets
 * last_modified of a Case API change to its own clock when it processes the request.
 */
export const OWN_WRITE_WINDOW_MS = 120_000;

/** The marker properties for one write, made at `now`. */
export function markerProperties(now: Date = new Date()): Record<string, string> {
  return { [CHIS_ORIGIN_PROPERTY]: CHIS_ORIGIN_VALUE, [CHIS_WRITTEN_AT_PROPERTY]: now.toISOString() };
}

const writtenByUs = (block: CaseBlock): boolean => block.update[CHIS_ORIGIN_PROPERTY] === CHIS_ORIGIN_VALUE;

/**
 * True for a form this package caused: a Case API form sent with our User-Agent, or one whose
 * case blocks set our origin property (what remains when a proxy replaced the User-Agent).
 */
export function isOwnWriteForm(formJson: unknown): boolean {
  const form = formBlock(formJson);
  if (!form || formXmlns(formJson) !== CASE_API_XMLNS) return false;
  const meta = form.meta as Record<string, unknown> | undefined;
  const deviceId = typeof meta?.deviceID === 'string' ? meta.deviceID : '';
  if (deviceId.startsWith(CHIS_DEVICE_ID)) return true;
  const blocks = caseBlocks(formJson);
  return blocks.length > 0 && blocks.every(writtenByUs);
}

/** True when the case's latest change is (most likely) this package's own write. */
export function isOwnWriteCase(record: Pick<CommcareCase, 'properties' | 'last_modified' | 'server_last_modified'>): boolean {
  if (record.properties?.[CHIS_ORIGIN_PROPERTY] !== CHIS_ORIGIN_VALUE) return false;
  const written = Date.parse(record.properties[CHIS_WRITTEN_AT_PROPERTY] ?? '');
  const modified = Date.parse(record.server_last_modified || record.last_modified);
  if (Number.isNaN(written) || Number.isNaN(modified)) return false;
  return Math.abs(modified - written) <= OWN_WRITE_WINDOW_MS;
}
