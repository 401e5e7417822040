/** The DHIS2 payload and answer shapes this package reads and writes (2.38+ tracker, 2.3x legacy, aggregate). */

export type Json = Record<string, unknown>;

export type TrackerType = 'TRACKED_ENTITY' | 'ENROLLMENT' | 'EVENT' | 'RELATIONSHIP';

export interface Attribute {
  attribute: string;
  value: unknown;
  [key: string]: unknown;
}

export interface TrackerEvent extends Json {
  event?: string;
  program?: string;
  programStage?: string;
  enrollment?: string;
  trackedEntity?: string;
  orgUnit?: string;
  occurredAt?: string;
  scheduledAt?: string;
  status?: string;
  dataValues?: Array<{ dataElement: string; value: unknown }>;
}

export interface TrackerEnrollment extends Json {
  enrollment?: string;
  program?: string;
  trackedEntity?: string;
  orgUnit?: string;
  enrolledAt?: string;
  occurredAt?: string;
  status?: string;
  attributes?: Attribute[];
  events?: TrackerEvent[];
}

export interface TrackedEntity extends Json {
  trackedEntity?: string;
  trackedEntityType?: string;
  orgUnit?: string;
  attributes?: Attribute[];
  enrollments?: TrackerEnrollment[];
}

/** The body of POST /api/tracker: nested (children inside parents) or flat (children name their parent). */
export interface TrackerPayload {
  trackedEntities?: TrackedEntity[];
  enrollments?: TrackerEnrollment[];
  events?: TrackerEvent[];
}

export interface TrackerErrorReport {
  message: string;
  errorCode: string;
  trackerType: TrackerType;
  uid: string;
}

export interface TrackerStats {
  created: number;
  updated: number;
  deleted: number;
  ignored: number;
  total: number;
}

export interface ImportReport {
  status: 'OK' | 'WARNING' | 'ERROR';
  validationReport?: { errorReports?: TrackerErrorReport[]; warningReports?: TrackerErrorReport[] };
  stats?: TrackerStats;
  bundleReport?: {
    typeReportMap?: Partial<Record<TrackerType, { stats?: TrackerStats; objectReports?: Array<{ trackerType: TrackerType; uid: string }> }>>;
  };
  message?: string;
}

/** A data value conflict as 2.40.9 reports it (older versions send only object and value). */
export interface DataValueConflict {
  object?: string;
  objects?: Record<string, string>;
  value: string;
  errorCode?: string;
  property?: string;
  indexes?: number[];
}

export interface DataValueImportSummary {
  status: 'SUCCESS' | 'WARNING' | 'ERROR';
  description?: string;
  importCount?: { imported: number; updated: number; ignored: number; deleted: number };
  conflicts?: DataValueConflict[];
  rejectedIndexes?: number[];
}
