/**
 * Undoing what the tracker writer journaled: a created object is removed with a DELETE import
 * (legacy: DELETE on its resource); an existing tracked entity that was updated gets back the
 * attribute values read before the write.
 */
import { IntegrationError, badInput } from '../../core/errors';
import type { JournalEntry } from '../../core/journal';
import type { Dhis2Client } from './client';
import { describeErrorReport, importReportErrors, legacyErrors, describeLegacySummary } from './errors';
import type { Json } from './types';

/** "Does not exist" and "already deleted" codes of the tracker importer. */
const GONE_CODES = new Set(['E1063', 'E1081', 'E1032', 'E1114', 'E1113', 'E1082']);

const LISTS: Record<string, { list: 'trackedEntities' | 'enrollments' | 'events'; field: string; legacy: 'trackedEntityInstances' | 'enrollments' | 'events' }> = {
  trackedEntity: { list: 'trackedEntities', field: 'trackedEntity', legacy: 'trackedEntityInstances' },
  enrollment: { list: 'enrollments', field: 'enrollment', legacy: 'enrollments' },
  event: { list: 'events', field: 'event', legacy: 'events' },
};

interface Before {
  orgUnit?: string;
  trackedEntityType?: string;
  attributes?: Array<{ attribute: string; value: string }>;
  written?: string[];
}

export async function undoTrackerEntry(client: Dhis2Client, entry: JournalEntry, signal?: AbortSignal): Promise<'undone' | 'already-gone'> {
  const target = LISTS[entry.resource];
  if (!target) throw badInput(`dhis2 cannot undo a ${entry.resource}`, 'journal.resource');
  if (entry.action === 'created') {
    if (client.mode === 'legacy') return (await client.deleteLegacy(target.legacy, entry.id, { signal })) ? 'undone' : 'already-gone';
    const report = await client.importTracker({ [target.list]: [{ [target.field]: entry.id }] }, { importStrategy: 'DELETE', atomicMode: 'OBJECT', idempotent: true, signal });
    const errors = importReportErrors(report);
    if (errors.length === 0) return 'undone';
    if (errors.every((error) => GONE_CODES.has(error.errorCode))) return 'already-gone';
    throw new IntegrationError(`dhis2 could not delete ${entry.resource} ${entry.id}: ${errors.map(describeErrorReport).join('; ')}`, { code: 'validation', retryable: false, system: 'dhis2' });
  }
  const before = entry.before as Before | undefined;
  if (entry.resource !== 'trackedEntity' || !before?.attributes) throw badInput(`dhis2 has nothing to restore for updated ${entry.resource} ${entry.id}`, 'journal.before');
  const previous = new Map(before.attributes.map((item) => [item.attribute, item.value]));
  if (client.mode === 'legacy') {
    // The legacy API replaces the whole attribute set: sending the old set restores it.
    const answer = await client.http.put<Json>(`api/trackedEntityInstances/${encodeURIComponent(entry.id)}`, {
      body: { trackedEntityInstance: entry.id, trackedEntityType: before.trackedEntityType, orgUnit: before.orgUnit, attributes: before.attributes },
      signal,
    });
    const failed = legacyErrors(answer.data);
    if (failed.length) throw new IntegrationError(`dhis2 could not restore ${entry.id}: ${failed.map(describeLegacySummary).join('; ')}`, { code: 'validation', retryable: false, system: 'dhis2' });
    return 'undone';
  }
  const attributes = [...new Set([...previous.keys(), ...(before.written ?? [])])].map((attribute) => ({ attribute, value: previous.get(attribute) ?? null }));
  const report = await client.importTracker(
    { trackedEntities: [{ trackedEntity: entry.id, trackedEntityType: before.trackedEntityType, orgUnit: before.orgUnit, attributes }] },
    { importStrategy: 'UPDATE', atomicMode: 'OBJECT', idempotent: true, signal },
  );
  const errors = importReportErrors(report);
  if (errors.length === 0) return 'undone';
  if (errors.every((error) => GONE_CODES.has(error.errorCode))) return 'already-gone';
  throw new IntegrationError(`dhis2 could not restore ${entry.id}: ${errors.map(describeErrorReport).join('; ')}`, { code: 'validation', retryable: false, system: 'dhis2' });
}
