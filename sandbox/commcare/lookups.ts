/**
 * Tastypie-style read APIs (meta + objects, limit/offset paging): forms, mobile workers,
 * groups, locations and the application structure, which the flow editor uses for pick lists.
 */
import type { SandboxRequest, SandboxResponse } from '../core';
import * as seed from './seed';
import type { CommcareStore, FormRecord } from './store';

const API = `/a/${seed.DOMAIN}/api`;

/** Tastypie's page: limit defaults to 20, offset to 0; next/previous are paths with the query. */
export function tastypiePage(req: SandboxRequest, objects: unknown[], maxLimit = 1000): SandboxResponse {
  const limitText = req.query.get('limit') ?? '20';
  const offsetText = req.query.get('offset') ?? '0';
  if (!/^\d+$/.test(limitText)) return { status: 400, body: { error: `Invalid limit '${limitText}' provided. Please provide a positive integer.` } };
  if (!/^\d+$/.test(offsetText)) return { status: 400, body: { error: `Invalid offset '${offsetText}' provided. Please provide a positive integer.` } };
  let limit = Number(limitText);
  if (limit === 0 || limit > maxLimit) limit = maxLimit;
  const offset = Number(offsetText);
  const link = (nextOffset: number): string => {
    const query = new URLSearchParams(req.query);
    query.set('limit', String(limit));
    query.set('offset', String(nextOffset));
    return `${req.path}?${query}`;
  };
  return {
    status: 200,
    body: {
      meta: {
        limit,
        next: offset + limit < objects.length ? link(offset + limit) : null,
        offset,
        previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
        total_count: objects.length,
      },
      objects: objects.slice(offset, offset + limit),
    },
  };
}

const notFound = (what: string, id: string): SandboxResponse => ({ status: 404, body: { error: `${what} with id ${id} not found` } });

function userJson(worker: (typeof seed.MOBILE_WORKERS)[number]): Record<string, unknown> {
  return {
    type: 'user',
    id: worker.id,
    username: worker.username,
    first_name: worker.firstName,
    last_name: worker.lastName,
    default_phone_number: worker.phone,
    email: '',
    phone_numbers: [worker.phone],
    groups: seed.GROUPS.filter((group) => group.users.includes(worker.id)).map((group) => group.id),
    locations: [worker.location],
    primary_location: worker.location,
    user_data: { ...worker.userData },
    resource_uri: `${API}/v0.5/user/${worker.id}/`,
  };
}

export function listUsers(req: SandboxRequest): SandboxResponse {
  const group = req.query.get('group');
  const workers = seed.MOBILE_WORKERS.filter((worker) => !group || seed.GROUPS.some((g) => g.id === group && g.users.includes(worker.id)));
  return tastypiePage(req, req.query.get('archived') === 'true' ? [] : workers.map(userJson));
}

export function getUser(req: SandboxRequest): SandboxResponse {
  const worker = seed.MOBILE_WORKERS.find((candidate) => candidate.id === req.params.id);
  return worker ? { status: 200, body: userJson(worker) } : notFound('User', req.params.id);
}

export function listGroups(req: SandboxRequest): SandboxResponse {
  return tastypiePage(req, seed.GROUPS.map((group) => ({
    case_sharing: group.caseSharing,
    domain: seed.DOMAIN,
    id: group.id,
    metadata: {},
    name: group.name,
    path: [],
    reporting: group.reporting,
    resource_uri: `${API}/v0.5/group/${group.id}/`,
    users: [...group.users],
  })));
}

type Location = (typeof seed.LOCATIONS)[number];

function locationTypeOf(location: Location): { id: number; code: string; name: string } {
  return seed.LOCATION_TYPES[location.type as keyof typeof seed.LOCATION_TYPES];
}

/** v0.5: the location resource the HQ UI and older integrations use. */
function locationV05(location: Location): Record<string, unknown> {
  return {
    uuid: location.id,
    location_id: location.id,
    name: location.name,
    site_code: location.siteCode,
    location_type: locationTypeOf(location).code,
    parent_location_id: location.parent,
    is_archived: false,
    can_edit: true,
    resource_uri: `${API}/v0.5/location/${location.id}/`,
  };
}

/** v2 serialization (docs/api/locations.rst). */
function locationV2(location: Location): Record<string, unknown> {
  return {
    domain: seed.DOMAIN,
    last_modified: '2024-01-01T00:00:00.000000',
    latitude: null,
    location_data: {},
    location_id: location.id,
    location_type_code: locationTypeOf(location).code,
    location_type_name: locationTypeOf(location).name,
    longitude: null,
    name: location.name,
    parent_location_id: location.parent,
    site_code: location.siteCode,
  };
}

function filterLocations(req: SandboxRequest): Location[] {
  const type = req.query.get('location_type') ?? req.query.get('location_type_code');
  const parent = req.query.get('parent_id') ?? req.query.get('parent_location_id') ?? req.query.get('parent');
  const siteCode = req.query.get('site_code');
  return seed.LOCATIONS.filter((location) =>
    (!type || locationTypeOf(location).code === type || locationTypeOf(location).name === type) &&
    (!parent || location.parent === parent) &&
    (!siteCode || location.siteCode === siteCode));
}

export function listLocations(req: SandboxRequest): SandboxResponse {
  return tastypiePage(req, filterLocations(req).map(locationV05));
}

export function listLocationsV2(req: SandboxRequest): SandboxResponse {
  return tastypiePage(req, filterLocations(req).map(locationV2));
}

export function getLocation(req: SandboxRequest): SandboxResponse {
  const location = seed.LOCATIONS.find((candidate) => candidate.id === req.params.id);
  if (!location) return notFound('Location', req.params.id);
  return { status: 200, body: req.path.includes('/location/v2/') ? locationV2(location) : locationV05(location) };
}

export function listLocationTypes(req: SandboxRequest): SandboxResponse {
  return tastypiePage(req, Object.values(seed.LOCATION_TYPES).map((type) => ({
    administrative: type.code === 'district',
    code: type.code,
    domain: seed.DOMAIN,
    id: type.id,
    name: type.name,
    parent: type.parent ? `${API}/location_type/v1/${seed.LOCATION_TYPES[type.parent as keyof typeof seed.LOCATION_TYPES].id}/` : null,
    resource_uri: `${API}/location_type/v1/${type.id}/`,
    shares_cases: type.code === 'village',
    view_descendants: false,
  })));
}

function applicationJson(): Record<string, unknown> {
  const app = seed.APPLICATION;
  return {
    id: app.id,
    name: app.name,
    version: app.version,
    build_on: null,
    build_comment: null,
    is_released: true,
    built_from_app_id: null,
    case_types: Object.fromEntries(app.modules.map((module) => [module.caseType, [...module.caseProperties]])),
    modules: app.modules.map((module) => ({
      name: { en: module.name },
      case_type: module.caseType,
      case_properties: [...module.caseProperties],
      forms: module.forms.map((form) => ({
        name: { en: form.name },
        xmlns: form.xmlns,
        questions: form.questions.map((question) => ({ label: question, repeat: '', tag: 'input', value: `/data/${question}` })),
      })),
    })),
    versions: [{ id: seed.APP_BUILD_ID, build_on: '2024-01-01T00:00:00', build_comment: '', is_released: true, version: app.version }],
    resource_uri: `${API}/v0.5/application/${app.id}/`,
  };
}

export function listApplications(req: SandboxRequest): SandboxResponse {
  return tastypiePage(req, [applicationJson()]);
}

export function getApplication(req: SandboxRequest): SandboxResponse {
  return req.params.id === seed.APP_ID ? { status: 200, body: applicationJson() } : notFound('Application', req.params.id);
}

function formApiJson(form: FormRecord): Record<string, unknown> {
  return { ...form.json, resource_uri: `${API}/v0.5/form/${form.id}/` };
}

export function listForms(store: CommcareStore, req: SandboxRequest): SandboxResponse {
  const xmlns = req.query.get('xmlns');
  const appId = req.query.get('app_id');
  const start = req.query.get('received_on_start');
  const end = req.query.get('received_on_end');
  const bound = (value: string | null): number | undefined => {
    if (!value) return undefined;
    const time = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) || /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : `${value}Z`);
    return Number.isNaN(time) ? Number.NaN : time;
  };
  const startTime = bound(start);
  const endTime = bound(end);
  if (Number.isNaN(startTime) || Number.isNaN(endTime)) return { status: 400, body: { error: 'received_on_start and received_on_end must be ISO dates or datetimes' } };
  const descending = req.query.get('order_by') === '-received_on';
  const forms = [...store.forms.values()]
    .filter((form) =>
      (!xmlns || form.xmlns === xmlns) &&
      (!appId || form.appId === appId) &&
      (startTime === undefined || Date.parse(form.receivedOn) >= startTime) &&
      (endTime === undefined || Date.parse(form.receivedOn) <= endTime))
    .sort((a, b) => (a.receivedOn < b.receivedOn ? -1 : a.receivedOn > b.receivedOn ? 1 : 0) * (descending ? -1 : 1));
  return tastypiePage(req, forms.map(formApiJson));
}

export function getForm(store: CommcareStore, req: SandboxRequest): SandboxResponse {
  const form = store.forms.get(req.params.id);
  return form ? { status: 200, body: formApiJson(form) } : notFound('Form', req.params.id);
}
