/**
 * Renders stored tracker objects in the two JSON dialects DHIS2 speaks: the 2.40 tracker API
 * (`trackedEntity`, `occurredAt`, `createdAt`...) and the legacy 2.3x API
 * (`trackedEntityInstance`, `eventDate`, `created`...).
 */
import type { Dhis2Store, Enrollment, Note, StoredValue, TrackedEntity, TrackerEvent } from './store';

type Json = Record<string, unknown>;

export class Renderer {
  constructor(private readonly store: Dhis2Store) {}

  private attribute(uid: string, stored: StoredValue): Json {
    const attribute = this.store.metadata.attributes.get(uid);
    return {
      attribute: uid,
      ...(attribute?.code ? { code: attribute.code } : {}),
      displayName: attribute?.name ?? uid,
      createdAt: stored.createdAt,
      updatedAt: stored.updatedAt,
      storedBy: stored.storedBy,
      valueType: attribute?.valueType ?? 'TEXT',
      value: stored.value,
    };
  }

  /** Attribute values of a tracked entity, limited to one program's attributes when given. */
  private attributes(entity: TrackedEntity, program?: string): Array<[string, StoredValue]> {
    const allowed = program ? this.store.metadata.programAttributes.get(program) : undefined;
    return [...entity.attributes].filter(([uid]) => !allowed || allowed.has(uid));
  }

  private notes(notes: Note[]): Json[] {
    return notes.map((note) => ({ note: note.note, value: note.value, storedAt: note.storedAt, storedBy: note.storedBy }));
  }

  liveEnrollments(entity: TrackedEntity, program?: string): Enrollment[] {
    return entity.enrollments
      .map((uid) => this.store.enrollments.get(uid))
      .filter((enrollment): enrollment is Enrollment => Boolean(enrollment && !enrollment.deleted && (!program || enrollment.program === program)));
  }

  liveEvents(enrollment: Enrollment): TrackerEvent[] {
    return enrollment.events
      .map((uid) => this.store.events.get(uid))
      .filter((event): event is TrackerEvent => Boolean(event && !event.deleted));
  }

  trackedEntity(entity: TrackedEntity, program?: string): Json {
    return {
      trackedEntity: entity.uid,
      trackedEntityType: entity.trackedEntityType,
      createdAt: entity.createdAt,
      createdAtClient: entity.createdAtClient,
      updatedAt: entity.updatedAt,
      updatedAtClient: entity.updatedAtClient,
      orgUnit: entity.orgUnit,
      inactive: entity.inactive,
      deleted: entity.deleted,
      potentialDuplicate: entity.potentialDuplicate,
      ...(entity.geometry !== undefined ? { geometry: entity.geometry } : {}),
      storedBy: entity.storedBy,
      relationships: [],
      attributes: this.attributes(entity).map(([uid, stored]) => this.attribute(uid, stored)),
      enrollments: this.liveEnrollments(entity, program).map((enrollment) => this.enrollment(enrollment)),
      programOwners: [...entity.programOwners]
        .filter(([owned]) => !program || owned === program)
        .map(([owned, orgUnit]) => ({ orgUnit, trackedEntity: entity.uid, program: owned })),
    };
  }

  enrollment(enrollment: Enrollment): Json {
    const entity = this.store.trackedEntities.get(enrollment.trackedEntity);
    return {
      enrollment: enrollment.uid,
      createdAt: enrollment.createdAt,
      createdAtClient: enrollment.createdAtClient,
      updatedAt: enrollment.updatedAt,
      updatedAtClient: enrollment.updatedAtClient,
      trackedEntity: enrollment.trackedEntity,
      program: enrollment.program,
      status: enrollment.status,
      orgUnit: enrollment.orgUnit,
      enrolledAt: enrollment.enrolledAt,
      occurredAt: enrollment.occurredAt,
      ...(enrollment.completedAt ? { completedAt: enrollment.completedAt } : {}),
      attributeOptionCombo: 'HllvX50cXC0',
      followUp: enrollment.followUp,
      deleted: enrollment.deleted,
      storedBy: enrollment.storedBy,
      events: this.liveEvents(enrollment).map((event) => this.event(event)),
      relationships: [],
      attributes: entity ? this.attributes(entity, enrollment.program).map(([uid, stored]) => this.attribute(uid, stored)) : [],
      notes: this.notes(enrollment.notes),
    };
  }

  event(event: TrackerEvent): Json {
    const enrollment = this.store.enrollments.get(event.enrollment);
    return {
      event: event.uid,
      status: event.status,
      program: event.program,
      programStage: event.programStage,
      enrollment: event.enrollment,
      ...(enrollment ? { enrollmentStatus: enrollment.status } : {}),
      trackedEntity: event.trackedEntity,
      orgUnit: event.orgUnit,
      relationships: [],
      ...(event.occurredAt ? { occurredAt: event.occurredAt } : {}),
      ...(event.scheduledAt ? { scheduledAt: event.scheduledAt } : {}),
      storedBy: event.storedBy,
      followUp: event.followUp,
      deleted: event.deleted,
      createdAt: event.createdAt,
      createdAtClient: event.createdAtClient,
      updatedAt: event.updatedAt,
      updatedAtClient: event.updatedAtClient,
      attributeOptionCombo: event.attributeOptionCombo,
      attributeCategoryOptions: event.attributeCategoryOptions,
      ...(event.completedAt ? { completedAt: event.completedAt, completedBy: event.completedBy } : {}),
      dataValues: [...event.dataValues].map(([dataElement, stored]) => ({
        createdAt: stored.createdAt,
        updatedAt: stored.updatedAt,
        storedBy: stored.storedBy,
        providedElsewhere: stored.providedElsewhere,
        dataElement,
        value: stored.value,
      })),
      notes: this.notes(event.notes),
    };
  }

  private orgUnitName(uid: string): string {
    return this.store.metadata.orgUnits.get(uid)?.name ?? uid;
  }

  legacyTrackedEntityInstance(entity: TrackedEntity): Json {
    return {
      created: entity.createdAt,
      orgUnit: entity.orgUnit,
      createdAtClient: entity.createdAtClient,
      trackedEntityInstance: entity.uid,
      lastUpdated: entity.updatedAt,
      trackedEntityType: entity.trackedEntityType,
      lastUpdatedAtClient: entity.updatedAtClient,
      storedBy: entity.storedBy,
      inactive: entity.inactive,
      deleted: entity.deleted,
      potentialDuplicate: entity.potentialDuplicate,
      featureType: 'NONE',
      programOwners: [...entity.programOwners].map(([program, orgUnit]) => ({ ownerOrgUnit: orgUnit, program, trackedEntityInstance: entity.uid })),
      enrollments: this.liveEnrollments(entity).map((enrollment) => this.legacyEnrollment(enrollment)),
      relationships: [],
      attributes: this.attributes(entity).map(([uid, stored]) => this.legacyAttribute(uid, stored)),
    };
  }

  private legacyAttribute(uid: string, stored: StoredValue): Json {
    const attribute = this.store.metadata.attributes.get(uid);
    return {
      lastUpdated: stored.updatedAt,
      storedBy: stored.storedBy,
      ...(attribute?.code ? { code: attribute.code } : {}),
      displayName: attribute?.name ?? uid,
      created: stored.createdAt,
      valueType: attribute?.valueType ?? 'TEXT',
      attribute: uid,
      value: stored.value,
    };
  }

  legacyEnrollment(enrollment: Enrollment): Json {
    const entity = this.store.trackedEntities.get(enrollment.trackedEntity);
    return {
      storedBy: enrollment.storedBy,
      created: enrollment.createdAt,
      orgUnit: enrollment.orgUnit,
      createdAtClient: enrollment.createdAtClient,
      program: enrollment.program,
      trackedEntityInstance: enrollment.trackedEntity,
      enrollment: enrollment.uid,
      lastUpdated: enrollment.updatedAt,
      trackedEntityType: entity?.trackedEntityType,
      lastUpdatedAtClient: enrollment.updatedAtClient,
      orgUnitName: this.orgUnitName(enrollment.orgUnit),
      enrollmentDate: enrollment.enrolledAt,
      deleted: enrollment.deleted,
      incidentDate: enrollment.occurredAt,
      followup: enrollment.followUp,
      status: enrollment.status,
      ...(enrollment.completedAt ? { completedDate: enrollment.completedAt } : {}),
      notes: this.notes(enrollment.notes),
      relationships: [],
      attributes: entity ? this.attributes(entity, enrollment.program).map(([uid, stored]) => this.legacyAttribute(uid, stored)) : [],
      events: this.liveEvents(enrollment).map((event) => this.legacyEvent(event)),
    };
  }

  legacyEvent(event: TrackerEvent): Json {
    const enrollment = this.store.enrollments.get(event.enrollment);
    return {
      storedBy: event.storedBy,
      dueDate: event.scheduledAt ?? event.occurredAt ?? event.createdAt,
      program: event.program,
      event: event.uid,
      programStage: event.programStage,
      orgUnit: event.orgUnit,
      trackedEntityInstance: event.trackedEntity,
      enrollment: event.enrollment,
      enrollmentStatus: enrollment?.status ?? 'ACTIVE',
      status: event.status,
      orgUnitName: this.orgUnitName(event.orgUnit),
      ...(event.occurredAt ? { eventDate: event.occurredAt } : {}),
      attributeCategoryOptions: event.attributeCategoryOptions,
      lastUpdated: event.updatedAt,
      created: event.createdAt,
      ...(event.completedAt ? { completedDate: event.completedAt, completedBy: event.completedBy } : {}),
      followup: event.followUp,
      deleted: event.deleted,
      attributeOptionCombo: event.attributeOptionCombo,
      dataValues: [...event.dataValues].map(([dataElement, stored]) => ({
        lastUpdated: stored.updatedAt,
        storedBy: stored.storedBy,
        created: stored.createdAt,
        dataElement,
        value: stored.value,
        providedElsewhere: stored.providedElsewhere,
      })),
      notes: this.notes(event.notes),
      relationships: [],
    };
  }
}
