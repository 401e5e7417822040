/**
 * REST representations (`v=ref|default|full`) in the shapes webservices.rest 2.x returns: uuid,
 * display, links with resourceAlias, auditInfo in full, resourceVersion per resource class.
 */
import { ageInYears, displayDate, restDate, restDatetime } from './dates';
import { ADDRESS_FIELDS, type Audit, type Concept, type Encounter, type Location, type Metadata, type Obs, type OpenmrsStore, type Patient, type PatientIdentifier, type Person, type PersonAddress, type PersonAttribute, type PersonName, type Provider, type ProviderAttribute, type ProviderAttributeType, type Visit } from './store';
import { ADMIN_USER_UUID } from './service';

export type Rep = 'ref' | 'default' | 'full';

type Json = Record<string, unknown>;

export const REST_PATH = '/openmrs/ws/rest/v1';

export function parseRep(value: string | null): Rep {
  if (value === 'ref' || value === 'full') return value;
  return 'default';
}

export class Representer {
  constructor(private readonly store: OpenmrsStore, private readonly base: string) {}

  private links(path: string, alias: string, withFull: boolean): Json[] {
    const self = `${this.base}/${path}`;
    const links: Json[] = [{ rel: 'self', uri: self, resourceAlias: alias }];
    if (withFull) links.push({ rel: 'full', uri: `${self}?v=full`, resourceAlias: alias });
    return links;
  }

  private ref(path: string, alias: string, uuid: string, display: string): Json {
    return { uuid, display, links: this.links(`${path}/${uuid}`, alias, false) };
  }

  private auditInfo(audit: Audit): Json {
    const user = (uuid: string): Json => ({ uuid, display: 'admin', links: [{ rel: 'self', uri: `${this.base}/user/${uuid}`, resourceAlias: 'user' }] });
    return {
      creator: user(audit.creator),
      dateCreated: restDatetime(audit.dateCreated),
      changedBy: audit.changedBy ? user(audit.changedBy) : null,
      dateChanged: audit.dateChanged ? restDatetime(audit.dateChanged) : null,
    };
  }

  // Display strings

  nameDisplay(name: PersonName | undefined): string {
    if (!name) return '';
    return [name.givenName, name.middleName, name.familyName].filter(Boolean).join(' ');
  }

  preferredName(person: Person): PersonName | undefined {
    return person.names.find((name) => name.preferred && !name.voided) ?? person.names.find((name) => !name.voided) ?? person.names[0];
  }

  preferredAddress(person: Person): PersonAddress | undefined {
    return person.addresses.find((address) => address.preferred && !address.voided) ?? person.addresses.find((address) => !address.voided);
  }

  preferredIdentifier(patient: Patient): PatientIdentifier | undefined {
    return patient.identifiers.find((identifier) => identifier.preferred && !identifier.voided) ?? patient.identifiers.find((identifier) => !identifier.voided) ?? patient.identifiers[0];
  }

  personDisplay(uuid: string): string {
    const person = this.store.persons.get(uuid);
    return person ? this.nameDisplay(this.preferredName(person)) : '';
  }

  patientDisplay(patient: Patient): string {
    const identifier = this.preferredIdentifier(patient);
    const name = this.personDisplay(patient.uuid);
    return identifier ? `${identifier.identifier} - ${name}` : name;
  }

  private attributeDisplay(attribute: PersonAttribute): string {
    const type = this.store.attributeTypes.get(attribute.attributeType);
    if (type?.format === 'org.openmrs.Concept') return this.store.concepts.get(attribute.value)?.name ?? attribute.value;
    if (type?.format === 'org.openmrs.Location') return this.store.locations.get(attribute.value)?.name ?? attribute.value;
    return attribute.value;
  }

  obsValueDisplay(obs: Obs): string {
    const concept = this.store.concepts.get(obs.concept);
    if (typeof obs.value === 'number' && concept?.datatype === 'Numeric') return Number.isInteger(obs.value) ? obs.value.toFixed(1) : String(obs.value);
    if (concept?.datatype === 'Coded') return this.store.concepts.get(String(obs.value))?.name ?? String(obs.value);
    if (concept?.datatype === 'Date' && typeof obs.value === 'number') return new Date(obs.value).toISOString().slice(0, 10);
    if (concept?.datatype === 'Datetime' && typeof obs.value === 'number') return restDatetime(obs.value);
    return String(obs.value);
  }

  encounterDisplay(encounter: Encounter): string {
    return `${this.store.encounterTypes.get(encounter.encounterType)?.name ?? 'Encounter'} ${displayDate(encounter.encounterDatetime)}`;
  }

  // Metadata

  conceptRef(uuid: string): Json {
    return this.ref('concept', 'concept', uuid, this.store.concepts.get(uuid)?.name ?? '');
  }

  locationRef(uuid: string | null): Json | null {
    return uuid ? this.ref('location', 'location', uuid, this.store.locations.get(uuid)?.name ?? '') : null;
  }

  metadataRef(path: string, table: Map<string, Metadata>, uuid: string | null): Json | null {
    return uuid ? this.ref(path, path, uuid, table.get(uuid)?.name ?? '') : null;
  }

  metadata(path: string, item: Metadata, rep: Rep, extra: Json = {}): Json {
    if (rep === 'ref') return { ...this.ref(path, path, item.uuid, item.name), ...(item.retired ? { retired: true } : {}) };
    const body: Json = { uuid: item.uuid, display: item.name, name: item.name, description: item.description, ...extra, retired: item.retired };
    if (rep === 'full') body.auditInfo = this.auditInfo(item.audit);
    body.links = this.links(`${path}/${item.uuid}`, path, rep === 'default');
    body.resourceVersion = '1.8';
    return body;
  }

  identifierType(item: Metadata, rep: Rep): Json {
    return this.metadata('patientidentifiertype', item, rep, {
      format: item.format ?? null, formatDescription: null, required: false, validator: null,
      locationBehavior: null, uniquenessBehavior: null,
    });
  }

  providerAttributeType(item: ProviderAttributeType, rep: Rep): Json {
    return this.metadata('providerattributetype', item, rep, {
      minOccurs: item.minOccurs, maxOccurs: item.maxOccurs, datatypeClassname: item.datatypeClassname, datatypeConfig: null,
      preferredHandlerClassname: null, handlerConfig: null,
    });
  }

  /** As the REST module shows a provider attribute: "<type name>: <value>". */
  providerAttribute(providerUuid: string, attribute: ProviderAttribute, rep: Rep): Json {
    const path = `provider/${providerUuid}/attribute/${attribute.uuid}`;
    const display = `${this.store.providerAttributeTypes.get(attribute.attributeType)?.name ?? ''}: ${attribute.value}`;
    if (rep === 'ref') return { uuid: attribute.uuid, display, links: this.links(path, 'attribute', false) };
    return {
      display, uuid: attribute.uuid, value: attribute.value,
      attributeType: this.metadataRef('providerattributetype', this.store.providerAttributeTypes, attribute.attributeType),
      voided: attribute.voided,
      links: this.links(path, 'attribute', true), resourceVersion: '1.9',
    };
  }

  attributeType(item: Metadata, rep: Rep): Json {
    return this.metadata('personattributetype', item, rep, {
      format: item.format ?? 'java.lang.String', foreignKey: null, sortWeight: 0, searchable: false, editPrivilege: null,
    });
  }

  location(location: Location, rep: Rep): Json {
    if (rep === 'ref') return this.ref('location', 'location', location.uuid, location.name);
    const children = [...this.store.locations.values()].filter((candidate) => candidate.parent === location.uuid);
    const body: Json = {
      uuid: location.uuid,
      display: location.name,
      name: location.name,
      description: location.description,
      address1: null, address2: null,
      cityVillage: location.cityVillage ?? null,
      stateProvince: location.stateProvince ?? null,
      country: location.country ?? null,
      postalCode: null, latitude: null, longitude: null,
      countyDistrict: location.countyDistrict ?? null,
      address3: null, address4: null, address5: null, address6: null,
      tags: location.tags.map((tag) => ({ uuid: tag, display: tag, links: [] })),
      parentLocation: this.locationRef(location.parent ?? null),
      childLocations: children.map((child) => this.locationRef(child.uuid)),
      retired: location.retired,
      attributes: [],
    };
    if (rep === 'full') body.auditInfo = this.auditInfo(location.audit);
    body.links = this.links(`location/${location.uuid}`, 'location', rep === 'default');
    body.resourceVersion = '2.0';
    return body;
  }

  concept(concept: Concept, rep: Rep): Json {
    if (rep === 'ref') return this.conceptRef(concept.uuid);
    const nameUuid = `${concept.uuid.slice(0, 30)}nm0001`.slice(0, 36);
    const name = {
      display: concept.name, uuid: nameUuid, name: concept.name, locale: 'en', localePreferred: true, conceptNameType: 'FULLY_SPECIFIED',
      links: this.links(`concept/${concept.uuid}/name/${nameUuid}`, 'name', rep === 'default'), resourceVersion: '1.9',
    };
    const datatypeUuid = DATATYPE_UUIDS[concept.datatype];
    const classUuid = CLASS_UUIDS[concept.conceptClass] ?? CLASS_UUIDS.Misc;
    const body: Json = {
      uuid: concept.uuid,
      display: concept.name,
      name,
      datatype: { uuid: datatypeUuid, display: concept.datatype, links: this.links(`conceptdatatype/${datatypeUuid}`, 'conceptdatatype', false) },
      conceptClass: { uuid: classUuid, display: concept.conceptClass, links: this.links(`conceptclass/${classUuid}`, 'conceptclass', false) },
      set: false,
      version: null,
      retired: false,
      names: [{ uuid: nameUuid, display: concept.name, links: this.links(`concept/${concept.uuid}/name/${nameUuid}`, 'name', false) }],
      descriptions: [],
      mappings: concept.ciel ? [{ uuid: `${concept.uuid.slice(0, 30)}mp0001`.slice(0, 36), display: `CIEL: ${concept.ciel}`, links: [] }] : [],
      answers: concept.answers.map((answer) => this.conceptRef(answer)),
      setMembers: [],
      attributes: [],
    };
    if (concept.datatype === 'Numeric') {
      Object.assign(body, {
        hiNormal: null, hiAbsolute: concept.hiAbsolute ?? null, hiCritical: null,
        lowNormal: null, lowAbsolute: concept.lowAbsolute ?? null, lowCritical: null,
        units: concept.units ?? null, allowDecimal: true, displayPrecision: null,
      });
    }
    if (rep === 'full') body.auditInfo = this.auditInfo(concept.audit);
    body.links = this.links(`concept/${concept.uuid}`, 'concept', rep === 'default');
    body.resourceVersion = '2.0';
    return body;
  }

  // Persons and patients

  private name(personUuid: string, name: PersonName, rep: Rep): Json {
    const path = `person/${personUuid}/name/${name.uuid}`;
    if (rep === 'ref') return { uuid: name.uuid, display: this.nameDisplay(name), links: this.links(path, 'name', false) };
    return {
      display: this.nameDisplay(name), uuid: name.uuid, givenName: name.givenName, middleName: name.middleName,
      familyName: name.familyName, familyName2: name.familyName2, voided: name.voided,
      links: this.links(path, 'name', true), resourceVersion: '1.8',
    };
  }

  private address(personUuid: string, address: PersonAddress, rep: Rep): Json {
    const path = `person/${personUuid}/address/${address.uuid}`;
    const display = address.address1 ?? address.cityVillage ?? '';
    if (rep === 'ref') return { uuid: address.uuid, display, links: this.links(path, 'address', false) };
    const body: Json = { display, uuid: address.uuid, preferred: address.preferred };
    for (const field of ADDRESS_FIELDS) body[field] = address[field] ?? null;
    body.voided = address.voided;
    body.links = this.links(path, 'address', true);
    body.resourceVersion = '2.0';
    return body;
  }

  attribute(personUuid: string, attribute: PersonAttribute, rep: Rep): Json {
    const path = `person/${personUuid}/attribute/${attribute.uuid}`;
    const display = this.attributeDisplay(attribute);
    if (rep === 'ref') return { uuid: attribute.uuid, display, links: this.links(path, 'attribute', false) };
    const type = this.store.attributeTypes.get(attribute.attributeType);
    let value: unknown = attribute.value;
    if (type?.format === 'org.openmrs.Concept') value = this.conceptRef(attribute.value);
    else if (type?.format === 'org.openmrs.Location') value = this.locationRef(attribute.value);
    return {
      display, uuid: attribute.uuid, value,
      attributeType: this.metadataRef('personattributetype', this.store.attributeTypes, attribute.attributeType),
      voided: attribute.voided,
      links: this.links(path, 'attribute', true), resourceVersion: '1.8',
    };
  }

  person(person: Person, rep: Rep): Json {
    const display = this.nameDisplay(this.preferredName(person));
    if (rep === 'ref') return { uuid: person.uuid, display, links: this.links(`person/${person.uuid}`, 'person', false) };
    const detail: Rep = rep === 'full' ? 'default' : 'ref';
    const name = this.preferredName(person);
    const address = this.preferredAddress(person);
    const body: Json = {
      uuid: person.uuid,
      display,
      gender: person.gender,
      age: person.birthdate ? ageInYears(person.birthdate) : null,
      birthdate: person.birthdate ? restDate(person.birthdate) : null,
      birthdateEstimated: person.birthdateEstimated,
      dead: person.dead,
      deathDate: person.deathDate ? restDatetime(person.deathDate) : null,
      causeOfDeath: person.causeOfDeath ? this.conceptRef(person.causeOfDeath) : null,
      preferredName: name ? this.name(person.uuid, name, detail) : null,
      preferredAddress: address ? this.address(person.uuid, address, detail) : null,
    };
    if (rep === 'full') {
      body.names = person.names.filter((entry) => !entry.voided).map((entry) => this.name(person.uuid, entry, 'default'));
      body.addresses = person.addresses.filter((entry) => !entry.voided).map((entry) => this.address(person.uuid, entry, 'default'));
    }
    body.attributes = person.attributes.filter((entry) => !entry.voided).map((entry) => this.attribute(person.uuid, entry, detail));
    body.voided = person.voided;
    if (rep === 'full') body.auditInfo = this.auditInfo(person.audit);
    body.birthtime = null;
    body.deathdateEstimated = false;
    body.links = this.links(`person/${person.uuid}`, 'person', rep === 'default');
    body.resourceVersion = '1.11';
    return body;
  }

  identifier(patientUuid: string, identifier: PatientIdentifier, rep: Rep): Json {
    const path = `patient/${patientUuid}/identifier/${identifier.uuid}`;
    const display = `${this.store.identifierTypes.get(identifier.identifierType)?.name ?? ''} = ${identifier.identifier}`;
    if (rep === 'ref') return { uuid: identifier.uuid, display, links: this.links(path, 'identifier', false) };
    return {
      display, uuid: identifier.uuid, identifier: identifier.identifier,
      identifierType: this.metadataRef('patientidentifiertype', this.store.identifierTypes, identifier.identifierType),
      location: this.locationRef(identifier.location),
      preferred: identifier.preferred, voided: identifier.voided,
      links: this.links(path, 'identifier', true), resourceVersion: '1.8',
    };
  }

  patient(patient: Patient, rep: Rep): Json {
    const display = this.patientDisplay(patient);
    if (rep === 'ref') return { uuid: patient.uuid, display, links: this.links(`patient/${patient.uuid}`, 'patient', false) };
    const person = this.store.persons.get(patient.uuid)!;
    const body: Json = {
      uuid: patient.uuid,
      display,
      identifiers: patient.identifiers.filter((entry) => !entry.voided || patient.voided).map((entry) => this.identifier(patient.uuid, entry, rep === 'full' ? 'default' : 'ref')),
      person: this.person(person, rep),
      voided: patient.voided,
    };
    if (rep === 'full') body.auditInfo = this.auditInfo(patient.audit);
    body.links = this.links(`patient/${patient.uuid}`, 'patient', rep === 'default');
    body.resourceVersion = '1.8';
    return body;
  }

  provider(provider: Provider, rep: Rep): Json {
    const display = `${provider.identifier} - ${this.personDisplay(provider.person)}`;
    if (rep === 'ref') return { uuid: provider.uuid, display, links: this.links(`provider/${provider.uuid}`, 'provider', false) };
    const person = this.store.persons.get(provider.person);
    const body: Json = {
      uuid: provider.uuid, display,
      person: person ? this.person(person, 'ref') : null,
      identifier: provider.identifier,
      // The REST module lists the active attributes: as refs by default, in full with v=full.
      attributes: provider.attributes.filter((attribute) => !attribute.voided).map((attribute) => this.providerAttribute(provider.uuid, attribute, rep === 'full' ? 'default' : 'ref')),
      retired: provider.retired,
    };
    if (rep === 'full') body.auditInfo = this.auditInfo(provider.audit);
    body.links = this.links(`provider/${provider.uuid}`, 'provider', rep === 'default');
    body.resourceVersion = '1.9';
    return body;
  }

  // Clinical data

  obs(obs: Obs, rep: Rep): Json {
    const concept = this.store.concepts.get(obs.concept);
    const display = `${concept?.name ?? ''}: ${this.obsValueDisplay(obs)}`;
    if (rep === 'ref') return { uuid: obs.uuid, display, links: this.links(`obs/${obs.uuid}`, 'obs', false) };
    let value: unknown = obs.value;
    if (concept?.datatype === 'Coded') value = this.conceptRef(String(obs.value));
    else if ((concept?.datatype === 'Date' || concept?.datatype === 'Datetime') && typeof obs.value === 'number') value = restDatetime(obs.value);
    const encounter = obs.encounter ? this.store.encounters.get(obs.encounter) : undefined;
    const body: Json = {
      uuid: obs.uuid,
      display,
      concept: this.conceptRef(obs.concept),
      person: this.ref('person', 'person', obs.person, this.personDisplay(obs.person)),
      obsDatetime: restDatetime(obs.obsDatetime),
      accessionNumber: null,
      obsGroup: null,
      valueCodedName: null,
      groupMembers: null,
      comment: obs.comment,
      location: this.locationRef(obs.location),
      order: null,
      encounter: encounter ? this.ref('encounter', 'encounter', encounter.uuid, this.encounterDisplay(encounter)) : null,
      voided: obs.voided,
      value,
      valueModifier: null,
      formFieldPath: null,
      formFieldNamespace: null,
      status: 'FINAL',
      interpretation: null,
    };
    if (rep === 'full') body.auditInfo = this.auditInfo(obs.audit);
    body.links = this.links(`obs/${obs.uuid}`, 'obs', rep === 'default');
    body.resourceVersion = '1.11';
    return body;
  }

  visit(visit: Visit, rep: Rep): Json {
    const start = new Date(visit.startDatetime);
    const display = `${this.store.visitTypes.get(visit.visitType)?.name ?? 'Visit'} @ ${this.store.locations.get(visit.location ?? '')?.name ?? 'Unknown Location'} - ${displayDate(visit.startDatetime)} ${String(start.getUTCHours()).padStart(2, '0')}:${String(start.getUTCMinutes()).padStart(2, '0')}`;
    if (rep === 'ref') return { uuid: visit.uuid, display, links: this.links(`visit/${visit.uuid}`, 'visit', false) };
    const patient = this.store.patients.get(visit.patient);
    const encounters = this.store.encountersOf(visit.patient).filter((encounter) => encounter.visit === visit.uuid && !encounter.voided);
    const body: Json = {
      uuid: visit.uuid, display,
      patient: patient ? this.patient(patient, 'ref') : null,
      visitType: this.metadataRef('visittype', this.store.visitTypes, visit.visitType),
      indication: null,
      location: this.locationRef(visit.location),
      startDatetime: restDatetime(visit.startDatetime),
      stopDatetime: visit.stopDatetime ? restDatetime(visit.stopDatetime) : null,
      encounters: encounters.map((encounter) => this.encounter(encounter, 'ref')),
      attributes: [],
      voided: visit.voided,
    };
    if (rep === 'full') body.auditInfo = this.auditInfo(visit.audit);
    body.links = this.links(`visit/${visit.uuid}`, 'visit', rep === 'default');
    body.resourceVersion = '1.9';
    return body;
  }

  encounter(encounter: Encounter, rep: Rep): Json {
    const display = this.encounterDisplay(encounter);
    if (rep === 'ref') return { uuid: encounter.uuid, display, links: this.links(`encounter/${encounter.uuid}`, 'encounter', false) };
    const patient = this.store.patients.get(encounter.patient);
    const visit = encounter.visit ? this.store.visits.get(encounter.visit) : undefined;
    const obs = encounter.obs.map((uuid) => this.store.obs.get(uuid)).filter((entry): entry is Obs => !!entry && (!entry.voided || encounter.voided));
    const body: Json = {
      uuid: encounter.uuid,
      display,
      encounterDatetime: restDatetime(encounter.encounterDatetime),
      patient: patient ? this.patient(patient, 'ref') : null,
      location: this.locationRef(encounter.location),
      form: this.metadataRef('form', this.store.forms, encounter.form),
      encounterType: this.metadataRef('encountertype', this.store.encounterTypes, encounter.encounterType),
      obs: obs.map((entry) => this.obs(entry, rep === 'full' ? 'default' : 'ref')),
      orders: [],
      voided: encounter.voided,
      visit: visit ? this.visit(visit, 'ref') : null,
      encounterProviders: encounter.providers.map((entry) => {
        const provider = this.store.providers.get(entry.provider);
        return {
          uuid: entry.uuid,
          display: provider ? `${this.personDisplay(provider.person)}: ${this.store.encounterRoles.get(entry.encounterRole)?.name ?? 'Unknown'}` : '',
          provider: provider ? this.provider(provider, 'ref') : null,
          encounterRole: this.metadataRef('encounterrole', this.store.encounterRoles, entry.encounterRole),
          voided: false,
          links: this.links(`encounter/${encounter.uuid}/encounterprovider/${entry.uuid}`, 'encounterprovider', false),
        };
      }),
      diagnoses: [],
    };
    if (rep === 'full') body.auditInfo = this.auditInfo(encounter.audit);
    body.links = this.links(`encounter/${encounter.uuid}`, 'encounter', rep === 'default');
    body.resourceVersion = '2.2';
    return body;
  }

  /** The admin user as GET /session describes it. */
  adminUser(): Json {
    return {
      uuid: ADMIN_USER_UUID,
      display: 'admin',
      username: 'admin',
      systemId: 'admin',
      userProperties: {},
      person: this.ref('person', 'person', ADMIN_PERSON_UUID, 'Super User'),
      privileges: [],
      roles: [{ uuid: '8d94f852-c2cc-11de-8d13-0010c6dffd0f', display: 'System Developer', links: this.links('role/8d94f852-c2cc-11de-8d13-0010c6dffd0f', 'role', false) }],
      links: this.links(`user/${ADMIN_USER_UUID}`, 'user', false),
    };
  }
}

export const ADMIN_PERSON_UUID = '24252571-dd5a-11e6-9d9c-0242ac150002';

/** Real OpenMRS concept datatype and class uuids. */
export const DATATYPE_UUIDS: Record<string, string> = {
  Numeric: '8d4a4488-c2cc-11de-8d13-0010c6dffd0f',
  Coded: '8d4a48b6-c2cc-11de-8d13-0010c6dffd0f',
  Text: '8d4a4ab4-c2cc-11de-8d13-0010c6dffd0f',
  'N/A': '8d4a4c94-c2cc-11de-8d13-0010c6dffd0f',
  Date: '8d4a505e-c2cc-11de-8d13-0010c6dffd0f',
  Datetime: '8d4a591e-c2cc-11de-8d13-0010c6dffd0f',
  Boolean: '8d4a5cb2-c2cc-11de-8d13-0010c6dffd0f',
};

export const CLASS_UUIDS: Record<string, string> = {
  Test: '8d4907b2-c2cc-11de-8d13-0010c6dffd0f',
  Finding: '8d491a9a-c2cc-11de-8d13-0010c6dffd0f',
  Question: '8d491e50-c2cc-11de-8d13-0010c6dffd0f',
  Misc: '8d492774-c2cc-11de-8d13-0010c6dffd0f',
};
