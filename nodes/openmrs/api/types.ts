/** The parts of OpenMRS REST representations this package reads (v=full unless noted). */

export interface Ref {
  uuid: string;
  display?: string;
  name?: string;
}

export interface AuditInfo {
  creator?: Ref | null;
  dateCreated?: string | null;
  changedBy?: Ref | null;
  dateChanged?: string | null;
}

export interface PersonName {
  uuid?: string;
  givenName?: string | null;
  middleName?: string | null;
  familyName?: string | null;
  preferred?: boolean;
  voided?: boolean;
}

export interface PersonAddress {
  uuid?: string;
  preferred?: boolean;
  [field: string]: unknown;
}

export interface PersonAttribute {
  uuid?: string;
  attributeType: Ref;
  value: unknown;
  voided?: boolean;
}

export interface PatientIdentifier {
  uuid?: string;
  identifier: string;
  identifierType: Ref;
  location?: Ref | null;
  preferred?: boolean;
  voided?: boolean;
}

export interface Person {
  uuid: string;
  display?: string;
  gender?: string;
  birthdate?: string | null;
  birthdateEstimated?: boolean;
  dead?: boolean;
  deathDate?: string | null;
  preferredName?: PersonName | null;
  names?: PersonName[];
  preferredAddress?: PersonAddress | null;
  addresses?: PersonAddress[];
  attributes?: PersonAttribute[];
  voided?: boolean;
  auditInfo?: AuditInfo;
}

export interface Patient {
  uuid: string;
  display?: string;
  identifiers: PatientIdentifier[];
  person: Person;
  voided?: boolean;
  auditInfo?: AuditInfo;
}

export interface Obs {
  uuid: string;
  display?: string;
  concept: Ref;
  person?: Ref;
  encounter?: Ref | null;
  obsDatetime?: string;
  value?: unknown;
  comment?: string | null;
  voided?: boolean;
}

export interface Encounter {
  uuid: string;
  display?: string;
  encounterDatetime: string;
  patient: Ref;
  encounterType: Ref;
  location?: Ref | null;
  form?: Ref | null;
  obs?: Obs[];
  voided?: boolean;
  auditInfo?: AuditInfo;
}

export interface ConceptAnswer {
  uuid: string;
  display: string;
  /** Every name the answer is known by (all locales, short names, synonyms). */
  names: string[];
}

/** A concept reduced to what value coercion needs. */
export interface ConceptInfo {
  uuid: string;
  display: string;
  /** Datatype name as OpenMRS spells it: Numeric, Coded, Text, Date, Datetime, Time, Boolean, N/A. */
  datatype: string;
  answers: ConceptAnswer[];
  allowDecimal?: boolean;
  hiAbsolute?: number | null;
  lowAbsolute?: number | null;
}

export interface Session {
  authenticated: boolean;
  sessionId?: string;
  user?: { uuid: string; username?: string; display?: string; systemId?: string } | null;
}
