/**
 * In-memory tracker and aggregate data. Tracker objects are stored once and rendered in either
 * the 2.40 tracker shape or the legacy (2.3x) shape by the routes. Deletions are soft, as in
 * DHIS2: the rows stay (so their UIDs cannot be reused) but reads no longer return them.
 */
import { Metadata } from './metadata';
import {
  ADMIN_USERNAME, ATTRIBUTE_COMMCARE_CASE_ID, ATTRIBUTE_DATE_OF_BIRTH, ATTRIBUTE_FIRST_NAME, ATTRIBUTE_LAST_NAME,
  ATTRIBUTE_NATIONAL_ID, ATTRIBUTE_SEX, CATEGORY_OPTION_COMBO_DEFAULT, CATEGORY_OPTION_DEFAULT, DATA_ELEMENT_DANGER_SIGNS,
  DATA_ELEMENT_VISIT_WEIGHT, ORG_UNIT_NGELEHUN_CHC, PROGRAM_COMMUNITY_FOLLOW_UP, PROGRAM_STAGE_VISIT, SEEDED_AT,
  SEEDED_COMMCARE_CASE_ID, SEEDED_ENROLLMENT, SEEDED_NATIONAL_ID, SEEDED_TRACKED_ENTITY, SEEDED_VISIT_EVENT,
  TRACKED_ENTITY_TYPE_PERSON, seedMetadata,
} from './seed';

export interface StoredValue {
  value: string;
  createdAt: string;
  updatedAt: string;
  storedBy: string;
}

export interface Note { note: string; value: string; storedAt: string; storedBy: string }

export interface TrackedEntity {
  uid: string;
  /** Creation order, DHIS2's internal id: reads list newest first by it. */
  seq: number;
  trackedEntityType: string;
  orgUnit: string;
  createdAt: string;
  createdAtClient: string;
  updatedAt: string;
  updatedAtClient: string;
  storedBy: string;
  inactive: boolean;
  deleted: boolean;
  potentialDuplicate: boolean;
  geometry?: unknown;
  /** attribute uid -> value, in insertion order */
  attributes: Map<string, StoredValue>;
  enrollments: string[];
  /** program -> owning org unit */
  programOwners: Map<string, string>;
}

export type EnrollmentStatus = 'ACTIVE' | 'COMPLETED' | 'CANCELLED';

export interface Enrollment {
  uid: string;
  trackedEntity: string;
  program: string;
  status: EnrollmentStatus;
  orgUnit: string;
  enrolledAt: string;
  occurredAt: string;
  completedAt?: string;
  createdAt: string;
  createdAtClient: string;
  updatedAt: string;
  updatedAtClient: string;
  storedBy: string;
  followUp: boolean;
  deleted: boolean;
  notes: Note[];
  events: string[];
}

export type EventStatus = 'ACTIVE' | 'COMPLETED' | 'VISITED' | 'SCHEDULE' | 'OVERDUE' | 'SKIPPED';

export interface TrackerEvent {
  uid: string;
  program: string;
  programStage: string;
  enrollment: string;
  trackedEntity: string;
  orgUnit: string;
  status: EventStatus;
  occurredAt?: string;
  scheduledAt?: string;
  completedAt?: string;
  completedBy?: string;
  createdAt: string;
  createdAtClient: string;
  updatedAt: string;
  updatedAtClient: string;
  storedBy: string;
  followUp: boolean;
  deleted: boolean;
  attributeOptionCombo: string;
  attributeCategoryOptions: string;
  /** data element uid -> value */
  dataValues: Map<string, StoredValue & { providedElsewhere: boolean }>;
  notes: Note[];
}

export interface DataValue {
  dataElement: string;
  period: string;
  orgUnit: string;
  categoryOptionCombo: string;
  attributeOptionCombo: string;
  value: string;
  comment?: string;
  followup: boolean;
  storedBy: string;
  created: string;
  lastUpdated: string;
}

export interface Job {
  id: string;
  /** The import report or summary, available once the job completed. */
  report: unknown;
  notifications: Array<Record<string, unknown>>;
}

const MAX_JOBS = 2_000;

export const dataValueKey = (dataElement: string, period: string, orgUnit: string, categoryOptionCombo: string, attributeOptionCombo: string): string =>
  `${dataElement}|${period}|${orgUnit}|${categoryOptionCombo}|${attributeOptionCombo}`;

export class Dhis2Store {
  readonly metadata = new Metadata(seedMetadata());
  trackedEntities = new Map<string, TrackedEntity>();
  enrollments = new Map<string, Enrollment>();
  events = new Map<string, TrackerEvent>();
  /** attribute -> lower-cased value -> tracked entities holding it (live ones only) */
  attributeIndex = new Map<string, Map<string, Set<string>>>();
  dataValues = new Map<string, DataValue>();
  /** dataSet|period|orgUnit|attributeOptionCombo -> complete date */
  completions = new Map<string, string>();
  jobs = new Map<string, Job>();
  private sequence = 0;

  nextSequence(): number {
    this.sequence += 1;
    return this.sequence;
  }

  reset(): void {
    this.trackedEntities = new Map();
    this.enrollments = new Map();
    this.events = new Map();
    this.attributeIndex = new Map();
    this.dataValues = new Map();
    this.completions = new Map();
    this.jobs = new Map();
    this.sequence = 0;
    this.seedDemoData();
  }

  addJob(job: Job): void {
    this.jobs.set(job.id, job);
    if (this.jobs.size > MAX_JOBS) this.jobs.delete(this.jobs.keys().next().value as string);
  }

  setAttribute(entity: TrackedEntity, attribute: string, value: string | undefined, storedBy: string, at: string): void {
    const previous = entity.attributes.get(attribute);
    if (previous) this.unindex(entity.uid, attribute, previous.value);
    if (value === undefined || value === '') {
      entity.attributes.delete(attribute);
      return;
    }
    entity.attributes.set(attribute, { value, createdAt: previous?.createdAt ?? at, updatedAt: at, storedBy });
    if (!entity.deleted) this.index(entity.uid, attribute, value);
  }

  /** Live tracked entities whose `attribute` equals `value` (case-insensitive, as DHIS2 search is). */
  findByAttribute(attribute: string, value: string): Set<string> {
    return this.attributeIndex.get(attribute)?.get(value.toLowerCase()) ?? new Set();
  }

  /** The live tracked entity that already holds a unique value, if another one does. */
  uniqueOwner(attribute: string, value: string): string | undefined {
    for (const uid of this.findByAttribute(attribute, value)) {
      if (this.trackedEntities.get(uid)?.attributes.get(attribute)?.value === value) return uid;
    }
    return undefined;
  }

  deleteTrackedEntity(uid: string, at: string): void {
    const entity = this.trackedEntities.get(uid);
    if (!entity || entity.deleted) return;
    entity.deleted = true;
    entity.updatedAt = at;
    for (const [attribute, stored] of entity.attributes) this.unindex(uid, attribute, stored.value);
    for (const enrollment of entity.enrollments) this.deleteEnrollment(enrollment, at);
  }

  deleteEnrollment(uid: string, at: string): void {
    const enrollment = this.enrollments.get(uid);
    if (!enrollment || enrollment.deleted) return;
    enrollment.deleted = true;
    enrollment.updatedAt = at;
    for (const event of enrollment.events) this.deleteEvent(event, at);
  }

  deleteEvent(uid: string, at: string): void {
    const event = this.events.get(uid);
    if (!event || event.deleted) return;
    event.deleted = true;
    event.updatedAt = at;
  }

  private index(uid: string, attribute: string, value: string): void {
    let values = this.attributeIndex.get(attribute);
    if (!values) this.attributeIndex.set(attribute, (values = new Map()));
    const key = value.toLowerCase();
    let holders = values.get(key);
    if (!holders) values.set(key, (holders = new Set()));
    holders.add(uid);
  }

  private unindex(uid: string, attribute: string, value: string): void {
    this.attributeIndex.get(attribute)?.get(value.toLowerCase())?.delete(uid);
  }

  private seedDemoData(): void {
    const entity: TrackedEntity = {
      uid: SEEDED_TRACKED_ENTITY,
      seq: this.nextSequence(),
      trackedEntityType: TRACKED_ENTITY_TYPE_PERSON,
      orgUnit: ORG_UNIT_NGELEHUN_CHC,
      createdAt: SEEDED_AT,
      createdAtClient: SEEDED_AT,
      updatedAt: SEEDED_AT,
      updatedAtClient: SEEDED_AT,
      storedBy: ADMIN_USERNAME,
      inactive: false,
      deleted: false,
      potentialDuplicate: false,
      attributes: new Map(),
      enrollments: [SEEDED_ENROLLMENT],
      programOwners: new Map([[PROGRAM_COMMUNITY_FOLLOW_UP, ORG_UNIT_NGELEHUN_CHC]]),
    };
    this.trackedEntities.set(entity.uid, entity);
    const attributes: Array<[string, string]> = [
      [ATTRIBUTE_FIRST_NAME, 'Amina'],
      [ATTRIBUTE_LAST_NAME, 'Kamara'],
      [ATTRIBUTE_SEX, 'Female'],
      [ATTRIBUTE_DATE_OF_BIRTH, '1984-05-12'],
      [ATTRIBUTE_NATIONAL_ID, SEEDED_NATIONAL_ID],
      [ATTRIBUTE_COMMCARE_CASE_ID, SEEDED_COMMCARE_CASE_ID],
    ];
    for (const [attribute, value] of attributes) this.setAttribute(entity, attribute, value, ADMIN_USERNAME, SEEDED_AT);
    this.enrollments.set(SEEDED_ENROLLMENT, {
      uid: SEEDED_ENROLLMENT,
      trackedEntity: SEEDED_TRACKED_ENTITY,
      program: PROGRAM_COMMUNITY_FOLLOW_UP,
      status: 'ACTIVE',
      orgUnit: ORG_UNIT_NGELEHUN_CHC,
      enrolledAt: SEEDED_AT,
      occurredAt: SEEDED_AT,
      createdAt: SEEDED_AT,
      createdAtClient: SEEDED_AT,
      updatedAt: SEEDED_AT,
      updatedAtClient: SEEDED_AT,
      storedBy: ADMIN_USERNAME,
      followUp: false,
      deleted: false,
      notes: [],
      events: [SEEDED_VISIT_EVENT],
    });
    const stored = (value: string) => ({ value, createdAt: SEEDED_AT, updatedAt: SEEDED_AT, storedBy: ADMIN_USERNAME, providedElsewhere: false });
    this.events.set(SEEDED_VISIT_EVENT, {
      uid: SEEDED_VISIT_EVENT,
      program: PROGRAM_COMMUNITY_FOLLOW_UP,
      programStage: PROGRAM_STAGE_VISIT,
      enrollment: SEEDED_ENROLLMENT,
      trackedEntity: SEEDED_TRACKED_ENTITY,
      orgUnit: ORG_UNIT_NGELEHUN_CHC,
      status: 'COMPLETED',
      occurredAt: SEEDED_AT,
      scheduledAt: SEEDED_AT,
      completedAt: SEEDED_AT,
      completedBy: ADMIN_USERNAME,
      createdAt: SEEDED_AT,
      createdAtClient: SEEDED_AT,
      updatedAt: SEEDED_AT,
      updatedAtClient: SEEDED_AT,
      storedBy: ADMIN_USERNAME,
      followUp: false,
      deleted: false,
      attributeOptionCombo: CATEGORY_OPTION_COMBO_DEFAULT,
      attributeCategoryOptions: CATEGORY_OPTION_DEFAULT,
      dataValues: new Map([[DATA_ELEMENT_VISIT_WEIGHT, stored('61.5')], [DATA_ELEMENT_DANGER_SIGNS, stored('false')]]),
      notes: [],
    });
  }
}
