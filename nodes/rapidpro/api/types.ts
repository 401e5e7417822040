/**
 * RapidPro API v2 objects as the API serializes them (temba/api/v2/serializers.py), limited to
 * what this package reads.
 */

export interface ObjectRef {
  uuid: string;
  name?: string | null;
}

export interface Contact {
  uuid: string;
  name: string | null;
  status?: 'active' | 'blocked' | 'stopped' | 'archived' | null;
  language: string | null;
  urns: string[];
  groups: ObjectRef[];
  fields: Record<string, string | number | null>;
  flow?: ObjectRef | null;
  created_on: string;
  modified_on: string;
  last_seen_on?: string | null;
}

/** The body of POST contacts.json. `groups` takes UUIDs (or names). */
export interface ContactWrite {
  name?: string | null;
  language?: string | null;
  urns?: string[];
  groups?: string[];
  fields?: Record<string, string | number | null>;
}

export interface Group {
  uuid: string;
  name: string;
  /** Set for smart groups, whose members come from the query and cannot be set by the API. */
  query: string | null;
  status?: string;
  system?: boolean;
  count?: number;
}

export interface Field {
  key: string;
  name: string;
  type: string;
  /** Older API versions: `label` and `value_type`. */
  label?: string;
  value_type?: string;
}

export interface FlowResultSpec {
  key: string;
  name: string;
  categories: string[];
}

export interface Flow {
  uuid: string;
  name: string;
  type?: string;
  archived?: boolean;
  results?: FlowResultSpec[];
  created_on?: string;
  modified_on?: string;
}

/** The body of POST flow_starts.json. */
export interface FlowStartRequest {
  flow: string;
  contacts?: string[];
  urns?: string[];
  groups?: string[];
  params?: Record<string, unknown>;
  restart_participants?: boolean;
  exclude_active?: boolean;
}

export interface FlowStart {
  uuid: string;
  flow: ObjectRef | null;
  status: 'pending' | 'queued' | 'started' | 'completed' | 'failed' | 'interrupted' | string;
  groups: ObjectRef[];
  contacts: ObjectRef[];
  params?: Record<string, unknown>;
  restart_participants?: boolean;
  exclude_active?: boolean;
  created_on: string;
  modified_on: string;
}

export interface RunValue {
  name: string;
  value: string | null;
  category: string | null;
  node?: string;
  time?: string;
  input?: string | null;
}

export type RunExitType = 'completed' | 'interrupted' | 'expired' | 'failed' | null;

export interface Run {
  id?: number;
  uuid: string;
  flow: ObjectRef | null;
  contact: { uuid: string; urn?: string | null; name?: string | null } | null;
  start?: { uuid: string } | null;
  responded: boolean;
  path?: Array<{ node: string; time: string }> | null;
  values: Record<string, RunValue>;
  created_on: string;
  modified_on: string;
  exited_on: string | null;
  exit_type: RunExitType;
}

/** DRF cursor pagination. */
export interface Page<T> {
  next: string | null;
  previous?: string | null;
  results: T[];
}
