/**
 * CommCare HQ simulator: project space "demo" with the Case API v2, the OpenRosa receiver, the
 * Form API, tastypie lookups (users, groups, locations, applications), lookup tables and data
 * forwarding.
 */
import { timingSafeEqual } from 'node:crypto';
import { SandboxApp, basicCredentials, type ClientConfig, type Handler, type SandboxRequest, type SandboxResponse } from '../core';
import { CaseApi } from './case-api';
import { FormProcessor } from './forms';
import { Forwarder } from './forwarding';
import * as lookupTables from './lookup-tables';
import * as lookups from './lookups';
import { receive } from './receiver';
import * as seed from './seed';
import { CommcareStore } from './store';

export const DEFAULT_PORT = 8083;
export const BASE_PATH = `/a/${seed.DOMAIN}`;

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

const UNAUTHORIZED: SandboxResponse = { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="commcarehq"' }, body: '' };

/** HQ API auth: "ApiKey <username>:<key>" or Basic with the web user's password. */
function webUserAuth(req: SandboxRequest): SandboxResponse | undefined {
  const header = String(req.headers.authorization ?? '');
  const apiKey = /^ApiKey\s+([^:\s]+):(\S+)$/i.exec(header);
  if (apiKey && same(apiKey[1], seed.WEB_USER.username) && same(apiKey[2], seed.WEB_USER.apiKey)) return undefined;
  const basic = basicCredentials(req);
  if (basic && same(basic.username, seed.WEB_USER.username) && same(basic.password, seed.WEB_USER.password)) return undefined;
  return UNAUTHORIZED;
}

/** The receiver also takes mobile workers' Basic credentials, as phones submit with them. */
function submitterAuth(req: SandboxRequest): SandboxResponse | undefined {
  if (!webUserAuth(req)) return undefined;
  const basic = basicCredentials(req);
  const worker = basic && seed.MOBILE_WORKERS.find((candidate) => candidate.username === basic.username);
  if (worker && basic && same(basic.password, seed.MOBILE_WORKER_PASSWORD)) return undefined;
  return UNAUTHORIZED;
}

/** Only the "demo" project space exists; HQ answers 404 for any other domain. */
function inDomain(handler: Handler): Handler {
  return (req) => (req.params.domain === seed.DOMAIN
    ? handler(req)
    : { status: 404, body: `Project space "${req.params.domain}" not found`, contentType: 'text/plain; charset=utf-8' });
}

export function create(): SandboxApp {
  const clients = new Map<string, ClientConfig>();
  const forwarder = new Forwarder(clients);
  let store!: CommcareStore;
  let processor!: FormProcessor;
  let caseApi!: CaseApi;
  let tables!: lookupTables.LookupTableStore;

  const app = new SandboxApp({
    name: 'commcare',
    auth: webUserAuth,
    reset: () => {
      forwarder.reset();
      store = new CommcareStore();
      processor = new FormProcessor(store, forwarder);
      caseApi = new CaseApi(store, processor);
      tables = new lookupTables.LookupTableStore();
    },
    onClientConfig: (config) => { clients.set(config.name, config); },
  });

  const cases = '/a/:domain/api/case/v2';
  app.get(cases, inDomain((req) => caseApi.list(req)));
  app.post(cases, inDomain((req) => caseApi.create(req)));
  app.put(cases, inDomain((req) => caseApi.update(req)));
  app.post(`${cases}/bulk-fetch`, inDomain((req) => caseApi.bulkFetch(req)));
  app.get(`${cases}/ext/:externalId`, inDomain((req) => caseApi.getByExternalId(req)));
  app.put(`${cases}/ext/:externalId`, inDomain((req) => caseApi.upsertByExternalId(req)));
  app.get(`${cases}/:caseId`, inDomain((req) => caseApi.get(req)));
  app.put(`${cases}/:caseId`, inDomain((req) => caseApi.update(req)));

  const submit: Handler = (req) => submitterAuth(req) ?? receive(processor, req);
  app.post('/a/:domain/receiver', inDomain(submit), { auth: false });
  app.post('/a/:domain/receiver/:appId', inDomain(submit), { auth: false });

  const v05 = '/a/:domain/api/v0.5';
  app.get(`${v05}/form`, inDomain((req) => lookups.listForms(store, req)));
  app.get(`${v05}/form/:id`, inDomain((req) => lookups.getForm(store, req)));
  app.get(`${v05}/user`, inDomain(lookups.listUsers));
  app.get(`${v05}/user/:id`, inDomain(lookups.getUser));
  app.get(`${v05}/group`, inDomain(lookups.listGroups));
  app.get(`${v05}/location`, inDomain(lookups.listLocations));
  app.get(`${v05}/location/:id`, inDomain(lookups.getLocation));
  app.get(`${v05}/application`, inDomain(lookups.listApplications));
  app.get(`${v05}/application/:id`, inDomain(lookups.getApplication));
  app.get('/a/:domain/api/location/v2', inDomain(lookups.listLocationsV2));
  app.get('/a/:domain/api/location/v2/:id', inDomain(lookups.getLocation));
  app.get('/a/:domain/api/location_type/v1', inDomain(lookups.listLocationTypes));

  app.get(`${v05}/lookup_table`, inDomain((req) => lookupTables.listTables(tables, req)));
  app.post(`${v05}/lookup_table`, inDomain((req) => lookupTables.createTable(tables, req)));
  app.get(`${v05}/lookup_table/:id`, inDomain((req) => lookupTables.getTable(tables, req)));
  app.put(`${v05}/lookup_table/:id`, inDomain((req) => lookupTables.updateTable(tables, req)));
  app.delete(`${v05}/lookup_table/:id`, inDomain((req) => lookupTables.deleteTable(tables, req)));
  app.get(`${v05}/lookup_table_item`, inDomain((req) => lookupTables.listRows(tables, req)));
  app.post(`${v05}/lookup_table_item`, inDomain((req) => lookupTables.createRow(tables, req)));
  app.get(`${v05}/lookup_table_item/:id`, inDomain((req) => lookupTables.getRow(tables, req)));
  app.put(`${v05}/lookup_table_item/:id`, inDomain((req) => lookupTables.updateRow(tables, req)));
  app.delete(`${v05}/lookup_table_item/:id`, inDomain((req) => lookupTables.deleteRow(tables, req)));
  app.get(`${v05}/fixture`, inDomain((req) => lookupTables.listFixtures(tables, req)));
  app.get(`${v05}/fixture/:id`, inDomain((req) => lookupTables.getFixture(tables, req)));

  // Injects a form given as form JSON (the forwarded shape, or just its "form" block)
  app.control('POST', '/_sandbox/submit', (req) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return { status: 400, body: { error: 'expected form JSON' } };
    const wrapped = body.form && typeof body.form === 'object';
    const form = (wrapped ? body.form : body) as Record<string, unknown>;
    if (typeof form['@xmlns'] !== 'string') return { status: 400, body: { error: 'the form needs an "@xmlns"' } };
    const result = processor.submit({
      form: { '#type': 'data', ...form },
      id: wrapped && typeof body.id === 'string' ? body.id : undefined,
      receivedOn: wrapped && typeof body.received_on === 'string' ? body.received_on : undefined,
      appId: wrapped && typeof body.app_id === 'string' ? body.app_id : null,
      buildId: wrapped && typeof body.build_id === 'string' ? body.build_id : null,
    });
    if (result.kind === 'processed') {
      return { status: 201, body: { status: 'processed', form_id: result.form.id, case_ids: result.cases.map((record) => record.case_id) } };
    }
    return { status: result.kind === 'duplicate' ? 200 : 422, body: { status: result.kind, form_id: result.formId, message: result.message } };
  });
  app.control('GET', '/_sandbox/deliveries', (req) => {
    const target = req.query.get('target');
    return { status: 200, body: forwarder.deliveries.filter((delivery) => !target || delivery.target === target) };
  });
  app.control('DELETE', '/_sandbox/deliveries', () => {
    forwarder.deliveries = [];
    return { status: 200, body: { cleared: true } };
  });

  return app;
}
