/**
 * The tracker writer's work, without Node-RED: give every object a UID before sending (so a
 * retry updates what the first attempt stored), find existing tracked entities by a unique
 * attribute, import many messages in one request and give each message its own answer.
 */
import { IntegrationError, badInput, isIntegrationError } from '../../core/errors';
import type { JournalEntry } from '../../core/journal';
import type { AtomicMode, Dhis2Client, FoundTrackedEntity } from './client';
import { describeErrorReport, describeLegacySummary, importReportErrors, walkImportSummaries, type LegacySummaryNode } from './errors';
import type { Attribute, ImportReport, Json, TrackedEntity, TrackerEnrollment, TrackerErrorReport, TrackerEvent, TrackerPayload, TrackerType } from './types';
import { generateUid, isUid, uidFromKey } from './uid';

export type ObjectKind = 'trackedEntity' | 'enrollment' | 'event';

const TYPE_OF: Record<ObjectKind, TrackerType> = { trackedEntity: 'TRACKED_ENTITY', enrollment: 'ENROLLMENT', event: 'EVENT' };

export interface TrackerWriteSettings {
  atomicMode: AtomicMode;
  /** UID of a unique attribute (e.g. "CommCare Case ID") that finds an existing tracked entity. */
  uniqueAttribute?: string;
  /** The config node's id, recorded in journal entries so a rollback uses the same server. */
  configId: string;
  signal?: AbortSignal;
  /**
   * The key a message's new objects take their UIDs from (e.g. the source form's id), so that a
   * re-delivered message names the same objects; without one, new UIDs are random.
   */
  uidKeyOf?: (payload: TrackerPayload) => string | undefined;
}

export interface ObjectResult {
  type: ObjectKind;
  uid: string;
  /** created: new; updated: existed before; reused: an existing enrollment the events were added to. */
  action: 'created' | 'updated' | 'reused' | 'written';
}

export interface TrackerResult {
  status: 'OK';
  trackedEntity?: string;
  enrollment?: string;
  events: string[];
  objects: ObjectResult[];
}

export type TrackerOutcome =
  | { result: TrackerResult; journal: JournalEntry[] }
  | { error: IntegrationError; journal: JournalEntry[] }
  | { defer: true };

/** What we know of an object before the import: whether this message names it for the first time. */
type Origin = 'new' | 'existing' | 'unknown' | 'reused';

interface PlannedObject {
  type: ObjectKind;
  uid: string;
  origin: Origin;
  /** For an existing tracked entity: what to restore on rollback. */
  before?: Json;
}

export interface FlatPayload {
  trackedEntities: TrackedEntity[];
  enrollments: TrackerEnrollment[];
  events: TrackerEvent[];
}

export interface PreparedMessage {
  flat: FlatPayload;
  objects: PlannedObject[];
  /** Tracked entities found by the unique attribute, by UID (legacy mode merges their attributes). */
  found: Map<string, FoundTrackedEntity>;
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = <T extends Json>(value: unknown): T[] => (Array.isArray(value) ? (value.filter(isObject) as T[]) : []);
const keyOf = (type: TrackerType, uid: string): string => `${type}:${uid}`;

/**
 * The UID an object carries, or a new one written into it (so a re-sent message carries it too).
 * With a key the UID is derived from it and the object's place in the message; such an object
 * may already exist (the message was delivered before), so it does not count as generated.
 */
function ensureUid(object: Json, field: string, where: string, uidKey?: string): { uid: string; generated: boolean } {
  const current = object[field];
  if (current === undefined || current === null || current === '') {
    const uid = newUid(`${where}.${field}`, uidKey);
    object[field] = uid;
    return { uid, generated: !uidKey };
  }
  if (!isUid(current)) throw badInput(`${where}.${field} is not a DHIS2 UID (11 letters and digits, a letter first)`, `${where}.${field}`);
  return { uid: current, generated: false };
}

function ensureNoteUids(object: Json, where: string, uidKey?: string): void {
  list(object.notes).forEach((note, index) => {
    if (!note.note) note.note = newUid(`${where}.notes[${index}]`, uidKey);
  });
}

/** A UID for the object at `place` in the message: derived from the key when there is one. */
function newUid(place: string, uidKey?: string): string {
  return uidKey ? uidFromKey(`${uidKey}|${place}`) : generateUid();
}

/** The value of `attribute` in a tracked entity or its nested enrollments. */
export function uniqueValueOf(entity: TrackedEntity, attribute: string): string | undefined {
  const all = [...list<Attribute>(entity.attributes), ...list<TrackerEnrollment>(entity.enrollments).flatMap((e) => list<Attribute>(e.attributes))];
  const match = all.find((item) => item.attribute === attribute && item.value !== undefined && item.value !== null && item.value !== '');
  return match ? String(match.value) : undefined;
}

/** Attributes of `extra` override those of `base` with the same attribute UID. */
function mergeAttributes(base: Attribute[], extra: Attribute[]): Attribute[] {
  const merged = new Map<string, Attribute>();
  for (const item of [...base, ...extra]) merged.set(item.attribute, { attribute: item.attribute, value: item.value });
  return [...merged.values()];
}

/**
 * Turns one message's payload (nested or flat) into flat lists with every UID set. Generated
 * UIDs are written into `payload` itself; a found tracked entity's UID is not (the look-up
 * finds it again on a retry).
 */
export function prepareMessage(payload: TrackerPayload, found: Map<TrackedEntity, FoundTrackedEntity>, uidKey?: string): PreparedMessage {
  const flat: FlatPayload = { trackedEntities: [], enrollments: [], events: [] };
  const objects: PlannedObject[] = [];
  const foundByUid = new Map<string, FoundTrackedEntity>();
  const origin = (generated: boolean): Origin => (generated ? 'new' : 'unknown');

  const addEvent = (event: TrackerEvent, where: string, enrollment?: { uid: string; program?: string; trackedEntity?: string }): void => {
    const { uid, generated } = ensureUid(event, 'event', where, uidKey);
    ensureNoteUids(event, where, uidKey);
    const copy: TrackerEvent = { ...event };
    if (enrollment) {
      copy.enrollment = enrollment.uid;
      copy.program ??= enrollment.program;
      if (enrollment.trackedEntity) copy.trackedEntity ??= enrollment.trackedEntity;
    }
    flat.events.push(copy);
    objects.push({ type: 'event', uid, origin: origin(generated) });
  };

  const addEnrollment = (enrollment: TrackerEnrollment, where: string, trackedEntity?: string, existing?: FoundTrackedEntity, entityCopy?: TrackedEntity): void => {
    const reusable = existing && !enrollment.enrollment
      ? existing.enrollments.find((candidate) => candidate.program === enrollment.program && candidate.status === 'ACTIVE')
      : undefined;
    const events = list<TrackerEvent>(enrollment.events);
    if (reusable && entityCopy) {
      // The person is already enrolled: add the events to that enrollment instead of a second one.
      entityCopy.attributes = mergeAttributes(list<Attribute>(entityCopy.attributes), list<Attribute>(enrollment.attributes));
      objects.push({ type: 'enrollment', uid: reusable.enrollment, origin: 'reused' });
      events.forEach((event, index) => addEvent(event, `${where}.events[${index}]`, { uid: reusable.enrollment, program: reusable.program, trackedEntity }));
      return;
    }
    const { uid, generated } = ensureUid(enrollment, 'enrollment', where, uidKey);
    ensureNoteUids(enrollment, where, uidKey);
    const { events: _nested, ...copy } = enrollment;
    if (trackedEntity) copy.trackedEntity = trackedEntity;
    flat.enrollments.push(copy);
    objects.push({ type: 'enrollment', uid, origin: origin(generated) });
    events.forEach((event, index) => addEvent(event, `${where}.events[${index}]`, { uid, program: enrollment.program, trackedEntity: copy.trackedEntity }));
  };

  list<TrackedEntity>(payload.trackedEntities).forEach((entity, index) => {
    const where = `msg.payload.trackedEntities[${index}]`;
    const existing = found.get(entity);
    let uid: string;
    let planned: PlannedObject;
    const { enrollments: _nested, ...copy } = entity;
    if (existing) {
      uid = existing.trackedEntity;
      copy.trackedEntity = uid;
      // A person keeps the org unit they were registered in; a visit elsewhere does not move them.
      if (existing.orgUnit) copy.orgUnit = existing.orgUnit;
      foundByUid.set(uid, existing);
      planned = { type: 'trackedEntity', uid, origin: 'existing', before: { orgUnit: existing.orgUnit, trackedEntityType: existing.trackedEntityType ?? entity.trackedEntityType, attributes: existing.attributes } };
    } else {
      const assigned = ensureUid(entity, 'trackedEntity', where, uidKey);
      uid = assigned.uid;
      copy.trackedEntity = uid;
      planned = { type: 'trackedEntity', uid, origin: origin(assigned.generated) };
    }
    flat.trackedEntities.push(copy);
    objects.push(planned);
    list<TrackerEnrollment>(entity.enrollments).forEach((enrollment, position) => addEnrollment(enrollment, `${where}.enrollments[${position}]`, uid, existing, copy));
    // A rollback restores what these attributes were, and clears those that had no value.
    if (planned.before) planned.before.written = list<Attribute>(copy.attributes).map((item) => item.attribute);
  });
  list<TrackerEnrollment>(payload.enrollments).forEach((enrollment, index) => addEnrollment(enrollment, `msg.payload.enrollments[${index}]`, enrollment.trackedEntity));
  list<TrackerEvent>(payload.events).forEach((event, index) => addEvent(event, `msg.payload.events[${index}]`));
  return { flat, objects, found: foundByUid };
}

// ---- the batch ----

interface BatchItem {
  payload: TrackerPayload;
  prepared?: PreparedMessage;
  outcome?: TrackerOutcome;
}

/** Tracked entities without a UID that carry the unique attribute, for the look-up. */
function lookupsOf(payload: TrackerPayload, attribute: string): Array<{ entity: TrackedEntity; type: string; value: string }> {
  return list<TrackedEntity>(payload.trackedEntities)
    .filter((entity) => !entity.trackedEntity)
    .map((entity) => ({ entity, type: String(entity.trackedEntityType ?? ''), value: uniqueValueOf(entity, attribute) }))
    .filter((lookup): lookup is { entity: TrackedEntity; type: string; value: string } => Boolean(lookup.value && lookup.type));
}

/**
 * Keys a message claims for the objects it would create for a tracked entity it looks up: the
 * person when not found, or (for a found person) each program it enrolls them in anew.
 */
function creationsOf(lookup: { entity: TrackedEntity; type: string; value: string }, existing: FoundTrackedEntity | undefined): string[] {
  if (!existing) return [`${lookup.type}|${lookup.value}`];
  return list<TrackerEnrollment>(lookup.entity.enrollments)
    .filter((enrollment) => !enrollment.enrollment && !existing.enrollments.some((candidate) => candidate.program === enrollment.program && candidate.status === 'ACTIVE'))
    .map((enrollment) => `${existing.trackedEntity}|${String(enrollment.program)}`);
}

/**
 * Looks up the batch's unique values at once (one search per tracked entity type and 50 values).
 * Every message about a found person goes into this batch's import. A message that would create
 * what an earlier message of the batch creates (the same new person, or a found person's new
 * enrollment in the same program) waits for the next batch, where the look-up finds it.
 */
async function resolveExisting(client: Dhis2Client, items: BatchItem[], settings: TrackerWriteSettings): Promise<Map<BatchItem, Map<TrackedEntity, FoundTrackedEntity>>> {
  const attribute = settings.uniqueAttribute;
  const result = new Map<BatchItem, Map<TrackedEntity, FoundTrackedEntity>>();
  if (!attribute) return result;
  const wanted = new Map<string, Set<string>>();
  for (const lookup of items.flatMap((item) => lookupsOf(item.payload, attribute))) {
    if (!wanted.has(lookup.type)) wanted.set(lookup.type, new Set());
    wanted.get(lookup.type)!.add(lookup.value);
  }
  const byValue = new Map<string, FoundTrackedEntity[]>();
  for (const [type, values] of wanted) {
    const found = await client.findByAttribute(type, attribute, [...values], { signal: settings.signal });
    for (const entity of found) {
      const value = entity.attributes.find((item) => item.attribute === attribute)?.value;
      if (value === undefined) continue;
      const key = `${type}|${value}`;
      byValue.set(key, [...(byValue.get(key) ?? []), entity]);
    }
  }
  const claimed = new Set<string>();
  for (const item of items) {
    const matches = new Map<TrackedEntity, FoundTrackedEntity>();
    const creations: string[] = [];
    for (const lookup of lookupsOf(item.payload, attribute)) {
      const candidates = byValue.get(`${lookup.type}|${lookup.value}`) ?? [];
      if (candidates.length > 1) {
        item.outcome = {
          error: new IntegrationError(`dhis2: ${candidates.length} tracked entities share the unique attribute ${attribute}; refusing to guess (${candidates.map((c) => c.trackedEntity).join(', ')})`, {
            code: 'conflict', retryable: false, system: 'dhis2', field: 'msg.payload.trackedEntities',
          }),
          journal: [],
        };
        break;
      }
      if (candidates.length === 1) matches.set(lookup.entity, candidates[0]);
      creations.push(...creationsOf(lookup, candidates[0]));
    }
    if (item.outcome) continue;
    if (creations.some((key) => claimed.has(key))) {
      item.outcome = { defer: true };
      continue;
    }
    for (const key of creations) claimed.add(key);
    result.set(item, matches);
  }
  return result;
}

/**
 * Several messages of a batch may update the same found person. Each message's rollback state
 * is the person as the earlier messages left them, and the legacy API (which replaces the whole
 * attribute set) gets the earlier messages' attributes too.
 */
function chainFoundAttributes(prepared: PreparedMessage[]): void {
  const written = new Map<string, Attribute[]>();
  for (const message of prepared) {
    for (const entity of message.flat.trackedEntities) {
      const uid = String(entity.trackedEntity);
      const found = message.found.get(uid);
      const planned = message.objects.find((object) => object.type === 'trackedEntity' && object.uid === uid && object.origin === 'existing');
      if (!found || !planned?.before) continue;
      const earlier = written.get(uid);
      if (earlier) {
        const attributes = mergeAttributes(found.attributes, earlier).map((item) => ({ attribute: item.attribute, value: String(item.value) }));
        message.found.set(uid, { ...found, attributes });
        planned.before.attributes = attributes;
      }
      const enrollmentAttributes = message.flat.enrollments.filter((enrollment) => enrollment.trackedEntity === uid).flatMap((enrollment) => list<Attribute>(enrollment.attributes));
      written.set(uid, mergeAttributes(earlier ?? [], mergeAttributes(list<Attribute>(entity.attributes), enrollmentAttributes)));
    }
  }
}

/** One object per tracked entity: the same person sent by several messages is merged in message order. */
function mergeTrackedEntities(entities: TrackedEntity[]): TrackedEntity[] {
  const byUid = new Map<string, TrackedEntity>();
  for (const entity of entities) {
    const uid = String(entity.trackedEntity);
    const earlier = byUid.get(uid);
    byUid.set(uid, earlier ? { ...earlier, ...entity, attributes: mergeAttributes(list<Attribute>(earlier.attributes), list<Attribute>(entity.attributes)) } : entity);
  }
  return [...byUid.values()];
}

/** Standalone events that name a tracked entity but no enrollment get its active enrollment in their program. */
async function attachActiveEnrollments(client: Dhis2Client, payload: TrackerPayload, signal?: AbortSignal): Promise<void> {
  for (const [index, event] of list<TrackerEvent>(payload.events).entries()) {
    if (event.enrollment || !event.trackedEntity) continue;
    if (!event.program) throw badInput(`msg.payload.events[${index}] names a tracked entity but no enrollment: it needs a program to find the enrollment`, `msg.payload.events[${index}].program`);
    const enrollment = await client.activeEnrollment(event.trackedEntity, event.program, { signal });
    if (!enrollment) {
      throw new IntegrationError(`dhis2: tracked entity ${event.trackedEntity} has no active enrollment in program ${event.program}`, { code: 'not-found', retryable: false, system: 'dhis2', field: `msg.payload.events[${index}].trackedEntity` });
    }
    event.enrollment = enrollment;
  }
}

function failure(lines: string[], details: unknown): IntegrationError {
  const shown = lines.slice(0, 5).join('; ') + (lines.length > 5 ? `; and ${lines.length - 5} more` : '');
  return new IntegrationError(`dhis2 rejected the import: ${shown}`, { code: 'validation', retryable: false, system: 'dhis2', remote: { summary: shown, details } });
}

function resultOf(prepared: PreparedMessage, actions: Map<string, ObjectResult['action']>): TrackerResult {
  const objects = prepared.objects.map((object) => ({ type: object.type, uid: object.uid, action: actions.get(keyOf(TYPE_OF[object.type], object.uid)) ?? (object.origin === 'reused' ? 'reused' : 'written') }));
  return {
    status: 'OK',
    trackedEntity: objects.find((o) => o.type === 'trackedEntity')?.uid,
    enrollment: objects.find((o) => o.type === 'enrollment')?.uid,
    events: objects.filter((o) => o.type === 'event').map((o) => o.uid),
    objects,
  };
}

function journalEntry(object: PlannedObject, action: 'created' | 'updated', settings: TrackerWriteSettings, mode: string): JournalEntry {
  const entry: JournalEntry = { system: 'dhis2', resource: object.type, id: object.uid, action, configId: settings.configId, detail: { mode } };
  if (action === 'updated' && object.before) entry.before = object.before;
  return entry;
}

/**
 * What each of a message's objects was, given what the server persisted. An object whose UID
 * the message brought is "created" only when the report shows that none of its type was an update.
 */
function settle(prepared: PreparedMessage, persisted: (object: PlannedObject) => boolean, createdOnly: (type: TrackerType) => boolean, settings: TrackerWriteSettings, mode: string): { actions: Map<string, ObjectResult['action']>; journal: JournalEntry[] } {
  const actions = new Map<string, ObjectResult['action']>();
  const journal: JournalEntry[] = [];
  for (const object of prepared.objects) {
    if (object.origin === 'reused' || !persisted(object)) continue;
    const key = keyOf(TYPE_OF[object.type], object.uid);
    if (object.origin === 'new' || (object.origin === 'unknown' && createdOnly(TYPE_OF[object.type]))) {
      actions.set(key, 'created');
      journal.push(journalEntry(object, 'created', settings, mode));
    } else if (object.origin === 'existing') {
      actions.set(key, 'updated');
      journal.push(journalEntry(object, 'updated', settings, mode));
    }
  }
  return { actions, journal };
}

const MAX_ALL_ROUNDS = 3;

/** One POST /api/tracker for the prepared items, each item's outcome set from the report. */
async function importTrackerRound(client: Dhis2Client, items: BatchItem[], settings: TrackerWriteSettings): Promise<BatchItem[]> {
  const merged: FlatPayload = { trackedEntities: [], enrollments: [], events: [] };
  for (const item of items) {
    merged.trackedEntities.push(...item.prepared!.flat.trackedEntities);
    merged.enrollments.push(...item.prepared!.flat.enrollments);
    merged.events.push(...item.prepared!.flat.events);
  }
  const payload: TrackerPayload = {};
  if (merged.trackedEntities.length) payload.trackedEntities = mergeTrackedEntities(merged.trackedEntities);
  if (merged.enrollments.length) payload.enrollments = merged.enrollments;
  if (merged.events.length) payload.events = merged.events;
  // Every object has its UID and the strategy is CREATE_AND_UPDATE: re-sending after a timeout is safe.
  const report: ImportReport = await client.importTracker(payload, { atomicMode: settings.atomicMode, importStrategy: 'CREATE_AND_UPDATE', idempotent: true, signal: settings.signal });
  const errors = new Map<string, TrackerErrorReport[]>();
  for (const error of importReportErrors(report)) {
    const key = keyOf(error.trackerType, error.uid);
    errors.set(key, [...(errors.get(key) ?? []), error]);
  }
  const typeReports = report.bundleReport?.typeReportMap ?? {};
  const persistedKeys = new Set<string>();
  for (const [type, typeReport] of Object.entries(typeReports)) {
    for (const object of typeReport?.objectReports ?? []) persistedKeys.add(keyOf(type as TrackerType, object.uid));
  }
  const createdOnly = (type: TrackerType): boolean => (typeReports[type]?.stats?.updated ?? 1) === 0;
  const wholeBatchRejected = report.status === 'ERROR' && settings.atomicMode === 'ALL';
  const again: BatchItem[] = [];
  for (const item of items) {
    const prepared = item.prepared!;
    const own = prepared.objects.flatMap((object) => errors.get(keyOf(TYPE_OF[object.type], object.uid)) ?? []);
    if (wholeBatchRejected && own.length === 0) {
      again.push(item);
      continue;
    }
    const { actions, journal } = settle(prepared, (object) => persistedKeys.has(keyOf(TYPE_OF[object.type], object.uid)), createdOnly, settings, 'tracker');
    item.outcome = own.length ? { error: failure(own.map(describeErrorReport), own), journal } : { result: resultOf(prepared, actions), journal };
  }
  return again;
}

// ---- legacy (2.3x) ----

function legacyEvent(event: TrackerEvent): Json {
  const { occurredAt, scheduledAt, trackedEntity, createdAt: _c, updatedAt: _u, ...rest } = event;
  const out: Json = { ...rest };
  if (occurredAt !== undefined) out.eventDate = occurredAt;
  if (scheduledAt !== undefined) out.dueDate = scheduledAt;
  if (trackedEntity !== undefined) out.trackedEntityInstance = trackedEntity;
  return out;
}

function legacyEnrollment(enrollment: TrackerEnrollment, events: TrackerEvent[]): Json {
  const { enrolledAt, occurredAt, trackedEntity, attributes: _a, ...rest } = enrollment;
  const out: Json = { ...rest, events: events.map(legacyEvent) };
  if (enrolledAt !== undefined) out.enrollmentDate = enrolledAt;
  out.incidentDate = occurredAt ?? enrolledAt;
  if (trackedEntity !== undefined) out.trackedEntityInstance = trackedEntity;
  return out;
}

/**
 * The legacy requests of one message: tracked entity instances with their new enrollments and
 * those enrollments' events nested, and events of existing enrollments separately. The legacy
 * API replaces a tracked entity's attribute set, so a found entity's other attributes are sent too.
 */
export function toLegacy(prepared: PreparedMessage): { trackedEntityInstances: Json[]; events: Json[] } {
  const { flat } = prepared;
  const enrollmentUids = new Set(flat.enrollments.map((e) => e.enrollment));
  const trackedEntityInstances = flat.trackedEntities.map((entity) => {
    const { trackedEntity, attributes, ...rest } = entity;
    const own = flat.enrollments.filter((e) => e.trackedEntity === trackedEntity);
    const enrollmentAttributes = own.flatMap((e) => list<Attribute>(e.attributes));
    const existing = prepared.found.get(String(trackedEntity));
    const merged = mergeAttributes(existing?.attributes ?? [], mergeAttributes(list<Attribute>(attributes), enrollmentAttributes));
    return {
      ...rest,
      trackedEntityInstance: trackedEntity,
      attributes: merged,
      enrollments: own.map((e) => legacyEnrollment(e, flat.events.filter((event) => event.enrollment === e.enrollment))),
    };
  });
  const orphan = flat.enrollments.find((e) => !flat.trackedEntities.some((entity) => entity.trackedEntity === e.trackedEntity));
  if (orphan) throw badInput('legacy mode: an enrollment must be sent inside its tracked entity', 'msg.payload.enrollments');
  const events = flat.events.filter((event) => !enrollmentUids.has(event.enrollment)).map(legacyEvent);
  return { trackedEntityInstances, events };
}

function topSummaries(body: unknown): unknown[] {
  const root = isObject(body) && isObject(body.response) ? body.response : body;
  if (isObject(root) && root.responseType === 'ImportSummary') return [root];
  return isObject(root) && Array.isArray(root.importSummaries) ? root.importSummaries : [];
}

async function importLegacy(client: Dhis2Client, items: BatchItem[], settings: TrackerWriteSettings): Promise<void> {
  const requests = new Map<BatchItem, { trackedEntityInstances: Json[]; events: Json[] }>();
  for (const item of items) {
    try {
      requests.set(item, toLegacy(item.prepared!));
    } catch (error) {
      item.outcome = { error: isIntegrationError(error) ? error : failure([String(error)], undefined), journal: [] };
    }
  }
  const nodes = new Map<BatchItem, LegacySummaryNode[]>();
  const run = async (kind: 'trackedEntity' | 'event', pick: (request: { trackedEntityInstances: Json[]; events: Json[] }) => Json[]): Promise<void> => {
    const owners: BatchItem[] = [];
    const bodies: Json[] = [];
    for (const [item, request] of requests) {
      if (item.outcome) continue;
      for (const body of pick(request)) {
        owners.push(item);
        bodies.push(body);
      }
    }
    if (bodies.length === 0) return;
    const answer = kind === 'trackedEntity'
      ? await client.importLegacyTrackedEntities(bodies, { idempotent: true, signal: settings.signal })
      : await client.importLegacyEvents(bodies, { idempotent: true, signal: settings.signal });
    // Top-level summaries follow the order of what was sent; nested ones belong to their parent's message.
    topSummaries(answer).forEach((summary, index) => {
      const owner = owners[index];
      if (!owner) return;
      nodes.set(owner, [...(nodes.get(owner) ?? []), ...walkImportSummaries(summary, kind)]);
    });
  };
  await run('trackedEntity', (request) => request.trackedEntityInstances);
  // Events of existing enrollments go after the tracked entities, and not for a message that already failed.
  for (const [item, found] of nodes) {
    if (found.some((node) => node.status === 'ERROR')) item.outcome = { error: failure(found.filter((n) => n.status === 'ERROR').map(describeLegacySummary), found), journal: [] };
  }
  await run('event', (request) => request.events);
  for (const item of items) {
    const found = nodes.get(item) ?? [];
    const byKey = new Map(found.filter((node) => node.reference).map((node) => [keyOf(TYPE_OF[node.kind], node.reference!), node]));
    const persisted = (object: PlannedObject): boolean => {
      const node = byKey.get(keyOf(TYPE_OF[object.type], object.uid));
      return Boolean(node && node.status !== 'ERROR' && (node.imported || node.updated));
    };
    const createdOnly = (type: TrackerType): boolean => found.every((node) => TYPE_OF[node.kind] !== type || !node.updated);
    const { actions, journal } = settle(item.prepared!, persisted, createdOnly, settings, 'legacy');
    const errors = found.filter((node) => node.status === 'ERROR');
    if (item.outcome && 'error' in item.outcome) {
      item.outcome = { error: item.outcome.error, journal };
    } else if (!item.outcome) {
      item.outcome = errors.length ? { error: failure(errors.map(describeLegacySummary), errors), journal } : { result: resultOf(item.prepared!, actions), journal };
    }
  }
}

/**
 * Imports a batch of messages' payloads as one request (two in legacy mode) and answers each.
 * With atomicMode ALL, one invalid object rejects the whole request: the messages with errors
 * fail and the others are imported again without them (up to three rounds).
 */
export async function writeTrackerBatch(client: Dhis2Client, payloads: TrackerPayload[], settings: TrackerWriteSettings): Promise<TrackerOutcome[]> {
  const items: BatchItem[] = payloads.map((payload) => ({ payload }));
  const found = await resolveExisting(client, items, settings);
  for (const item of items) {
    if (item.outcome) continue;
    try {
      await attachActiveEnrollments(client, item.payload, settings.signal);
      item.prepared = prepareMessage(item.payload, found.get(item) ?? new Map(), settings.uidKeyOf?.(item.payload));
    } catch (error) {
      if (!isIntegrationError(error) || error.code !== 'bad-input' && error.code !== 'not-found') throw error;
      item.outcome = { error, journal: [] };
    }
  }
  let pending = items.filter((item) => !item.outcome);
  chainFoundAttributes(pending.map((item) => item.prepared!));
  if (client.mode === 'legacy') {
    if (pending.length) await importLegacy(client, pending, settings);
  } else {
    for (let round = 0; pending.length && round < MAX_ALL_ROUNDS; round += 1) pending = await importTrackerRound(client, pending, settings);
    for (const item of pending) {
      item.outcome = { error: new IntegrationError('dhis2 rejected the batch (atomicMode ALL) and no message could be singled out', { code: 'validation', retryable: false, system: 'dhis2' }), journal: [] };
    }
  }
  return items.map((item) => item.outcome ?? { error: new IntegrationError('dhis2: no outcome', { code: 'remote-error', system: 'dhis2' }), journal: [] });
}
