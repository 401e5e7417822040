/** CommCare HQ payload shapes as the Case API v2 and the tastypie APIs return them. */

export interface CaseIndex {
  case_id: string;
  case_type: string;
  relationship: 'child' | 'extension' | string;
}

/** Case API v2 serialization ("Single Case Serialization Format"). */
export interface CommcareCase {
  domain: string;
  case_id: string;
  case_type: string;
  case_name: string;
  external_id: string | null;
  owner_id: string;
  date_opened: string;
  last_modified: string;
  server_last_modified: string;
  indexed_on: string;
  closed: boolean;
  date_closed: string | null;
  properties: Record<string, string>;
  indices: Record<string, CaseIndex>;
}

/** A bulk-fetch entry for an id that did not resolve. */
export interface MissingCase {
  error: string;
  case_id?: string;
  external_id?: string;
}

export interface IndexChange {
  case_id?: string;
  external_id?: string;
  temporary_id?: string;
  case_type?: string;
  relationship?: 'child' | 'extension';
}

/** The fields a create, update or upsert may carry (properties are strings on the wire). */
export interface CaseChange {
  case_id?: string;
  external_id?: string;
  case_type?: string;
  case_name?: string;
  owner_id?: string;
  properties?: Record<string, string>;
  indices?: Record<string, IndexChange>;
  close?: boolean;
}

/**
 * One item of a bulk POST: `create: true` creates, `false` updates (by case_id or external_id),
 * `null` upserts by external_id (updates the case with that external_id, or creates it).
 */
export interface BulkItem extends CaseChange {
  create: boolean | null;
}

export interface ChangeResult {
  form_id: string;
  case: CommcareCase;
}

export interface BulkChangeResult {
  form_id: string;
  cases: CommcareCase[];
}

export interface CaseListPage {
  matching_records: number;
  cases: CommcareCase[];
  /** An absolute URL (HQ builds it with reverse(..., absolute=True)) or `{cursor}`. */
  next?: string | { cursor?: string };
}

/** Filters of GET /api/case/v2/ (docs/api/cases-v2.rst "Filtering"). */
export interface CaseFilters {
  case_type?: string | string[];
  owner_id?: string | string[];
  external_id?: string;
  closed?: boolean;
  'indexed_on.gte'?: string;
  'indexed_on.gt'?: string;
  'last_modified.gte'?: string;
  'server_last_modified.gte'?: string;
  /** properties.<name>=value filters. */
  properties?: Record<string, string>;
  limit?: number;
}

export interface TastypieMeta {
  limit: number;
  next: string | null;
  offset: number;
  previous: string | null;
  total_count: number;
}

export interface MobileWorker {
  id: string;
  username: string;
  first_name?: string;
  last_name?: string;
  primary_location?: string | null;
  locations?: string[];
  user_data?: Record<string, unknown>;
}

export interface Group {
  id: string;
  name: string;
  case_sharing: boolean;
  users?: string[];
}

export interface Location {
  location_id: string;
  name: string;
  site_code?: string;
  location_type?: string;
  location_type_code?: string;
  location_type_name?: string;
  parent_location_id?: string | null;
}

export interface ApplicationForm {
  name: Record<string, string> | string;
  xmlns: string;
  questions?: Array<{ label?: string; value?: string; tag?: string; repeat?: string }>;
}

export interface ApplicationModule {
  name: Record<string, string> | string;
  case_type?: string;
  case_properties?: string[];
  forms: ApplicationForm[];
}

export interface Application {
  id: string;
  name: string;
  version?: number;
  case_types?: Record<string, string[]>;
  modules: ApplicationModule[];
}
