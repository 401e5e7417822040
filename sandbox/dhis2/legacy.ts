/**
 * The legacy tracker API of DHIS2 2.3x (deprecated in 2.41, removed in 2.42):
 * /api/trackedEntityInstances and /api/events with ImportSummaries answers.
 *
 * Its notorious behaviour is reproduced on purpose: a tracked entity instance import answers
 * HTTP 200 "Import was successful." while an enrollment or event nested in it failed, visible
 * only as status ERROR deep inside the ImportSummary.
 */
import { dhis2Uid, type SandboxApp, type SandboxRequest, type SandboxResponse } from '../core';
import { currentUser } from './auth';
import { parseFields, selectFields } from './fields';
import { firstParam, listParam, orgUnitScope, pageCount, pageOf, pagingParams } from './query';
import { Renderer } from './render';
import { searchTrackedEntities } from './search';
import type { SandboxUser } from './seed';
import { CATEGORY_OPTION_COMBO_DEFAULT, CATEGORY_OPTION_DEFAULT } from './seed';
import type { Dhis2Store, Enrollment, EnrollmentStatus, EventStatus, TrackedEntity, TrackerEvent } from './store';
import { isUid, normaliseTimestamp, now, valueTypeError } from './values';
import { booleanParam, enumParam, guarded, respond, webMessage } from './web-message';

type Json = Record<string, unknown>;
type Status = 'SUCCESS' | 'WARNING' | 'ERROR';
type Strategy = 'CREATE' | 'UPDATE' | 'CREATE_AND_UPDATE';

interface ImportCount { imported: number; updated: number; ignored: number; deleted: number }
interface Conflict { object: string; value: string }

export interface ImportSummary {
  responseType: 'ImportSummary';
  status: Status;
  importOptions?: Json;
  description?: string;
  importCount: ImportCount;
  conflicts?: Conflict[];
  reference?: string;
  href?: string;
  enrollments?: ImportSummaries;
  relationships?: ImportSummaries;
  events?: ImportSummaries;
}

export interface ImportSummaries {
  responseType: 'ImportSummaries';
  status: Status;
  importOptions?: Json;
  imported: number;
  updated: number;
  deleted: number;
  ignored: number;
  total: number;
  importSummaries?: ImportSummary[];
}

const RANK: Record<Status, number> = { SUCCESS: 0, WARNING: 1, ERROR: 2 };
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((item): item is Json => typeof item === 'object' && item !== null) : []);

function importOptions(strategy: Strategy, dryRun: boolean): Json {
  return {
    idSchemes: {}, dryRun, async: false, importStrategy: strategy, mergeMode: 'REPLACE', reportMode: 'FULL',
    skipExistingCheck: false, sharing: false, skipNotifications: false, skipAudit: false, datasetAllowsPeriods: false,
    strictPeriods: false, strictDataElements: false, strictCategoryOptionCombos: false, strictAttributeOptionCombos: false,
    strictOrganisationUnits: false, requireCategoryOptionCombo: false, requireAttributeOptionCombo: false,
    skipPatternValidation: false, ignoreEmptyCollection: false, force: false, firstRowIsHeader: true, skipLastUpdated: false,
  };
}

/** An ImportSummaries container; its status is the worst of its children, its counts their sum. */
function summaries(children: ImportSummary[]): ImportSummaries {
  const container: ImportSummaries = { responseType: 'ImportSummaries', status: 'SUCCESS', imported: 0, updated: 0, deleted: 0, ignored: 0, total: children.length };
  for (const child of children) {
    container.imported += child.importCount.imported;
    container.updated += child.importCount.updated;
    container.deleted += child.importCount.deleted;
    container.ignored += child.importCount.ignored;
    if (RANK[child.status] > RANK[container.status]) container.status = child.status;
  }
  if (children.length > 0) container.importSummaries = children;
  return container;
}

function failed(description: string, reference?: string, conflicts: Conflict[] = []): ImportSummary {
  return {
    responseType: 'ImportSummary',
    status: 'ERROR',
    description,
    importCount: { imported: 0, updated: 0, ignored: 1, deleted: 0 },
    ...(conflicts.length > 0 ? { conflicts } : {}),
    ...(reference ? { reference } : {}),
  };
}

function succeeded(reference: string, updated: boolean): ImportSummary {
  return { responseType: 'ImportSummary', status: 'SUCCESS', importCount: { imported: updated ? 0 : 1, updated: updated ? 1 : 0, ignored: 0, deleted: 0 }, reference };
}

/** The WebMessage around ImportSummaries: 409 only when top-level objects were ignored. */
function summariesMessage(container: ImportSummaries): SandboxResponse {
  if (container.ignored > 0) return { status: 409, body: webMessage(409, 'WARNING', 'One more conflicts encountered, please check import summary.', container) };
  if (container.status === 'ERROR') return { status: 409, body: webMessage(409, 'ERROR', 'An error occurred, please check import summary.', container) };
  return { status: 200, body: webMessage(200, 'OK', 'Import was successful.', container) };
}

function summaryMessage(summary: ImportSummary): SandboxResponse {
  if (summary.status === 'ERROR') return { status: 409, body: webMessage(409, 'ERROR', 'An error occurred, please check import summary.', summary) };
  if (summary.conflicts?.length) return { status: 409, body: webMessage(409, 'WARNING', 'One more conflicts encountered, please check import summary.', summary) };
  return { status: 200, body: webMessage(200, 'OK', 'Import was successful.', summary) };
}

class LegacyImporter {
  private readonly at = now();

  constructor(private readonly store: Dhis2Store, private readonly user: SandboxUser, private readonly strategy: Strategy, private readonly origin: string) {}

  private inScope(orgUnit: string): boolean {
    return this.user.organisationUnits.some((root) => this.store.metadata.isWithin(orgUnit, root));
  }

  trackedEntityInstance(data: Json, forcedUid?: string): ImportSummary {
    const { metadata } = this.store;
    const uid = forcedUid ?? str(data.trackedEntityInstance) ?? dhis2Uid();
    if (!isUid(uid)) return failed(`Invalid trackedEntityInstance uid: ${uid}`, uid);
    const existing = this.store.trackedEntities.get(uid);
    if (existing?.deleted) return failed(`Tracked entity instance ${uid} is already deleted and cannot be updated`, uid);
    if (existing && this.strategy === 'CREATE') return failed(`Tracked entity instance ${uid} already exists`, uid);
    if (!existing && this.strategy === 'UPDATE') return failed(`Tracked entity instance ${uid} does not exist`, uid);
    const type = str(data.trackedEntityType) ?? str(data.trackedEntity) ?? existing?.trackedEntityType;
    if (!type || !metadata.trackedEntityTypes.has(type)) return failed(`Invalid trackedEntityType ${type ?? 'null'}`, uid);
    const orgUnit = str(data.orgUnit);
    if (!orgUnit || !metadata.orgUnits.has(orgUnit)) return failed(`Invalid org unit ID: ${orgUnit ?? 'null'}`, uid);
    if (!this.inScope(orgUnit)) return failed(`User has no write access to organisation unit: ${orgUnit}`, uid);
    const attributes = list(data.attributes);
    const conflicts = this.attributeConflicts(uid, attributes);
    if (conflicts.length > 0) return failed('Attribute validation failed', uid, conflicts);

    const entity: TrackedEntity = existing ?? {
      uid, seq: this.store.nextSequence(), trackedEntityType: type, orgUnit, createdAt: this.at,
      createdAtClient: normaliseTimestamp(data.createdAtClient) ?? this.at, updatedAt: this.at, updatedAtClient: this.at,
      storedBy: this.user.username, inactive: false, deleted: false, potentialDuplicate: false,
      attributes: new Map(), enrollments: [], programOwners: new Map(),
    };
    entity.orgUnit = orgUnit;
    entity.inactive = data.inactive === true;
    entity.updatedAt = this.at;
    entity.updatedAtClient = normaliseTimestamp(data.lastUpdatedAtClient) ?? this.at;
    this.store.trackedEntities.set(uid, entity);
    // The legacy API replaces the attribute set: values missing from the payload are removed.
    const kept = new Set(attributes.map((item) => String(item.attribute)));
    for (const attribute of [...entity.attributes.keys()]) if (!kept.has(attribute)) this.store.setAttribute(entity, attribute, undefined, this.user.username, this.at);
    for (const item of attributes) this.store.setAttribute(entity, String(item.attribute), item.value == null ? undefined : String(item.value), this.user.username, this.at);

    const summary = succeeded(uid, Boolean(existing));
    summary.href = `${this.origin}/api/trackedEntityInstances/${uid}`;
    summary.enrollments = summaries(list(data.enrollments).map((enrollment) => this.enrollment(enrollment, entity)));
    summary.relationships = summaries([]);
    return summary;
  }

  private attributeConflicts(trackedEntity: string, attributes: Json[]): Conflict[] {
    const conflicts: Conflict[] = [];
    for (const item of attributes) {
      const uid = str(item.attribute);
      const attribute = uid ? this.store.metadata.attributes.get(uid) : undefined;
      if (!uid || !attribute) {
        conflicts.push({ object: 'Attribute.attribute', value: `Invalid attribute ${uid ?? 'null'}` });
        continue;
      }
      const value = item.value == null ? '' : String(item.value);
      if (value === '') continue;
      const problem = valueTypeError(attribute.valueType, value);
      if (problem) conflicts.push({ object: 'Attribute.value', value: `Value '${value}' is not valid for attribute ${uid}: ${problem}` });
      else if (attribute.unique) {
        const owner = this.store.uniqueOwner(uid, value);
        if (owner && owner !== trackedEntity) conflicts.push({ object: 'Attribute.value', value: `Non-unique attribute value '${value}' for attribute ${uid}` });
      }
    }
    return conflicts;
  }

  private enrollment(data: Json, entity: TrackedEntity): ImportSummary {
    const { metadata } = this.store;
    const uid = str(data.enrollment) ?? dhis2Uid();
    const programUid = str(data.program);
    const program = programUid ? metadata.programs.get(programUid) : undefined;
    if (!program) return failed(`Program ${programUid ?? 'null'} does not point to a valid program`, uid);
    const orgUnit = str(data.orgUnit) ?? entity.orgUnit;
    if (!metadata.orgUnits.has(orgUnit)) return failed(`Invalid org unit ID: ${orgUnit}`, uid);
    if (!metadata.programOrgUnits.get(program.id)?.has(orgUnit)) return failed(`Program is not assigned to this Organisation Unit: ${orgUnit}`, uid);
    const existing = this.store.enrollments.get(uid);
    if (existing?.deleted) return failed(`Enrollment ${uid} is already deleted and cannot be updated`, uid);
    const enrolledAt = normaliseTimestamp(data.enrollmentDate) ?? (existing ? existing.enrolledAt : undefined);
    if (!enrolledAt) return failed('Enrollment date is required', uid, [{ object: 'Enrollment.enrollmentDate', value: 'Enrollment date is required' }]);
    const mandatory = [...(metadata.programAttributes.get(program.id)?.values() ?? [])].filter((ptea) => ptea.mandatory && !entity.attributes.has(ptea.trackedEntityAttribute.id));
    if (mandatory.length > 0) {
      return failed('Missing mandatory attributes', uid, mandatory.map((ptea) => ({ object: 'Attribute.attribute', value: `Missing mandatory attribute ${ptea.trackedEntityAttribute.id}` })));
    }
    const status = (str(data.status) ?? existing?.status ?? 'ACTIVE') as EnrollmentStatus;
    const active = entity.enrollments.some((other) => {
      const enrollment = this.store.enrollments.get(other);
      return other !== uid && enrollment && !enrollment.deleted && enrollment.program === program.id && enrollment.status === 'ACTIVE';
    });
    if (!existing && status === 'ACTIVE' && active) return failed(`TrackedEntityInstance ${entity.uid} already has an active enrollment in program ${program.id}`, uid);

    const enrollment: Enrollment = {
      uid, trackedEntity: entity.uid, program: program.id, status, orgUnit, enrolledAt,
      occurredAt: normaliseTimestamp(data.incidentDate) ?? existing?.occurredAt ?? enrolledAt,
      createdAt: existing?.createdAt ?? this.at, createdAtClient: existing?.createdAtClient ?? this.at,
      updatedAt: this.at, updatedAtClient: this.at, storedBy: existing?.storedBy ?? this.user.username,
      followUp: data.followup === true, deleted: false, notes: existing?.notes ?? [], events: existing?.events ?? [],
    };
    if (status === 'COMPLETED') enrollment.completedAt = existing?.completedAt ?? this.at;
    this.store.enrollments.set(uid, enrollment);
    if (!entity.enrollments.includes(uid)) entity.enrollments.push(uid);
    if (!entity.programOwners.has(program.id)) entity.programOwners.set(program.id, orgUnit);
    const summary = succeeded(uid, Boolean(existing));
    summary.events = summaries(list(data.events).map((event) => this.event({ ...event, program: program.id, enrollment: uid, trackedEntityInstance: entity.uid })));
    return summary;
  }

  event(data: Json): ImportSummary {
    const { metadata } = this.store;
    const uid = str(data.event) ?? dhis2Uid();
    if (!isUid(uid)) return failed(`Invalid event uid: ${uid}`, uid);
    const existing = this.store.events.get(uid);
    if (existing?.deleted) return failed(`Event ID ${uid} was already used and/or deleted. This event can not be modified.`, uid);
    const programUid = str(data.program);
    const program = programUid ? metadata.programs.get(programUid) : undefined;
    if (!program) return failed(`Event.program does not point to a valid program: ${programUid ?? 'null'}`, uid);
    const stageUid = str(data.programStage);
    const stage = stageUid ? metadata.programStages.get(stageUid) : undefined;
    if (!stage || stage.program.id !== program.id) return failed(`Event.programStage does not point to a valid programStage: ${stageUid ?? 'null'}`, uid);
    const orgUnit = str(data.orgUnit);
    if (!orgUnit || !metadata.orgUnits.has(orgUnit)) return failed(`Event.orgUnit does not point to a valid organisation unit: ${orgUnit ?? 'null'}`, uid);
    if (!this.inScope(orgUnit)) return failed(`User has no write access to organisation unit: ${orgUnit}`, uid);
    const status = (str(data.status) ?? 'ACTIVE') as EventStatus;
    const eventDate = normaliseTimestamp(data.eventDate);
    const dueDate = normaliseTimestamp(data.dueDate);
    if (status !== 'SCHEDULE' && !eventDate) return failed('Event date is required. ', uid, [{ object: 'Event.eventDate', value: 'Event date is required. ' }]);
    const enrollment = this.eventEnrollment(data, program.id);
    if (typeof enrollment === 'string') return failed(enrollment, uid);

    const stageElements = metadata.stageDataElements.get(stage.id) ?? new Map();
    const conflicts: Conflict[] = [];
    for (const item of list(data.dataValues)) {
      const dataElement = str(item.dataElement);
      const definition = dataElement ? metadata.dataElements.get(dataElement) : undefined;
      if (!dataElement || !definition) {
        conflicts.push({ object: dataElement ?? 'dataElement', value: `Data element ${dataElement ?? 'null'} is not a valid data element` });
        continue;
      }
      if (!stageElements.has(dataElement)) {
        conflicts.push({ object: dataElement, value: `Data element ${dataElement} is not assigned to program stage ${stage.id}` });
        continue;
      }
      const value = item.value == null ? '' : String(item.value);
      const problem = value === '' ? undefined : valueTypeError(definition.valueType, value);
      if (problem) conflicts.push({ object: dataElement, value: problem });
    }
    if (conflicts.length > 0) return failed('Event validation failed', uid, conflicts);

    const dataValues = existing?.dataValues ?? new Map();
    for (const item of list(data.dataValues)) {
      const dataElement = String(item.dataElement);
      const value = item.value == null ? '' : String(item.value);
      const previous = dataValues.get(dataElement);
      if (value === '') dataValues.delete(dataElement);
      else dataValues.set(dataElement, { value, createdAt: previous?.createdAt ?? this.at, updatedAt: this.at, storedBy: this.user.username, providedElsewhere: item.providedElsewhere === true });
    }
    const event: TrackerEvent = {
      uid, program: program.id, programStage: stage.id, enrollment: enrollment?.uid ?? '', trackedEntity: enrollment?.trackedEntity ?? '',
      orgUnit, status, occurredAt: eventDate, scheduledAt: dueDate ?? existing?.scheduledAt ?? eventDate,
      createdAt: existing?.createdAt ?? this.at, createdAtClient: existing?.createdAtClient ?? this.at, updatedAt: this.at, updatedAtClient: this.at,
      storedBy: existing?.storedBy ?? str(data.storedBy) ?? this.user.username, followUp: false, deleted: false,
      attributeOptionCombo: CATEGORY_OPTION_COMBO_DEFAULT, attributeCategoryOptions: CATEGORY_OPTION_DEFAULT,
      dataValues, notes: existing?.notes ?? [],
    };
    if (status === 'COMPLETED') {
      event.completedAt = normaliseTimestamp(data.completedDate) ?? existing?.completedAt ?? this.at;
      event.completedBy = existing?.completedBy ?? this.user.username;
    }
    this.store.events.set(uid, event);
    if (enrollment && !enrollment.events.includes(uid)) enrollment.events.push(uid);
    const summary = succeeded(uid, Boolean(existing));
    summary.href = `${this.origin}/api/events/${uid}`;
    return summary;
  }

  /** The enrollment an event belongs to, or the legacy error message explaining why there is none. */
  private eventEnrollment(data: Json, program: string): Enrollment | undefined | string {
    if (this.store.metadata.programs.get(program)?.programType !== 'WITH_REGISTRATION') return undefined;
    const enrollmentUid = str(data.enrollment);
    if (enrollmentUid) {
      const enrollment = this.store.enrollments.get(enrollmentUid);
      if (!enrollment || enrollment.deleted) return `Event.enrollment does not point to a valid enrollment: ${enrollmentUid}`;
      return enrollment;
    }
    const teiUid = str(data.trackedEntityInstance);
    const entity = teiUid ? this.store.trackedEntities.get(teiUid) : undefined;
    if (!entity || entity.deleted) return `Event.trackedEntityInstance does not point to a valid tracked entity instance: ${teiUid ?? 'null'}`;
    const active = entity.enrollments.map((uid) => this.store.enrollments.get(uid))
      .find((enrollment) => enrollment && !enrollment.deleted && enrollment.program === program && enrollment.status === 'ACTIVE');
    return active ?? `Tracked entity instance: ${entity.uid} is not enrolled in program: ${program}`;
  }
}

export function legacyRoutes(app: SandboxApp, store: Dhis2Store): void {
  const renderer = new Renderer(store);
  const strategyOf = (req: SandboxRequest): Strategy => {
    const name = req.query.has('strategy') ? 'strategy' : 'importStrategy';
    return enumParam<Strategy>(req.query, name, ['CREATE', 'UPDATE', 'CREATE_AND_UPDATE'], 'CREATE_AND_UPDATE');
  };

  app.post('/api/trackedEntityInstances', guarded((req: SandboxRequest): SandboxResponse => {
    const body = (req.body ?? {}) as Json;
    const strategy = strategyOf(req);
    const importer = new LegacyImporter(store, currentUser(req), strategy, req.origin);
    const payloads = Array.isArray(body.trackedEntityInstances) ? list(body.trackedEntityInstances) : [body];
    const container = summaries(payloads.map((payload) => importer.trackedEntityInstance(payload)));
    container.importOptions = importOptions(strategy, false);
    return summariesMessage(container);
  }));

  app.put('/api/trackedEntityInstances/:uid', guarded((req: SandboxRequest): SandboxResponse => {
    const uid = req.params.uid;
    const importer = new LegacyImporter(store, currentUser(req), 'UPDATE', req.origin);
    const summary = importer.trackedEntityInstance((req.body ?? {}) as Json, uid);
    const withOptions: ImportSummary = { ...summary, importOptions: importOptions('CREATE_AND_UPDATE', false) };
    return summaryMessage(withOptions);
  }));

  app.get('/api/trackedEntityInstances', guarded((req: SandboxRequest): SandboxResponse => {
    const { query } = req;
    const paging = pagingParams(query);
    const found = searchTrackedEntities(store, currentUser(req), {
      program: firstParam(query, 'program'),
      trackedEntityType: firstParam(query, 'trackedEntityType', 'trackedEntity'),
      orgUnits: listParam(query, 'ou', 'orgUnit'),
      orgUnitMode: firstParam(query, 'ouMode'),
      trackedEntities: listParam(query, 'trackedEntityInstance'),
      filters: [...query.getAll('filter'), ...query.getAll('attribute').filter((item) => item.includes(':'))],
      updatedAfter: normaliseTimestamp(firstParam(query, 'lastUpdatedStartDate')),
      updatedBefore: normaliseTimestamp(firstParam(query, 'lastUpdatedEndDate')),
      enrollmentStatus: firstParam(query, 'programStatus'),
      includeDeleted: booleanParam(query, 'includeDeleted', false),
    });
    const fields = parseFields(query.get('fields') ?? '*,!enrollments,!relationships,!programOwners');
    const body: Json = {};
    if (paging.paged && paging.totalPages) {
      body.pager = { page: paging.page, pageCount: pageCount(found.length, paging.pageSize), total: found.length, pageSize: paging.pageSize };
    }
    body.trackedEntityInstances = pageOf(found, paging).map((entity) => selectFields(renderer.legacyTrackedEntityInstance(entity), fields));
    return { status: 200, body };
  }));

  app.get('/api/trackedEntityInstances/:uid', guarded((req: SandboxRequest): SandboxResponse => {
    const entity = store.trackedEntities.get(req.params.uid);
    if (!entity || entity.deleted) return respond(404, 'ERROR', `TrackedEntityInstance not found for uid: ${req.params.uid}`);
    const fields = parseFields(req.query.get('fields') ?? '*');
    return { status: 200, body: selectFields(renderer.legacyTrackedEntityInstance(entity), fields) };
  }));

  app.post('/api/events', guarded((req: SandboxRequest): SandboxResponse => {
    const body = (req.body ?? {}) as Json;
    const strategy = strategyOf(req);
    const importer = new LegacyImporter(store, currentUser(req), strategy, req.origin);
    const payloads = Array.isArray(body.events) ? list(body.events) : [body];
    const container = summaries(payloads.map((payload) => importer.event(payload)));
    container.importOptions = importOptions(strategy, false);
    return summariesMessage(container);
  }));

  app.get('/api/events', guarded((req: SandboxRequest): SandboxResponse => {
    const { query } = req;
    const paging = pagingParams(query);
    const program = firstParam(query, 'program');
    const programStage = firstParam(query, 'programStage');
    const trackedEntity = firstParam(query, 'trackedEntityInstance');
    const uids = new Set(listParam(query, 'event'));
    const status = firstParam(query, 'status')?.toUpperCase();
    const startDate = normaliseTimestamp(firstParam(query, 'startDate'));
    const endDate = normaliseTimestamp(firstParam(query, 'endDate'));
    const updatedAfter = normaliseTimestamp(firstParam(query, 'lastUpdatedStartDate'));
    const scope = orgUnitScope(store.metadata, currentUser(req), listParam(query, 'orgUnit'), firstParam(query, 'ouMode'), true);
    const found: TrackerEvent[] = [];
    for (const event of store.events.values()) {
      if (event.deleted) continue;
      if (program && event.program !== program) continue;
      if (programStage && event.programStage !== programStage) continue;
      if (trackedEntity && event.trackedEntity !== trackedEntity) continue;
      if (uids.size > 0 && !uids.has(event.uid)) continue;
      if (status && event.status !== status) continue;
      if (startDate && (!event.occurredAt || event.occurredAt < startDate)) continue;
      if (endDate && (!event.occurredAt || event.occurredAt > endDate)) continue;
      if (updatedAfter && event.updatedAt < updatedAfter) continue;
      if (scope && !scope.has(event.orgUnit)) continue;
      found.push(event);
    }
    found.reverse();
    const fields = parseFields(query.get('fields') ?? '*');
    const page = pageOf(found, paging);
    const body: Json = {};
    if (paging.paged) {
      body.pager = paging.totalPages
        ? { page: paging.page, pageCount: pageCount(found.length, paging.pageSize), total: found.length, pageSize: paging.pageSize }
        : { page: paging.page, pageSize: paging.pageSize, isLastPage: paging.page * paging.pageSize >= found.length };
    }
    body.events = page.map((event) => selectFields(renderer.legacyEvent(event), fields));
    return { status: 200, body };
  }));

  app.get('/api/events/:uid', guarded((req: SandboxRequest): SandboxResponse => {
    const event = store.events.get(req.params.uid);
    if (!event || event.deleted) return respond(404, 'ERROR', `Event not found for ID ${req.params.uid}`);
    const fields = parseFields(req.query.get('fields') ?? '*');
    return { status: 200, body: selectFields(renderer.legacyEvent(event), fields) };
  }));
}
