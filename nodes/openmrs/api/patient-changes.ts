/**
 * Which patients changed since the last poll, by three routes, each with a durable position
 * that moves only after the patients of a page have been handed on (`emit` resolved):
 *  - the atom feed (`ws/atomfeed/patient`), see atom-feed.ts;
 *  - a FHIR search on `_lastUpdated`, re-reading a look-back window so that changes committed
 *    while a poll ran are not missed, and remembering what it sent in that window;
 *  - a saved search (reportingrest report, or a REST patient search), emitting patients that
 *    joined the result set or changed since they were last emitted (content fingerprint).
 * Delivery is at-least-once: if the process dies after `emit` and before the position is saved,
 * that page is emitted again after restart. Writers downstream look up before they create.
 */
import { createHash } from 'node:crypto';
import { type FeedPosition, readFeed, resourceUuidOf } from './atom-feed';
import type { OpenmrsClient } from './client';
import { parseOpenmrsDatetime } from './datetime';
import type { AuditInfo, Patient } from './types';

export interface PositionStore<T> {
  load(): T | undefined;
  save(value: T): void;
}

export interface PollContext<T> {
  client: OpenmrsClient;
  store: PositionStore<T>;
  /** Hands on one page of changed patients; the position is saved after it resolves. */
  emit(patients: Patient[]): Promise<void> | void;
  /** Leave out patients whose last change was made by this user (our own writes: no echo). */
  ignoreUser?: string;
  signal?: AbortSignal;
}

export interface PollResult {
  emitted: number;
  ignored: number;
}

/** The user who made the latest change to the patient or its person record. */
export function lastChangedBy(patient: Patient): string | undefined {
  const audits: AuditInfo[] = [patient.auditInfo, patient.person?.auditInfo].filter((audit): audit is AuditInfo => !!audit);
  let latest: { at: number; user?: string } | undefined;
  for (const audit of audits) {
    for (const [user, date] of [[audit.creator, audit.dateCreated], [audit.changedBy, audit.dateChanged]] as const) {
      const at = parseOpenmrsDatetime(date ?? undefined);
      if (!user || at === undefined) continue;
      if (!latest || at >= latest.at) latest = { at, user: user.display ?? user.name ?? user.uuid };
    }
  }
  return latest?.user;
}

export function changedByUser(patient: Patient, username: string | undefined): boolean {
  if (!username) return false;
  const user = lastChangedBy(patient)?.trim().toLowerCase();
  // A user's display may be "admin" or "admin - Super User" depending on the OpenMRS version.
  return !!user && (user === username.toLowerCase() || user.startsWith(`${username.toLowerCase()} `));
}

async function emitPage<T>(context: PollContext<T>, patients: Patient[], result: PollResult): Promise<void> {
  const wanted = patients.filter((patient) => !changedByUser(patient, context.ignoreUser));
  result.ignored += patients.length - wanted.length;
  if (wanted.length) await context.emit(wanted);
  result.emitted += wanted.length;
}

/** Fetches patients by uuid in order, skipping the ones deleted since (purged patients answer 404). */
async function fetchPatients(client: OpenmrsClient, uuids: string[], signal?: AbortSignal): Promise<Patient[]> {
  const patients = await Promise.all(uuids.map((uuid) => client.getPatient(uuid, { signal })));
  return patients.filter((patient): patient is Patient => !!patient);
}

// ---- atom feed ----

export async function pollAtomFeed(context: PollContext<FeedPosition>, options: { startAt: 'beginning' | 'now'; feed?: string }): Promise<PollResult> {
  const feed = options.feed ?? 'patient';
  const result: PollResult = { emitted: 0, ignored: 0 };
  await readFeed(context.store.load(), {
    startAt: options.startAt,
    fetchPage: (page) => context.client.feedPage(feed, page, { signal: context.signal }),
    save: (position) => context.store.save(position),
    handle: async (entries) => {
      // One patient edited three times on a page is emitted once, in its latest state.
      const uuids = [...new Set(entries.map((entry) => resourceUuidOf(entry, 'patient')).filter((uuid): uuid is string => !!uuid))];
      await emitPage(context, await fetchPatients(context.client, uuids, context.signal), result);
    },
  });
  return result;
}

// ---- FHIR _lastUpdated ----

export interface FhirPosition {
  /** The lower bound of the next search (an instant, ISO). Undefined: from the beginning. */
  since?: string;
  /** `id@lastUpdated` of resources already emitted inside the look-back window. */
  sent: string[];
}

interface FhirResource {
  id?: string;
  meta?: { lastUpdated?: string };
}

export async function pollFhirLastUpdated(
  context: PollContext<FhirPosition>,
  options: { startAt: 'beginning' | 'now'; lookbackMs?: number; pageSize?: number; now?: () => number },
): Promise<PollResult> {
  const lookbackMs = options.lookbackMs ?? 60_000;
  const result: PollResult = { emitted: 0, ignored: 0 };
  let position = context.store.load();
  if (!position && options.startAt === 'now') {
    context.store.save({ since: new Date((options.now ?? Date.now)()).toISOString(), sent: [] });
    return result;
  }
  position ??= { sent: [] };
  const sent = new Set(position.sent);
  const since = position.since;
  const from = since === undefined ? undefined : new Date(Date.parse(since) - lookbackMs).toISOString();
  let newest = since === undefined ? undefined : Date.parse(since);
  const seenAt = new Map<string, number>();
  const pages = context.client.fhirSearch<FhirResource>('Patient', { _lastUpdated: from && `ge${from}`, _count: options.pageSize ?? 50 }, { signal: context.signal });
  for await (const resources of pages) {
    const fresh: string[] = [];
    for (const resource of resources) {
      if (!resource.id) continue;
      const updated = Date.parse(resource.meta?.lastUpdated ?? '');
      const key = `${resource.id}@${resource.meta?.lastUpdated ?? ''}`;
      if (Number.isFinite(updated)) {
        seenAt.set(key, updated);
        newest = newest === undefined ? updated : Math.max(newest, updated);
      }
      if (sent.has(key)) continue;
      sent.add(key);
      fresh.push(resource.id);
    }
    if (fresh.length) await emitPage(context, await fetchPatients(context.client, [...new Set(fresh)], context.signal), result);
    context.store.save({ since, sent: [...sent] });
  }
  // Keep only what the next search window will return again.
  const nextSince = newest === undefined ? since : new Date(newest).toISOString();
  const windowStart = newest === undefined ? Number.NEGATIVE_INFINITY : newest - lookbackMs;
  const keep = [...sent].filter((key) => (seenAt.get(key) ?? Date.parse(key.slice(key.indexOf('@') + 1))) >= windowStart);
  context.store.save({ since: nextSince, sent: keep });
  return result;
}

// ---- saved searches ----

export interface SearchPosition {
  /** Patient uuid -> fingerprint of what was last emitted for it. */
  emitted: Record<string, string>;
}

export function fingerprint(patient: Patient): string {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (!value || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([key]) => key !== 'links').map(([key, inner]) => [key, strip(inner)]));
  };
  return createHash('sha256').update(JSON.stringify(strip(patient))).digest('base64url').slice(0, 22);
}

const PATIENT_UUID_COLUMNS = ['patient_uuid', 'patientUuid', 'patient uuid', 'uuid', 'patientId'];

/** The patient uuid in a report row: the named column, or the usual column names. */
export function uuidOfRow(row: Record<string, unknown>, column?: string): string | undefined {
  const names = column ? [column] : PATIENT_UUID_COLUMNS;
  for (const name of names) {
    const value = row[name];
    if (typeof value === 'string' && value) return value;
  }
  return undefined;
}

export async function pollSavedSearch(
  context: PollContext<SearchPosition>,
  options: { report?: string; uuidColumn?: string; query?: Record<string, string>; batchSize?: number },
): Promise<PollResult> {
  const { client, signal } = context;
  const result: PollResult = { emitted: 0, ignored: 0 };
  const previous = context.store.load()?.emitted ?? {};
  let patients: Patient[];
  if (options.report) {
    const rows = await client.reportRows(options.report, { signal });
    const uuids = [...new Set(rows.map((row) => uuidOfRow(row, options.uuidColumn)).filter((uuid): uuid is string => !!uuid))];
    patients = await fetchPatients(client, uuids, signal);
  } else {
    patients = await client.listAll<Patient>('patient', { ...options.query, v: 'full' }, { signal });
  }
  const current: Record<string, string> = {};
  const changed: Patient[] = [];
  for (const patient of patients) {
    if (patient.voided) continue;
    const print = fingerprint(patient);
    current[patient.uuid] = print;
    if (previous[patient.uuid] !== print) changed.push(patient);
  }
  const emitted = { ...previous };
  const size = options.batchSize ?? 50;
  for (let start = 0; start < changed.length; start += size) {
    const page = changed.slice(start, start + size);
    await emitPage(context, page, result);
    for (const patient of page) emitted[patient.uuid] = current[patient.uuid];
    context.store.save({ emitted });
  }
  // Patients that left the search are forgotten, so they are emitted again if they come back.
  context.store.save({ emitted: Object.fromEntries(Object.entries(emitted).filter(([uuid]) => uuid in current)) });
  return result;
}
