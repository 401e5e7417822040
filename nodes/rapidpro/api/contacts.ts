/**
 * Upserting a contact by URN: the writer's input contract (`rapidpro.contact`), its checks
 * against the workspace (groups and custom fields exist), the single upsert request, and the
 * snapshot a rollback restores. Also the compensation that undoes a journaled write.
 */
import { badInput } from '../../core/errors';
import type { JournalEntry } from '../../core/journal';
import type { RapidproClient } from './client';
import type { Contact, ContactWrite, Group } from './types';
import { normalizeUrn } from './urns';

export interface ContactInput {
  /** The contact's URN, e.g. "tel:+250788123456": the contact with it is updated, or created. */
  urn: string;
  name?: string | null;
  /** ISO 639-3, e.g. "eng", "fra", "kin". */
  language?: string | null;
  /** Group names or UUIDs. */
  groups?: string[];
  /** Custom field keys -> values (null clears a value). */
  fields?: Record<string, string | number | null>;
}

export const CONTACT_SCHEMA = {
  title: 'RapidPro contact (upsert by URN)',
  type: 'object',
  required: ['urn'],
  properties: {
    urn: { type: 'string', minLength: 3, description: 'tel:+250788123456, whatsapp:250788123456 or ext:<id>: the contact is upserted by it.' },
    name: { type: ['string', 'null'], maxLength: 64 },
    language: { type: ['string', 'null'], pattern: '^[a-z]{3}$', description: 'ISO 639-3 code, e.g. eng, fra, kin.' },
    groups: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 100, description: 'Group names or UUIDs.' },
    fields: {
      type: 'object',
      maxProperties: 100,
      propertyNames: { pattern: '^[a-z][a-z0-9_]*$' },
      additionalProperties: { type: ['string', 'number', 'null'] },
      description: 'Custom contact fields by key (e.g. cht_id, edd); null clears a value.',
    },
  },
  additionalProperties: false,
} as const;

export type GroupMode = 'add' | 'replace';

export interface UpsertOptions {
  /** Create custom fields that the workspace lacks (as text, or number for numeric values). */
  createMissingFields?: boolean;
  /** 'add' keeps the contact's other groups; 'replace' makes `groups` the full membership. */
  groupMode?: GroupMode;
  defaultCountryCode?: string;
  signal?: AbortSignal;
}

/** What an update changed, as it was before: a rollback writes it back. */
export interface ContactSnapshot {
  name?: string | null;
  language?: string | null;
  groups?: string[];
  fields?: Record<string, string | number | null>;
}

export interface UpsertResult {
  contact: Contact;
  action: 'created' | 'updated';
  before?: ContactSnapshot;
}

/** Key of a field RapidPro would derive from a name (ContactField.make_key). */
const FIELD_KEY = /^[a-z][a-z0-9_]{0,35}$/;

/** The name to create a field with so that RapidPro derives exactly this key. */
export function fieldNameForKey(key: string): string {
  return key.replace(/_/g, ' ');
}

async function checkFields(client: RapidproClient, fields: Record<string, string | number | null>, options: UpsertOptions): Promise<void> {
  const keys = Object.keys(fields);
  if (keys.length === 0) return;
  let known = await client.fields({ signal: options.signal });
  const unknown = (): string[] => keys.filter((key) => !known.some((field) => field.key === key));
  if (unknown().length) known = await client.fields({ signal: options.signal, refresh: true });
  const missing = unknown();
  if (missing.length === 0) return;
  if (!options.createMissingFields) {
    const listing = known.map((field) => field.key).sort().join(', ') || 'none';
    throw badInput(
      `unknown RapidPro contact field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (fields: ${listing}); create ${missing.length > 1 ? 'them' : 'it'} in RapidPro or turn on "create missing fields"`,
      `msg.payload.fields.${missing[0]}`,
    );
  }
  for (const key of missing) {
    if (!FIELD_KEY.test(key)) throw badInput(`msg.payload.fields.${key} cannot be a RapidPro field key (lower-case letters, digits and _)`, `msg.payload.fields.${key}`);
    await client.createField(fieldNameForKey(key), typeof fields[key] === 'number' ? 'number' : 'text', { signal: options.signal });
  }
}

/** Members of smart groups come from the group's query: the API refuses to set them. */
function settableGroups(groups: Group[]): Group[] {
  const smart = groups.filter((group) => group.query);
  if (smart.length) {
    throw badInput(`${smart.map((group) => `"${group.name}"`).join(', ')} ${smart.length > 1 ? 'are smart groups' : 'is a smart group'}: RapidPro adds contacts to it by its query`, 'msg.payload.groups');
  }
  return groups;
}

async function groupUuids(client: RapidproClient, input: ContactInput, existing: Contact | undefined, options: UpsertOptions): Promise<string[] | undefined> {
  if (input.groups === undefined) return undefined;
  const wanted = settableGroups(await client.resolveGroups(input.groups, { signal: options.signal, field: 'msg.payload.groups' })).map((group) => group.uuid);
  if (options.groupMode === 'replace' || !existing) return [...new Set(wanted)];
  // Keep the contact's other groups, except smart ones (which the API would refuse).
  const all = await client.groups({ signal: options.signal });
  const kept = existing.groups.map((ref) => all.find((group) => group.uuid === ref.uuid)).filter((group): group is Group => !!group && !group.query);
  return [...new Set([...kept.map((group) => group.uuid), ...wanted])];
}

function snapshot(existing: Contact, body: ContactWrite): ContactSnapshot {
  const before: ContactSnapshot = {};
  if ('name' in body) before.name = existing.name;
  if ('language' in body) before.language = existing.language;
  if (body.groups) before.groups = existing.groups.map((group) => group.uuid);
  if (body.fields) before.fields = Object.fromEntries(Object.keys(body.fields).map((key) => [key, existing.fields?.[key] ?? null]));
  return before;
}

/**
 * Updates the contact with the input's URN, or creates it. The contact is read first for the
 * rollback snapshot and group merge; the write itself is RapidPro's atomic upsert by URN.
 */
export async function upsertContact(client: RapidproClient, input: ContactInput, options: UpsertOptions = {}): Promise<UpsertResult> {
  const urn = normalizeUrn(input.urn, { field: 'msg.payload.urn', defaultCountryCode: options.defaultCountryCode });
  const fields = input.fields ?? {};
  await checkFields(client, fields, options);
  const existing = await client.contact({ urn }, { signal: options.signal });
  const body: ContactWrite = {};
  if (input.name !== undefined) body.name = input.name;
  if (input.language !== undefined) body.language = input.language;
  const groups = await groupUuids(client, input, existing, options);
  if (groups) body.groups = groups;
  if (Object.keys(fields).length) body.fields = fields;
  const { contact, created } = await client.writeContact({ urn }, body, { signal: options.signal });
  if (created || !existing) return { contact, action: 'created' };
  return { contact, action: 'updated', before: snapshot(existing, body) };
}

/** The rollback journal entry for an upsert done with the config node `configId`. */
export function contactJournalEntry(result: UpsertResult, configId: string): JournalEntry {
  const entry: JournalEntry = { system: 'rapidpro', resource: 'contact', id: result.contact.uuid, action: result.action, configId };
  if (result.before) entry.before = result.before;
  return entry;
}

/** Undoes a journaled contact write: deletes a created contact, restores an updated one. */
export async function undoContactWrite(client: RapidproClient, entry: JournalEntry, signal?: AbortSignal): Promise<'undone' | 'already-gone'> {
  if (entry.action === 'created') return (await client.deleteContact(entry.id, { signal })) ? 'undone' : 'already-gone';
  const before = (entry.before ?? {}) as ContactSnapshot;
  const body: ContactWrite = {};
  if ('name' in before) body.name = before.name ?? null;
  if ('language' in before) body.language = before.language ?? null;
  if (before.groups) {
    const all = await client.groups({ signal });
    body.groups = before.groups.filter((uuid) => all.some((group) => group.uuid === uuid && !group.query));
  }
  if (before.fields) body.fields = before.fields;
  return (await client.updateContact(entry.id, body, { signal })) ? 'undone' : 'already-gone';
}
