/**
 * The CommCare step of a transaction node: commcare.case.update sets properties of an existing
 * case (e.g. `referral_status: received` and the OpenMRS uuids on the case a referral form was
 * filled for). The values it replaces are journaled before the write, so a rollback puts them
 * back even when the write's answer was lost.
 */
import { IntegrationError } from '../../core/errors';
import type { JournalEntry } from '../../core/journal';
import type { OperationContext } from '../../core/operations';
import type { CaseBefore } from './case-input';
import type { CommcareClient } from './client';
import { markerProperties } from './loop-marker';
import type { CaseChange } from './types';

export interface CommcareServer {
  id: string;
  api(): CommcareClient;
}

export interface CaseUpdateInput {
  case_id: string;
  properties?: Record<string, string | number | boolean>;
  case_name?: string;
  owner_id?: string;
}

export const CASE_UPDATE_SCHEMA = {
  title: 'CommCare case update (transaction step)',
  type: 'object',
  required: ['case_id'],
  anyOf: [{ required: ['properties'] }, { required: ['case_name'] }, { required: ['owner_id'] }],
  properties: {
    case_id: { type: 'string', minLength: 1, description: 'The existing case, e.g. the form\'s @case_id.' },
    properties: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
    case_name: { type: 'string', minLength: 1 },
    owner_id: { type: 'string', minLength: 1 },
  },
  additionalProperties: false,
} as const;

export async function updateCaseStep(server: CommcareServer, input: CaseUpdateInput, context: Pick<OperationContext, 'signal' | 'journal'>): Promise<{ case_id: string; action: 'updated' | 'unchanged' }> {
  const client = server.api();
  const { signal } = context;
  const current = await client.getCase(input.case_id, { signal });
  if (!current) {
    throw new IntegrationError(`commcare: there is no case ${input.case_id}`, { code: 'not-found', retryable: false, system: 'commcare', field: 'case_id' });
  }
  const properties = Object.fromEntries(Object.entries(input.properties ?? {}).map(([name, value]) => [name, String(value)]));
  const before: CaseBefore = { properties: {} };
  const change: CaseChange = {};
  for (const [name, value] of Object.entries(properties)) {
    if ((current.properties?.[name] ?? '') === value) continue;
    before.properties[name] = current.properties?.[name] ?? '';
    change.properties = { ...change.properties, [name]: value };
  }
  if (input.case_name !== undefined && input.case_name !== current.case_name) {
    before.case_name = current.case_name;
    change.case_name = input.case_name;
  }
  if (input.owner_id !== undefined && input.owner_id !== current.owner_id) {
    before.owner_id = current.owner_id;
    change.owner_id = input.owner_id;
  }
  if (!Object.keys(change).length) return { case_id: current.case_id, action: 'unchanged' };
  change.properties = { ...change.properties, ...markerProperties() };
  const entry: JournalEntry = { system: 'commcare', resource: 'case', id: current.case_id, action: 'updated', configId: server.id, before };
  context.journal.push(entry);
  try {
    await client.updateCase(current.case_id, change, { signal });
  } catch (error) {
    // An answer from HQ means the change was refused: there is nothing to restore.
    if (error instanceof IntegrationError && error.status !== undefined) context.journal.splice(context.journal.indexOf(entry), 1);
    throw error;
  }
  return { case_id: current.case_id, action: 'updated' };
}
