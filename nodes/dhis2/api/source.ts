/**
 * Polling DHIS2 for what changed: tracked entities, enrollments, events, data values or a
 * metadata collection, page by page, with a checkpoint saved after each page is emitted.
 *
 * A poll walks every page of "updated at or after `since`" and then moves `since` to the newest
 * timestamp it saw. DHIS2 lists tracker objects newest-created first, whatever changed, so the
 * position within a poll (page number) is saved too: a restart in the middle of a poll resumes
 * at the next page instead of skipping the older pages. Objects stamped exactly `since` that
 * were already emitted are remembered by id and not emitted again. Delivery is at least once:
 * an object created while a poll walks its pages can push another one onto the next page.
 */
import { badInput } from '../../core/errors';
import type { QueryValue, RequestOptions } from '../../core/http-client';
import type { Dhis2Client } from './client';
import type { Json } from './types';

export type SourceResource = 'trackedEntities' | 'enrollments' | 'events' | 'dataValueSets' | 'metadata';

export interface SourceQuery {
  resource: SourceResource;
  program?: string;
  programStage?: string;
  trackedEntityType?: string;
  orgUnit?: string;
  ouMode?: string;
  dataSet?: string;
  /** For metadata: the collection, e.g. "organisationUnits". */
  metadataType?: string;
  pageSize?: number;
  /** Only changes from this time on when there is no checkpoint yet. */
  startAfter?: string;
}

export interface SourcePosition {
  /** Lower bound of the current poll (inclusive), undefined for "everything". */
  since?: string;
  /** Ids stamped exactly `since` that the previous poll already emitted. */
  boundary: string[];
  /** Next page of the current poll. */
  page: number;
  /** Newest timestamp seen in the current poll, and the ids stamped with it. */
  newest?: string;
  newestIds: string[];
}

export interface PollContext {
  client: Dhis2Client;
  load(): SourcePosition | undefined;
  save(position: SourcePosition): void;
  /** Sends one page's items (already filtered); the page's checkpoint is saved once it resolves. */
  emit(items: Json[]): unknown;
  signal?: AbortSignal;
}

interface Plan {
  request: RequestOptions;
  keys: string[];
  updated: (item: Json) => string | undefined;
  id: (item: Json) => string;
  paged: boolean;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);

function plan(client: Dhis2Client, query: SourceQuery, since: string | undefined, page: number): Plan {
  const pageSize = query.pageSize ?? 100;
  const legacy = client.mode === 'legacy';
  const common: Record<string, QueryValue> = { program: query.program || undefined, ouMode: query.ouMode || undefined, page, pageSize, fields: '*' };
  const trackerUpdated = (item: Json) => str(item.updatedAt) ?? str(item.lastUpdated);
  switch (query.resource) {
    case 'trackedEntities':
      if (!query.program && !query.trackedEntityType) throw badInput('reading tracked entities needs a program or a tracked entity type', 'program');
      return legacy
        ? {
          request: { path: 'api/trackedEntityInstances', query: { ...common, trackedEntityType: query.program ? undefined : query.trackedEntityType, ou: query.orgUnit || undefined, lastUpdatedStartDate: since } },
          keys: ['trackedEntityInstances'], updated: (item) => str(item.lastUpdated), id: (item) => String(item.trackedEntityInstance), paged: true,
        }
        : {
          request: { path: 'api/tracker/trackedEntities', query: { ...common, trackedEntityType: query.program ? undefined : query.trackedEntityType, orgUnit: query.orgUnit || undefined, updatedAfter: since } },
          keys: ['instances', 'trackedEntities'], updated: trackerUpdated, id: (item) => String(item.trackedEntity), paged: true,
        };
    case 'enrollments':
      if (legacy) throw badInput('reading enrollments needs the tracker API (DHIS2 2.38+)', 'resource');
      return {
        request: { path: 'api/tracker/enrollments', query: { ...common, orgUnit: query.orgUnit || undefined, updatedAfter: since } },
        keys: ['instances', 'enrollments'], updated: trackerUpdated, id: (item) => String(item.enrollment), paged: true,
      };
    case 'events':
      return legacy
        ? {
          request: { path: 'api/events', query: { ...common, programStage: query.programStage || undefined, orgUnit: query.orgUnit || undefined, lastUpdatedStartDate: since } },
          keys: ['events'], updated: (item) => str(item.lastUpdated), id: (item) => String(item.event), paged: true,
        }
        : {
          request: { path: 'api/tracker/events', query: { ...common, programStage: query.programStage || undefined, orgUnit: query.orgUnit || undefined, updatedAfter: since } },
          keys: ['instances', 'events'], updated: trackerUpdated, id: (item) => String(item.event), paged: true,
        };
    case 'metadata': {
      const type = query.metadataType;
      if (!type || !/^[A-Za-z]+$/.test(type)) throw badInput('reading metadata needs a collection name, e.g. organisationUnits', 'metadataType');
      return {
        request: { path: `api/${type}`, query: { fields: '*', page, pageSize, filter: since ? `lastUpdated:ge:${since}` : undefined } },
        keys: [type], updated: (item) => str(item.lastUpdated), id: (item) => String(item.id), paged: true,
      };
    }
    case 'dataValueSets':
      if (!query.dataSet || !query.orgUnit) throw badInput('reading data values needs a data set and an org unit', 'dataSet');
      return {
        // Not paged by DHIS2; the wide date range stands for "any period", lastUpdated does the filtering.
        request: { path: 'api/dataValueSets', query: { dataSet: query.dataSet, orgUnit: query.orgUnit, children: query.ouMode === 'DESCENDANTS' ? true : undefined, startDate: '1900-01-01', endDate: '2999-12-31', lastUpdated: since } },
        keys: ['dataValues'],
        updated: (item) => str(item.lastUpdated),
        id: (item) => [item.dataElement, item.period, item.orgUnit, item.categoryOptionCombo, item.attributeOptionCombo].join('|'),
        paged: false,
      };
  }
  throw badInput(`unknown resource ${String(query.resource)}`, 'resource');
}

/** One poll: every page since the checkpoint, emitted and checkpointed page by page. Returns how many items were emitted. */
export async function pollChanges(context: PollContext, query: SourceQuery): Promise<number> {
  const saved = context.load();
  const position: SourcePosition = saved ?? { since: query.startAfter || undefined, boundary: [], page: 1, newest: undefined, newestIds: [] };
  const boundary = new Set(position.boundary);
  const { request, keys, updated, id, paged } = plan(context.client, query, position.since, position.page);
  let emitted = 0;
  const pages = paged
    ? context.client.pages(request, keys, { signal: context.signal })
    : (async function* single() {
      const body = await context.client.getDataValueSet(request.query ?? {}, { signal: context.signal });
      yield Array.isArray(body.dataValues) ? (body.dataValues as Json[]) : [];
    })();
  for await (const items of pages) {
    const fresh: Json[] = [];
    for (const item of items) {
      const stamp = updated(item);
      const itemId = id(item);
      if (position.since && stamp !== undefined && stamp < position.since) continue;
      if (stamp !== undefined && stamp === position.since && boundary.has(itemId)) continue;
      fresh.push(item);
      if (stamp === undefined) continue;
      if (position.newest === undefined || stamp > position.newest) {
        position.newest = stamp;
        position.newestIds = [itemId];
      } else if (stamp === position.newest && !position.newestIds.includes(itemId)) {
        position.newestIds.push(itemId);
      }
    }
    if (fresh.length) await context.emit(fresh);
    emitted += fresh.length;
    position.page += 1;
    context.save(position);
  }
  // The poll is complete: the next one starts at the newest change seen.
  const next: SourcePosition = position.newest === undefined
    ? { since: position.since, boundary: position.boundary, page: 1, newestIds: [] }
    : { since: position.newest, boundary: position.newest === position.since ? [...new Set([...position.boundary, ...position.newestIds])] : position.newestIds, page: 1, newestIds: [] };
  context.save(next);
  return emitted;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** Refuses reads larger than this, rather than filling memory with a whole country. */
  maxItems?: number;
}

export const DEFAULT_MAX_READ_ITEMS = 10_000;

/**
 * One complete read, without a checkpoint: every page of what the query selects (all of it, not
 * only changes), as one list. For on-demand syncs, e.g. an OpenHIM channel pulling the org unit
 * hierarchy and the tracked entities of a program.
 */
export async function readAll(client: Dhis2Client, query: Omit<SourceQuery, 'startAfter'>, options: ReadOptions = {}): Promise<Json[]> {
  const maxItems = options.maxItems ?? DEFAULT_MAX_READ_ITEMS;
  const { request, keys, paged } = plan(client, query, undefined, 1);
  if (!paged) {
    const body = await client.getDataValueSet(request.query ?? {}, { signal: options.signal });
    const values = Array.isArray(body.dataValues) ? (body.dataValues as Json[]) : [];
    if (values.length > maxItems) throw tooMany(maxItems);
    return values;
  }
  const items: Json[] = [];
  for await (const page of client.pages(request, keys, { signal: options.signal })) {
    items.push(...page);
    if (items.length > maxItems) throw tooMany(maxItems);
  }
  return items;
}

function tooMany(maxItems: number): Error {
  return badInput(`the read selects more than ${maxItems} items: narrow it (org unit, program) or raise "at most"`, 'maxItems');
}
