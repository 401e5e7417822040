/**
 * Writing many cases with as few requests as possible: one bulk-fetch to learn which cases
 * exist (and their values, for rollback), then bulk changes of up to 100 upserts. HQ refuses a
 * bulk change as a whole when one item is wrong; the refusal is split back so every input gets
 * its own verdict: rows HQ names fail alone and the rest is re-sent, and a refusal naming no row
 * is narrowed down by halving the batch.
 */
import { IntegrationError, isIntegrationError } from '../../core/errors';
import { type CaseBefore, type CaseInput, type ItemSettings, beforeOf, caseKey, toBulkItem } from './case-input';
import { type CommcareClient, MAX_BULK_CHANGES } from './client';
import { rowErrors } from './errors';
import { markerProperties } from './loop-marker';
import type { BulkItem, CommcareCase, MissingCase } from './types';

export interface CaseWritten {
  case_id: string;
  external_id: string | null;
  created: boolean;
}

export type CaseWriteOutcome =
  | { ok: true; result: CaseWritten; case: CommcareCase; before?: CaseBefore }
  | { ok: false; error: Error };

export interface WriteCasesOptions extends ItemSettings {
  signal?: AbortSignal;
  /** Changes per bulk request (at most 100). */
  batchSize?: number;
}

const isCase = (value: CommcareCase | MissingCase): value is CommcareCase => typeof (value as CommcareCase).case_id === 'string' && !(value as MissingCase).error;

/** Groups inputs so that no group changes the same case twice (HQ would create it twice). */
function rounds(inputs: CaseInput[]): number[][] {
  const result: Array<{ keys: Set<string>; positions: number[] }> = [];
  inputs.forEach((input, position) => {
    const key = caseKey(input);
    let round = result.find((candidate) => !candidate.keys.has(key));
    if (!round) result.push((round = { keys: new Set(), positions: [] }));
    round.keys.add(key);
    round.positions.push(position);
  });
  return result.map((round) => round.positions);
}

/** The full refusal text: the summary is shortened, the body keeps every row. */
function refusalText(error: IntegrationError): string {
  const details = error.remote?.details as { error?: unknown } | undefined;
  return typeof details?.error === 'string' ? details.error : error.remote?.summary ?? error.message;
}

function rowError(item: BulkItem, message: string): IntegrationError {
  const which = item.external_id ? `external_id ${item.external_id}` : `case ${item.case_id}`;
  return new IntegrationError(`commcare refused the case with ${which}: ${message}`, {
    code: 'validation', retryable: false, status: 400, system: 'commcare', remote: { summary: message },
  });
}

/** Writes the inputs; the outcomes are in input order, one per input, never thrown. */
export async function writeCases(client: CommcareClient, inputs: CaseInput[], options: WriteCasesOptions): Promise<CaseWriteOutcome[]> {
  const outcomes: CaseWriteOutcome[] = new Array(inputs.length);
  const size = Math.max(1, Math.min(MAX_BULK_CHANGES, Math.floor(options.batchSize ?? MAX_BULK_CHANGES)));
  for (const round of rounds(inputs)) {
    for (let start = 0; start < round.length; start += size) {
      await writeRound(client, inputs, round.slice(start, start + size), options, outcomes);
    }
  }
  return outcomes;
}

async function writeRound(client: CommcareClient, inputs: CaseInput[], positions: number[], options: WriteCasesOptions, outcomes: CaseWriteOutcome[]): Promise<void> {
  const failAll = (error: unknown, which: number[]): void => {
    for (const position of which) outcomes[position] = { ok: false, error: error as Error };
  };
  let existing: Map<string, CommcareCase>;
  try {
    existing = await readExisting(client, positions.map((position) => inputs[position]), options.signal);
  } catch (error) {
    failAll(error, positions);
    return;
  }
  const items = new Map<number, BulkItem>();
  for (const position of positions) {
    try {
      items.set(position, toBulkItem(inputs[position], existing.get(caseKey(inputs[position])), options));
    } catch (error) {
      outcomes[position] = { ok: false, error: error as Error };
    }
  }
  const send = async (batch: number[]): Promise<void> => {
    if (batch.length === 0) return;
    try {
      const result = await client.bulkChange(batch.map((position) => items.get(position) as BulkItem), { signal: options.signal });
      batch.forEach((position, index) => {
        const written = result.cases[index];
        const before = existing.get(caseKey(inputs[position]));
        outcomes[position] = {
          ok: true,
          case: written,
          result: { case_id: written.case_id, external_id: written.external_id ?? null, created: !before },
          before: before ? beforeOf(before, items.get(position) as BulkItem) : undefined,
        };
      });
    } catch (error) {
      if (!isIntegrationError(error) || error.code !== 'validation' || options.signal?.aborted) {
        failAll(error, batch);
        return;
      }
      const rows = rowErrors(refusalText(error));
      const named = [...rows.keys()].filter((row) => row >= 0 && row < batch.length);
      if (named.length > 0) {
        for (const row of named) outcomes[batch[row]] = { ok: false, error: rowError(items.get(batch[row]) as BulkItem, rows.get(row) as string) };
        await send(batch.filter((_, row) => !rows.has(row)));
      } else if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await send(batch.slice(0, half));
        await send(batch.slice(half));
      } else {
        outcomes[batch[0]] = { ok: false, error: rowError(items.get(batch[0]) as BulkItem, refusalText(error)) };
      }
    }
  };
  await send(positions.filter((position) => items.has(position)));
}

/** The cases that already exist, by caseKey, in one bulk-fetch. */
async function readExisting(client: CommcareClient, inputs: CaseInput[], signal?: AbortSignal): Promise<Map<string, CommcareCase>> {
  const caseIds = [...new Set(inputs.filter((input) => input.case_id).map((input) => input.case_id as string))];
  const externalIds = [...new Set(inputs.filter((input) => !input.case_id && input.external_id).map((input) => input.external_id as string))];
  const found = await client.bulkFetch({ caseIds, externalIds }, { signal });
  const existing = new Map<string, CommcareCase>();
  for (const entry of found.filter(isCase)) {
    if (caseIds.includes(entry.case_id)) existing.set(`id:${entry.case_id}`, entry);
    if (entry.external_id && externalIds.includes(entry.external_id)) existing.set(`ext:${entry.external_id}`, entry);
  }
  return existing;
}

/**
 * Undoes one journaled write: a created case is closed, an updated one gets its previous values
 * back. (A closed case cannot be reopened through the Case API: closing stays closed.)
 */
export async function undoCaseWrite(client: CommcareClient, entry: { id: string; action: 'created' | 'updated'; before?: unknown }, signal?: AbortSignal): Promise<'undone' | 'already-gone'> {
  const current = await client.getCase(entry.id, { signal });
  if (!current) return 'already-gone';
  if (entry.action === 'created') {
    if (current.closed) return 'already-gone';
    await client.updateCase(entry.id, { close: true, properties: markerProperties() }, { signal });
    return 'undone';
  }
  const before = (entry.before ?? { properties: {} }) as CaseBefore;
  const change: Parameters<CommcareClient['updateCase']>[1] = { properties: { ...before.properties, ...markerProperties() } };
  if (before.case_name !== undefined) change.case_name = before.case_name;
  if (before.case_type !== undefined) change.case_type = before.case_type;
  if (before.owner_id !== undefined) change.owner_id = before.owner_id;
  await client.updateCase(entry.id, change, { signal });
  return 'undone';
}
