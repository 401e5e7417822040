/**
 * In-memory project space: cases (indexed by id and external id), forms, users, locations and
 * the case-block engine that both the receiver and the Case API go through, as on HQ where the
 * Case API submits a generated form.
 */
import { createHash } from 'node:crypto';
import { textOf, type FormJson } from './form-json';
import * as seed from './seed';

export const CASE_XMLNS = 'http://commcarehq.org/case/transaction/v2';

export interface CaseIndex {
  case_id: string;
  case_type: string;
  relationship: string;
}

export interface CaseRecord {
  case_id: string;
  case_type: string;
  case_name: string;
  external_id: string | null;
  owner_id: string;
  user_id: string;
  date_opened: string;
  last_modified: string;
  server_last_modified: string;
  server_date_opened: string;
  indexed_on: string;
  closed: boolean;
  date_closed: string | null;
  properties: Record<string, string>;
  indices: Record<string, CaseIndex>;
  xform_ids: string[];
}

export interface FormRecord {
  id: string;
  json: FormJson;
  /** The XML as received, or undefined for forms injected as JSON. */
  xml?: string;
  bodyHash: string;
  receivedOn: string;
  xmlns: string;
  appId: string | null;
}

/** A processing failure HQ reports as "<ErrorClass>: <message>". */
export class CaseProcessingError extends Error {
  constructor(readonly kind: string, message: string) {
    super(`${kind}: ${message}`);
  }
}

/** Timestamps in HQ's format: UTC with microseconds. */
export function hqTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

let lastStamp = 0;
/** A strictly increasing "now", so that indexed_on orders cases even within one millisecond. */
export function monotonicNow(): Date {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return new Date(lastStamp);
}

/** Phones send offsets like "-04"; JavaScript wants "-04:00". Unparseable values fall back to now. */
export function parsePhoneDate(value: string | undefined, fallback: Date): Date {
  if (!value) return fallback;
  const normalized = value.trim().replace(/([+-]\d{2})$/, '$1:00');
  const date = new Date(normalized);
  return Number.isNaN(date.getTime()) ? fallback : date;
}

const SPECIAL_UPDATE_KEYS = new Set(['case_type', 'case_name', 'owner_id', 'external_id', 'date_opened']);

export class CommcareStore {
  readonly cases = new Map<string, CaseRecord>();
  private readonly byExternalId = new Map<string, Set<string>>();
  readonly forms = new Map<string, FormRecord>();
  /** Owner ids HQ knows: mobile workers, locations and case-sharing groups. */
  readonly ownerIds = new Set<string>();

  constructor() {
    for (const worker of seed.MOBILE_WORKERS) this.ownerIds.add(worker.id);
    for (const location of seed.LOCATIONS) this.ownerIds.add(location.id);
    for (const group of seed.GROUPS) this.ownerIds.add(group.id);
    this.ownerIds.add(seed.WEB_USER.id);
    for (const seeded of seed.SEEDED_CASES) {
      const opened = hqTimestamp(new Date(seeded.opened));
      this.save({
        case_id: seeded.caseId,
        case_type: seeded.caseType,
        case_name: seeded.caseName,
        external_id: seeded.externalId,
        owner_id: seeded.ownerId,
        user_id: seeded.userId,
        date_opened: opened,
        last_modified: opened,
        server_last_modified: opened,
        server_date_opened: opened,
        indexed_on: hqTimestamp(monotonicNow()),
        closed: false,
        date_closed: null,
        properties: { ...seeded.properties },
        indices: structuredClone(seeded.indices),
        xform_ids: [],
      });
    }
  }

  private save(record: CaseRecord): void {
    const previous = this.cases.get(record.case_id);
    if (previous?.external_id && previous.external_id !== record.external_id) {
      this.byExternalId.get(previous.external_id)?.delete(record.case_id);
    }
    this.cases.set(record.case_id, record);
    if (record.external_id) {
      let ids = this.byExternalId.get(record.external_id);
      if (!ids) this.byExternalId.set(record.external_id, (ids = new Set()));
      ids.add(record.case_id);
    }
  }

  casesByExternalId(externalId: string): CaseRecord[] {
    return [...(this.byExternalId.get(externalId) ?? [])].map((id) => this.cases.get(id)).filter((c): c is CaseRecord => !!c);
  }

  /**
   * Applies every case block of a form, all or nothing. Returns the ids of the changed cases in
   * document order. Throws CaseProcessingError when HQ would mark the form as an error.
   */
  applyCaseBlocks(formId: string, form: FormJson, serverNow: Date): string[] {
    const blocks = findCaseBlocks(form);
    const staged = new Map<string, CaseRecord>();
    const now = hqTimestamp(serverNow);
    const changed: string[] = [];

    for (const block of blocks) {
      const caseId = textOf(block['@case_id']).trim();
      if (!caseId) throw new CaseProcessingError('IllegalCaseId', 'case_id must not be empty');
      const userId = textOf(block['@user_id']);
      const modified = hqTimestamp(parsePhoneDate(textOf(block['@date_modified']), serverNow));
      const existing = staged.get(caseId) ?? this.cases.get(caseId);
      // HQ creates a case for an update to an unknown id (no create block needed)
      const record: CaseRecord = existing ? structuredClone(existing) : {
        case_id: caseId,
        case_type: '',
        case_name: '',
        external_id: null,
        owner_id: userId,
        user_id: userId,
        date_opened: modified,
        last_modified: modified,
        server_last_modified: now,
        server_date_opened: now,
        indexed_on: now,
        closed: false,
        date_closed: null,
        properties: {},
        indices: {},
        xform_ids: [],
      };

      const create = asObject(block.create);
      if (create) {
        if ('case_type' in create) record.case_type = textOf(create.case_type);
        if ('case_name' in create) record.case_name = textOf(create.case_name);
        if ('owner_id' in create) record.owner_id = textOf(create.owner_id) || userId;
        if ('external_id' in create) record.external_id = textOf(create.external_id) || null;
      }
      const update = asObject(block.update);
      if (update) {
        for (const [key, value] of Object.entries(update)) {
          if (key.startsWith('@') || key.startsWith('#')) continue;
          const text = textOf(value);
          if (!SPECIAL_UPDATE_KEYS.has(key)) record.properties[key] = text;
          else if (key === 'external_id') record.external_id = text || null;
          else if (key === 'date_opened') record.date_opened = hqTimestamp(parsePhoneDate(text, serverNow));
          else record[key as 'case_type' | 'case_name' | 'owner_id'] = text;
        }
      }
      const index = asObject(block.index);
      if (index) {
        for (const [identifier, value] of Object.entries(index)) {
          if (identifier.startsWith('@') || identifier.startsWith('#')) continue;
          const target = textOf(value).trim();
          const attributes = asObject(value) ?? {};
          if (!target) {
            delete record.indices[identifier];
            continue;
          }
          if (!staged.has(target) && !this.cases.has(target) && target !== caseId) {
            throw new CaseProcessingError('InvalidCaseIndex', `Case '${caseId}' references non-existent case '${target}'`);
          }
          record.indices[identifier] = {
            case_id: target,
            case_type: textOf(attributes['@case_type']),
            relationship: textOf(attributes['@relationship']) || 'child',
          };
        }
      }
      if ('close' in block) {
        record.closed = true;
        record.date_closed = modified;
      }
      record.user_id = userId || record.user_id;
      record.last_modified = modified;
      record.server_last_modified = now;
      record.indexed_on = now;
      if (!record.xform_ids.includes(formId)) record.xform_ids.push(formId);
      staged.set(caseId, record);
      if (!changed.includes(caseId)) changed.push(caseId);
    }

    for (const record of staged.values()) this.save(record);
    return changed;
  }

  saveForm(record: FormRecord): void {
    this.forms.set(record.id, record);
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  if (value === '') return {};
  return undefined;
}

/** Case blocks anywhere in the form (inside groups and repeats too), in document order. */
export function findCaseBlocks(value: unknown, found: Array<Record<string, unknown>> = []): Array<Record<string, unknown>> {
  if (Array.isArray(value)) {
    for (const item of value) findCaseBlocks(item, found);
    return found;
  }
  if (!value || typeof value !== 'object') return found;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'case') {
      for (const block of Array.isArray(child) ? child : [child]) {
        if (block && typeof block === 'object' && ('@case_id' in block || (block as Record<string, unknown>)['@xmlns'] === CASE_XMLNS)) {
          found.push(block as Record<string, unknown>);
        }
      }
    } else if (!key.startsWith('@') && !key.startsWith('#')) {
      findCaseBlocks(child, found);
    }
  }
  return found;
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Case API v2 serialization (docs/api/cases-v2.rst "Single Case Serialization Format"). */
export function serializeCase(record: CaseRecord): Record<string, unknown> {
  return {
    domain: seed.DOMAIN,
    case_id: record.case_id,
    case_type: record.case_type,
    case_name: record.case_name,
    external_id: record.external_id,
    owner_id: record.owner_id,
    date_opened: record.date_opened,
    last_modified: record.last_modified,
    server_last_modified: record.server_last_modified,
    indexed_on: record.indexed_on,
    closed: record.closed,
    date_closed: record.date_closed,
    properties: { ...record.properties },
    indices: structuredClone(record.indices),
  };
}

/** The case JSON that case forwarding sends (docs/api/form-case-forwarding.rst "Forward Cases"). */
export function forwardedCaseJson(record: CaseRecord): Record<string, unknown> {
  const properties: Record<string, string | null> = {
    case_name: record.case_name,
    case_type: record.case_type,
    date_opened: record.date_opened,
    external_id: record.external_id,
    owner_id: record.owner_id,
    ...record.properties,
  };
  return {
    case_id: record.case_id,
    closed: record.closed,
    date_closed: record.date_closed,
    date_modified: record.last_modified,
    domain: seed.DOMAIN,
    indices: structuredClone(record.indices),
    properties,
    server_date_modified: record.server_last_modified,
    server_date_opened: record.server_date_opened,
    user_id: record.user_id,
    version: '2.0',
    xform_ids: [...record.xform_ids],
  };
}
