/**
 * POST /api/tracker: flattens nested payloads, validates every object with DHIS2's error codes,
 * persists per atomicMode and builds the ImportReport. Validation is collected in full
 * (validationMode FULL) so one request reports every problem, as DHIS2 does.
 */
import { dhis2Uid } from '../core';
import type { Dhis2Store, Enrollment, EnrollmentStatus, EventStatus, Note, TrackedEntity, TrackerEvent } from './store';
import type { SandboxUser } from './seed';
import { CATEGORY_OPTION_COMBO_DEFAULT, CATEGORY_OPTION_DEFAULT } from './seed';
import { isUid, normaliseTimestamp, now, valueTypeError } from './values';

type Json = Record<string, unknown>;

export type TrackerType = 'TRACKED_ENTITY' | 'ENROLLMENT' | 'EVENT' | 'RELATIONSHIP';
export const TRACKER_TYPES: TrackerType[] = ['TRACKED_ENTITY', 'ENROLLMENT', 'EVENT', 'RELATIONSHIP'];
export const IMPORT_STRATEGIES = ['CREATE', 'UPDATE', 'CREATE_AND_UPDATE', 'DELETE'] as const;
export type ImportStrategy = (typeof IMPORT_STRATEGIES)[number];
export type AtomicMode = 'ALL' | 'OBJECT';

export interface ErrorReport { message: string; errorCode: string; trackerType: TrackerType; uid: string }

export interface Stats { created: number; updated: number; deleted: number; ignored: number; total: number }

export interface ImportReport {
  status: 'OK' | 'WARNING' | 'ERROR';
  validationReport: { errorReports: ErrorReport[]; warningReports: ErrorReport[] };
  stats: Stats;
  bundleReport?: { typeReportMap: Partial<Record<TrackerType, { trackerType: TrackerType; stats: Stats; objectReports: Array<{ trackerType: TrackerType; uid: string; errorReports: ErrorReport[] }> }>> };
  timingsStats?: { timers: Record<string, string> };
  message?: string;
}

export interface ImportOptions {
  importStrategy: ImportStrategy;
  atomicMode: AtomicMode;
  /** VALIDATE only reports, COMMIT persists. */
  commit: boolean;
  user: SandboxUser;
}

type Action = 'CREATE' | 'UPDATE' | 'DELETE';

interface Candidate {
  type: TrackerType;
  uid: string;
  data: Json;
  action?: Action;
  parent?: { type: TrackerType; uid: string };
}

const ENROLLMENT_STATUSES: EnrollmentStatus[] = ['ACTIVE', 'COMPLETED', 'CANCELLED'];
const EVENT_STATUSES: EventStatus[] = ['ACTIVE', 'COMPLETED', 'VISITED', 'SCHEDULE', 'OVERDUE', 'SKIPPED'];
const NEEDS_OCCURRED_AT: EventStatus[] = ['ACTIVE', 'COMPLETED', 'VISITED'];

const NAMES: Record<TrackerType, string> = { TRACKED_ENTITY: 'trackedEntity', ENROLLMENT: 'enrollment', EVENT: 'event', RELATIONSHIP: 'relationship' };

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((item): item is Json => typeof item === 'object' && item !== null) : []);

/** Splits a nested or flat payload into the four flat lists DHIS2 validates, giving children their parent's UID. */
function flatten(body: unknown): Candidate[] {
  const payload = (typeof body === 'object' && body !== null ? body : {}) as Json;
  const candidates: Candidate[] = [];
  const add = (type: TrackerType, raw: Json, extra: Json = {}, parent?: Candidate['parent']): Candidate => {
    const data = { ...raw, ...extra };
    const key = NAMES[type];
    const uid = str(data[key]) ?? dhis2Uid();
    data[key] = uid;
    const candidate: Candidate = { type, uid, data, parent };
    candidates.push(candidate);
    return candidate;
  };
  const addEvents = (events: Json[], enrollment?: Candidate) => {
    for (const event of events) {
      const added = add('EVENT', event, enrollment ? { enrollment: enrollment.uid } : {}, enrollment ? { type: 'ENROLLMENT', uid: enrollment.uid } : undefined);
      for (const relationship of list(event.relationships)) add('RELATIONSHIP', relationship);
      delete added.data.relationships;
    }
  };
  const addEnrollments = (enrollments: Json[], trackedEntity?: Candidate) => {
    for (const enrollment of enrollments) {
      const added = add('ENROLLMENT', enrollment, trackedEntity ? { trackedEntity: trackedEntity.uid } : {}, trackedEntity ? { type: 'TRACKED_ENTITY', uid: trackedEntity.uid } : undefined);
      addEvents(list(enrollment.events), added);
      for (const relationship of list(enrollment.relationships)) add('RELATIONSHIP', relationship);
      delete added.data.events;
      delete added.data.relationships;
    }
  };
  for (const trackedEntity of list(payload.trackedEntities)) {
    const added = add('TRACKED_ENTITY', trackedEntity);
    addEnrollments(list(trackedEntity.enrollments), added);
    for (const relationship of list(trackedEntity.relationships)) add('RELATIONSHIP', relationship);
    delete added.data.enrollments;
    delete added.data.relationships;
  }
  addEnrollments(list(payload.enrollments));
  addEvents(list(payload.events));
  for (const relationship of list(payload.relationships)) add('RELATIONSHIP', relationship);
  return candidates;
}

class Validation {
  readonly errors: ErrorReport[] = [];
  readonly invalid = new Set<string>();
  /** attribute|value -> tracked entity claiming a unique value in this payload */
  private readonly claimedUnique = new Map<string, string>();

  constructor(private readonly store: Dhis2Store, private readonly options: ImportOptions, private readonly candidates: Candidate[]) {}

  private readonly byUid = new Map<string, Candidate>();

  run(): void {
    for (const candidate of this.candidates) this.byUid.set(`${candidate.type}:${candidate.uid}`, candidate);
    for (const candidate of this.candidates) {
      const before = this.errors.length;
      this.validate(candidate);
      if (this.errors.length > before) this.invalid.add(`${candidate.type}:${candidate.uid}`);
    }
    // Children of an invalid parent cannot be persisted either; DHIS2 reports E5000 for those
    // that had no error of their own. Parents precede children, so this cascades downwards.
    for (const candidate of this.candidates) {
      const { parent } = candidate;
      if (!parent || !this.invalid.has(`${parent.type}:${parent.uid}`) || this.invalid.has(`${candidate.type}:${candidate.uid}`)) continue;
      this.fail(candidate, 'E5000', `"${NAMES[candidate.type]}" \`${candidate.uid}\` cannot be persisted because "${NAMES[parent.type]}" \`${parent.uid}\` referenced by it cannot be persisted.`);
      this.invalid.add(`${candidate.type}:${candidate.uid}`);
    }
  }

  private fail(candidate: Candidate, errorCode: string, message: string): void {
    this.errors.push({ message, errorCode, trackerType: candidate.type, uid: candidate.uid });
  }

  private validate(candidate: Candidate): void {
    const key = NAMES[candidate.type];
    if (!isUid(candidate.data[key])) {
      this.fail(candidate, 'E1048', `Object: \`${candidate.uid}\`, uid: \`${candidate.uid}\`, has an invalid uid format.`);
      return;
    }
    switch (candidate.type) {
      case 'TRACKED_ENTITY': return this.trackedEntity(candidate);
      case 'ENROLLMENT': return this.enrollment(candidate);
      case 'EVENT': return this.event(candidate);
      case 'RELATIONSHIP': return this.relationship(candidate);
    }
  }

  private resolveAction(candidate: Candidate, existing: { deleted: boolean } | undefined, codes: { exists: string; missing: string; deleted: string }, label: string): Action | undefined {
    const strategy = this.options.importStrategy;
    if (strategy === 'DELETE') {
      if (!existing) return this.missing(candidate, codes.missing, label);
      if (existing.deleted) return this.deletedAlready(candidate, codes.deleted, label);
      return 'DELETE';
    }
    if (existing && strategy === 'CREATE') {
      this.fail(candidate, codes.exists, `${label}: \`${candidate.uid}\`, already exists.`);
      return undefined;
    }
    if (!existing && strategy === 'UPDATE') return this.missing(candidate, codes.missing, label);
    if (existing?.deleted) return this.deletedAlready(candidate, codes.deleted, label);
    return existing ? 'UPDATE' : 'CREATE';
  }

  private missing(candidate: Candidate, code: string, label: string): undefined {
    // The three messages differ in punctuation and grammar in DHIS2 itself.
    const messages: Record<string, string> = {
      E1063: `${label}: \`${candidate.uid}\`, does not exist.`,
      E1081: `${label}: \`${candidate.uid}\`, do not exist.`,
      E1032: `${label}: \`${candidate.uid}\` does not exist.`,
    };
    this.fail(candidate, code, messages[code]);
    return undefined;
  }

  private deletedAlready(candidate: Candidate, code: string, label: string): undefined {
    this.fail(candidate, code, `${label}: \`${candidate.uid}\`, is already deleted and can't be modified.`);
    return undefined;
  }

  private checkScope(candidate: Candidate, orgUnit: string): void {
    const { user } = this.options;
    if (!user.organisationUnits.some((root) => this.store.metadata.isWithin(orgUnit, root))) {
      this.fail(candidate, 'E1000', `User: \`${user.id}\`, has no capture scope access to OrganisationUnit: \`${orgUnit}\`.`);
    }
  }

  private checkAttributeValues(candidate: Candidate, trackedEntity: string, attributes: Json[], allowed?: Map<string, unknown>): void {
    const { metadata } = this.store;
    for (const item of attributes) {
      const attributeUid = str(item.attribute);
      if (!attributeUid) {
        this.fail(candidate, 'E1075', `Attribute: \`${JSON.stringify(item)}\`, is missing uid.`);
        continue;
      }
      const attribute = metadata.attributes.get(attributeUid);
      if (!attribute) {
        this.fail(candidate, 'E1006', `Attribute: \`${attributeUid}\`, does not exist.`);
        continue;
      }
      if (allowed && !allowed.has(attributeUid)) {
        this.fail(candidate, 'E1019', `Only Program attributes are allowed for enrollment; invalid attribute: \`${attributeUid}\`.`);
        continue;
      }
      const value = item.value === null || item.value === undefined ? '' : String(item.value);
      if (value === '') continue;
      const problem = valueTypeError(attribute.valueType, value);
      if (problem) {
        this.fail(candidate, 'E1007', `Error validating attribute value type: \`${attributeUid}\`; Error: \`${problem}\`.`);
        continue;
      }
      if (attribute.unique) {
        const claimKey = `${attributeUid}|${value}`;
        const owner = this.store.uniqueOwner(attributeUid, value);
        const claimant = this.claimedUnique.get(claimKey);
        if ((owner && owner !== trackedEntity) || (claimant && claimant !== trackedEntity)) {
          this.fail(candidate, 'E1064', `Non-unique attribute value \`${value}\` for attribute \`${attributeUid}\``);
          continue;
        }
        this.claimedUnique.set(claimKey, trackedEntity);
      }
    }
  }

  private trackedEntity(candidate: Candidate): void {
    const { metadata, trackedEntities } = this.store;
    const existing = trackedEntities.get(candidate.uid);
    candidate.action = this.resolveAction(candidate, existing, { exists: 'E1002', missing: 'E1063', deleted: 'E1114' }, 'TrackedEntity');
    if (!candidate.action || candidate.action === 'DELETE') return;
    const { data } = candidate;
    const type = str(data.trackedEntityType);
    if (!type) this.fail(candidate, 'E1121', 'Missing required tracked entity property: `trackedEntityType`.');
    else if (!metadata.trackedEntityTypes.has(type)) this.fail(candidate, 'E1005', `Could not find TrackedEntityType: \`${type}\`.`);
    const orgUnit = str(data.orgUnit);
    if (!orgUnit) this.fail(candidate, 'E1121', 'Missing required tracked entity property: `orgUnit`.');
    else if (!metadata.orgUnits.has(orgUnit)) this.fail(candidate, 'E1049', `Could not find OrganisationUnit: \`${orgUnit}\`, linked to Tracked Entity.`);
    else this.checkScope(candidate, orgUnit);
    this.checkAttributeValues(candidate, candidate.uid, list(data.attributes));
  }

  /** The tracked entity type of a tracked entity in this payload or in the store. */
  private trackedEntityType(uid: string): string | undefined {
    const inPayload = this.byUid.get(`TRACKED_ENTITY:${uid}`);
    if (inPayload) return str(inPayload.data.trackedEntityType);
    const stored = this.store.trackedEntities.get(uid);
    return stored && !stored.deleted ? stored.trackedEntityType : undefined;
  }

  private enrollment(candidate: Candidate): void {
    const { metadata, enrollments } = this.store;
    const existing = enrollments.get(candidate.uid);
    candidate.action = this.resolveAction(candidate, existing, { exists: 'E1080', missing: 'E1081', deleted: 'E1113' }, 'Enrollment');
    if (!candidate.action || candidate.action === 'DELETE') return;
    const { data } = candidate;
    const programUid = str(data.program);
    const program = programUid ? metadata.programs.get(programUid) : undefined;
    if (!programUid) this.fail(candidate, 'E1122', 'Missing required enrollment property: `program`.');
    else if (!program) this.fail(candidate, 'E1069', `Could not find Program: \`${programUid}\`, linked to Enrollment.`);
    else if (program.programType !== 'WITH_REGISTRATION') this.fail(candidate, 'E1014', `Provided Program: \`${programUid}\`, is a Program without registration. An Enrollment cannot be created into Program without registration.`);
    const orgUnit = str(data.orgUnit);
    if (!orgUnit) this.fail(candidate, 'E1122', 'Missing required enrollment property: `orgUnit`.');
    else if (!metadata.orgUnits.has(orgUnit)) this.fail(candidate, 'E1070', `Could not find OrganisationUnit: \`${orgUnit}\`, linked to Enrollment.`);
    else {
      if (program && !metadata.programOrgUnits.get(program.id)?.has(orgUnit)) this.fail(candidate, 'E1041', `Enrollment OrganisationUnit: \`${orgUnit}\`, and Program: \`${program.id}\`, don't match.`);
      this.checkScope(candidate, orgUnit);
    }
    const trackedEntity = str(data.trackedEntity);
    const entityType = trackedEntity ? this.trackedEntityType(trackedEntity) : undefined;
    if (!trackedEntity) this.fail(candidate, 'E1122', 'Missing required enrollment property: `trackedEntity`.');
    else if (!entityType && !this.byUid.has(`TRACKED_ENTITY:${trackedEntity}`)) this.fail(candidate, 'E1068', `Could not find TrackedEntity: \`${trackedEntity}\`, linked to Enrollment.`);
    else if (program && entityType && entityType !== program.trackedEntityType.id) this.fail(candidate, 'E1022', `TrackedEntity: \`${trackedEntity}\`, must have same TrackedEntityType as Program \`${program.id}\`.`);
    if (!normaliseTimestamp(data.enrolledAt)) this.fail(candidate, 'E1025', 'Property enrolledAt is null.');
    const status = (str(data.status) ?? 'ACTIVE') as EnrollmentStatus;
    if (!ENROLLMENT_STATUSES.includes(status)) this.fail(candidate, 'E1122', 'Missing required enrollment property: `status`.');
    if (!program || !trackedEntity) return;
    const programAttributes = metadata.programAttributes.get(program.id) ?? new Map();
    const attributes = list(data.attributes);
    this.checkAttributeValues(candidate, trackedEntity, attributes, programAttributes);
    const present = new Set<string>();
    const stored = this.store.trackedEntities.get(trackedEntity);
    if (stored) for (const attribute of stored.attributes.keys()) present.add(attribute);
    const payloadEntity = this.byUid.get(`TRACKED_ENTITY:${trackedEntity}`);
    for (const item of [...list(payloadEntity?.data.attributes), ...attributes]) {
      const attribute = str(item.attribute);
      if (!attribute) continue;
      if (item.value === null || item.value === undefined || item.value === '') present.delete(attribute);
      else present.add(attribute);
    }
    for (const ptea of programAttributes.values()) {
      if (ptea.mandatory && !present.has(ptea.trackedEntityAttribute.id)) {
        this.fail(candidate, 'E1018', `Attribute: \`${ptea.trackedEntityAttribute.id}\`, is mandatory in program \`${program.id}\` but not declared in enrollment \`${candidate.uid}\`.`);
      }
    }
    if (candidate.action === 'CREATE' && status === 'ACTIVE' && this.hasOtherActiveEnrollment(candidate, trackedEntity, program.id)) {
      this.fail(candidate, 'E1015', `TrackedEntity: \`${trackedEntity}\`, already has an active Enrollment in Program \`${program.id}\`.`);
    }
  }

  private hasOtherActiveEnrollment(candidate: Candidate, trackedEntity: string, program: string): boolean {
    const stored = this.store.trackedEntities.get(trackedEntity);
    for (const uid of stored?.enrollments ?? []) {
      const enrollment = this.store.enrollments.get(uid);
      if (enrollment && !enrollment.deleted && enrollment.program === program && enrollment.status === 'ACTIVE' && uid !== candidate.uid) return true;
    }
    return this.candidates.some((other) => other !== candidate && other.type === 'ENROLLMENT' && other.action === 'CREATE'
      && other.data.trackedEntity === trackedEntity && other.data.program === program && (str(other.data.status) ?? 'ACTIVE') === 'ACTIVE'
      && this.candidates.indexOf(other) < this.candidates.indexOf(candidate) && !this.invalid.has(`ENROLLMENT:${other.uid}`));
  }

  private event(candidate: Candidate): void {
    const { metadata, events } = this.store;
    const existing = events.get(candidate.uid);
    candidate.action = this.resolveAction(candidate, existing, { exists: 'E1030', missing: 'E1032', deleted: 'E1082' }, 'Event');
    if (!candidate.action || candidate.action === 'DELETE') return;
    const { data } = candidate;
    const stageUid = str(data.programStage);
    const stage = stageUid ? metadata.programStages.get(stageUid) : undefined;
    if (!stageUid) this.fail(candidate, 'E1123', 'Missing required event property: `programStage`.');
    else if (!stage) this.fail(candidate, 'E1013', `Could not find ProgramStage: \`${stageUid}\`, linked to Event.`);
    const programUid = str(data.program) ?? stage?.program.id;
    const program = programUid ? metadata.programs.get(programUid) : undefined;
    if (programUid && !program) this.fail(candidate, 'E1010', `Could not find Program: \`${programUid}\`, linked to Event.`);
    if (program && stage && stage.program.id !== program.id) {
      this.fail(candidate, 'E1089', `Event: \`${candidate.uid}\`, references a Program Stage \`${stage.id}\` that does not belong to Program \`${program.id}\`.`);
    }
    const orgUnit = str(data.orgUnit);
    if (!orgUnit) this.fail(candidate, 'E1123', 'Missing required event property: `orgUnit`.');
    else if (!metadata.orgUnits.has(orgUnit)) this.fail(candidate, 'E1011', `Could not find OrganisationUnit: \`${orgUnit}\`, linked to Event.`);
    else {
      if (program && !metadata.programOrgUnits.get(program.id)?.has(orgUnit)) this.fail(candidate, 'E1029', `Event OrganisationUnit: \`${orgUnit}\`, and Program: \`${program.id}\`, don't match.`);
      this.checkScope(candidate, orgUnit);
    }
    const status = (str(data.status) ?? 'ACTIVE') as EventStatus;
    if (!EVENT_STATUSES.includes(status)) this.fail(candidate, 'E1123', 'Missing required event property: `status`.');
    if (NEEDS_OCCURRED_AT.includes(status) && !normaliseTimestamp(data.occurredAt)) this.fail(candidate, 'E1031', 'Event occurredAt date is missing.');
    if (status === 'SCHEDULE' && !normaliseTimestamp(data.scheduledAt)) this.fail(candidate, 'E1050', 'Event ScheduledAt date is missing.');
    const combo = str(data.attributeOptionCombo);
    if (combo && combo !== CATEGORY_OPTION_COMBO_DEFAULT) this.fail(candidate, 'E1115', `Could not find CategoryOptionCombo: \`${combo}\`.`);
    if (program?.programType === 'WITH_REGISTRATION') this.eventEnrollment(candidate, program.id, stage?.id, stage?.repeatable ?? true);
    if (stage) this.eventDataValues(candidate, stage.id);
  }

  private eventEnrollment(candidate: Candidate, program: string, stage: string | undefined, repeatable: boolean): void {
    const enrollmentUid = str(candidate.data.enrollment);
    if (!enrollmentUid) {
      this.fail(candidate, 'E1033', `Event: \`${candidate.uid}\`, Enrollment value is NULL.`);
      return;
    }
    const inPayload = this.byUid.get(`ENROLLMENT:${enrollmentUid}`);
    const stored = this.store.enrollments.get(enrollmentUid);
    const enrollmentProgram = inPayload ? str(inPayload.data.program) : stored && !stored.deleted ? stored.program : undefined;
    if (!inPayload && (!stored || stored.deleted)) {
      this.fail(candidate, 'E1081', `Enrollment: \`${enrollmentUid}\`, do not exist.`);
      return;
    }
    if (enrollmentProgram && enrollmentProgram !== program) {
      this.fail(candidate, 'E1079', `Event: \`${candidate.uid}\`, program: \`${program}\` is different from program defined in enrollment \`${enrollmentUid}\`.`);
    }
    if (!repeatable && stage && candidate.action === 'CREATE') {
      const storedTwin = stored?.events.some((uid) => {
        const event = this.store.events.get(uid);
        return event && !event.deleted && event.programStage === stage && uid !== candidate.uid;
      });
      const payloadTwin = this.candidates.some((other) => other !== candidate && other.type === 'EVENT' && other.data.enrollment === enrollmentUid
        && other.data.programStage === stage && this.candidates.indexOf(other) < this.candidates.indexOf(candidate));
      if (storedTwin || payloadTwin) this.fail(candidate, 'E1039', `ProgramStage: \`${stage}\`, is not repeatable and an event already exists.`);
    }
  }

  private eventDataValues(candidate: Candidate, stage: string): void {
    const stageElements = this.store.metadata.stageDataElements.get(stage) ?? new Map();
    for (const item of list(candidate.data.dataValues)) {
      const uid = str(item.dataElement);
      const dataElement = uid ? this.store.metadata.dataElements.get(uid) : undefined;
      if (!uid || !dataElement) {
        this.fail(candidate, 'E1304', `DataElement \`${uid ?? ''}\` is not a valid data element`);
        continue;
      }
      if (!stageElements.has(uid)) {
        this.fail(candidate, 'E1305', `DataElement \`${uid}\` is not part of \`${stage}\` program stage`);
        continue;
      }
      const value = item.value === null || item.value === undefined ? '' : String(item.value);
      const problem = value === '' ? undefined : valueTypeError(dataElement.valueType, value);
      if (problem) this.fail(candidate, 'E1302', `DataElement \`${uid}\` is not valid: \`${problem}\``);
    }
  }

  private relationship(candidate: Candidate): void {
    if (this.options.importStrategy === 'DELETE') {
      this.fail(candidate, 'E4016', `Relationship: \`${candidate.uid}\`, does not exist.`);
      return;
    }
    this.fail(candidate, 'E4006', `Could not find relationship Type: \`${str(candidate.data.relationshipType) ?? ''}\`.`);
  }
}

function emptyStats(): Stats {
  return { created: 0, updated: 0, deleted: 0, ignored: 0, total: 0 };
}

function addStats(target: Stats, source: Stats): void {
  target.created += source.created;
  target.updated += source.updated;
  target.deleted += source.deleted;
  target.ignored += source.ignored;
  target.total += source.total;
}

/** Validates and (unless VALIDATE or blocked by atomicMode ALL) persists one tracker payload. */
export function importTracker(store: Dhis2Store, body: unknown, options: ImportOptions): ImportReport {
  const started = process.hrtime.bigint();
  const candidates = flatten(body);
  const validation = new Validation(store, options, candidates);
  validation.run();
  const { errors, invalid } = validation;
  const validationReport = { errorReports: errors, warningReports: [] as ErrorReport[] };
  const timingsStats = { timers: { validation: `${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(6)} sec.` } };

  if (errors.length > 0 && options.atomicMode === 'ALL') {
    return { status: 'ERROR', validationReport, stats: { ...emptyStats(), ignored: candidates.length, total: candidates.length }, timingsStats };
  }

  const typeReportMap: NonNullable<ImportReport['bundleReport']>['typeReportMap'] = {};
  for (const type of TRACKER_TYPES) typeReportMap[type] = { trackerType: type, stats: emptyStats(), objectReports: [] };
  const valid = candidates.filter((candidate) => !invalid.has(`${candidate.type}:${candidate.uid}`));
  const persist = new Persistence(store, options.user.username);
  // Deletions run children first so that cascades report the objects the client named.
  const ordered = options.importStrategy === 'DELETE' ? [...valid].reverse() : valid;
  for (const candidate of ordered) {
    if (options.commit) persist.apply(candidate);
    const report = typeReportMap[candidate.type]!;
    if (candidate.action === 'CREATE') report.stats.created += 1;
    if (candidate.action === 'UPDATE') report.stats.updated += 1;
    if (candidate.action === 'DELETE') report.stats.deleted += 1;
    report.stats.total += 1;
    report.objectReports.push({ trackerType: candidate.type, uid: candidate.uid, errorReports: [] });
  }
  for (const candidate of candidates) {
    if (!invalid.has(`${candidate.type}:${candidate.uid}`)) continue;
    typeReportMap[candidate.type]!.stats.ignored += 1;
    typeReportMap[candidate.type]!.stats.total += 1;
  }
  const stats = emptyStats();
  for (const report of Object.values(typeReportMap)) addStats(stats, report.stats);
  return { status: errors.length > 0 ? 'ERROR' : 'OK', validationReport, stats, bundleReport: { typeReportMap }, timingsStats };
}

/** Writes validated candidates into the store. */
class Persistence {
  private readonly at = now();

  constructor(private readonly store: Dhis2Store, private readonly username: string) {}

  apply(candidate: Candidate): void {
    if (candidate.action === 'DELETE') {
      if (candidate.type === 'TRACKED_ENTITY') this.store.deleteTrackedEntity(candidate.uid, this.at);
      if (candidate.type === 'ENROLLMENT') this.store.deleteEnrollment(candidate.uid, this.at);
      if (candidate.type === 'EVENT') this.store.deleteEvent(candidate.uid, this.at);
      return;
    }
    if (candidate.type === 'TRACKED_ENTITY') this.trackedEntity(candidate.uid, candidate.data);
    if (candidate.type === 'ENROLLMENT') this.enrollment(candidate.uid, candidate.data);
    if (candidate.type === 'EVENT') this.event(candidate.uid, candidate.data);
  }

  private setAttributes(entity: TrackedEntity, attributes: Json[]): void {
    for (const item of attributes) {
      const value = item.value === null || item.value === undefined ? undefined : String(item.value);
      this.store.setAttribute(entity, String(item.attribute), value, this.username, this.at);
    }
  }

  private trackedEntity(uid: string, data: Json): void {
    const existing = this.store.trackedEntities.get(uid);
    const at = this.at;
    const entity: TrackedEntity = existing ?? {
      uid,
      seq: this.store.nextSequence(),
      trackedEntityType: String(data.trackedEntityType),
      orgUnit: String(data.orgUnit),
      createdAt: at,
      createdAtClient: normaliseTimestamp(data.createdAtClient) ?? at,
      updatedAt: at,
      updatedAtClient: at,
      storedBy: this.username,
      inactive: false,
      deleted: false,
      potentialDuplicate: false,
      attributes: new Map(),
      enrollments: [],
      programOwners: new Map(),
    };
    entity.orgUnit = String(data.orgUnit);
    entity.inactive = data.inactive === true;
    entity.potentialDuplicate = data.potentialDuplicate === true;
    if (data.geometry !== undefined) entity.geometry = data.geometry;
    entity.updatedAt = at;
    entity.updatedAtClient = normaliseTimestamp(data.updatedAtClient) ?? at;
    this.store.trackedEntities.set(uid, entity);
    this.setAttributes(entity, list(data.attributes));
  }

  private enrollment(uid: string, data: Json): void {
    const existing = this.store.enrollments.get(uid);
    const entity = this.store.trackedEntities.get(String(data.trackedEntity))!;
    const at = this.at;
    const enrolledAt = normaliseTimestamp(data.enrolledAt)!;
    const status = (str(data.status) ?? 'ACTIVE') as EnrollmentStatus;
    const enrollment: Enrollment = {
      uid,
      trackedEntity: entity.uid,
      program: String(data.program),
      status,
      orgUnit: String(data.orgUnit),
      enrolledAt,
      occurredAt: normaliseTimestamp(data.occurredAt) ?? enrolledAt,
      createdAt: existing?.createdAt ?? at,
      createdAtClient: existing?.createdAtClient ?? normaliseTimestamp(data.createdAtClient) ?? at,
      updatedAt: at,
      updatedAtClient: normaliseTimestamp(data.updatedAtClient) ?? at,
      storedBy: existing?.storedBy ?? this.username,
      followUp: data.followUp === true,
      deleted: false,
      notes: [...(existing?.notes ?? []), ...this.notes(data.notes)],
      events: existing?.events ?? [],
    };
    if (status === 'COMPLETED') enrollment.completedAt = normaliseTimestamp(data.completedAt) ?? existing?.completedAt ?? at;
    this.store.enrollments.set(uid, enrollment);
    if (!entity.enrollments.includes(uid)) entity.enrollments.push(uid);
    if (!entity.programOwners.has(enrollment.program)) entity.programOwners.set(enrollment.program, enrollment.orgUnit);
    entity.updatedAt = at;
    this.setAttributes(entity, list(data.attributes));
  }

  private event(uid: string, data: Json): void {
    const existing = this.store.events.get(uid);
    const stage = this.store.metadata.programStages.get(String(data.programStage))!;
    const enrollment = this.store.enrollments.get(String(data.enrollment));
    const at = this.at;
    const status = (str(data.status) ?? 'ACTIVE') as EventStatus;
    const dataValues = existing?.dataValues ?? new Map();
    for (const item of list(data.dataValues)) {
      const dataElement = String(item.dataElement);
      const value = item.value === null || item.value === undefined ? '' : String(item.value);
      const previous = dataValues.get(dataElement);
      if (value === '') dataValues.delete(dataElement);
      else dataValues.set(dataElement, { value, createdAt: previous?.createdAt ?? at, updatedAt: at, storedBy: this.username, providedElsewhere: item.providedElsewhere === true });
    }
    const event: TrackerEvent = {
      uid,
      program: stage.program.id,
      programStage: stage.id,
      enrollment: enrollment?.uid ?? '',
      trackedEntity: enrollment?.trackedEntity ?? '',
      orgUnit: String(data.orgUnit),
      status,
      occurredAt: normaliseTimestamp(data.occurredAt),
      scheduledAt: normaliseTimestamp(data.scheduledAt) ?? existing?.scheduledAt,
      createdAt: existing?.createdAt ?? at,
      createdAtClient: existing?.createdAtClient ?? normaliseTimestamp(data.createdAtClient) ?? at,
      updatedAt: at,
      updatedAtClient: normaliseTimestamp(data.updatedAtClient) ?? at,
      storedBy: existing?.storedBy ?? this.username,
      followUp: data.followUp === true,
      deleted: false,
      attributeOptionCombo: CATEGORY_OPTION_COMBO_DEFAULT,
      attributeCategoryOptions: CATEGORY_OPTION_DEFAULT,
      dataValues,
      notes: [...(existing?.notes ?? []), ...this.notes(data.notes)],
    };
    if (status === 'COMPLETED') {
      event.completedAt = normaliseTimestamp(data.completedAt) ?? existing?.completedAt ?? at;
      event.completedBy = existing?.completedBy ?? this.username;
    }
    this.store.events.set(uid, event);
    if (enrollment && !enrollment.events.includes(uid)) enrollment.events.push(uid);
  }

  private notes(raw: unknown): Note[] {
    return list(raw)
      .filter((note) => str(note.value))
      .map((note) => ({ note: str(note.note) ?? dhis2Uid(), value: String(note.value), storedAt: this.at, storedBy: this.username }));
  }
}
