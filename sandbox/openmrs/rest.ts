/**
 * The REST web services (/openmrs/ws/rest/v1): create by POST to the collection, update by POST to
 * the uuid, DELETE voids (or retires) and `?purge=true` removes; searches page with limit/startIndex
 * and `links` rel next/prev, and `totalCount=true` adds the count.
 */
import type { SandboxApp, SandboxRequest, SandboxResponse } from '../core';
import type { Sessions } from './auth';
import { parseDatetime } from './dates';
import { badRequest, notFound, RestError, restErrorResponse, unsupported } from './errors';
import { evaluateReport, reportDefinition, reportDefinitions } from './reports';
import { parseRep, REST_PATH, Representer, type Rep } from './representation';
import type { OpenmrsService } from './service';
import type { Metadata } from './store';
import { PROVIDERS } from './seed';

type Json = Record<string, unknown>;

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;

export class RestContext {
  private readonly representers = new Map<string, Representer>();

  constructor(readonly service: OpenmrsService, readonly sessions: Sessions) {}

  get store() {
    return this.service.store;
  }

  /** One representer per origin the clients use, so links carry the host they called. */
  representer(req: SandboxRequest): Representer {
    let representer = this.representers.get(req.origin);
    if (!representer) {
      representer = new Representer(this.store, `${req.origin}${REST_PATH}`);
      this.representers.set(req.origin, representer);
    }
    return representer;
  }
}

/** Runs a handler and turns RestError into the REST error body. */
function rest(handler: (req: SandboxRequest) => SandboxResponse): (req: SandboxRequest) => SandboxResponse {
  return (req) => {
    try {
      return handler(req);
    } catch (error) {
      if (error instanceof RestError) return restErrorResponse(error);
      throw error;
    }
  };
}

/**
 * `v=custom:(uuid,display,person:(uuid))` keeps those properties of the full representation; a
 * nested `(...)` narrows that property (or each item of a list) the same way, as OpenMRS does.
 */
function represent<T>(req: SandboxRequest, item: T, render: (item: T, rep: Rep) => Json): Json {
  const v = req.query.get('v') ?? '';
  const custom = /^custom:\((.*)\)$/.exec(v);
  if (!custom) return render(item, parseRep(v));
  return pick(render(item, 'full'), parseCustom(custom[1]));
}

type CustomSpec = Map<string, CustomSpec | undefined>;

function pick(value: Json, spec: CustomSpec): Json {
  const picked: Json = {};
  for (const [key, nested] of spec) {
    if (!(key in value)) continue;
    const property = value[key];
    if (!nested || property === null || typeof property !== 'object') picked[key] = property;
    else picked[key] = Array.isArray(property) ? property.map((entry) => (entry && typeof entry === 'object' ? pick(entry as Json, nested) : entry)) : pick(property as Json, nested);
  }
  return picked;
}

/** `uuid,person:(display,names:(givenName))` as a tree of property names. */
function parseCustom(spec: string): CustomSpec {
  const properties: CustomSpec = new Map();
  let depth = 0;
  let name = '';
  let inner = '';
  const flush = (): void => {
    const key = name.replace(/:$/, '').trim();
    if (key) properties.set(key, inner ? parseCustom(inner) : undefined);
    name = '';
    inner = '';
  };
  for (const char of spec) {
    if (char === '(') {
      if (depth > 0) inner += char;
      depth += 1;
    } else if (char === ')') {
      depth -= 1;
      if (depth > 0) inner += char;
    } else if (depth > 0) inner += char;
    else if (char === ',') flush();
    else name += char;
  }
  flush();
  return properties;
}

function page<T>(req: SandboxRequest, items: T[], render: (item: T, rep: Rep) => Json): SandboxResponse {
  const limitParam = Number(req.query.get('limit') ?? DEFAULT_LIMIT);
  const startParam = Number(req.query.get('startIndex') ?? 0);
  if (!Number.isInteger(limitParam) || limitParam <= 0) throw badRequest('limit must be a positive integer');
  if (!Number.isInteger(startParam) || startParam < 0) throw badRequest('startIndex must be a positive integer or zero');
  const limit = Math.min(limitParam, MAX_LIMIT);
  const results = items.slice(startParam, startParam + limit).map((item) => represent(req, item, render));
  const body: Json = { results };
  const links: Json[] = [];
  const linkTo = (startIndex: number): string => {
    const query = new URLSearchParams(req.query);
    query.set('limit', String(limit));
    query.set('startIndex', String(startIndex));
    return `${req.origin}${req.path}?${query.toString()}`;
  };
  if (startParam + limit < items.length) links.push({ rel: 'next', uri: linkTo(startParam + limit) });
  if (startParam > 0) links.push({ rel: 'prev', uri: linkTo(Math.max(0, startParam - limit)) });
  if (links.length) body.links = links;
  if (req.query.get('totalCount') === 'true') body.totalCount = items.length;
  return { status: 200, body };
}

/** An ISO date or datetime query parameter as epoch ms; a value OpenMRS cannot convert is a 400. */
function dateParam(req: SandboxRequest, name: string): number | undefined {
  const text = req.query.get(name);
  if (text === null || text === '') return undefined;
  const ms = parseDatetime(text);
  if (ms === undefined) throw badRequest(`${name} must be a date or datetime such as 2024-05-01 or 2024-05-01T09:30:00.000+0300`);
  return ms;
}

const includeAll = (req: SandboxRequest): boolean => req.query.get('includeAll') === 'true';
const purge = (req: SandboxRequest): boolean => req.query.get('purge') === 'true';
const words = (text: string): string[] => text.toLowerCase().split(/\s+/).filter(Boolean);

function found<T>(item: T | undefined): T {
  if (item === undefined) throw notFound();
  return item;
}

export function restRoutes(app: SandboxApp, context: RestContext): void {
  const { service, store, sessions } = context;
  const base = REST_PATH;
  const ok = (body: unknown, status = 200): SandboxResponse => ({ status, body });
  const deleted: SandboxResponse = { status: 204 };

  // Session

  app.get(`${base}/session`, (req) => {
    const existing = sessions.sessionOf(req);
    if (!existing && !sessions.authenticated(req)) return ok({ sessionId: sessions.open(), authenticated: false });
    const sessionId = existing ?? sessions.open();
    const representer = context.representer(req);
    const provider = store.providers.get(PROVIDERS.admin);
    return {
      status: 200,
      headers: existing ? {} : { 'Set-Cookie': `JSESSIONID=${sessionId}; Path=/openmrs; HttpOnly` },
      body: {
        sessionId,
        authenticated: true,
        user: representer.adminUser(),
        locale: 'en_GB',
        allowedLocales: ['en', 'en_GB', 'fr', 'sw'],
        sessionLocation: null,
        currentProvider: provider ? representer.provider(provider, 'ref') : null,
      },
    };
  }, { auth: false });
  app.delete(`${base}/session`, (req) => {
    sessions.close(sessions.sessionOf(req));
    return deleted;
  }, { auth: false });

  // Patients

  app.get(`${base}/patient`, rest((req) => {
    const q = req.query.get('q')?.trim();
    const identifier = req.query.get('identifier')?.trim();
    if (!q && !identifier) throw unsupported();
    const representer = context.representer(req);
    const all = includeAll(req);
    const matches = [...store.patients.values()].filter((patient) => {
      if (patient.voided && !all) return false;
      const ids = patient.identifiers.filter((entry) => !entry.voided || all).map((entry) => entry.identifier.toLowerCase());
      if (identifier) return ids.includes(identifier.toLowerCase());
      if (ids.includes(q!.toLowerCase())) return true;
      const person = store.persons.get(patient.uuid);
      const parts = (person?.names ?? []).filter((name) => !name.voided).flatMap((name) => words([name.givenName, name.middleName ?? '', name.familyName].join(' ')));
      return words(q!).every((word) => parts.some((part) => part.startsWith(word)));
    });
    return page(req, matches, (patient, rep) => representer.patient(patient, rep));
  }));
  app.post(`${base}/patient`, rest((req) => ok(context.representer(req).patient(service.createPatient(req.body), 'default'), 201)));
  app.get(`${base}/patient/:uuid`, rest((req) => ok(represent(req, found(store.patients.get(req.params.uuid)), (patient, rep) => context.representer(req).patient(patient, rep)))));
  app.post(`${base}/patient/:uuid`, rest((req) => ok(context.representer(req).patient(service.updatePatient(req.params.uuid, req.body), 'default'))));
  app.delete(`${base}/patient/:uuid`, rest((req) => {
    if (purge(req)) service.purgePatient(req.params.uuid);
    else service.voidPatient(req.params.uuid);
    return deleted;
  }));
  app.get(`${base}/patient/:uuid/identifier`, rest((req) => {
    const patient = found(store.patients.get(req.params.uuid));
    const representer = context.representer(req);
    return ok({ results: patient.identifiers.filter((entry) => !entry.voided).map((entry) => representer.identifier(patient.uuid, entry, parseRep(req.query.get('v')))) });
  }));
  app.post(`${base}/patient/:uuid/identifier`, rest((req) => ok(context.representer(req).identifier(req.params.uuid, service.addIdentifier(req.params.uuid, req.body), 'default'), 201)));

  // Persons and their attributes

  app.get(`${base}/person`, rest((req) => {
    const q = req.query.get('q')?.trim();
    if (!q) throw unsupported();
    const representer = context.representer(req);
    const matches = [...store.persons.values()].filter((person) => !person.voided && words(q).every((word) =>
      person.names.some((name) => words([name.givenName, name.middleName ?? '', name.familyName].join(' ')).some((part) => part.startsWith(word)))));
    return page(req, matches, (person, rep) => representer.person(person, rep));
  }));
  app.post(`${base}/person`, rest((req) => ok(context.representer(req).person(service.createPerson(req.body), 'default'), 201)));
  app.get(`${base}/person/:uuid`, rest((req) => ok(represent(req, found(store.persons.get(req.params.uuid)), (person, rep) => context.representer(req).person(person, rep)))));
  app.post(`${base}/person/:uuid`, rest((req) => ok(context.representer(req).person(service.updatePerson(req.params.uuid, req.body), 'default'))));
  app.get(`${base}/person/:uuid/attribute`, rest((req) => {
    const person = found(store.persons.get(req.params.uuid));
    const representer = context.representer(req);
    return ok({ results: person.attributes.filter((entry) => !entry.voided).map((entry) => representer.attribute(person.uuid, entry, parseRep(req.query.get('v')))) });
  }));
  app.post(`${base}/person/:uuid/attribute`, rest((req) => ok(context.representer(req).attribute(req.params.uuid, service.addPersonAttribute(req.params.uuid, req.body), 'default'), 201)));
  app.get(`${base}/person/:uuid/attribute/:attribute`, rest((req) => {
    const attribute = found(store.persons.get(req.params.uuid)?.attributes.find((entry) => entry.uuid === req.params.attribute));
    return ok(context.representer(req).attribute(req.params.uuid, attribute, parseRep(req.query.get('v'))));
  }));
  app.post(`${base}/person/:uuid/attribute/:attribute`, rest((req) => ok(context.representer(req).attribute(req.params.uuid, service.updatePersonAttribute(req.params.uuid, req.params.attribute, req.body), 'default'))));
  app.delete(`${base}/person/:uuid/attribute/:attribute`, rest((req) => {
    service.voidPersonAttribute(req.params.uuid, req.params.attribute, purge(req));
    return deleted;
  }));

  // Encounters and obs

  app.get(`${base}/encounter`, rest((req) => {
    const patient = req.query.get('patient');
    if (!patient) throw unsupported();
    const type = req.query.get('encounterType');
    // fromdate/todate bound encounterDatetime, both inclusive (EncounterSearchHandler1_9).
    const from = dateParam(req, 'fromdate');
    const to = dateParam(req, 'todate');
    const all = includeAll(req);
    const representer = context.representer(req);
    const matches = store.encountersOf(patient)
      .filter((encounter) => (all || !encounter.voided) && (!type || encounter.encounterType === type || store.encounterTypes.get(encounter.encounterType)?.name === type))
      .filter((encounter) => (from === undefined || encounter.encounterDatetime >= from) && (to === undefined || encounter.encounterDatetime <= to))
      .sort((a, b) => a.encounterDatetime - b.encounterDatetime);
    return page(req, matches, (encounter, rep) => representer.encounter(encounter, rep));
  }));
  app.post(`${base}/encounter`, rest((req) => ok(context.representer(req).encounter(service.createEncounter(req.body), 'default'), 201)));
  app.get(`${base}/encounter/:uuid`, rest((req) => ok(represent(req, found(store.encounters.get(req.params.uuid)), (encounter, rep) => context.representer(req).encounter(encounter, rep)))));
  app.post(`${base}/encounter/:uuid`, rest((req) => ok(context.representer(req).encounter(service.updateEncounter(req.params.uuid, req.body), 'default'))));
  app.delete(`${base}/encounter/:uuid`, rest((req) => {
    if (purge(req)) service.purgeEncounter(req.params.uuid);
    else service.voidEncounter(req.params.uuid);
    return deleted;
  }));

  app.get(`${base}/obs`, rest((req) => {
    const person = req.query.get('patient') ?? req.query.get('person');
    const encounter = req.query.get('encounter');
    const concept = req.query.get('concept');
    if (!person && !encounter && !concept) throw unsupported();
    const all = includeAll(req);
    const candidates = encounter
      ? (store.encounters.get(encounter)?.obs ?? []).map((uuid) => store.obs.get(uuid)!).filter(Boolean)
      : person ? store.obsOf(person) : [...store.obs.values()];
    const matches = candidates
      .filter((obs) => (all || !obs.voided) && (!person || obs.person === person) && (!concept || obs.concept === concept))
      .sort((a, b) => b.obsDatetime - a.obsDatetime);
    const representer = context.representer(req);
    return page(req, matches, (obs, rep) => representer.obs(obs, rep));
  }));
  app.post(`${base}/obs`, rest((req) => ok(context.representer(req).obs(service.createObs(req.body), 'default'), 201)));
  app.get(`${base}/obs/:uuid`, rest((req) => ok(represent(req, found(store.obs.get(req.params.uuid)), (obs, rep) => context.representer(req).obs(obs, rep)))));
  app.post(`${base}/obs/:uuid`, rest((req) => ok(context.representer(req).obs(service.updateObs(req.params.uuid, req.body), 'default'))));
  app.delete(`${base}/obs/:uuid`, rest((req) => {
    if (purge(req)) service.purgeObs(req.params.uuid);
    else service.voidObs(req.params.uuid);
    return deleted;
  }));

  // Concepts and metadata (read-only here)

  app.get(`${base}/concept`, rest((req) => {
    const q = req.query.get('q')?.trim().toLowerCase();
    const representer = context.representer(req);
    const matches = [...store.concepts.values()].filter((concept) => !q || words(concept.name).some((part) => part.startsWith(q)) || concept.name.toLowerCase().includes(q) || concept.ciel === q);
    return page(req, matches, (concept, rep) => representer.concept(concept, rep));
  }));
  app.get(`${base}/concept/:uuid`, rest((req) => ok(represent(req, found(store.concepts.get(req.params.uuid)), (concept, rep) => context.representer(req).concept(concept, rep)))));

  const metadataResource = (path: string, table: () => Map<string, Metadata>, render?: (representer: Representer, item: Metadata, rep: Rep) => Json): void => {
    const renderWith = (representer: Representer) => (item: Metadata, rep: Rep): Json => (render ? render(representer, item, rep) : representer.metadata(path, item, rep));
    app.get(`${base}/${path}`, rest((req) => {
      const q = req.query.get('q')?.trim().toLowerCase();
      const matches = [...table().values()].filter((item) => (includeAll(req) || !item.retired) && (!q || item.name.toLowerCase().includes(q)));
      return page(req, matches, renderWith(context.representer(req)));
    }));
    app.get(`${base}/${path}/:uuid`, rest((req) => ok(represent(req, found(table().get(req.params.uuid)), renderWith(context.representer(req))))));
  };
  metadataResource('encountertype', () => store.encounterTypes);
  metadataResource('patientidentifiertype', () => store.identifierTypes, (representer, item, rep) => representer.identifierType(item, rep));
  metadataResource('personattributetype', () => store.attributeTypes, (representer, item, rep) => representer.attributeType(item, rep));
  metadataResource('providerattributetype', () => store.providerAttributeTypes, (representer, item, rep) => representer.providerAttributeType(store.providerAttributeTypes.get(item.uuid)!, rep));
  metadataResource('visittype', () => store.visitTypes);
  metadataResource('encounterrole', () => store.encounterRoles);
  metadataResource('form', () => store.forms);
  metadataResource('location', () => store.locations, (representer, item, rep) => representer.location(store.locations.get(item.uuid)!, rep));

  // Providers and visits

  app.get(`${base}/provider`, rest((req) => {
    const q = req.query.get('q')?.trim().toLowerCase();
    const identifier = req.query.get('identifier')?.trim();
    const representer = context.representer(req);
    const matches = [...store.providers.values()].filter((provider) => {
      if (provider.retired && !includeAll(req)) return false;
      if (identifier) return provider.identifier === identifier;
      if (!q) return true;
      return provider.identifier.toLowerCase() === q || representer.personDisplay(provider.person).toLowerCase().includes(q);
    });
    return page(req, matches, (provider, rep) => representer.provider(provider, rep));
  }));
  app.post(`${base}/provider`, rest((req) => ok(context.representer(req).provider(service.createProvider(req.body), 'default'), 201)));
  app.get(`${base}/provider/:uuid`, rest((req) => ok(represent(req, found(store.providers.get(req.params.uuid)), (provider, rep) => context.representer(req).provider(provider, rep)))));
  app.delete(`${base}/provider/:uuid`, rest((req) => {
    service.retireProvider(req.params.uuid, purge(req));
    return deleted;
  }));
  app.get(`${base}/provider/:uuid/attribute`, rest((req) => {
    const provider = found(store.providers.get(req.params.uuid));
    const representer = context.representer(req);
    return ok({ results: provider.attributes.filter((entry) => !entry.voided).map((entry) => representer.providerAttribute(provider.uuid, entry, parseRep(req.query.get('v')))) });
  }));
  app.post(`${base}/provider/:uuid/attribute`, rest((req) => ok(context.representer(req).providerAttribute(req.params.uuid, service.addProviderAttribute(req.params.uuid, req.body), 'default'), 201)));
  app.get(`${base}/provider/:uuid/attribute/:attribute`, rest((req) => {
    const attribute = found(store.providers.get(req.params.uuid)?.attributes.find((entry) => entry.uuid === req.params.attribute));
    return ok(context.representer(req).providerAttribute(req.params.uuid, attribute, parseRep(req.query.get('v'))));
  }));
  app.post(`${base}/provider/:uuid/attribute/:attribute`, rest((req) => ok(context.representer(req).providerAttribute(req.params.uuid, service.updateProviderAttribute(req.params.uuid, req.params.attribute, req.body), 'default'))));
  app.delete(`${base}/provider/:uuid/attribute/:attribute`, rest((req) => {
    service.voidProviderAttribute(req.params.uuid, req.params.attribute, purge(req));
    return deleted;
  }));

  app.get(`${base}/visit`, rest((req) => {
    const patient = req.query.get('patient');
    const representer = context.representer(req);
    const matches = [...store.visits.values()].filter((visit) => (includeAll(req) || !visit.voided) && (!patient || visit.patient === patient));
    return page(req, matches, (visit, rep) => representer.visit(visit, rep));
  }));
  app.post(`${base}/visit`, rest((req) => ok(context.representer(req).visit(service.createVisit(req.body), 'default'), 201)));
  app.get(`${base}/visit/:uuid`, rest((req) => ok(represent(req, found(store.visits.get(req.params.uuid)), (visit, rep) => context.representer(req).visit(visit, rep)))));
  app.delete(`${base}/visit/:uuid`, rest((req) => {
    service.voidVisit(req.params.uuid, purge(req));
    return deleted;
  }));

  // Reporting REST

  app.get(`${base}/reportingrest/reportDefinition`, (req) => ok({ results: reportDefinitions(`${req.origin}${base}`) }));
  app.get(`${base}/reportingrest/reportDefinition/:uuid`, rest((req) => ok(found(reportDefinition(req.params.uuid, `${req.origin}${base}`)))));
  app.get(`${base}/reportingrest/reportdata/:uuid`, rest((req) => ok(found(evaluateReport(req.params.uuid, req.query, store, context.representer(req), `${req.origin}${base}`)))));
}
