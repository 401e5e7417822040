/**
 * API v2 endpoints (temba/api/v2/views.py): contacts, groups, fields, flows, flow_starts and
 * runs. Errors follow DRF: {"field": ["message"]}, {"urns": {"0": ["message"]}},
 * {"non_field_errors": [...]} for body errors and {"detail": "..."} for query errors.
 */
import { randomUUID } from 'node:crypto';
import type { SandboxRequest, SandboxResponse } from '../core';
import type { FlowEngine } from './engine';
import { cursorPage, InvalidCursor, type Position } from './paging';
import { monotonicNow, normalizeUrn, tembaTime, type Contact, type Field, type FlowStart, type Group, type RapidproStore } from './store';

type Errors = Record<string, unknown>;

class QueryError extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

const detail = (message: string, status = 400): SandboxResponse => ({ status, body: { detail: message } });
const invalid = (errors: Errors): SandboxResponse => ({ status: 400, body: errors });
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** ISO 639-3 codes accepted for contact languages (a subset: the ones a CHIS workspace meets). */
const LANGUAGES = new Set([
  'eng', 'fra', 'spa', 'por', 'ara', 'kin', 'swa', 'lug', 'nyn', 'amh', 'orm', 'tir', 'som', 'hau', 'yor', 'ibo',
  'zul', 'xho', 'sot', 'tsn', 'nya', 'sna', 'lin', 'run', 'mlg', 'wol', 'ful', 'twi', 'ewe', 'hin', 'ben', 'urd',
  'nep', 'ind', 'vie', 'tha', 'deu', 'ita', 'nld', 'rus', 'zho', 'jpn', 'kor', 'tur', 'fas', 'pus', 'tgl', 'mya',
]);

function withQueryErrors(handler: (req: SandboxRequest) => SandboxResponse): (req: SandboxRequest) => SandboxResponse {
  return (req) => {
    try {
      return handler(req);
    } catch (error) {
      if (error instanceof QueryError) return detail(error.message, error.status);
      if (error instanceof InvalidCursor) return detail('Invalid cursor', 404);
      throw error;
    }
  };
}

function uuidParam(req: SandboxRequest, name: string): string | undefined {
  const value = req.query.get(name);
  if (value === null || value === '') return undefined;
  if (!UUID.test(value)) throw new QueryError(`Param '${name}': ${value} is not a valid UUID.`);
  return value.toLowerCase();
}

function urnParam(value: string): string {
  const urn = normalizeUrn(value);
  if (!urn) throw new QueryError(`Invalid URN: ${value}`);
  return urn;
}

function truthy(value: string | null): boolean {
  return value !== null && ['true', '1', 'yes', 'on'].includes(value.toLowerCase());
}

function exclusive(req: SandboxRequest, params: string[]): void {
  if (params.filter((param) => req.query.get(param)).length > 1) throw new QueryError(`You may only specify one of the ${params.join(', ')} parameters`);
}

/** Applies before/after to a timestamp; unparseable bounds match nothing, as in RapidPro. */
function inRange(req: SandboxRequest, stamp: string): boolean {
  const before = req.query.get('before');
  const after = req.query.get('after');
  const time = Date.parse(stamp);
  if (before && !(Date.parse(before) >= time)) return false;
  if (after && !(Date.parse(after) <= time)) return false;
  return true;
}

function lookup(req: SandboxRequest, params: Array<'uuid' | 'urn' | 'key'>): { param?: string; value?: string } {
  const present = params.filter((param) => req.query.has(param)).sort();
  if (present.length > 1) throw new QueryError(`URL can only contain one of the following parameters: ${[...params].sort().join(', ')}`);
  const [param] = present;
  if (!param) return {};
  const raw = req.query.get(param) as string;
  if (param === 'uuid') {
    if (!UUID.test(raw)) throw new QueryError(`Param 'uuid': ${raw} is not a valid UUID.`);
    return { param, value: raw.toLowerCase() };
  }
  return { param, value: param === 'urn' ? urnParam(raw) : raw };
}

function bodyObject(req: SandboxRequest): Record<string, unknown> | undefined {
  const body = req.body ?? {};
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
}

const NOT_OBJECT: SandboxResponse = invalid({ non_field_errors: ['Request body should be a single JSON object'] });

function listError(value: unknown): string {
  const type = value === null ? 'NoneType' : typeof value === 'string' ? 'str' : typeof value === 'number' ? 'int' : typeof value === 'boolean' ? 'bool' : 'dict';
  return `Expected a list of items but got type "${type}".`;
}

/** Validates a list of URNs: {index: [message]} errors per item, like DRF's ListField. */
function validateUrns(value: unknown, errors: Errors, field = 'urns'): string[] | undefined {
  if (!Array.isArray(value)) {
    errors[field] = [listError(value)];
    return undefined;
  }
  if (value.length > 100) {
    errors[field] = ['Ensure this field has no more than 100 elements.'];
    return undefined;
  }
  const itemErrors: Record<string, string[]> = {};
  const urns: string[] = [];
  value.forEach((item, index) => {
    const urn = typeof item === 'string' ? normalizeUrn(item) : undefined;
    if (!urn) itemErrors[String(index)] = [`Invalid URN: ${String(item)}. Ensure phone numbers contain country codes.`];
    else urns.push(urn);
  });
  if (Object.keys(itemErrors).length > 0) {
    errors[field] = itemErrors;
    return undefined;
  }
  return urns;
}

function validateRefs<T>(value: unknown, errors: Errors, field: string, find: (ref: string) => T | undefined): T[] | undefined {
  if (!Array.isArray(value)) {
    errors[field] = [listError(value)];
    return undefined;
  }
  if (value.length > 100) {
    errors[field] = ['Ensure this field has no more than 100 elements.'];
    return undefined;
  }
  const found: T[] = [];
  for (const ref of value) {
    const item = typeof ref === 'string' ? find(ref) : undefined;
    if (!item) {
      errors[field] = [`No such object: ${String(ref)}`];
      return undefined;
    }
    found.push(item);
  }
  return found;
}

function fieldValue(field: Field, value: unknown): string | number | null {
  if (value === null || value === undefined || value === '') return null;
  const text = String(value);
  if (field.type === 'number') {
    const number = Number(text);
    return Number.isFinite(number) ? number : null;
  }
  if (field.type === 'datetime') {
    const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
    if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([zZ]|[+-]\d{2}:?\d{2})$/.test(iso)) return null;
    const time = Date.parse(iso.replace(' ', 'T'));
    return Number.isNaN(time) ? null : tembaTime(new Date(time));
  }
  return text;
}

const modifiedPosition = (item: { modifiedOn: string; id: number }): Position => ({ key: item.modifiedOn, id: item.id });
const createdPosition = (item: { createdOn: string; id: number }): Position => ({ key: item.createdOn, id: item.id });

export class Endpoints {
  constructor(private readonly store: () => RapidproStore, private readonly engine: FlowEngine) {}

  // ---- contacts ----

  listContacts = withQueryErrors((req) => {
    const store = this.store();
    const uuid = uuidParam(req, 'uuid');
    const urnText = req.query.get('urn');
    const urn = urnText ? urnParam(urnText) : undefined;
    const groupRef = req.query.get('group');
    const group = groupRef ? store.groupByRef(groupRef) : undefined;
    const deleted = truthy(req.query.get('deleted'));
    // a uuid or urn filter is a Map lookup rather than a scan
    const byUrn = urn ? store.contactByUrn(urn) : undefined;
    const candidates = uuid ? [store.contacts.get(uuid)] : urn && !deleted ? [byUrn] : [...store.contacts.values()];
    const contacts = candidates.filter((contact): contact is Contact => !!contact).filter((contact) =>
      contact.isActive === !deleted &&
      (!uuid || contact.uuid === uuid) &&
      (!urn || contact.urns.includes(urn)) &&
      (!groupRef || (group !== undefined && contact.groups.has(group.uuid))) &&
      inRange(req, contact.modifiedOn));
    const page = cursorPage(req, contacts, modifiedPosition, truthy(req.query.get('reverse')));
    return { status: 200, body: { ...page, results: page.results.map((contact) => store.contactJson(contact)) } };
  });

  writeContact = withQueryErrors((req) => {
    const store = this.store();
    const { param, value } = lookup(req, ['urn', 'uuid']);
    let instance: Contact | undefined;
    if (param === 'uuid') {
      instance = store.contacts.get(value as string);
      if (!instance) return detail('No Contact matches the given query.', 404);
    } else if (param === 'urn') {
      instance = store.contactByUrn(value as string);
    }
    const body = bodyObject(req);
    if (!body) return NOT_OBJECT;

    const errors: Errors = {};
    if ('name' in body && body.name !== null) {
      if (typeof body.name !== 'string' && typeof body.name !== 'number') errors.name = ['Not a valid string.'];
      else if (String(body.name).length > 64) errors.name = ['Ensure this field has no more than 64 characters.'];
    }
    if ('language' in body && body.language !== null) {
      const language = body.language;
      if (typeof language !== 'string') errors.language = ['Not a valid string.'];
      else if (language.length < 3) errors.language = ['Ensure this field has at least 3 characters.'];
      else if (language.length > 3) errors.language = ['Ensure this field has no more than 3 characters.'];
      else if (!LANGUAGES.has(language)) errors.language = ['Not a valid ISO639-3 language code.'];
    }
    let urns: string[] | undefined;
    if ('urns' in body) {
      urns = validateUrns(body.urns, errors);
      if (urns && param === 'urn') {
        errors.urns = ['Field not allowed when using URN in URL'];
        urns = undefined;
      }
    }
    let groups: Group[] | undefined;
    if ('groups' in body) {
      groups = validateRefs(body.groups, errors, 'groups', (ref) => store.groupByRef(ref));
      if (groups && groups.length > 0 && instance && instance.status !== 'active') errors.groups = ["Non-active contacts can't be added to groups"];
    }
    const fieldValues: Record<string, string | number | null> = {};
    if ('fields' in body) {
      const fields = body.fields;
      if (!fields || typeof fields !== 'object' || Array.isArray(fields)) {
        errors.fields = [`Expected a dictionary of items but got type "${Array.isArray(fields) ? 'list' : typeof fields}".`];
      } else if (Object.keys(fields).length > 100) {
        errors.fields = ['Ensure this field has no more than 100 elements.'];
      } else {
        const valueErrors: Record<string, string[]> = {};
        for (const [key, raw] of Object.entries(fields as Record<string, unknown>)) {
          if (raw !== null && typeof raw !== 'string' && typeof raw !== 'number') valueErrors[key] = ['Not a valid string.'];
        }
        if (Object.keys(valueErrors).length > 0) errors.fields = valueErrors;
        else {
          for (const [key, raw] of Object.entries(fields as Record<string, unknown>)) {
            const field = store.fields.get(key);
            if (!field) {
              errors.fields = [`Invalid contact field key: ${key}`];
              break;
            }
            fieldValues[key] = fieldValue(field, raw);
          }
        }
      }
    }
    if (Object.keys(errors).length > 0) return invalid(errors);
    if (instance && !instance.isActive) return invalid({ non_field_errors: ["Deleted contacts can't be modified."] });
    if (!urns && param === 'urn' && !instance) urns = [value as string];

    const taken: Record<string, string[]> = {};
    (urns ?? []).forEach((urn, index) => {
      const owner = store.contactByUrn(urn);
      if (owner && owner.uuid !== instance?.uuid) taken[String(index)] = ['URN is in use by another contact.'];
    });
    if (Object.keys(taken).length > 0) return invalid({ urns: taken });

    const now = tembaTime(monotonicNow());
    if (instance) {
      const contact: Contact = { ...instance, groups: new Set(instance.groups), fields: { ...instance.fields } };
      if ('name' in body) contact.name = body.name === null ? null : String(body.name);
      if ('language' in body) contact.language = (body.language as string | null) ?? null;
      if (urns) contact.urns = urns;
      if (groups) contact.groups = new Set(groups.map((group) => group.uuid));
      Object.assign(contact.fields, fieldValues);
      contact.modifiedOn = now;
      store.saveContact(contact);
      return { status: 200, body: store.contactJson(contact) };
    }
    const contact = store.newContact({
      name: body.name === undefined || body.name === null ? null : String(body.name),
      language: (body.language as string | null | undefined) ?? null,
      urns: urns ?? [],
      groups: new Set((groups ?? []).map((group) => group.uuid)),
      fields: fieldValues,
    });
    return { status: 201, body: store.contactJson(contact) };
  });

  deleteContact = withQueryErrors((req) => {
    const store = this.store();
    const { param, value } = lookup(req, ['urn', 'uuid']);
    if (!param) return detail('URL must contain one of the following parameters: urn, uuid');
    const contact = param === 'uuid' ? store.contacts.get(value as string) : store.contactByUrn(value as string);
    if (!contact || !contact.isActive) return detail('No Contact matches the given query.', 404);
    store.saveContact({ ...contact, isActive: false, urns: [], groups: new Set(), fields: {}, currentFlow: null, modifiedOn: tembaTime(monotonicNow()) });
    return { status: 204 };
  });

  // ---- groups ----

  listGroups = withQueryErrors((req) => {
    const store = this.store();
    exclusive(req, ['uuid', 'name']);
    const uuid = uuidParam(req, 'uuid');
    const name = req.query.get('name');
    const groups = [...store.groups.values()].filter((group) => (!uuid || group.uuid === uuid) && (!name || group.name.toLowerCase() === name.toLowerCase()));
    const page = cursorPage(req, groups, createdPosition);
    return { status: 200, body: { ...page, results: page.results.map((group) => store.groupJson(group)) } };
  });

  writeGroup = withQueryErrors((req) => {
    const store = this.store();
    const { value } = lookup(req, ['uuid']);
    const instance = value ? store.groups.get(value) : undefined;
    if (value && !instance) return detail('No ContactGroup matches the given query.', 404);
    const body = bodyObject(req);
    if (!body) return NOT_OBJECT;
    const name = body.name;
    let error: string | undefined;
    if (name === undefined) error = 'This field is required.';
    else if (typeof name !== 'string') error = 'Not a valid string.';
    else if (!name.trim()) error = 'This field may not be blank.';
    else if (name.length > 64) error = 'Ensure this field has no more than 64 characters.';
    else if (/["\\]/.test(name)) error = `Cannot contain the character: ${/["\\]/.exec(name)?.[0]}`;
    else if ([...store.groups.values()].some((group) => group !== instance && group.name.toLowerCase() === name.trim().toLowerCase())) error = 'This field must be unique.';
    if (error) return invalid({ name: [error] });
    if (instance) {
      instance.name = (name as string).trim();
      return { status: 200, body: store.groupJson(instance) };
    }
    const group: Group = { id: store.id(), uuid: randomUUID(), name: (name as string).trim(), createdOn: tembaTime(monotonicNow()) };
    store.groups.set(group.uuid, group);
    return { status: 201, body: store.groupJson(group) };
  });

  deleteGroup = withQueryErrors((req) => {
    const store = this.store();
    const { value } = lookup(req, ['uuid']);
    if (!value) return detail('URL must contain one of the following parameters: uuid');
    if (!store.groups.delete(value)) return detail('No ContactGroup matches the given query.', 404);
    for (const contact of store.contacts.values()) contact.groups.delete(value);
    return { status: 204 };
  });

  // ---- fields ----

  listFields = withQueryErrors((req) => {
    const store = this.store();
    const key = req.query.get('key');
    const fields = [...store.fields.values()].filter((field) => !key || field.key === key);
    const page = cursorPage(req, fields, createdPosition);
    return { status: 200, body: { ...page, results: page.results.map((field) => store.fieldJson(field)) } };
  });

  writeField = withQueryErrors((req) => {
    const store = this.store();
    const { value } = lookup(req, ['key']);
    const instance = value ? store.fields.get(value) : undefined;
    if (value && !instance) return detail('No ContactField matches the given query.', 404);
    const body = bodyObject(req);
    if (!body) return NOT_OBJECT;
    const errors: Errors = {};
    const types: Record<string, string> = { text: 'text', number: 'number', datetime: 'datetime', state: 'state', district: 'district', ward: 'ward' };
    const valueTypes: Record<string, string> = { text: 'text', numeric: 'number', datetime: 'datetime', state: 'state', district: 'district', ward: 'ward' };
    let name: string | undefined;
    for (const property of ['name', 'label'] as const) {
      const candidate = body[property];
      if (candidate === undefined) continue;
      if (typeof candidate !== 'string') errors[property] = ['Not a valid string.'];
      else if (candidate.length > 36) errors[property] = ['Ensure this field has no more than 36 characters.'];
      else if (!/^[A-Za-z0-9\- ]+$/.test(candidate)) errors[property] = ['Can only contain letters, numbers and hypens.'];
      else if (!validFieldKey(fieldKey(candidate))) errors[property] = [`Generated key "${fieldKey(candidate)}" is invalid or a reserved name.`];
      else if ([...store.fields.values()].some((field) => field !== instance && field.name.toLowerCase() === candidate.toLowerCase())) errors[property] = ['This field must be unique.'];
      else name ??= candidate;
    }
    let type: string | undefined;
    for (const [property, choices] of [['type', types], ['value_type', valueTypes]] as const) {
      const candidate = body[property];
      if (candidate === undefined) continue;
      if (typeof candidate !== 'string' || !(candidate in choices)) errors[property] = [`"${String(candidate)}" is not a valid choice.`];
      else type ??= choices[candidate];
    }
    if (Object.keys(errors).length > 0) return invalid(errors);
    if (!name) return invalid({ non_field_errors: ["Field 'name' is required."] });
    if (!type) return invalid({ non_field_errors: ["Field 'type' is required."] });
    if (instance) {
      instance.name = name;
      instance.type = type;
      return { status: 200, body: store.fieldJson(instance) };
    }
    const field: Field = { id: store.id(), key: fieldKey(name), name, type, createdOn: tembaTime(monotonicNow()) };
    store.fields.set(field.key, field);
    return { status: 201, body: store.fieldJson(field) };
  });

  // ---- flows ----

  listFlows = withQueryErrors((req) => {
    const store = this.store();
    const uuid = uuidParam(req, 'uuid');
    const type = req.query.get('type');
    const archived = req.query.get('archived');
    const flows = [...store.flows.values()].filter((flow) =>
      (!uuid || flow.uuid === uuid) && (!type || type === 'message') && (archived === null || !truthy(archived)) && inRange(req, flow.modifiedOn));
    const page = cursorPage(req, flows, createdPosition);
    return { status: 200, body: { ...page, results: page.results.map((flow) => store.flowJson(flow)) } };
  });

  // ---- flow starts ----

  listStarts = withQueryErrors((req) => {
    const store = this.store();
    const uuid = uuidParam(req, 'uuid');
    const starts = [...store.starts.values()].filter((start) => (!uuid || start.uuid === uuid) && inRange(req, start.modifiedOn));
    const page = cursorPage(req, starts, modifiedPosition);
    return { status: 200, body: { ...page, results: page.results.map((start) => store.startJson(start)) } };
  });

  createStart = withQueryErrors((req) => {
    const store = this.store();
    const body = bodyObject(req);
    if (!body) return NOT_OBJECT;
    const errors: Errors = {};
    const flow = typeof body.flow === 'string' ? store.flows.get(body.flow.toLowerCase()) : undefined;
    if (body.flow === undefined) errors.flow = ['This field is required.'];
    else if (!flow) errors.flow = [`No such object: ${String(body.flow)}`];
    const contacts = body.contacts === undefined ? [] : validateRefs(body.contacts, errors, 'contacts', (ref) => {
      const contact = store.contacts.get(ref.toLowerCase());
      return contact?.isActive ? contact : undefined;
    });
    const groups = body.groups === undefined ? [] : validateRefs(body.groups, errors, 'groups', (ref) => store.groupByRef(ref));
    const urns = body.urns === undefined ? [] : validateUrns(body.urns, errors);
    for (const property of ['params', 'extra'] as const) {
      const value = body[property];
      if (value === undefined) continue;
      if (!value || typeof value !== 'object' || Array.isArray(value)) errors[property] = ['Must be a valid JSON object'];
      else if (JSON.stringify(value).length > 10_000) errors[property] = ['Cannot exceed 10,000 characters encoded.'];
    }
    for (const property of ['restart_participants', 'exclude_active'] as const) {
      if (body[property] !== undefined && typeof body[property] !== 'boolean') errors[property] = ['Must be a valid boolean.'];
    }
    if (Object.keys(errors).length > 0 || !flow || !contacts || !groups || !urns) return invalid(errors);
    if (contacts.length + groups.length + urns.length === 0) return invalid({ non_field_errors: ['Must specify at least one group, contact or URN'] });

    // URNs that no contact has yet get a new contact, as mailroom does
    const targets = new Map<string, Contact>();
    for (const contact of contacts) targets.set(contact.uuid, contact);
    for (const group of groups) {
      for (const contact of store.contacts.values()) if (contact.isActive && contact.groups.has(group.uuid)) targets.set(contact.uuid, contact);
    }
    for (const urn of urns) {
      const contact = store.contactByUrn(urn) ?? store.newContact({ urns: [urn] });
      targets.set(contact.uuid, contact);
    }
    const now = tembaTime(monotonicNow());
    const params = (body.params ?? body.extra ?? {}) as Record<string, unknown>;
    const start: FlowStart = {
      id: store.id(),
      uuid: randomUUID(),
      flow: flow.uuid,
      groups: groups.map((group) => group.uuid),
      contacts: contacts.map((contact) => contact.uuid),
      status: 'pending',
      params,
      restartParticipants: body.restart_participants !== false,
      excludeActive: body.exclude_active === true,
      contactCount: targets.size,
      runCount: 0,
      createdOn: now,
      modifiedOn: now,
    };
    store.starts.set(start.uuid, start);
    const response = { status: 201, body: store.startJson(start) };
    this.engine.launch(start, [...targets.values()]);
    return response;
  });

  // ---- runs ----

  listRuns = withQueryErrors((req) => {
    const store = this.store();
    exclusive(req, ['contact', 'flow']);
    const uuid = uuidParam(req, 'uuid');
    const flow = uuidParam(req, 'flow');
    const contact = req.query.get('contact');
    const responded = truthy(req.query.get('responded'));
    const paths = req.query.get('paths');
    const runs = [...store.runs.values()].filter((run) =>
      (!uuid || run.uuid === uuid) &&
      (!flow || run.flow === flow) &&
      (!contact || run.contact === contact.toLowerCase()) &&
      (!responded || run.responded) &&
      inRange(req, run.modifiedOn));
    const page = cursorPage(req, runs, modifiedPosition, truthy(req.query.get('reverse')));
    const includePaths = paths === null || truthy(paths);
    return { status: 200, body: { ...page, results: page.results.map((run) => store.runJson(run, includePaths)) } };
  });
}

/** RapidPro's ContactField.make_key: lowercase, runs of other characters become "_". */
export function fieldKey(name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 36);
}

const RESERVED_KEYS = new Set(['id', 'uuid', 'name', 'first_name', 'language', 'created_on', 'created_by', 'modified_on', 'modified_by', 'groups', 'urns', 'fields', 'status', 'flow', 'has', 'is', 'not', 'or', 'and', 'contact', 'channel', 'tickets', 'last_seen_on', 'urn']);

function validFieldKey(key: string): boolean {
  return /^[a-z][a-z0-9_]*$/.test(key) && !RESERVED_KEYS.has(key);
}
