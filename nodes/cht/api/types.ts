/** The shapes of CHT documents and API answers this package reads and writes. */

/** A minified lineage as CHT stores it: `{_id, parent: {_id, parent: ...}}`. */
export interface Lineage {
  _id: string;
  parent?: Lineage;
  [key: string]: unknown;
}

export interface ChtDoc {
  _id: string;
  _rev?: string;
  _deleted?: boolean;
  type?: string;
  contact_type?: string;
  form?: string;
  parent?: Lineage;
  contact?: Lineage | string;
  [key: string]: unknown;
}

/** CouchDB 2+ sequences are opaque strings ("12-g1AAAA..."); PouchDB's are numbers. */
export type Seq = string | number;

export interface ChangeRow {
  id: string;
  seq: Seq;
  changes?: Array<{ rev: string }>;
  deleted?: boolean;
  doc?: ChtDoc;
}

export interface ChangesPage {
  results: ChangeRow[];
  last_seq: Seq;
  pending?: number;
}

export interface WriteResult {
  ok?: boolean;
  id: string;
  rev: string;
}

export interface RecordCreated {
  success: boolean;
  id: string;
}

export interface PlaceCreated {
  id: string;
  rev?: string;
  /** Present when the place was created with a contact. */
  contact?: { id: string };
}

export interface ContactTypeInfo {
  id: string;
  parents?: string[];
  person?: boolean;
  name_key?: string;
}
