/**
 * The in-memory OpenMRS database: one Map per table, keyed by uuid, plus the secondary indexes the
 * searches need (identifier values, encounters and obs per patient). REST, FHIR2, the Atom feeds and
 * the reports all read and write these same records, as they share one database in the real server.
 */

export interface Audit {
  creator: string;
  dateCreated: number;
  changedBy?: string;
  dateChanged?: number;
}

export type Datatype = 'Numeric' | 'Coded' | 'Text' | 'Date' | 'Datetime' | 'Boolean' | 'N/A';

export interface Concept {
  uuid: string;
  name: string;
  datatype: Datatype;
  conceptClass: string;
  /** CIEL code shown as a mapping, when the concept comes from CIEL. */
  ciel?: string;
  answers: string[];
  units?: string;
  hiAbsolute?: number;
  lowAbsolute?: number;
  audit: Audit;
}

/** Encounter types, identifier types, attribute types, visit types, encounter roles, forms. */
export interface Metadata {
  uuid: string;
  name: string;
  description: string;
  retired: boolean;
  /** Attribute type format (java class) or identifier type format regex. */
  format?: string;
  audit: Audit;
}

export interface Location extends Metadata {
  parent?: string;
  tags: string[];
  cityVillage?: string;
  countyDistrict?: string;
  stateProvince?: string;
  country?: string;
}

export interface PersonName {
  uuid: string;
  givenName: string;
  middleName: string | null;
  familyName: string;
  familyName2: string | null;
  preferred: boolean;
  voided: boolean;
}

export const ADDRESS_FIELDS = [
  'address1', 'address2', 'cityVillage', 'stateProvince', 'country', 'postalCode', 'countyDistrict',
  'address3', 'address4', 'address5', 'address6', 'startDate', 'endDate', 'latitude', 'longitude',
  'address7', 'address8', 'address9', 'address10', 'address11', 'address12', 'address13', 'address14', 'address15',
] as const;

export type AddressField = (typeof ADDRESS_FIELDS)[number];

export interface PersonAddress extends Partial<Record<AddressField, string | null>> {
  uuid: string;
  preferred: boolean;
  voided: boolean;
}

export interface PersonAttribute {
  uuid: string;
  attributeType: string;
  value: string;
  voided: boolean;
}

export interface Person {
  uuid: string;
  gender: string;
  /** yyyy-MM-dd, as OpenMRS keeps a date without time. */
  birthdate: string | null;
  birthdateEstimated: boolean;
  dead: boolean;
  deathDate: number | null;
  causeOfDeath: string | null;
  names: PersonName[];
  addresses: PersonAddress[];
  attributes: PersonAttribute[];
  voided: boolean;
  audit: Audit;
}

export interface PatientIdentifier {
  uuid: string;
  identifier: string;
  identifierType: string;
  location: string | null;
  preferred: boolean;
  voided: boolean;
}

export interface Patient {
  /** Same uuid as the person, as in OpenMRS. */
  uuid: string;
  identifiers: PatientIdentifier[];
  voided: boolean;
  audit: Audit;
}

/** Provider attribute types: metadata with the occurrence limits OpenMRS checks when a provider is saved. */
export interface ProviderAttributeType extends Metadata {
  minOccurs: number;
  /** null: any number. */
  maxOccurs: number | null;
  datatypeClassname: string;
}

/** Same shape as a person attribute; the type is a provider attribute type. */
export type ProviderAttribute = PersonAttribute;

export interface Provider {
  uuid: string;
  identifier: string;
  person: string;
  attributes: ProviderAttribute[];
  retired: boolean;
  audit: Audit;
}

export interface EncounterProvider {
  uuid: string;
  provider: string;
  encounterRole: string;
}

export interface Encounter {
  uuid: string;
  patient: string;
  encounterType: string;
  encounterDatetime: number;
  location: string | null;
  form: string | null;
  visit: string | null;
  providers: EncounterProvider[];
  obs: string[];
  voided: boolean;
  audit: Audit;
}

export type ObsValue = number | string | boolean;

export interface Obs {
  uuid: string;
  person: string;
  concept: string;
  obsDatetime: number;
  encounter: string | null;
  location: string | null;
  /** Numeric: number; Coded: answer concept uuid; Text: string; Date/Datetime: epoch ms; Boolean: boolean. */
  value: ObsValue;
  comment: string | null;
  voided: boolean;
  audit: Audit;
}

export interface Visit {
  uuid: string;
  patient: string;
  visitType: string;
  location: string | null;
  startDatetime: number;
  stopDatetime: number | null;
  voided: boolean;
  audit: Audit;
}

/** FHIR Task is stored as the resource itself: OpenMRS keeps it in its own fhir_task table. */
export interface StoredTask {
  resource: Record<string, any>;
  lastUpdated: number;
}

export class OpenmrsStore {
  readonly concepts = new Map<string, Concept>();
  readonly encounterTypes = new Map<string, Metadata>();
  readonly identifierTypes = new Map<string, Metadata>();
  readonly attributeTypes = new Map<string, Metadata>();
  readonly providerAttributeTypes = new Map<string, ProviderAttributeType>();
  readonly visitTypes = new Map<string, Metadata>();
  readonly encounterRoles = new Map<string, Metadata>();
  readonly forms = new Map<string, Metadata>();
  readonly locations = new Map<string, Location>();
  readonly persons = new Map<string, Person>();
  readonly patients = new Map<string, Patient>();
  readonly providers = new Map<string, Provider>();
  readonly encounters = new Map<string, Encounter>();
  readonly obs = new Map<string, Obs>();
  readonly visits = new Map<string, Visit>();
  readonly tasks = new Map<string, StoredTask>();
  /** "<identifierType uuid>|<value>" -> patient uuid, for unique identifiers and ?identifier= search. */
  readonly identifierIndex = new Map<string, string>();
  readonly encountersByPatient = new Map<string, Set<string>>();
  readonly obsByPerson = new Map<string, Set<string>>();

  clear(): void {
    for (const value of Object.values(this)) if (value instanceof Map) value.clear();
  }

  indexIdentifier(patient: string, identifier: PatientIdentifier): void {
    if (!identifier.voided) this.identifierIndex.set(identifierKey(identifier.identifierType, identifier.identifier), patient);
  }

  unindexPatient(patient: Patient): void {
    for (const identifier of patient.identifiers) {
      const key = identifierKey(identifier.identifierType, identifier.identifier);
      if (this.identifierIndex.get(key) === patient.uuid) this.identifierIndex.delete(key);
    }
  }

  addEncounter(encounter: Encounter): void {
    this.encounters.set(encounter.uuid, encounter);
    addToIndex(this.encountersByPatient, encounter.patient, encounter.uuid);
  }

  addObs(obs: Obs): void {
    this.obs.set(obs.uuid, obs);
    addToIndex(this.obsByPerson, obs.person, obs.uuid);
  }

  removeEncounter(encounter: Encounter): void {
    for (const obsUuid of encounter.obs) {
      const obs = this.obs.get(obsUuid);
      if (obs) this.removeObs(obs);
    }
    this.encounters.delete(encounter.uuid);
    this.encountersByPatient.get(encounter.patient)?.delete(encounter.uuid);
  }

  removeObs(obs: Obs): void {
    this.obs.delete(obs.uuid);
    this.obsByPerson.get(obs.person)?.delete(obs.uuid);
    if (obs.encounter) {
      const encounter = this.encounters.get(obs.encounter);
      if (encounter) encounter.obs = encounter.obs.filter((uuid) => uuid !== obs.uuid);
    }
  }

  encountersOf(patient: string): Encounter[] {
    return [...(this.encountersByPatient.get(patient) ?? [])].map((uuid) => this.encounters.get(uuid)!).filter(Boolean);
  }

  obsOf(person: string): Obs[] {
    return [...(this.obsByPerson.get(person) ?? [])].map((uuid) => this.obs.get(uuid)!).filter(Boolean);
  }
}

export const identifierKey = (type: string, value: string): string => `${type}|${value}`;

function addToIndex(index: Map<string, Set<string>>, key: string, value: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}
