/**
 * The FHIR2 module's R4 view (/openmrs/ws/fhir2/R4) over the same store the REST API uses: a
 * patient created here is an OpenMRS patient, an Observation an obs, a Practitioner a provider.
 * Task is the one resource fhir2 keeps in its own table. Errors are OperationOutcomes; searches are
 * Bundles paged as HAPI does (`?_getpages=<id>&_getpagesoffset=...`).
 */
import { randomUUID } from 'node:crypto';
import type { SandboxApp, SandboxRequest, SandboxResponse } from '../core';
import { fhirInstant, parseDatetime } from './dates';
import { RestError } from './errors';
import { Representer, REST_PATH } from './representation';
import { ATTRIBUTE_TYPES, IDENTIFIER_TYPES } from './seed';
import type { OpenmrsService } from './service';
import type { Audit, Concept, Encounter, Obs, Patient, Provider } from './store';

type Json = Record<string, any>;

export const FHIR_PATH = '/openmrs/ws/fhir2/R4';
const FHIR_JSON = 'application/fhir+json;charset=utf-8';
const DEFAULT_COUNT = 10;
const MAX_COUNT = 100;
const KEPT_SEARCHES = 200;

const IDENTIFIER_LOCATION_EXT = 'http://fhir.openmrs.org/ext/patient/identifier#location';
const ADDRESS_EXT = 'http://fhir.openmrs.org/ext/address';
const ENCOUNTER_TYPE_SYSTEM = 'http://fhir.openmrs.org/code-system/encounter-type';
const CIEL_SYSTEM = 'https://cielterminology.org';
const TASK_STATUSES = new Set(['draft', 'requested', 'received', 'accepted', 'rejected', 'ready', 'cancelled', 'in-progress', 'on-hold', 'failed', 'completed', 'entered-in-error']);

const GENDER_TO_FHIR: Record<string, string> = { M: 'male', F: 'female', O: 'other', U: 'unknown' };
const GENDER_FROM_FHIR: Record<string, string> = { male: 'M', female: 'F', other: 'O', unknown: 'U' };

class FhirError extends Error {
  constructor(readonly status: number, message: string, readonly code: string) {
    super(message);
  }
}

const invalid = (message: string): FhirError => new FhirError(400, message, 'invalid');
const unknown = (type: string, id: string): FhirError => new FhirError(404, `Could not find ${type} with Id ${id}`, 'not-found');
const gone = (type: string, id: string): FhirError => new FhirError(410, `Resource ${type}/${id} was deleted`, 'deleted');

function outcome(severity: string, code: string, diagnostics: string): Json {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

const fhir = (status: number, body: unknown, headers: Record<string, string> = {}): SandboxResponse => ({ status, body, headers, contentType: FHIR_JSON });

function handle(handler: (req: SandboxRequest) => SandboxResponse): (req: SandboxRequest) => SandboxResponse {
  return (req) => {
    try {
      return handler(req);
    } catch (error) {
      if (error instanceof FhirError) return fhir(error.status, outcome('error', error.code, error.message));
      if (error instanceof RestError) return fhir(error.status === 404 ? 404 : 400, outcome('error', error.status === 404 ? 'not-found' : 'invalid', error.summary));
      throw error;
    }
  };
}

/** The uuid of "Patient/<uuid>" (or a bare uuid) in a reference. */
function referenceId(reference: unknown, type: string): string | undefined {
  const value = typeof reference === 'string' ? reference : (reference as Json | undefined)?.reference;
  if (typeof value !== 'string' || !value) return undefined;
  const parts = value.split('/').filter(Boolean);
  if (parts.length === 1) return parts[0];
  const index = parts.lastIndexOf(type);
  return index >= 0 ? parts[index + 1] : undefined;
}

const lastModified = (...audits: Array<Audit | undefined>): number => Math.max(...audits.filter(Boolean).map((audit) => audit!.dateChanged ?? audit!.dateCreated));

const meta = (modified: number, extra: Json = {}): Json => ({ versionId: String(modified), lastUpdated: fhirInstant(modified), ...extra });

/** `_lastUpdated=gt2024-01-01` and friends (gt, ge, lt, le, eq). */
function matchesLastUpdated(values: string[], modified: number): boolean {
  return values.every((raw) => {
    const match = /^(gt|ge|lt|le|eq|sa|eb)?(.+)$/.exec(raw);
    const instant = match ? parseDatetime(match[2]) : undefined;
    if (instant === undefined) throw invalid(`Invalid _lastUpdated value: ${raw}`);
    switch (match![1]) {
      case 'gt': case 'sa': return modified > instant;
      case 'ge': return modified >= instant;
      case 'lt': case 'eb': return modified < instant;
      case 'le': return modified <= instant;
      default: return match![2].length <= 10 ? modified >= instant && modified < instant + 86_400_000 : modified === instant;
    }
  });
}

/** Token search values: "system|value" or "value". */
const tokenValue = (value: string): string => (value.includes('|') ? value.slice(value.indexOf('|') + 1) : value);

export class FhirView {
  private readonly searches = new Map<string, { type: string; ids: string[] }>();

  constructor(private readonly service: OpenmrsService) {}

  private get store() {
    return this.service.store;
  }

  clear(): void {
    this.searches.clear();
  }

  private representer(req: SandboxRequest): Representer {
    return new Representer(this.store, `${req.origin}${REST_PATH}`);
  }

  // Patient

  patientResource(patient: Patient, representer: Representer): Json {
    const person = this.store.persons.get(patient.uuid)!;
    const identifiers = patient.identifiers.filter((identifier) => !identifier.voided).map((identifier) => {
      const type = this.store.identifierTypes.get(identifier.identifierType);
      const entry: Json = { id: identifier.uuid };
      if (identifier.location) {
        entry.extension = [{ url: IDENTIFIER_LOCATION_EXT, valueReference: { reference: `Location/${identifier.location}`, display: this.store.locations.get(identifier.location)?.name } }];
      }
      Object.assign(entry, { use: identifier.preferred ? 'official' : 'usual', type: { coding: [{ code: identifier.identifierType }], text: type?.name }, value: identifier.identifier });
      return entry;
    });
    const names = person.names.filter((name) => !name.voided).map((name) => ({
      id: name.uuid, text: representer.nameDisplay(name), family: name.familyName, given: [name.givenName, ...(name.middleName ? [name.middleName] : [])],
    }));
    const telecom = person.attributes.filter((attribute) => !attribute.voided && attribute.attributeType === ATTRIBUTE_TYPES.telephoneNumber).map((attribute) => ({ id: attribute.uuid, value: attribute.value }));
    const addresses = person.addresses.filter((address) => !address.voided).map((address) => {
      const entry: Json = { id: address.uuid };
      if (address.address1) entry.extension = [{ url: ADDRESS_EXT, extension: [{ url: `${ADDRESS_EXT}#address1`, valueString: address.address1 }] }];
      entry.use = address.preferred ? 'home' : 'old';
      if (address.cityVillage) entry.city = address.cityVillage;
      if (address.countyDistrict) entry.district = address.countyDistrict;
      if (address.stateProvince) entry.state = address.stateProvince;
      if (address.postalCode) entry.postalCode = address.postalCode;
      if (address.country) entry.country = address.country;
      return entry;
    });
    const modified = lastModified(patient.audit, person.audit);
    const resource: Json = {
      resourceType: 'Patient',
      id: patient.uuid,
      meta: meta(modified),
      text: { status: 'generated', div: this.patientNarrative(patient, names, telecom, person.gender, person.birthdate) },
      identifier: identifiers,
      active: !patient.voided,
      name: names,
    };
    if (telecom.length) resource.telecom = telecom;
    resource.gender = GENDER_TO_FHIR[person.gender] ?? 'unknown';
    if (person.birthdate) resource.birthDate = person.birthdate;
    if (person.deathDate) resource.deceasedDateTime = fhirInstant(person.deathDate);
    else resource.deceasedBoolean = person.dead;
    if (addresses.length) resource.address = addresses;
    return resource;
  }

  private patientNarrative(patient: Patient, names: Json[], telecom: Json[], gender: string, birthdate: string | null): string {
    const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const rows = [
      ['Id:', escape(patient.uuid)],
      ['Identifier:', `<div>${escape(patient.identifiers.find((identifier) => !identifier.voided)?.identifier ?? '')}</div>`],
      ['Active:', String(!patient.voided)],
      ['Name:', names[0] ? ` ${escape(names[0].given.join(' '))} <b>${escape(String(names[0].family).toUpperCase())} </b>` : ''],
      ['Telecom:', telecom[0] ? ` ${escape(telecom[0].value)} ` : ''],
      ['Gender:', (GENDER_TO_FHIR[gender] ?? 'unknown').toUpperCase()],
      ['Birth Date:', birthdate ? birthdate.split('-').reverse().join('/') : ''],
    ];
    return `<div xmlns="http://www.w3.org/1999/xhtml"><table class="hapiPropertyTable"><tbody>${rows.map(([label, value]) => `<tr><td>${label}</td><td>${value}</td></tr>`).join('')}</tbody></table></div>`;
  }

  /** FHIR Patient to the REST submission the service validates (HAPI also takes a lone identifier object). */
  patientSubmission(resource: Json): Json {
    if (resource.resourceType !== 'Patient') throw invalid('Resource type must be Patient');
    const identifiers = (Array.isArray(resource.identifier) ? resource.identifier : resource.identifier ? [resource.identifier] : []).map((identifier: Json, index: number) => {
      const type = this.identifierType(identifier.type);
      if (!type) throw invalid(`Patient.identifier[${index}].type does not name a known patient identifier type`);
      const locationExtension = (identifier.extension ?? []).find((extension: Json) => extension.url === IDENTIFIER_LOCATION_EXT);
      const location = referenceId(locationExtension?.valueReference, 'Location');
      return {
        identifier: identifier.value,
        identifierType: type,
        location: location && this.store.locations.has(location) ? location : undefined,
        preferred: identifier.use === 'official',
      };
    });
    const names = (resource.name ?? []).map((name: Json) => {
      const given: string[] = Array.isArray(name.given) ? name.given : [];
      return { givenName: given[0], middleName: given.slice(1).join(' ') || null, familyName: name.family };
    });
    const addresses = (resource.address ?? []).map((address: Json, index: number) => {
      const extension = (address.extension ?? []).find((entry: Json) => entry.url === ADDRESS_EXT);
      const address1 = extension?.extension?.find((entry: Json) => entry.url === `${ADDRESS_EXT}#address1`)?.valueString ?? address.line?.[0];
      return {
        preferred: address.use ? address.use === 'home' : index === 0,
        address1, cityVillage: address.city, stateProvince: address.state, countyDistrict: address.district, postalCode: address.postalCode, country: address.country,
      };
    });
    const telecom = (resource.telecom ?? []).filter((entry: Json) => typeof entry.value === 'string');
    return {
      identifiers,
      person: {
        gender: GENDER_FROM_FHIR[resource.gender] ?? resource.gender,
        birthdate: resource.birthDate,
        dead: resource.deceasedBoolean === true || resource.deceasedDateTime !== undefined,
        deathDate: resource.deceasedDateTime,
        names,
        addresses,
        attributes: telecom.slice(0, 1).map((entry: Json) => ({ attributeType: ATTRIBUTE_TYPES.telephoneNumber, value: entry.value })),
      },
    };
  }

  /** Identifier type by coding code (uuid) or, as older fhir2 does, by the type's text as a name. */
  private identifierType(type: Json | undefined): string | undefined {
    if (!type) return IDENTIFIER_TYPES.openmrsId;
    for (const coding of type.coding ?? []) if (this.store.identifierTypes.has(coding.code)) return coding.code;
    const text = String(type.text ?? type.coding?.[0]?.display ?? '').toLowerCase();
    return [...this.store.identifierTypes.values()].find((candidate) => candidate.name.toLowerCase() === text)?.uuid;
  }

  // Encounter

  encounterResource(encounter: Encounter, representer: Representer): Json {
    const type = this.store.encounterTypes.get(encounter.encounterType);
    const resource: Json = {
      resourceType: 'Encounter',
      id: encounter.uuid,
      meta: meta(lastModified(encounter.audit), { tag: [{ system: 'http://fhir.openmrs.org/ext/encounter-tag', code: 'encounter', display: 'Encounter' }] }),
      status: 'unknown',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      type: [{ coding: [{ system: ENCOUNTER_TYPE_SYSTEM, code: encounter.encounterType, display: type?.name }] }],
      subject: { reference: `Patient/${encounter.patient}`, type: 'Patient', display: representer.patientDisplay(this.store.patients.get(encounter.patient)!) },
      participant: encounter.providers.map((entry) => {
        const provider = this.store.providers.get(entry.provider);
        return { individual: { reference: `Practitioner/${entry.provider}`, type: 'Practitioner', display: provider ? `${representer.personDisplay(provider.person)} (Identifier: ${provider.identifier})` : undefined } };
      }),
      period: { start: fhirInstant(encounter.encounterDatetime) },
    };
    if (encounter.location) resource.location = [{ location: { reference: `Location/${encounter.location}`, type: 'Location', display: this.store.locations.get(encounter.location)?.name } }];
    if (encounter.visit) resource.partOf = { reference: `Encounter/${encounter.visit}`, type: 'Encounter' };
    return resource;
  }

  encounterSubmission(resource: Json): Json {
    if (resource.resourceType !== 'Encounter') throw invalid('Resource type must be Encounter');
    const codes: string[] = (resource.type ?? []).flatMap((type: Json) => (type.coding ?? []).map((coding: Json) => coding.code));
    const encounterType = codes.find((code) => this.store.encounterTypes.has(code));
    if (!encounterType) throw invalid('Encounter.type must carry a known encounter type uuid');
    const partOf = referenceId(resource.partOf, 'Encounter');
    return {
      patient: referenceId(resource.subject, 'Patient'),
      encounterType,
      encounterDatetime: resource.period?.start,
      location: referenceId(resource.location?.[0]?.location, 'Location'),
      // partOf names the visit (fhir2 shows visits as Encounters); other references are dropped.
      visit: partOf && this.store.visits.has(partOf) ? partOf : undefined,
      encounterProviders: (resource.participant ?? []).map((participant: Json) => ({ provider: referenceId(participant.individual, 'Practitioner') })),
    };
  }

  // Observation

  observationResource(obs: Obs, representer: Representer): Json {
    const concept = this.store.concepts.get(obs.concept)!;
    const coding: Json[] = [{ code: concept.uuid, display: concept.name }];
    if (concept.ciel) coding.push({ system: CIEL_SYSTEM, code: concept.ciel, display: concept.name });
    const resource: Json = {
      resourceType: 'Observation',
      id: obs.uuid,
      meta: meta(lastModified(obs.audit)),
      status: 'final',
      code: { coding, text: concept.name },
      subject: { reference: `Patient/${obs.person}`, type: 'Patient', display: representer.personDisplay(obs.person) },
    };
    if (obs.encounter) resource.encounter = { reference: `Encounter/${obs.encounter}`, type: 'Encounter' };
    resource.effectiveDateTime = fhirInstant(obs.obsDatetime);
    resource.issued = fhirInstant(obs.audit.dateCreated);
    switch (concept.datatype) {
      case 'Numeric':
        resource.valueQuantity = { value: obs.value, unit: concept.units, system: 'http://unitsofmeasure.org', code: concept.units };
        break;
      case 'Coded': {
        const answer = this.store.concepts.get(String(obs.value));
        resource.valueCodeableConcept = { coding: [{ code: String(obs.value), display: answer?.name }], text: answer?.name };
        break;
      }
      case 'Boolean':
        resource.valueBoolean = obs.value;
        break;
      case 'Date':
      case 'Datetime':
        resource.valueDateTime = fhirInstant(Number(obs.value));
        break;
      default:
        resource.valueString = String(obs.value);
    }
    return resource;
  }

  observationSubmission(resource: Json): Json {
    if (resource.resourceType !== 'Observation') throw invalid('Resource type must be Observation');
    const concept = this.conceptOf(resource.code);
    if (!concept) throw invalid('Observation.code does not name a known concept');
    let value: unknown;
    if (resource.valueQuantity) value = resource.valueQuantity.value;
    else if (resource.valueCodeableConcept) value = this.conceptOf(resource.valueCodeableConcept)?.uuid ?? resource.valueCodeableConcept.coding?.[0]?.code;
    else if (resource.valueString !== undefined) value = resource.valueString;
    else if (resource.valueDateTime !== undefined) value = resource.valueDateTime;
    else if (resource.valueBoolean !== undefined) value = resource.valueBoolean;
    else if (resource.valueInteger !== undefined) value = resource.valueInteger;
    return {
      concept: concept.uuid,
      person: referenceId(resource.subject, 'Patient') ?? referenceId(resource.subject, 'Person'),
      encounter: referenceId(resource.encounter, 'Encounter'),
      obsDatetime: resource.effectiveDateTime ?? resource.issued,
      value,
    };
  }

  /** A bare concept uuid in the coding (the OpenMRS way) or a CIEL code. */
  private conceptOf(codeable: Json | undefined): Concept | undefined {
    for (const coding of codeable?.coding ?? []) {
      const byUuid = this.store.concepts.get(coding.code);
      if (byUuid) return byUuid;
      if (typeof coding.system === 'string' && /ciel/i.test(coding.system)) {
        const byCiel = [...this.store.concepts.values()].find((concept) => concept.ciel === String(coding.code));
        if (byCiel) return byCiel;
      }
    }
    return undefined;
  }

  // Practitioner

  practitionerResource(provider: Provider, representer: Representer): Json {
    const person = this.store.persons.get(provider.person);
    const name = person ? representer.preferredName(person) : undefined;
    const resource: Json = {
      resourceType: 'Practitioner',
      id: provider.uuid,
      meta: meta(lastModified(provider.audit)),
      identifier: [{ system: 'http://fhir.openmrs.org/ext/provider/identifier', value: provider.identifier }],
      active: !provider.retired,
    };
    if (name) resource.name = [{ id: name.uuid, text: representer.nameDisplay(name), family: name.familyName, given: [name.givenName] }];
    if (person) resource.gender = GENDER_TO_FHIR[person.gender] ?? 'unknown';
    return resource;
  }

  practitionerSubmission(resource: Json): Json {
    if (resource.resourceType !== 'Practitioner') throw invalid('Resource type must be Practitioner');
    const identifiers = Array.isArray(resource.identifier) ? resource.identifier : resource.identifier ? [resource.identifier] : [];
    const name = resource.name?.[0] ?? {};
    return {
      identifier: identifiers[0]?.value,
      person: { gender: GENDER_FROM_FHIR[resource.gender] ?? 'U', names: [{ givenName: name.given?.[0], familyName: name.family }] },
    };
  }

  // Task

  taskSubmission(resource: Json, id: string, previous?: Json): Json {
    if (resource.resourceType !== 'Task') throw invalid('Resource type must be Task');
    if (!TASK_STATUSES.has(resource.status)) throw invalid(`Task.status must be one of ${[...TASK_STATUSES].join(', ')}`);
    if (typeof resource.intent !== 'string' || !resource.intent) throw invalid('Task.intent is required');
    const now = Date.now();
    const stored: Json = { ...resource, id, meta: meta(now) };
    stored.authoredOn ??= previous?.authoredOn ?? fhirInstant(now);
    stored.lastModified = fhirInstant(now);
    return stored;
  }

  // Searching and paging

  bundle(req: SandboxRequest, type: string, ids: string[], render: (id: string) => Json, offset = 0): Json {
    const countParam = Number(req.query.get('_count') ?? DEFAULT_COUNT);
    const count = Math.min(Number.isInteger(countParam) && countParam > 0 ? countParam : DEFAULT_COUNT, MAX_COUNT);
    const base = `${req.origin}${FHIR_PATH}`;
    const links: Json[] = [{ relation: 'self', url: `${req.origin}${req.path}${req.query.size ? `?${req.query.toString()}` : ''}` }];
    if (offset + count < ids.length || offset > 0) {
      let searchId = req.query.get('_getpages');
      if (!searchId) {
        searchId = randomUUID();
        this.searches.set(searchId, { type, ids });
        if (this.searches.size > KEPT_SEARCHES) this.searches.delete(this.searches.keys().next().value!);
      }
      const pageUrl = (start: number): string => `${base}?_getpages=${searchId}&_getpagesoffset=${start}&_count=${count}&_bundletype=searchset`;
      if (offset + count < ids.length) links.push({ relation: 'next', url: pageUrl(offset + count) });
      if (offset > 0) links.push({ relation: 'previous', url: pageUrl(Math.max(0, offset - count)) });
    }
    return {
      resourceType: 'Bundle',
      id: randomUUID(),
      meta: { lastUpdated: fhirInstant(Date.now()) },
      type: 'searchset',
      total: ids.length,
      link: links,
      entry: ids.slice(offset, offset + count).map((id) => ({ fullUrl: `${base}/${type}/${id}`, resource: render(id) })),
    };
  }

  searchPage(req: SandboxRequest, render: (type: string, id: string) => Json | undefined): Json {
    const searchId = req.query.get('_getpages') ?? '';
    const search = this.searches.get(searchId);
    if (!search) throw invalid(`Search ID "${searchId}" does not exist and may have expired`);
    const offset = Math.max(0, Number(req.query.get('_getpagesoffset') ?? 0) || 0);
    // Records deleted since the search ran drop out of later pages.
    return this.bundle(req, search.type, search.ids, (id) => render(search.type, id) ?? { resourceType: search.type, id }, offset);
  }

  routes(app: SandboxApp): void {
    const store = this.store;
    const service = this.service;
    const base = FHIR_PATH;
    const created = (req: SandboxRequest, type: string, resource: Json): SandboxResponse =>
      fhir(201, resource, { Location: `${req.origin}${base}/${type}/${resource.id}/_history/${resource.meta.versionId}`, ETag: `W/"${resource.meta.versionId}"` });
    const deletedOutcome = (): SandboxResponse => fhir(200, outcome('information', 'informational', 'Successfully deleted resource'));
    const render = (req: SandboxRequest) => (type: string, id: string): Json | undefined => {
      const representer = this.representer(req);
      if (type === 'Patient') { const patient = store.patients.get(id); return patient && this.patientResource(patient, representer); }
      if (type === 'Encounter') { const encounter = store.encounters.get(id); return encounter && this.encounterResource(encounter, representer); }
      if (type === 'Observation') { const obs = store.obs.get(id); return obs && this.observationResource(obs, representer); }
      if (type === 'Practitioner') { const provider = store.providers.get(id); return provider && this.practitionerResource(provider, representer); }
      if (type === 'Task') return store.tasks.get(id)?.resource;
      return undefined;
    };
    const lastUpdatedFilter = (req: SandboxRequest) => {
      const values = req.query.getAll('_lastUpdated');
      return (modified: number): boolean => values.length === 0 || matchesLastUpdated(values, modified);
    };

    app.get(base, handle((req) => fhir(200, this.searchPage(req, render(req)))));

    // Patient
    app.get(`${base}/Patient/:id`, handle((req) => {
      const patient = store.patients.get(req.params.id);
      if (!patient) throw unknown('Patient', req.params.id);
      if (patient.voided) throw gone('Patient', req.params.id);
      return fhir(200, this.patientResource(patient, this.representer(req)));
    }));
    app.get(`${base}/Patient`, handle((req) => {
      const identifier = req.query.get('identifier');
      const name = req.query.get('name')?.toLowerCase();
      const given = req.query.get('given')?.toLowerCase();
      const family = req.query.get('family')?.toLowerCase();
      const gender = req.query.get('gender');
      const id = req.query.get('_id');
      const updated = lastUpdatedFilter(req);
      const ids = [...store.patients.values()].filter((patient) => {
        if (patient.voided || (id && patient.uuid !== id)) return false;
        const person = store.persons.get(patient.uuid)!;
        if (identifier && !patient.identifiers.some((entry) => !entry.voided && entry.identifier === tokenValue(identifier))) return false;
        const names = person.names.filter((entry) => !entry.voided);
        if (name && !names.some((entry) => [entry.givenName, entry.middleName ?? '', entry.familyName].some((part) => part.toLowerCase().startsWith(name)))) return false;
        if (given && !names.some((entry) => entry.givenName.toLowerCase().startsWith(given))) return false;
        if (family && !names.some((entry) => entry.familyName.toLowerCase().startsWith(family))) return false;
        if (gender && GENDER_TO_FHIR[person.gender] !== gender) return false;
        return updated(lastModified(patient.audit, person.audit));
      }).map((patient) => patient.uuid);
      return fhir(200, this.bundle(req, 'Patient', ids, (uuid) => render(req)('Patient', uuid)!));
    }));
    app.post(`${base}/Patient`, handle((req) => {
      const patient = service.createPatient(this.patientSubmission((req.body ?? {}) as Json));
      return created(req, 'Patient', this.patientResource(patient, this.representer(req)));
    }));
    app.delete(`${base}/Patient/:id`, handle((req) => {
      if (!store.patients.has(req.params.id)) throw unknown('Patient', req.params.id);
      service.voidPatient(req.params.id);
      return deletedOutcome();
    }));

    // Encounter
    app.get(`${base}/Encounter/:id`, handle((req) => {
      const encounter = store.encounters.get(req.params.id);
      if (!encounter) throw unknown('Encounter', req.params.id);
      if (encounter.voided) throw gone('Encounter', req.params.id);
      return fhir(200, this.encounterResource(encounter, this.representer(req)));
    }));
    app.get(`${base}/Encounter`, handle((req) => {
      const subject = req.query.get('subject') ?? req.query.get('patient');
      const patient = subject ? referenceId(subject, 'Patient') : undefined;
      const updated = lastUpdatedFilter(req);
      const candidates = patient ? store.encountersOf(patient) : [...store.encounters.values()];
      const ids = candidates.filter((encounter) => !encounter.voided && updated(lastModified(encounter.audit)))
        .sort((a, b) => b.encounterDatetime - a.encounterDatetime).map((encounter) => encounter.uuid);
      return fhir(200, this.bundle(req, 'Encounter', ids, (uuid) => render(req)('Encounter', uuid)!));
    }));
    app.post(`${base}/Encounter`, handle((req) => {
      const encounter = service.createEncounter(this.encounterSubmission((req.body ?? {}) as Json));
      return created(req, 'Encounter', this.encounterResource(encounter, this.representer(req)));
    }));
    app.delete(`${base}/Encounter/:id`, handle((req) => {
      if (!store.encounters.has(req.params.id)) throw unknown('Encounter', req.params.id);
      service.voidEncounter(req.params.id);
      return deletedOutcome();
    }));

    // Observation
    app.get(`${base}/Observation/:id`, handle((req) => {
      const obs = store.obs.get(req.params.id);
      if (!obs) throw unknown('Observation', req.params.id);
      if (obs.voided) throw gone('Observation', req.params.id);
      return fhir(200, this.observationResource(obs, this.representer(req)));
    }));
    app.get(`${base}/Observation`, handle((req) => {
      const subject = req.query.get('subject') ?? req.query.get('patient');
      const patient = subject ? referenceId(subject, 'Patient') : undefined;
      const encounter = req.query.get('encounter');
      const encounterId = encounter ? referenceId(encounter, 'Encounter') : undefined;
      const code = req.query.get('code');
      const codes = code ? code.split(',').map(tokenValue) : undefined;
      const updated = lastUpdatedFilter(req);
      const candidates = patient ? store.obsOf(patient) : [...store.obs.values()];
      const ids = candidates.filter((obs) => {
        if (obs.voided || (encounterId && obs.encounter !== encounterId)) return false;
        if (codes && !codes.some((entry) => entry === obs.concept || entry === store.concepts.get(obs.concept)?.ciel)) return false;
        return updated(lastModified(obs.audit));
      }).sort((a, b) => b.obsDatetime - a.obsDatetime).map((obs) => obs.uuid);
      return fhir(200, this.bundle(req, 'Observation', ids, (uuid) => render(req)('Observation', uuid)!));
    }));
    app.post(`${base}/Observation`, handle((req) => {
      const obs = service.createObs(this.observationSubmission((req.body ?? {}) as Json));
      return created(req, 'Observation', this.observationResource(obs, this.representer(req)));
    }));
    app.delete(`${base}/Observation/:id`, handle((req) => {
      if (!store.obs.has(req.params.id)) throw unknown('Observation', req.params.id);
      service.voidObs(req.params.id);
      return deletedOutcome();
    }));

    // Practitioner
    app.get(`${base}/Practitioner/:id`, handle((req) => {
      const provider = store.providers.get(req.params.id);
      if (!provider) throw unknown('Practitioner', req.params.id);
      return fhir(200, this.practitionerResource(provider, this.representer(req)));
    }));
    app.get(`${base}/Practitioner`, handle((req) => {
      const identifier = req.query.get('identifier');
      const name = req.query.get('name')?.toLowerCase();
      const representer = this.representer(req);
      const ids = [...store.providers.values()].filter((provider) => !provider.retired
        && (!identifier || provider.identifier === tokenValue(identifier))
        && (!name || representer.personDisplay(provider.person).toLowerCase().split(/\s+/).some((part) => part.startsWith(name)))).map((provider) => provider.uuid);
      return fhir(200, this.bundle(req, 'Practitioner', ids, (uuid) => render(req)('Practitioner', uuid)!));
    }));
    app.post(`${base}/Practitioner`, handle((req) => {
      const provider = service.createProvider(this.practitionerSubmission((req.body ?? {}) as Json));
      return created(req, 'Practitioner', this.practitionerResource(provider, this.representer(req)));
    }));
    app.delete(`${base}/Practitioner/:id`, handle((req) => {
      if (!store.providers.has(req.params.id)) throw unknown('Practitioner', req.params.id);
      service.retireProvider(req.params.id, false);
      return deletedOutcome();
    }));

    // Task
    app.get(`${base}/Task/:id`, handle((req) => {
      const task = store.tasks.get(req.params.id);
      if (!task) throw unknown('Task', req.params.id);
      return fhir(200, task.resource);
    }));
    app.get(`${base}/Task`, handle((req) => {
      const status = req.query.get('status');
      const owner = req.query.get('owner');
      const subject = req.query.get('patient') ?? req.query.get('subject');
      const basedOn = req.query.get('based-on');
      const updated = lastUpdatedFilter(req);
      const ids = [...store.tasks.values()].filter(({ resource, lastUpdated }) =>
        (!status || status.split(',').includes(resource.status))
        && (!owner || referenceId(resource.owner, 'Practitioner') === referenceId(owner, 'Practitioner'))
        && (!subject || referenceId(resource.for, 'Patient') === referenceId(subject, 'Patient'))
        && (!basedOn || (resource.basedOn ?? []).some((reference: Json) => referenceId(reference, 'ServiceRequest') === referenceId(basedOn, 'ServiceRequest')))
        && updated(lastUpdated)).map(({ resource }) => resource.id as string);
      return fhir(200, this.bundle(req, 'Task', ids, (id) => store.tasks.get(id)!.resource));
    }));
    app.post(`${base}/Task`, handle((req) => {
      // As for any FHIR create, the server assigns the id; one in the body is ignored.
      const id = randomUUID();
      const resource = this.taskSubmission((req.body ?? {}) as Json, id);
      store.tasks.set(id, { resource, lastUpdated: Date.now() });
      return created(req, 'Task', resource);
    }));
    app.put(`${base}/Task/:id`, handle((req) => {
      const existing = store.tasks.get(req.params.id);
      if (!existing) throw unknown('Task', req.params.id);
      const body = (req.body ?? {}) as Json;
      if (body.id && body.id !== req.params.id) throw invalid(`Resource id ${body.id} does not match the URL id ${req.params.id}`);
      const resource = this.taskSubmission(body, req.params.id, existing.resource);
      store.tasks.set(req.params.id, { resource, lastUpdated: Date.now() });
      return fhir(200, resource, { ETag: `W/"${resource.meta.versionId}"` });
    }));
    app.delete(`${base}/Task/:id`, handle((req) => {
      if (!store.tasks.delete(req.params.id)) throw unknown('Task', req.params.id);
      return deletedOutcome();
    }));

    // The capability statement, readable without login as HAPI serves it
    app.get(`${base}/metadata`, () => fhir(200, {
      resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'],
      rest: [{ mode: 'server', resource: ['Patient', 'Encounter', 'Observation', 'Practitioner', 'Task'].map((type) => ({ type })) }],
    }), { auth: false });
  }
}
