/**
 * A typed CHT client on the shared HttpClient: the CHT API (records, people, places, person,
 * place and report reads, contacts by phone, settings) and the `medic` CouchDB database (doc
 * reads and writes with `_rev` conflict handling, bulk reads, the changes feed). Base URL is the
 * CHT instance (`https://cht.example.org`); basic auth. Usable without Node-RED.
 */
import { basicAuth } from '../../core/auth';
import { badInput, isIntegrationError } from '../../core/errors';
import type { HttpClient, HttpClientOptions, RequestOptions } from '../../core/http-client';
import { type Before, type UpdateOutcome, DEFAULT_UPDATE_ATTEMPTS, restoreBefore, updateDoc, updateWithConflictRetry } from './doc-update';
import { classifyChtError, summarizeChtError } from './errors';
import { updateMarkerFields } from './loop-marker';
import type { ChangesPage, ChtDoc, ContactTypeInfo, PlaceCreated, RecordCreated, Seq, WriteResult } from './types';

export const MEDIC_DB = 'medic';

export interface ChtCredentials {
  username?: string;
  password?: string;
}

/** HttpClient options for CHT: basic auth and CHT's error bodies. */
export function chtHttpOptions(base: HttpClientOptions, credentials: ChtCredentials): HttpClientOptions {
  return {
    ...base,
    system: 'cht',
    auth: credentials.username ? basicAuth(credentials.username, credentials.password ?? '') : undefined,
    summarizeError: summarizeChtError,
  };
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ChangesRequest extends CallOptions {
  since: Seq;
  limit?: number;
  /** How long CouchDB holds a longpoll open without changes. */
  timeoutMs?: number;
  includeDocs?: boolean;
}

/** CHT's default hierarchy (used when the instance's settings cannot be read). */
export const DEFAULT_CONTACT_TYPES: ContactTypeInfo[] = [
  { id: 'district_hospital' },
  { id: 'health_center', parents: ['district_hospital'] },
  { id: 'clinic', parents: ['health_center'] },
  { id: 'person', parents: ['district_hospital', 'health_center', 'clinic'], person: true },
];

/** The `type` a hierarchy level is stored with: its own name for the legacy levels, else "contact". */
const LEGACY_TYPES = new Set(['district_hospital', 'health_center', 'clinic', 'person']);

export function contactTypeFields(contactType: string): { type: string; contact_type?: string } {
  return LEGACY_TYPES.has(contactType) ? { type: contactType } : { type: 'contact', contact_type: contactType };
}

const docPath = (id: string): string => `${MEDIC_DB}/${encodeURIComponent(id)}`;

export class ChtClient {
  constructor(readonly http: HttpClient) {}

  private async call<T>(request: RequestOptions): Promise<T> {
    try {
      return (await this.http.request<T>(request)).data;
    } catch (error) {
      throw classifyChtError(error);
    }
  }

  // ---- CHT API ----

  /** POST /api/v2/records (JSON): `_meta.form` plus the report's fields. */
  createRecord(body: Record<string, unknown>, options: CallOptions = {}): Promise<RecordCreated> {
    return this.call({ method: 'POST', path: 'api/v2/records', body, signal: options.signal });
  }

  /** POST /api/v1/people: `place` is an existing place id or a new place (with its parents). */
  createPerson(person: Record<string, unknown>, options: CallOptions = {}): Promise<WriteResult> {
    return this.call({ method: 'POST', path: 'api/v1/people', body: person, signal: options.signal });
  }

  /** POST /api/v1/places: `parent` and `contact` are existing ids or new objects. */
  createPlace(place: Record<string, unknown>, options: CallOptions = {}): Promise<PlaceCreated> {
    return this.call({ method: 'POST', path: 'api/v1/places', body: place, signal: options.signal });
  }

  getPerson(id: string, options: CallOptions & { withLineage?: boolean } = {}): Promise<ChtDoc> {
    return this.call({ path: `api/v1/person/${encodeURIComponent(id)}`, query: { with_lineage: options.withLineage ? 'true' : undefined }, signal: options.signal });
  }

  getPlace(id: string, options: CallOptions & { withLineage?: boolean } = {}): Promise<ChtDoc> {
    return this.call({ path: `api/v1/place/${encodeURIComponent(id)}`, query: { with_lineage: options.withLineage ? 'true' : undefined }, signal: options.signal });
  }

  getReport(id: string, options: CallOptions & { withLineage?: boolean } = {}): Promise<ChtDoc> {
    return this.call({ path: `api/v1/report/${encodeURIComponent(id)}`, query: { with_lineage: options.withLineage ? 'true' : undefined }, signal: options.signal });
  }

  /** A person or place by uuid (`/api/v1/contact`), or undefined when there is none. */
  async getContact(id: string, options: CallOptions & { withLineage?: boolean } = {}): Promise<ChtDoc | undefined> {
    const response = await this.http
      .request<ChtDoc>({ path: `api/v1/contact/${encodeURIComponent(id)}`, query: { with_lineage: options.withLineage ? 'true' : undefined }, acceptStatus: [404], signal: options.signal })
      .catch((error: unknown) => {
        throw classifyChtError(error);
      });
    return response.status === 404 ? undefined : response.data;
  }

  /**
   * One page of contact uuids (`/api/v1/contact/uuid`) by freetext and/or contact type; a
   * `key:value` freetext matches that field exactly (CHT indexes values lower-cased).
   */
  contactUuids(query: { freetext?: string; type?: string; cursor?: string; limit?: number }, options: CallOptions = {}): Promise<{ data: string[]; cursor: string | null }> {
    return this.call({ path: 'api/v1/contact/uuid', query: { freetext: query.freetext, type: query.type, cursor: query.cursor, limit: query.limit }, signal: options.signal });
  }

  /** The contacts with this phone number, hydrated; none is an empty list, not an error. */
  async contactsByPhone(phone: string, options: CallOptions = {}): Promise<ChtDoc[]> {
    const response = await this.http
      .request<{ ok?: boolean; docs?: ChtDoc[] }>({ path: 'api/v1/contacts-by-phone', query: { phone }, acceptStatus: [404], signal: options.signal })
      .catch((error: unknown) => {
        throw classifyChtError(error);
      });
    return response.status === 404 ? [] : response.data.docs ?? [];
  }

  /** The app settings (forms, contact_types...), or undefined when this user may not read them. */
  async settings(options: CallOptions = {}): Promise<Record<string, unknown> | undefined> {
    const response = await this.http.request<Record<string, unknown>>({ path: 'api/v1/settings', acceptStatus: [401, 403, 404], signal: options.signal, retry: false });
    return response.status >= 400 ? undefined : response.data;
  }

  async contactTypes(options: CallOptions = {}): Promise<ContactTypeInfo[]> {
    const configured = (await this.settings(options))?.contact_types;
    return Array.isArray(configured) && configured.length ? (configured as ContactTypeInfo[]) : DEFAULT_CONTACT_TYPES;
  }

  /**
   * The form codes reports can have: app forms (`form:` docs in medic), the JSON forms of the
   * app settings, and the forms of reports already in the database.
   */
  async formCodes(options: CallOptions = {}): Promise<Array<{ code: string; label: string; kind: 'app' | 'json' | 'reported' }>> {
    const forms = new Map<string, { code: string; label: string; kind: 'app' | 'json' | 'reported' }>();
    const appForms = await this.call<{ rows: Array<{ id: string; doc?: ChtDoc }> }>({
      path: `${MEDIC_DB}/_all_docs`,
      query: { startkey: JSON.stringify('form:'), endkey: JSON.stringify('form:\ufff0'), include_docs: 'true' },
      signal: options.signal,
    });
    for (const row of appForms.rows ?? []) {
      const code = typeof row.doc?.internalId === 'string' ? row.doc.internalId : row.id.slice('form:'.length);
      const title = typeof row.doc?.title === 'string' ? row.doc.title : undefined;
      forms.set(code, { code, label: title ? `${title} (${code})` : code, kind: 'app' });
    }
    const jsonForms = (await this.settings(options))?.forms;
    if (jsonForms && typeof jsonForms === 'object') {
      for (const [code, form] of Object.entries(jsonForms as Record<string, { meta?: { label?: unknown } }>)) {
        const label = typeof form?.meta?.label === 'string' ? form.meta.label : undefined;
        forms.set(code, { code, label: label ? `${label} (${code}, JSON form)` : `${code} (JSON form)`, kind: 'json' });
      }
    }
    const reported = await this.http
      .request<{ rows?: Array<{ key: unknown }> }>({ path: `${MEDIC_DB}/_design/medic-client/_view/reports_by_form`, query: { limit: 5000 }, acceptStatus: [404], signal: options.signal })
      .catch(() => undefined);
    for (const row of reported?.status === 200 ? reported.data.rows ?? [] : []) {
      const code = Array.isArray(row.key) ? row.key[0] : row.key;
      if (typeof code === 'string' && !forms.has(code)) forms.set(code, { code, label: `${code} (seen in reports)`, kind: 'reported' });
    }
    return [...forms.values()].sort((a, b) => a.code.localeCompare(b.code));
  }

  // ---- medic database ----

  getDoc(id: string, options: CallOptions = {}): Promise<ChtDoc> {
    if (!id) throw badInput('a document id is required', 'id');
    return this.call({ path: docPath(id), signal: options.signal });
  }

  /** Documents by id in one request; missing or deleted ones are left out of the map. */
  async getDocs(ids: string[], options: CallOptions = {}): Promise<Map<string, ChtDoc>> {
    if (ids.length === 0) return new Map();
    const result = await this.call<{ rows: Array<{ id?: string; key: string; doc?: ChtDoc | null }> }>({
      method: 'POST',
      path: `${MEDIC_DB}/_all_docs`,
      query: { include_docs: 'true' },
      body: { keys: ids },
      // A read, whatever the verb.
      idempotent: true,
      signal: options.signal,
    });
    return new Map((result.rows ?? []).filter((row) => row.doc).map((row) => [row.key, row.doc as ChtDoc]));
  }

  putDoc(doc: ChtDoc, options: CallOptions = {}): Promise<WriteResult> {
    return this.call({ method: 'PUT', path: docPath(doc._id), body: doc, signal: options.signal });
  }

  /**
   * A shallow-merge update, re-read and retried on `_rev` conflicts; `mark` stamps the loop
   * marker for the revision being written.
   */
  updateDoc(id: string, changes: Record<string, unknown>, options: CallOptions & { maxAttempts?: number; mark?: boolean } = {}): Promise<UpdateOutcome> {
    return updateDoc(this.access(options), id, changes, options.maxAttempts ?? DEFAULT_UPDATE_ATTEMPTS, options.mark ? (latest) => updateMarkerFields(latest._rev) : undefined);
  }

  /** Puts back the fields an update changed (see UpdateOutcome.before); false when the doc is gone. */
  async restoreDoc(id: string, before: Before, options: CallOptions = {}): Promise<boolean> {
    try {
      await updateWithConflictRetry(this.access(options), id, (latest) => restoreBefore(latest, before));
      return true;
    } catch (error) {
      if (isIntegrationError(error) && error.status === 404) return false;
      throw error;
    }
  }

  /** Deletes the latest revision (`_deleted: true` with its `_rev`); false when it was already gone. */
  async deleteDoc(id: string, options: CallOptions = {}): Promise<boolean> {
    try {
      await updateWithConflictRetry(this.access(options), id, (latest) => ({ _id: latest._id, _rev: latest._rev, _deleted: true }));
      return true;
    } catch (error) {
      if (isIntegrationError(error) && error.status === 404) return false;
      throw error;
    }
  }

  /** The database's current sequence (where "from now" starts). */
  async currentSeq(options: CallOptions = {}): Promise<Seq> {
    const info = await this.call<{ update_seq: Seq }>({ path: MEDIC_DB, signal: options.signal });
    return info.update_seq;
  }

  /**
   * One longpoll of `_changes`: answers as soon as there are changes after `since` (up to
   * `limit`), or empty after `timeoutMs`. Not retried here: the follower owns reconnection.
   */
  changes(request: ChangesRequest): Promise<ChangesPage> {
    const holdMs = request.timeoutMs ?? 30_000;
    return this.call({
      path: `${MEDIC_DB}/_changes`,
      query: {
        feed: 'longpoll',
        since: String(request.since),
        limit: request.limit,
        timeout: holdMs,
        include_docs: request.includeDocs === false ? undefined : 'true',
      },
      // Long enough for the server to answer an empty longpoll.
      timeoutMs: holdMs + 30_000,
      retry: false,
      signal: request.signal,
    });
  }

  private access(options: CallOptions): { read: (id: string) => Promise<ChtDoc>; write: (doc: ChtDoc) => Promise<WriteResult> } {
    return { read: (id) => this.getDoc(id, options), write: (doc) => this.putDoc(doc, options) };
  }
}
