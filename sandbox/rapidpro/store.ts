/**
 * In-memory RapidPro workspace: contacts (indexed by UUID and URN), groups, fields, flows,
 * flow starts and runs, with the v2 API serializations (temba/api/v2/serializers.py).
 */
import { randomUUID } from 'node:crypto';
import * as seed from './seed';

/** RapidPro datetimes: UTC with microseconds. */
export function tembaTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

let lastStamp = 0;
/** Strictly increasing, so modified_on orders objects even within one millisecond. */
export function monotonicNow(): Date {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return new Date(lastStamp);
}

const SCHEMES = new Set(['tel', 'whatsapp', 'twitter', 'twitterid', 'mailto', 'ext', 'facebook', 'telegram', 'viber', 'line', 'instagram', 'discord', 'webchat', 'slack', 'fcm', 'vk', 'wechat', 'jiochat', 'freshchat', 'rocketchat']);

/** Normalizes a URN the way RapidPro compares them; undefined when it is not valid. */
export function normalizeUrn(value: string): string | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = value.slice(0, colon).trim().toLowerCase();
  let path = value.slice(colon + 1).trim();
  if (!SCHEMES.has(scheme) || !path) return undefined;
  if (scheme === 'tel') {
    // the demo workspace has no default country, so numbers need their country code
    path = path.replace(/[\s\-().]/g, '');
    if (!/^\+\d{6,15}$/.test(path)) return undefined;
  } else if (scheme === 'whatsapp' || scheme === 'telegram' || scheme === 'twitterid') {
    if (!/^\d+$/.test(path)) return undefined;
  } else if (scheme === 'twitter') {
    path = path.replace(/^@/, '').toLowerCase();
    if (!/^\w{1,15}$/.test(path)) return undefined;
  } else if (scheme === 'mailto') {
    path = path.toLowerCase();
    if (!/^[^@\s]+@[^@\s]+$/.test(path)) return undefined;
  }
  return `${scheme}:${path}`;
}

export interface Contact {
  id: number;
  uuid: string;
  name: string | null;
  language: string | null;
  status: 'active' | 'blocked' | 'stopped' | 'archived';
  urns: string[];
  groups: Set<string>;
  fields: Record<string, string | number | null>;
  currentFlow: string | null;
  createdOn: string;
  modifiedOn: string;
  lastSeenOn: string | null;
  isActive: boolean;
}

export interface Group {
  id: number;
  uuid: string;
  name: string;
  createdOn: string;
}

export interface Field {
  id: number;
  key: string;
  name: string;
  type: string;
  createdOn: string;
}

export interface Flow extends seed.SeededFlow {
  id: number;
  createdOn: string;
  modifiedOn: string;
}

export interface RunResult {
  name: string;
  value: string;
  category: string;
  node_uuid: string;
  created_on: string;
  input: string;
}

export interface Run {
  id: number;
  uuid: string;
  flow: string;
  contact: string;
  start: string | null;
  responded: boolean;
  path: Array<{ node: string; time: string }>;
  results: Record<string, RunResult>;
  status: 'active' | 'waiting' | 'completed' | 'interrupted' | 'expired' | 'failed';
  createdOn: string;
  modifiedOn: string;
  exitedOn: string | null;
}

export interface FlowStart {
  id: number;
  uuid: string;
  flow: string;
  groups: string[];
  contacts: string[];
  status: 'pending' | 'queued' | 'started' | 'completed' | 'failed' | 'interrupted';
  params: Record<string, unknown>;
  restartParticipants: boolean;
  excludeActive: boolean;
  contactCount: number;
  runCount: number;
  createdOn: string;
  modifiedOn: string;
}

const ENGINE_TYPES: Record<string, string> = { text: 'text', number: 'numeric', datetime: 'datetime', state: 'state', district: 'district', ward: 'ward' };

export class RapidproStore {
  private nextId = 1;
  readonly contacts = new Map<string, Contact>();
  readonly contactsByUrn = new Map<string, string>();
  readonly groups = new Map<string, Group>();
  readonly fields = new Map<string, Field>();
  readonly flows = new Map<string, Flow>();
  readonly runs = new Map<string, Run>();
  readonly starts = new Map<string, FlowStart>();

  constructor() {
    const created = tembaTime(new Date('2024-01-01T08:00:00.000Z'));
    for (const group of seed.GROUPS) this.groups.set(group.uuid, { id: this.id(), uuid: group.uuid, name: group.name, createdOn: created });
    for (const field of seed.FIELDS) this.fields.set(field.key, { id: this.id(), ...field, createdOn: created });
    for (const flow of seed.FLOWS) this.flows.set(flow.uuid, { ...flow, id: this.id(), createdOn: created, modifiedOn: created });
    for (const contact of seed.CONTACTS) {
      const now = tembaTime(monotonicNow());
      this.saveContact({
        id: this.id(),
        uuid: contact.uuid,
        name: contact.name,
        language: contact.language,
        status: 'active',
        urns: [...contact.urns],
        groups: new Set(contact.groups),
        fields: { ...contact.fields },
        currentFlow: null,
        createdOn: now,
        modifiedOn: now,
        lastSeenOn: null,
        isActive: true,
      });
    }
  }

  id(): number {
    return this.nextId++;
  }

  saveContact(contact: Contact): void {
    const previous = this.contacts.get(contact.uuid);
    for (const urn of previous?.urns ?? []) {
      if (this.contactsByUrn.get(urn) === contact.uuid) this.contactsByUrn.delete(urn);
    }
    this.contacts.set(contact.uuid, contact);
    if (contact.isActive) for (const urn of contact.urns) this.contactsByUrn.set(urn, contact.uuid);
  }

  contactByUrn(urn: string): Contact | undefined {
    const uuid = this.contactsByUrn.get(urn);
    return uuid ? this.contacts.get(uuid) : undefined;
  }

  newContact(fields: Partial<Contact>): Contact {
    const now = tembaTime(monotonicNow());
    const contact: Contact = {
      id: this.id(),
      uuid: randomUUID(),
      name: null,
      language: null,
      status: 'active',
      urns: [],
      groups: new Set(),
      fields: {},
      currentFlow: null,
      createdOn: now,
      modifiedOn: now,
      lastSeenOn: null,
      isActive: true,
      ...fields,
    };
    this.saveContact(contact);
    return contact;
  }

  groupByRef(ref: string): Group | undefined {
    return this.groups.get(ref) ?? [...this.groups.values()].find((group) => group.name.toLowerCase() === ref.toLowerCase());
  }

  groupCount(uuid: string): number {
    let count = 0;
    for (const contact of this.contacts.values()) if (contact.isActive && contact.groups.has(uuid)) count += 1;
    return count;
  }

  contactJson(contact: Contact): Record<string, unknown> {
    const active = contact.isActive;
    const flow = contact.currentFlow ? this.flows.get(contact.currentFlow) : undefined;
    const fields: Record<string, unknown> = {};
    if (active) for (const key of this.fields.keys()) fields[key] = contact.fields[key] ?? null;
    return {
      uuid: contact.uuid,
      name: active ? contact.name : null,
      status: active ? contact.status : null,
      language: active ? contact.language : null,
      urns: active ? [...contact.urns] : [],
      groups: active ? [...contact.groups].map((uuid) => this.groups.get(uuid)).filter((g): g is Group => !!g).map((g) => ({ uuid: g.uuid, name: g.name })) : [],
      notes: [],
      fields,
      flow: flow ? { uuid: flow.uuid, name: flow.name } : null,
      created_on: contact.createdOn,
      modified_on: contact.modifiedOn,
      last_seen_on: contact.lastSeenOn,
      blocked: active ? contact.status === 'blocked' : null,
      stopped: active ? contact.status === 'stopped' : null,
    };
  }

  groupJson(group: Group): Record<string, unknown> {
    return { uuid: group.uuid, name: group.name, query: null, status: 'ready', system: false, count: this.groupCount(group.uuid) };
  }

  fieldJson(field: Field): Record<string, unknown> {
    return {
      key: field.key,
      name: field.name,
      type: field.type,
      featured: false,
      priority: 0,
      usages: { flows: 0, groups: 0, campaign_events: 0 },
      agent_access: 'view',
      label: field.name,
      value_type: ENGINE_TYPES[field.type] ?? field.type,
    };
  }

  flowJson(flow: Flow): Record<string, unknown> {
    const runs = { active: 0, waiting: 0, completed: 0, interrupted: 0, expired: 0, failed: 0 };
    for (const run of this.runs.values()) if (run.flow === flow.uuid) runs[run.status] += 1;
    return {
      uuid: flow.uuid,
      name: flow.name,
      type: 'message',
      archived: false,
      labels: [],
      expires: 10080,
      runs,
      results: flow.results.map((result) => ({ key: result.key, name: result.name, categories: [...result.categories], node_uuids: [flow.nodes[flow.nodes.length - 1]] })),
      parent_refs: [],
      created_on: flow.createdOn,
      modified_on: flow.modifiedOn,
    };
  }

  runJson(run: Run, includePaths: boolean): Record<string, unknown> {
    const flow = this.flows.get(run.flow);
    const contact = this.contacts.get(run.contact);
    return {
      id: run.id,
      uuid: run.uuid,
      flow: flow ? { uuid: flow.uuid, name: flow.name } : null,
      contact: contact ? { uuid: contact.uuid, urn: contact.urns[0] ?? null, name: contact.name } : null,
      start: run.start ? { uuid: run.start } : null,
      responded: run.responded,
      path: includePaths ? run.path.map((step) => ({ ...step })) : null,
      values: Object.fromEntries(Object.entries(run.results).map(([key, result]) => [key, {
        name: result.name,
        value: result.value,
        category: result.category,
        node: result.node_uuid,
        time: result.created_on,
      }])),
      created_on: run.createdOn,
      modified_on: run.modifiedOn,
      exited_on: run.exitedOn,
      exit_type: run.status === 'completed' || run.status === 'interrupted' || run.status === 'expired' || run.status === 'failed' ? run.status : null,
    };
  }

  startJson(start: FlowStart): Record<string, unknown> {
    const flow = this.flows.get(start.flow);
    return {
      id: start.id,
      uuid: start.uuid,
      flow: flow ? { uuid: flow.uuid, name: flow.name } : null,
      status: start.status,
      progress: { total: start.contactCount || -1, started: start.runCount },
      groups: start.groups.map((uuid) => this.groups.get(uuid)).filter((g): g is Group => !!g).map((g) => ({ uuid: g.uuid, name: g.name })),
      contacts: start.contacts.map((uuid) => this.contacts.get(uuid)).filter((c): c is Contact => !!c).map((c) => ({ uuid: c.uuid, name: c.name })),
      params: start.params,
      created_on: start.createdOn,
      modified_on: start.modifiedOn,
      extra: start.params,
      restart_participants: start.restartParticipants,
      exclude_active: start.excludeActive,
    };
  }
}
