/**
 * Starting a flow: who to start it for, taken from whatever the message carries (a URN, a
 * contact UUID, a contact from the contact writer, a webhook payload, or explicit lists), checked
 * and normalised before the request so RapidPro's refusals are rare and clear.
 */
import { badInput } from '../../core/errors';
import type { RapidproClient } from './client';
import type { FlowStart, FlowStartRequest } from './types';
import { normalizeUrn } from './urns';

/** RapidPro's limit on each of contacts, groups and URNs in one start. */
export const MAX_START_TARGETS = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface FlowStartTargets {
  contacts: string[];
  urns: string[];
  groups: string[];
}

export interface FlowStartSettings {
  restartParticipants?: boolean;
  excludeActive?: boolean;
  signal?: AbortSignal;
}

export const FLOW_START_SCHEMA = {
  title: 'RapidPro flow start (who to start the flow for)',
  type: 'object',
  properties: {
    contacts: { type: 'array', items: { type: 'string', pattern: UUID.source }, maxItems: MAX_START_TARGETS, description: 'Contact UUIDs.' },
    urns: { type: 'array', items: { type: 'string', minLength: 3 }, maxItems: MAX_START_TARGETS, description: 'URNs; contacts are created for unknown ones.' },
    groups: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: MAX_START_TARGETS, description: 'Group names or UUIDs.' },
  },
  anyOf: [{ required: ['contacts'] }, { required: ['urns'] }, { required: ['groups'] }],
} as const;

const isRecord = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);

function addReference(targets: FlowStartTargets, value: string, field: string, countryCode?: string): void {
  if (UUID.test(value.trim())) targets.contacts.push(value.trim().toLowerCase());
  else targets.urns.push(normalizeUrn(value, { field, defaultCountryCode: countryCode }));
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  list.forEach((item, index) => {
    if (typeof item !== 'string' || !item.trim()) throw badInput(`${field}[${index}] must be a non-empty string`, `${field}[${index}]`);
  });
  return list as string[];
}

/**
 * Reads who to start the flow for from `payload`:
 * - a URN or contact UUID string, or an array of them;
 * - a webhook payload or a run (`{contact: {uuid}}`);
 * - a contact (`{uuid, urns, ...}`, e.g. the contact writer's output: its groups are not targets);
 * - `{contacts?, urns?, groups?}` lists.
 */
export function flowStartTargets(payload: unknown, countryCode?: string, root = 'msg.payload'): FlowStartTargets {
  const targets: FlowStartTargets = { contacts: [], urns: [], groups: [] };
  if (typeof payload === 'string' || Array.isArray(payload)) {
    stringList(payload, root).forEach((value, index) => addReference(targets, value, Array.isArray(payload) ? `${root}[${index}]` : root, countryCode));
  } else if (isRecord(payload) && isRecord(payload.contact) && typeof payload.contact.uuid === 'string' && UUID.test(payload.contact.uuid)) {
    targets.contacts.push(payload.contact.uuid.toLowerCase());
  } else if (isRecord(payload) && typeof payload.uuid === 'string' && UUID.test(payload.uuid) && Array.isArray(payload.urns)) {
    targets.contacts.push(payload.uuid.toLowerCase());
  } else if (isRecord(payload) && ('contacts' in payload || 'urns' in payload || 'groups' in payload)) {
    targets.contacts = stringList(payload.contacts, `${root}.contacts`).map((uuid, index) => {
      if (!UUID.test(uuid.trim())) throw badInput(`${root}.contacts[${index}] is not a contact UUID`, `${root}.contacts[${index}]`);
      return uuid.trim().toLowerCase();
    });
    targets.urns = stringList(payload.urns, `${root}.urns`).map((urn, index) => normalizeUrn(urn, { field: `${root}.urns[${index}]`, defaultCountryCode: countryCode }));
    targets.groups = stringList(payload.groups, `${root}.groups`);
  } else {
    throw badInput(`${root} must name who to start the flow for: a URN, a contact UUID, a contact, or {contacts, urns, groups}`, root);
  }
  targets.contacts = [...new Set(targets.contacts)];
  targets.urns = [...new Set(targets.urns)];
  targets.groups = [...new Set(targets.groups)];
  for (const kind of ['contacts', 'urns', 'groups'] as const) {
    if (targets[kind].length > MAX_START_TARGETS) throw badInput(`${root}.${kind}: RapidPro starts at most ${MAX_START_TARGETS} ${kind} at once`, `${root}.${kind}`);
  }
  if (targets.contacts.length + targets.urns.length + targets.groups.length === 0) throw badInput(`${root} names nobody to start the flow for`, root);
  return targets;
}

/** Starts `flow` for the targets; group names are resolved to UUIDs first (unknown ones are bad input). */
export async function startFlow(
  client: RapidproClient,
  flow: string,
  targets: FlowStartTargets,
  params: Record<string, unknown> | undefined,
  settings: FlowStartSettings = {},
): Promise<FlowStart> {
  if (!UUID.test(flow?.trim() ?? '')) throw badInput('the flow to start must be a flow UUID (choose one in the node, or set msg.flow)', 'flow');
  if (params !== undefined && !isRecord(params)) throw badInput('the flow parameters must be an object', 'params');
  const groups = await client.resolveGroups(targets.groups, { signal: settings.signal, field: 'msg.payload.groups' });
  const request: FlowStartRequest = { flow: flow.trim().toLowerCase() };
  if (targets.contacts.length) request.contacts = targets.contacts;
  if (targets.urns.length) request.urns = targets.urns;
  if (groups.length) request.groups = groups.map((group) => group.uuid);
  if (params && Object.keys(params).length) request.params = params;
  if (settings.restartParticipants !== undefined) request.restart_participants = settings.restartParticipants;
  if (settings.excludeActive) request.exclude_active = true;
  return client.startFlow(request, { signal: settings.signal });
}
