/**
 * Finding CHT contacts (people and places) by `_id`, by phone, or by the value of one of their
 * fields, through the CHT API. Used by the contact look-up node; usable without Node-RED.
 */
import { badInput } from '../../core/errors';
import type { ChtClient } from './client';
import { contactTypeFields } from './client';
import type { ChtDoc } from './types';

export type ContactLookupBy = 'id' | 'phone' | 'field';

export const CONTACT_LOOKUP_MODES: readonly ContactLookupBy[] = ['id', 'phone', 'field'];

export interface ContactLookupRequest {
  by: ContactLookupBy;
  value: string;
  /** For `field`: the contact's property, e.g. `patient_id` or `external_id`. */
  field?: string;
  /** Keep only contacts of this type (`person`, `clinic`, or a configured contact_type). */
  contactType?: string;
  /** With the parent places (and, for `id`/`field`, a place's primary contact) hydrated. */
  withLineage?: boolean;
  /** At most this many contacts are read. */
  limit?: number;
  signal?: AbortSignal;
}

const DEFAULT_LIMIT = 10;
/** The contacts_by_freetext index CHT keeps: no whitespace, at least three characters. */
const FREETEXT_TOKEN = /^\S{3,}$/;

const isContactOfType = (doc: ChtDoc, contactType: string): boolean => {
  const wanted = contactTypeFields(contactType);
  return doc.type === wanted.type && (wanted.contact_type === undefined || doc.contact_type === wanted.contact_type);
};

/** The contacts found, best first (CHT's order); an empty list when there are none. */
export async function lookupContacts(client: ChtClient, request: ContactLookupRequest): Promise<ChtDoc[]> {
  const value = request.value?.trim();
  if (!value) throw badInput(`a contact ${request.by === 'id' ? '_id' : request.by} to look up is required`, 'value');
  const limit = Math.max(1, Math.min(100, request.limit ?? DEFAULT_LIMIT));
  const options = { signal: request.signal, withLineage: request.withLineage };
  let found: ChtDoc[];
  switch (request.by) {
    case 'id': {
      const contact = await client.getContact(value, options);
      found = contact ? [contact] : [];
      break;
    }
    case 'phone':
      // contacts-by-phone answers hydrated contacts, normalised as CHT stores numbers.
      found = (await client.contactsByPhone(value, options)).slice(0, limit);
      break;
    case 'field': {
      const field = request.field?.trim();
      if (!field) throw badInput('a field look-up needs the field name, e.g. patient_id', 'field');
      const freetext = `${field}:${value}`.toLowerCase();
      if (!FREETEXT_TOKEN.test(freetext)) throw badInput(`CHT cannot search a field value with spaces: ${field} = "${value}"`, 'value');
      const { data } = await client.contactUuids({ freetext, type: request.contactType?.trim() || undefined, limit }, options);
      found = [];
      for (const id of data.slice(0, limit)) {
        const contact = await client.getContact(id, options);
        if (contact) found.push(contact);
      }
      break;
    }
    default:
      throw badInput(`unknown look-up "${String(request.by)}": use id, phone or field`, 'by');
  }
  const contactType = request.contactType?.trim();
  return contactType ? found.filter((doc) => isContactOfType(doc, contactType)) : found;
}
