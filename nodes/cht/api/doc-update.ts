/**
 * Updating a CouchDB document that others may be writing at the same time. CouchDB refuses a
 * write based on a stale `_rev` with 409; the update is then re-applied to the latest revision
 * (a shallow merge of the changed fields) and written again, a bounded number of times.
 */
import { IntegrationError, isIntegrationError } from '../../core/errors';
import type { ChtDoc, WriteResult } from './types';

/** Fields the caller may not set through a merge: CouchDB owns them. */
const RESERVED = new Set(['_id', '_rev', '_deleted', '_attachments', '_conflicts', '_revisions']);

export const DEFAULT_UPDATE_ATTEMPTS = 5;

/** The changed fields without CouchDB's own (`_id`, `_rev`...). */
export function changedFields(changes: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(changes).filter(([key]) => !RESERVED.has(key)));
}

/** The latest document with the changes laid over it (top-level fields replaced, not deep-merged). */
export function mergeChanges(latest: ChtDoc, changes: Record<string, unknown>): ChtDoc {
  return { ...latest, ...changedFields(changes), _id: latest._id, _rev: latest._rev };
}

export interface Before {
  /** The previous values of the changed fields that existed. */
  values: Record<string, unknown>;
  /** The changed fields the document did not have. */
  absent: string[];
}

/** What the changed fields held before the write, so a rollback can put them back. */
export function beforeOf(latest: ChtDoc, changes: Record<string, unknown>): Before {
  const values: Record<string, unknown> = {};
  const absent: string[] = [];
  for (const key of Object.keys(changedFields(changes))) {
    if (Object.prototype.hasOwnProperty.call(latest, key)) values[key] = latest[key];
    else absent.push(key);
  }
  return { values, absent };
}

/** The document with `before` restored: previous values back, fields that were absent removed. */
export function restoreBefore(latest: ChtDoc, before: Before): ChtDoc {
  const restored: ChtDoc = { ...latest, ...changedFields(before.values), _id: latest._id, _rev: latest._rev };
  for (const key of before.absent) if (!RESERVED.has(key)) delete restored[key];
  return restored;
}

export interface DocAccess {
  read(id: string): Promise<ChtDoc>;
  write(doc: ChtDoc): Promise<WriteResult>;
}

export interface UpdateOutcome {
  id: string;
  rev: string;
  /** The document as written. */
  doc: ChtDoc;
  before: Before;
  /** 1 when no conflict happened. */
  attempts: number;
}

const isConflict = (error: unknown): boolean => isIntegrationError(error) && error.status === 409;

/**
 * Reads the latest revision, applies `change` to it and writes it; on a `_rev` conflict it
 * starts over from a fresh read. `change` receives the latest document and returns the new one.
 */
export async function updateWithConflictRetry(
  access: DocAccess,
  id: string,
  change: (latest: ChtDoc) => ChtDoc,
  maxAttempts = DEFAULT_UPDATE_ATTEMPTS,
): Promise<{ latest: ChtDoc; doc: ChtDoc; result: WriteResult; attempts: number }> {
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= Math.max(1, maxAttempts); attempt += 1) {
    const latest = await access.read(id);
    const doc = change(latest);
    try {
      const result = await access.write(doc);
      return { latest, doc: { ...doc, _rev: result.rev }, result, attempts: attempt };
    } catch (error) {
      if (!isConflict(error)) throw error;
      lastConflict = error;
    }
  }
  const conflict = lastConflict as IntegrationError;
  throw new IntegrationError(`cht: ${id} kept changing under us: ${maxAttempts} writes in a row hit a _rev conflict`, {
    code: 'conflict',
    retryable: true,
    status: 409,
    system: 'cht',
    remote: conflict.remote,
    request: conflict.request,
    cause: conflict,
  });
}

/**
 * A shallow-merge update of `changes` onto document `id`, retried on `_rev` conflicts. `extra`
 * adds fields computed from the revision being replaced (e.g. a loop marker); they are part of
 * what `before` remembers.
 */
export async function updateDoc(
  access: DocAccess,
  id: string,
  changes: Record<string, unknown>,
  maxAttempts = DEFAULT_UPDATE_ATTEMPTS,
  extra?: (latest: ChtDoc) => Record<string, unknown>,
): Promise<UpdateOutcome> {
  const withExtra = (latest: ChtDoc): Record<string, unknown> => (extra ? { ...changes, ...extra(latest) } : changes);
  const outcome = await updateWithConflictRetry(access, id, (latest) => mergeChanges(latest, withExtra(latest)), maxAttempts);
  return { id, rev: outcome.result.rev, doc: outcome.doc, before: beforeOf(outcome.latest, withExtra(outcome.latest)), attempts: outcome.attempts };
}
