/**
 * The 2.40 tracker API: POST /api/tracker (sync and async jobs) and the /api/tracker exports.
 * Lists use the 2.40 envelope `{page, pageSize, total?, pageCount?, instances}`.
 */
import { dhis2Uid, type SandboxApp, type SandboxRequest, type SandboxResponse } from '../core';
import { currentUser } from './auth';
import { parseFields, selectFields } from './fields';
import { firstParam, listParam, orgUnitScope, pageCount, pageOf, pagingParams, type Paging } from './query';
import { Renderer } from './render';
import { searchTrackedEntities } from './search';
import type { Dhis2Store, Enrollment, TrackerEvent } from './store';
import { IMPORT_STRATEGIES, importTracker, type AtomicMode, type ImportReport } from './tracker-import';
import { normaliseTimestamp, now } from './values';
import { WebMessageError, booleanParam, enumParam, guarded, respond } from './web-message';

const TRACKED_ENTITY_DEFAULT_FIELDS = '*,!relationships,!enrollments,!events,!programOwners';
const ENROLLMENT_DEFAULT_FIELDS = '*,!relationships,!events,!attributes';
const EVENT_DEFAULT_FIELDS = '*,!relationships';

type ReportMode = 'FULL' | 'WARNINGS' | 'ERRORS';

/** Trims a report to a reportMode: only FULL carries the timings. */
function forReportMode(report: ImportReport, mode: ReportMode): ImportReport {
  if (mode === 'FULL') return report;
  const { timingsStats: _timings, ...rest } = report;
  return rest;
}

/** The 2.40 list envelope around one rendered page of a `total`-long result. */
function paged<T>(found: T[], paging: Paging, render: (item: T) => unknown): Record<string, unknown> {
  if (!paging.paged) return { instances: found.map(render) };
  const body: Record<string, unknown> = { page: paging.page, pageSize: paging.pageSize };
  if (paging.totalPages) {
    body.total = found.length;
    body.pageCount = pageCount(found.length, paging.pageSize);
  }
  body.instances = pageOf(found, paging).map(render);
  return body;
}

export function trackerRoutes(app: SandboxApp, store: Dhis2Store): void {
  const renderer = new Renderer(store);

  app.post('/api/tracker', guarded((req: SandboxRequest): SandboxResponse => {
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      return respond(400, 'ERROR', 'Request body must be a JSON object with trackedEntities, enrollments, events or relationships');
    }
    const options = {
      importStrategy: enumParam(req.query, 'importStrategy', IMPORT_STRATEGIES, 'CREATE_AND_UPDATE'),
      atomicMode: enumParam<AtomicMode>(req.query, 'atomicMode', ['ALL', 'OBJECT'], 'ALL'),
      commit: enumParam(req.query, 'importMode', ['COMMIT', 'VALIDATE'], 'COMMIT') === 'COMMIT',
      user: currentUser(req),
    };
    const reportMode = enumParam<ReportMode>(req.query, 'reportMode', ['FULL', 'WARNINGS', 'ERRORS'], 'ERRORS');
    const async = booleanParam(req.query, 'async', true);
    const report = importTracker(store, req.body, options);
    if (!async) return { status: report.status === 'ERROR' ? 409 : 200, body: forReportMode(report, reportMode) };
    const id = dhis2Uid();
    const time = now();
    const notification = (message: string, completed: boolean) => ({
      uid: dhis2Uid(), level: 'INFO', category: 'TRACKER_IMPORT_JOB', time, message, completed, id: dhis2Uid(),
    });
    const { stats } = report;
    store.addJob({
      id,
      report,
      notifications: [
        { ...notification(`Import complete with status ${report.status}, ${stats.created} created, ${stats.updated} updated, ${stats.deleted} deleted, ${stats.ignored} ignored`, true), uid: id, id },
        notification('Tracker import started', false),
      ],
    });
    return respond(200, 'OK', 'Tracker job added', { id, location: `${req.origin}/api/tracker/jobs/${id}` });
  }));

  app.get('/api/tracker/jobs/:id', (req) => {
    const job = store.jobs.get(req.params.id);
    return job ? { status: 200, body: job.notifications } : respond(404, 'ERROR', `Job with id ${req.params.id} could not be found.`);
  });

  app.get('/api/tracker/jobs/:id/report', guarded((req: SandboxRequest): SandboxResponse => {
    const job = store.jobs.get(req.params.id);
    if (!job) return respond(404, 'ERROR', `Job with id ${req.params.id} could not be found.`);
    const mode = enumParam<ReportMode>(req.query, 'reportMode', ['FULL', 'WARNINGS', 'ERRORS'], 'ERRORS');
    return { status: 200, body: forReportMode(job.report as ImportReport, mode) };
  }));

  app.get('/api/tracker/trackedEntities', guarded((req: SandboxRequest): SandboxResponse => {
    const { query } = req;
    const paging = pagingParams(query);
    const program = firstParam(query, 'program');
    const found = searchTrackedEntities(store, currentUser(req), {
      program,
      trackedEntityType: firstParam(query, 'trackedEntityType'),
      orgUnits: listParam(query, 'orgUnits', 'orgUnit'),
      orgUnitMode: firstParam(query, 'orgUnitMode', 'ouMode'),
      trackedEntities: listParam(query, 'trackedEntities', 'trackedEntity'),
      filters: query.getAll('filter'),
      updatedAfter: normaliseTimestamp(firstParam(query, 'updatedAfter')),
      updatedBefore: normaliseTimestamp(firstParam(query, 'updatedBefore')),
      enrollmentStatus: firstParam(query, 'enrollmentStatus', 'programStatus'),
      includeDeleted: booleanParam(query, 'includeDeleted', false),
    });
    const fields = parseFields(query.get('fields') ?? TRACKED_ENTITY_DEFAULT_FIELDS);
    return { status: 200, body: paged(found, paging, (entity) => selectFields(renderer.trackedEntity(entity, program), fields)) };
  }));

  app.get('/api/tracker/trackedEntities/:uid', guarded((req: SandboxRequest): SandboxResponse => {
    const entity = store.trackedEntities.get(req.params.uid);
    if (!entity || entity.deleted) return respond(404, 'ERROR', `TrackedEntity with id ${req.params.uid} could not be found.`);
    const program = firstParam(req.query, 'program');
    if (program && !store.metadata.programs.has(program)) return respond(404, 'ERROR', `Program with id ${program} could not be found.`);
    const fields = parseFields(req.query.get('fields') ?? TRACKED_ENTITY_DEFAULT_FIELDS);
    return { status: 200, body: selectFields(renderer.trackedEntity(entity, program), fields) };
  }));

  app.get('/api/tracker/enrollments', guarded((req: SandboxRequest): SandboxResponse => {
    const { query } = req;
    const paging = pagingParams(query);
    const program = firstParam(query, 'program');
    const trackedEntity = firstParam(query, 'trackedEntity');
    const uids = new Set(listParam(query, 'enrollments', 'enrollment'));
    const status = firstParam(query, 'status', 'programStatus')?.toUpperCase();
    const updatedAfter = normaliseTimestamp(firstParam(query, 'updatedAfter'));
    const includeDeleted = booleanParam(query, 'includeDeleted', false);
    const scope = orgUnitScope(store.metadata, currentUser(req), listParam(query, 'orgUnits', 'orgUnit'), firstParam(query, 'orgUnitMode', 'ouMode'), true);
    const found: Enrollment[] = [];
    for (const enrollment of store.enrollments.values()) {
      if (enrollment.deleted && !includeDeleted) continue;
      if (program && enrollment.program !== program) continue;
      if (trackedEntity && enrollment.trackedEntity !== trackedEntity) continue;
      if (uids.size > 0 && !uids.has(enrollment.uid)) continue;
      if (status && enrollment.status !== status) continue;
      if (updatedAfter && enrollment.updatedAt < updatedAfter) continue;
      if (scope && !scope.has(enrollment.orgUnit)) continue;
      found.push(enrollment);
    }
    found.reverse();
    const fields = parseFields(query.get('fields') ?? ENROLLMENT_DEFAULT_FIELDS);
    return { status: 200, body: paged(found, paging, (enrollment) => selectFields(renderer.enrollment(enrollment), fields)) };
  }));

  app.get('/api/tracker/enrollments/:uid', guarded((req: SandboxRequest): SandboxResponse => {
    const enrollment = store.enrollments.get(req.params.uid);
    if (!enrollment || enrollment.deleted) return respond(404, 'ERROR', `Enrollment with id ${req.params.uid} could not be found.`);
    const fields = parseFields(req.query.get('fields') ?? ENROLLMENT_DEFAULT_FIELDS);
    return { status: 200, body: selectFields(renderer.enrollment(enrollment), fields) };
  }));

  app.get('/api/tracker/events', guarded((req: SandboxRequest): SandboxResponse => {
    const { query } = req;
    const paging = pagingParams(query);
    const program = firstParam(query, 'program');
    const programStage = firstParam(query, 'programStage');
    const trackedEntity = firstParam(query, 'trackedEntity');
    const enrollments = new Set(listParam(query, 'enrollments', 'enrollment'));
    const uids = new Set(listParam(query, 'events', 'event'));
    const status = firstParam(query, 'status')?.toUpperCase();
    const occurredAfter = normaliseTimestamp(firstParam(query, 'occurredAfter'));
    const occurredBefore = normaliseTimestamp(firstParam(query, 'occurredBefore'));
    const updatedAfter = normaliseTimestamp(firstParam(query, 'updatedAfter'));
    const includeDeleted = booleanParam(query, 'includeDeleted', false);
    if (program && !store.metadata.programs.has(program)) throw new WebMessageError(400, `Program is specified but does not exist: ${program}`);
    const scope = orgUnitScope(store.metadata, currentUser(req), listParam(query, 'orgUnits', 'orgUnit'), firstParam(query, 'orgUnitMode', 'ouMode'), true);
    const found: TrackerEvent[] = [];
    for (const event of store.events.values()) {
      if (event.deleted && !includeDeleted) continue;
      if (program && event.program !== program) continue;
      if (programStage && event.programStage !== programStage) continue;
      if (trackedEntity && event.trackedEntity !== trackedEntity) continue;
      if (enrollments.size > 0 && !enrollments.has(event.enrollment)) continue;
      if (uids.size > 0 && !uids.has(event.uid)) continue;
      if (status && event.status !== status) continue;
      if (occurredAfter && (!event.occurredAt || event.occurredAt < occurredAfter)) continue;
      if (occurredBefore && (!event.occurredAt || event.occurredAt > occurredBefore)) continue;
      if (updatedAfter && event.updatedAt < updatedAfter) continue;
      if (scope && !scope.has(event.orgUnit)) continue;
      found.push(event);
    }
    found.reverse();
    const fields = parseFields(query.get('fields') ?? EVENT_DEFAULT_FIELDS);
    return { status: 200, body: paged(found, paging, (event) => selectFields(renderer.event(event), fields)) };
  }));

  app.get('/api/tracker/events/:uid', guarded((req: SandboxRequest): SandboxResponse => {
    const event = store.events.get(req.params.uid);
    if (!event || event.deleted) return respond(404, 'ERROR', `Event with id ${req.params.uid} could not be found.`);
    const fields = parseFields(req.query.get('fields') ?? EVENT_DEFAULT_FIELDS);
    return { status: 200, body: selectFields(renderer.event(event), fields) };
  }));
}
