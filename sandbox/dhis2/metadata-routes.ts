/**
 * Read-only metadata endpoints (/api/programs, /api/organisationUnits...) with the metadata
 * field filter, `filter=property:operator:value` and the metadata `pager`, plus system/info and
 * /api/me.
 */
import type { SandboxApp, SandboxRequest, SandboxResponse } from '../core';
import { currentUser } from './auth';
import { parseFields, selectFields } from './fields';
import { TYPE_NAMES, type CollectionName } from './metadata';
import { pageCount, pageOf, pagingParams } from './query';
import { SEEDED_AT } from './seed';
import type { Dhis2Store } from './store';
import { now } from './values';
import { WebMessageError, guarded, respond } from './web-message';

export const DHIS2_VERSION = '2.40.4';

type Json = Record<string, unknown>;

function property(object: Json, path: string): unknown {
  let current: unknown = object;
  for (const segment of path.split('.')) {
    if (Array.isArray(current)) current = current.map((item) => (item as Json)?.[segment]);
    else current = current && typeof current === 'object' ? (current as Json)[segment] : undefined;
  }
  return current;
}

type Predicate = (object: Json) => boolean;

/** One `filter=property:operator:value` of the metadata API. */
function metadataFilter(filter: string): Predicate {
  const [path, rawOperator, ...rest] = filter.split(':');
  if (!path || !rawOperator) throw new WebMessageError(400, `Invalid filter: ${filter}`);
  const operator = rawOperator.toLowerCase();
  const expected = rest.join(':');
  const listValues = expected.replace(/^\[|\]$/g, '').split(',');
  return (object) => {
    const raw = property(object, path);
    const actual = raw === undefined || raw === null ? undefined : String(raw);
    const lower = actual?.toLowerCase() ?? '';
    const wanted = expected.toLowerCase();
    switch (operator) {
      case 'eq': return actual === expected;
      case '!eq': case 'ne': case 'neq': return actual !== expected;
      case 'ieq': return lower === wanted;
      case 'like': return actual !== undefined && actual.includes(expected);
      case 'ilike': return actual !== undefined && lower.includes(wanted);
      case '!like': return actual === undefined || !actual.includes(expected);
      case '!ilike': return actual === undefined || !lower.includes(wanted);
      case '$like': return actual !== undefined && actual.startsWith(expected);
      case '$ilike': case 'startswith': return actual !== undefined && lower.startsWith(wanted);
      case 'like$': return actual !== undefined && actual.endsWith(expected);
      case 'ilike$': case 'endswith': return actual !== undefined && lower.endsWith(wanted);
      case 'in': return actual !== undefined && listValues.includes(actual);
      case '!in': return actual === undefined || !listValues.includes(actual);
      case 'null': return actual === undefined;
      case '!null': return actual !== undefined;
      case 'gt': return actual !== undefined && compare(actual, expected) > 0;
      case 'ge': return actual !== undefined && compare(actual, expected) >= 0;
      case 'lt': return actual !== undefined && compare(actual, expected) < 0;
      case 'le': return actual !== undefined && compare(actual, expected) <= 0;
      default: throw new WebMessageError(400, `Unsupported filter operator: ${rawOperator}`);
    }
  };
}

function compare(actual: string, expected: string): number {
  const numeric = Number(actual) - Number(expected);
  return Number.isNaN(numeric) ? actual.localeCompare(expected) : numeric;
}

const COLLECTIONS = Object.keys(TYPE_NAMES) as CollectionName[];

export function metadataRoutes(app: SandboxApp, store: Dhis2Store): void {
  const { metadata } = store;
  const resolve = (id: string): object | undefined => metadata.byId.get(id);

  for (const collection of COLLECTIONS) {
    app.get(`/api/${collection}`, guarded((req: SandboxRequest): SandboxResponse => {
      const { query } = req;
      let items = metadata.collections[collection] as unknown as Json[];
      const predicates = query.getAll('filter').map(metadataFilter);
      const level = query.get('level');
      if (level && collection === 'organisationUnits') predicates.push((object) => String(object.level) === level);
      if (predicates.length > 0) {
        const any = query.get('rootJunction')?.toUpperCase() === 'OR';
        items = items.filter((item) => (any ? predicates.some((test) => test(item)) : predicates.every((test) => test(item))));
      }
      const fields = parseFields(query.get('fields') ?? 'id,displayName');
      const paging = pagingParams(query);
      const body: Json = {};
      if (paging.paged) {
        const pages = pageCount(items.length, paging.pageSize);
        const pager: Json = { page: paging.page, total: items.length, pageSize: paging.pageSize, pageCount: pages };
        const link = (page: number): string => {
          const params = new URLSearchParams(query);
          params.set('page', String(page));
          return `${req.origin}${req.path}?${params.toString()}`;
        };
        if (paging.page < pages) pager.nextPage = link(paging.page + 1);
        if (paging.page > 1) pager.prevPage = link(paging.page - 1);
        body.pager = pager;
      }
      body[collection] = pageOf(items, paging).map((item) => selectFields(item, fields, resolve));
      return { status: 200, body };
    }));

    app.get(`/api/${collection}/:id`, guarded((req: SandboxRequest): SandboxResponse => {
      const item = (metadata.collections[collection] as unknown as Json[]).find((candidate) => candidate.id === req.params.id);
      if (!item) return respond(404, 'ERROR', `${TYPE_NAMES[collection]} with id ${req.params.id} could not be found.`);
      return { status: 200, body: selectFields(item, parseFields(req.query.get('fields') ?? '*'), resolve) };
    }));
  }

  app.get('/api/system/info', (req) => ({
    status: 200,
    body: {
      contextPath: req.origin,
      userAgent: String(req.headers['user-agent'] ?? ''),
      calendar: 'iso8601',
      dateFormat: 'yyyy-mm-dd',
      serverDate: now(),
      serverTimeZoneId: 'Etc/UTC',
      serverTimeZoneDisplayName: 'Coordinated Universal Time',
      version: DHIS2_VERSION,
      revision: 'sandbox',
      buildTime: SEEDED_AT,
      jasperReportsVersion: '6.20.1',
      environmentVariable: 'DHIS2_HOME',
      databaseInfo: { spatialSupport: true },
      encryption: false,
      emailConfigured: false,
      redisEnabled: false,
      systemId: 'eed3d451-4ff5-4193-b951-ffcc68954299',
      systemName: 'DHIS 2 Sandbox',
      instanceBaseUrl: req.origin,
      clusterHostname: '',
      isMetadataVersionEnabled: false,
    },
  }));

  app.get('/api/me', guarded((req: SandboxRequest): SandboxResponse => {
    const user = currentUser(req);
    const fields = parseFields(req.query.get('fields') ?? '*');
    const me = {
      id: user.id,
      username: user.username,
      firstName: user.firstName,
      surname: user.surname,
      name: `${user.firstName} ${user.surname}`,
      displayName: `${user.firstName} ${user.surname}`,
      created: SEEDED_AT,
      lastUpdated: SEEDED_AT,
      userCredentials: { username: user.username },
      organisationUnits: user.organisationUnits.map((id) => ({ id })),
      dataViewOrganisationUnits: user.organisationUnits.map((id) => ({ id })),
      teiSearchOrganisationUnits: user.organisationUnits.map((id) => ({ id })),
      authorities: user.authorities,
      programs: metadata.collections.programs.map((program) => program.id),
      dataSets: metadata.collections.dataSets.map((dataSet) => dataSet.id),
      settings: { keyUiLocale: 'en', keyDbLocale: 'en' },
    };
    return { status: 200, body: selectFields(me, fields, (id) => metadata.byId.get(id)) };
  }));
}
