/**
 * The rollback journal: every writer records what it created or changed in `msg.journal`, and
 * a rollback (a rollback node after a Catch, or a failed transaction) undoes it in reverse.
 *
 * Systems plug in their compensations (OpenMRS void/purge, DHIS2 DELETE import, FHIR DELETE,
 * CommCare case close or restore); core knows no system by name.
 */
import type { Node } from 'node-red';
import { isIntegrationError } from './errors';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry';
import { redactDeep } from './redact';

export interface JournalEntry {
  system: string;
  /** e.g. 'patient', 'encounter', 'case', 'trackedEntity', 'Task'. */
  resource: string;
  id: string;
  action: 'created' | 'updated';
  /** The config node that wrote it: its client undoes it. */
  configId: string;
  /** For updates: the values read before writing, restored by the compensation. */
  before?: unknown;
  /** Anything the compensation needs besides the id (e.g. a DHIS2 program). */
  detail?: Record<string, unknown>;
}

export type UndoOutcome = 'undone' | 'already-gone' | 'failed';

export interface UndoReport {
  entry: JournalEntry;
  outcome: UndoOutcome;
  /** Why the undo failed (redacted), when it did. */
  error?: { code?: string; message: string };
}

export interface Compensator {
  /**
   * Undoes one entry with the given config node. Resolves 'already-gone' when the record no
   * longer exists (someone else removed it, or an earlier attempt did); throws when it fails.
   */
  undo(config: Node, entry: JournalEntry, signal?: AbortSignal): Promise<'undone' | 'already-gone'>;
}

const compensators = new Map<string, Compensator>();

export function registerCompensator(system: string, compensator: Compensator): void {
  compensators.set(system, compensator);
}

export function hasCompensator(system: string): boolean {
  return compensators.has(system);
}

/** Appends entries to `msg.journal`, creating it; returns the journal. */
export function recordInJournal(msg: { journal?: JournalEntry[] }, ...entries: JournalEntry[]): JournalEntry[] {
  if (!Array.isArray(msg.journal)) msg.journal = [];
  msg.journal.push(...entries);
  return msg.journal;
}

export interface UndoOptions {
  findConfig(configId: string): Node | null | undefined;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Undoes entries newest first. A compensation that fails is retried (transient or not: a
 * stuck rollback is worse than a slow one); if it still fails it is reported and the rest
 * continue, as MOTECH does, so one stuck record does not keep the others in place.
 */
export async function undoJournal(entries: readonly JournalEntry[], options: UndoOptions): Promise<UndoReport[]> {
  const reports: UndoReport[] = [];
  const policy: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 4, ...options.retry };
  for (const entry of [...entries].reverse()) {
    const compensator = compensators.get(entry.system);
    const config = options.findConfig(entry.configId);
    if (!compensator || !config) {
      reports.push({
        entry,
        outcome: 'failed',
        error: { message: !compensator ? `no rollback is known for ${entry.system}` : `server configuration ${entry.configId} is not deployed` },
      });
      continue;
    }
    try {
      const outcome = await withRetry(() => compensator.undo(config, entry, options.signal), {
        policy,
        shouldRetry: (error) => !(isIntegrationError(error) && (error.code === 'auth' || error.code === 'bad-input')) && !options.signal?.aborted,
        signal: options.signal,
        sleep: options.sleep,
      });
      reports.push({ entry, outcome });
    } catch (error) {
      const plain = isIntegrationError(error) ? { code: error.code, message: error.message } : { message: (error as Error).message };
      reports.push({ entry, outcome: 'failed', error: redactDeep(plain) as UndoReport['error'] });
    }
  }
  return reports;
}

export function rollbackFailed(reports: readonly UndoReport[]): boolean {
  return reports.some((report) => report.outcome === 'failed');
}
