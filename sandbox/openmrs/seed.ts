/**
 * Seed data: a small community-health concept dictionary, the metadata the CHW workflows use, five
 * community patients with some history, and the fixtures the upstream request samples reference.
 *
 * Concept uuids are CIEL-style (`<number>` padded with A to 36 characters). 5089, 5088, 5090, 5096,
 * 1065, 1066 and 160432 are the real CIEL concepts. No CIEL concept could be confirmed for the
 * CHW-specific questions (danger signs, referral reason/urgency, visit date, trace outcome and its
 * answers, reachable by phone), so they use numbers in a 999xxx range that CIEL does not use.
 */
import type { OpenmrsService } from './service';
import { ADMIN_USER_UUID, UNKNOWN_ENCOUNTER_ROLE } from './service';
import type { Concept, Datatype, Location, Metadata } from './store';
import { ADMIN_PERSON_UUID } from './representation';

export { ADMIN_USER_UUID, ADMIN_PERSON_UUID, UNKNOWN_ENCOUNTER_ROLE };

export const USERNAME = 'admin';
export const PASSWORD = 'Admin123';

/** A CIEL-style concept uuid: the number padded with A to 36 characters. */
export const cielUuid = (code: string | number): string => String(code).padEnd(36, 'A');

export const CONCEPTS = {
  weight: cielUuid(5089),
  temperature: cielUuid(5088),
  height: cielUuid(5090),
  returnVisitDate: cielUuid(5096),
  yes: cielUuid(1065),
  no: cielUuid(1066),
  dead: cielUuid(160432),
  dangerSignsPresent: cielUuid(999101),
  referralReason: cielUuid(999102),
  referralUrgency: cielUuid(999103),
  routine: cielUuid(999104),
  urgent: cielUuid(999105),
  visitDate: cielUuid(999106),
  traceOutcome: cielUuid(999107),
  foundAndReturned: cielUuid(999108),
  moved: cielUuid(999109),
  refused: cielUuid(999110),
  notFound: cielUuid(999111),
  reachableByPhone: cielUuid(999112),
  /** Fixture: the concept value of the "Caste" attribute in patient-get-full.json. */
  chad: 'e10ffe54-5184-4efe-8960-cd565ec1cdf8',
} as const;

export const ENCOUNTER_TYPES = {
  communityFollowUp: '3f1b4c8e-2a6d-4e0b-9c71-5d8e2f6a1b01',
  referral: '3f1b4c8e-2a6d-4e0b-9c71-5d8e2f6a1b02',
  traceOutcome: '3f1b4c8e-2a6d-4e0b-9c71-5d8e2f6a1b03',
  homeVisit: '3f1b4c8e-2a6d-4e0b-9c71-5d8e2f6a1b04',
  /** Fixture: referenced by openmrs-fhir/encounter-create-request.json. */
  consultation: '61ae96f4-6afe-4351-b6f8-cd4fc383cce1',
} as const;

export const LOCATIONS = {
  facility: '7c5a9e10-4b2f-4d1e-8a63-0f2b9d4c6e01',
  northCatchment: '7c5a9e10-4b2f-4d1e-8a63-0f2b9d4c6e02',
  southCatchment: '7c5a9e10-4b2f-4d1e-8a63-0f2b9d4c6e03',
  /** The "Unknown Location" every OpenMRS install has; the upstream samples reference it. */
  unknown: '8d6c993e-c2cc-11de-8d13-0010c6dffd0f',
} as const;

export const IDENTIFIER_TYPES = {
  openmrsId: '05a29f94-c0ed-11e2-94be-8c13b969e334',
  commcareCaseId: 'b1d7e0a2-6f3c-4c8e-9a55-2e7d1f0c3a01',
  chtPatientId: 'b1d7e0a2-6f3c-4c8e-9a55-2e7d1f0c3a02',
  /** Fixture: "OpenMRS Identification Number" of the standard test dataset (patient-create-request.json). */
  openmrsIdentificationNumber: '1a339fe9-38bc-4ab3-b180-320988c0b968',
  /** Fixture: matched by name from openmrs-fhir/patient-create-request.json. */
  testIdentifierType: 'b1d7e0a2-6f3c-4c8e-9a55-2e7d1f0c3a03',
} as const;

export const ATTRIBUTE_TYPES = {
  telephoneNumber: '14d4f066-15f5-102d-96e4-000c29c2a5d7',
  /** Fixtures referenced by the REST patient samples. */
  birthplace: '54fc8400-1683-4d71-a1ac-98d40836ff7c',
  caste: '55e6ce9e-25bf-11e3-a013-3c0754156a5d',
} as const;

/** Provider attribute types for what a FHIR PractitionerRole says about a health worker. */
export const PROVIDER_ATTRIBUTE_TYPES = {
  role: 'a7c3e2b1-9d4f-4e61-8b2a-1c0d3e5f7a01',
  organization: 'a7c3e2b1-9d4f-4e61-8b2a-1c0d3e5f7a02',
  location: 'a7c3e2b1-9d4f-4e61-8b2a-1c0d3e5f7a03',
  specialty: 'a7c3e2b1-9d4f-4e61-8b2a-1c0d3e5f7a04',
} as const;

const FREE_TEXT_DATATYPE = 'org.openmrs.customdatatype.datatype.FreeTextDatatype';

export const VISIT_TYPES = {
  facilityVisit: '7b0f5697-27e3-40c4-8bae-f4049abfb4ed',
  communityVisit: '7b0f5697-27e3-40c4-8bae-f4049abfb4ee',
} as const;

export const FORMS = {
  communityFollowUp: 'a1f0c3d2-5e4b-4a69-8d7c-1b2e3f4a5c01',
} as const;

export const PROVIDERS = {
  admin: 'f9badd80-ab76-11e2-9e96-0800200c9a66',
  /** Fixture: the practitioner of openmrs-fhir/encounter-create-request.json. */
  sampleClinician: 'c2299800-cca9-11e0-9572-0800200c9a66',
} as const;

export const PATIENTS = {
  amina: '5a1e2d3c-0001-4b6a-9c8d-7e6f5a4b3c01',
  baraka: '5a1e2d3c-0002-4b6a-9c8d-7e6f5a4b3c02',
  chausiku: '5a1e2d3c-0003-4b6a-9c8d-7e6f5a4b3c03',
  daudi: '5a1e2d3c-0004-4b6a-9c8d-7e6f5a4b3c04',
  esther: '5a1e2d3c-0005-4b6a-9c8d-7e6f5a4b3c05',
  /** Fixture: the standard test dataset patient the FHIR samples reference. */
  collet: '5946f880-b197-400b-9caa-a3c661d23041',
} as const;

/** OpenMRS IDs of the seeded community patients, in PATIENTS order. */
export const OPENMRS_IDS = {
  amina: '100001A',
  baraka: '100002B',
  chausiku: '100003C',
  daudi: '100004D',
  esther: '100005E',
} as const;

/** Fixture: the encounter openmrs-fhir samples use as `partOf` and `encounter`. */
export const SAMPLE_ENCOUNTER = '6519d653-393b-4118-9c83-a3715b82d4ac';

export const REPORTS = {
  needingFollowUp: 'e4c1a7b2-3d5f-4a8e-9b61-0c2d4e6f8a01',
  missedAppointments: 'e4c1a7b2-3d5f-4a8e-9b61-0c2d4e6f8a02',
} as const;

const DAY = 86_400_000;

function metadata(uuid: string, name: string, description: string, format?: string): Metadata {
  return { uuid, name, description, retired: false, format, audit: { creator: ADMIN_USER_UUID, dateCreated: Date.UTC(2024, 0, 1) } };
}

function concept(uuid: string, name: string, datatype: Datatype, conceptClass: string, extra: Partial<Concept> = {}): Concept {
  const ciel = /^(\d+)A+$/.exec(uuid)?.[1];
  return { uuid, name, datatype, conceptClass, ciel: ciel && !ciel.startsWith('999') ? ciel : undefined, answers: [], audit: { creator: ADMIN_USER_UUID, dateCreated: Date.UTC(2024, 0, 1) }, ...extra };
}

function location(uuid: string, name: string, parent: string | undefined, tags: string[], place: Partial<Location> = {}): Location {
  return { ...metadata(uuid, name, `${name} (sandbox)`), parent, tags, ...place };
}

export function seedOpenmrs(service: OpenmrsService): void {
  const store = service.store;
  const concepts = [
    concept(CONCEPTS.weight, 'Weight (kg)', 'Numeric', 'Finding', { units: 'kg', lowAbsolute: 0, hiAbsolute: 250 }),
    concept(CONCEPTS.temperature, 'Temperature (C)', 'Numeric', 'Finding', { units: 'DEG C', lowAbsolute: 25, hiAbsolute: 43 }),
    concept(CONCEPTS.height, 'Height (cm)', 'Numeric', 'Finding', { units: 'cm', lowAbsolute: 10, hiAbsolute: 228 }),
    concept(CONCEPTS.returnVisitDate, 'Return visit date', 'Date', 'Question'),
    concept(CONCEPTS.yes, 'Yes', 'N/A', 'Misc'),
    concept(CONCEPTS.no, 'No', 'N/A', 'Misc'),
    concept(CONCEPTS.dead, 'Dead', 'N/A', 'Misc'),
    concept(CONCEPTS.dangerSignsPresent, 'Danger signs present', 'Coded', 'Question', { answers: [CONCEPTS.yes, CONCEPTS.no] }),
    concept(CONCEPTS.referralReason, 'Referral reason', 'Text', 'Question'),
    concept(CONCEPTS.referralUrgency, 'Referral urgency', 'Coded', 'Question', { answers: [CONCEPTS.routine, CONCEPTS.urgent] }),
    concept(CONCEPTS.routine, 'Routine', 'N/A', 'Misc'),
    concept(CONCEPTS.urgent, 'Urgent', 'N/A', 'Misc'),
    concept(CONCEPTS.visitDate, 'Visit date', 'Date', 'Question'),
    concept(CONCEPTS.traceOutcome, 'Trace outcome', 'Coded', 'Question', {
      answers: [CONCEPTS.foundAndReturned, CONCEPTS.moved, CONCEPTS.dead, CONCEPTS.refused, CONCEPTS.notFound],
    }),
    concept(CONCEPTS.foundAndReturned, 'Found and returned to care', 'N/A', 'Misc'),
    concept(CONCEPTS.moved, 'Moved away', 'N/A', 'Misc'),
    concept(CONCEPTS.refused, 'Refused to return', 'N/A', 'Misc'),
    concept(CONCEPTS.notFound, 'Not found', 'N/A', 'Misc'),
    concept(CONCEPTS.reachableByPhone, 'Reachable by phone', 'Boolean', 'Question'),
    concept(CONCEPTS.chad, 'Chad', 'N/A', 'Misc'),
  ];
  for (const entry of concepts) store.concepts.set(entry.uuid, entry);

  const encounterTypes = [
    metadata(ENCOUNTER_TYPES.communityFollowUp, 'Community Follow-up', 'A CHW follow-up of a patient in the community'),
    metadata(ENCOUNTER_TYPES.referral, 'Referral', 'A CHW referral of a patient to the facility'),
    metadata(ENCOUNTER_TYPES.traceOutcome, 'Trace Outcome', 'The outcome of tracing a patient lost to follow-up'),
    metadata(ENCOUNTER_TYPES.homeVisit, 'Home Visit', 'A CHW household visit'),
    metadata(ENCOUNTER_TYPES.consultation, 'Consultation', 'Fixture referenced by the FHIR encounter sample'),
  ];
  for (const entry of encounterTypes) store.encounterTypes.set(entry.uuid, entry);

  const locations = [
    location(LOCATIONS.facility, 'Amani Health Centre', undefined, ['Login Location', 'Visit Location'], { cityVillage: 'Amani', countyDistrict: 'Kisumu', country: 'Kenya' }),
    location(LOCATIONS.northCatchment, 'Amani North Catchment', LOCATIONS.facility, ['Community Catchment'], { cityVillage: 'Amani North', countyDistrict: 'Kisumu', country: 'Kenya' }),
    location(LOCATIONS.southCatchment, 'Amani South Catchment', LOCATIONS.facility, ['Community Catchment'], { cityVillage: 'Amani South', countyDistrict: 'Kisumu', country: 'Kenya' }),
    location(LOCATIONS.unknown, 'Unknown Location', undefined, []),
  ];
  for (const entry of locations) store.locations.set(entry.uuid, entry);

  const identifierTypes = [
    metadata(IDENTIFIER_TYPES.openmrsId, 'OpenMRS ID', 'OpenMRS patient identifier, with check-digit'),
    metadata(IDENTIFIER_TYPES.commcareCaseId, 'CommCare Case ID', 'The case id of the patient in CommCare HQ'),
    metadata(IDENTIFIER_TYPES.chtPatientId, 'CHT Patient ID', 'The patient_id of the person in the Community Health Toolkit'),
    metadata(IDENTIFIER_TYPES.openmrsIdentificationNumber, 'OpenMRS Identification Number', 'Fixture of the standard test dataset'),
    metadata(IDENTIFIER_TYPES.testIdentifierType, 'Test Identifier Type', 'Fixture matched by name from the FHIR patient sample'),
  ];
  for (const entry of identifierTypes) store.identifierTypes.set(entry.uuid, entry);

  const attributeTypes = [
    metadata(ATTRIBUTE_TYPES.telephoneNumber, 'Telephone Number', "The person's telephone number", 'java.lang.String'),
    metadata(ATTRIBUTE_TYPES.birthplace, 'Birthplace', 'Fixture of the standard test dataset', 'java.lang.String'),
    metadata(ATTRIBUTE_TYPES.caste, 'Caste', 'Fixture with a concept value', 'org.openmrs.Concept'),
  ];
  for (const entry of attributeTypes) store.attributeTypes.set(entry.uuid, entry);

  const providerAttributeTypes = [
    metadata(PROVIDER_ATTRIBUTE_TYPES.role, 'Role', 'What the provider does, e.g. Community Health Worker'),
    metadata(PROVIDER_ATTRIBUTE_TYPES.organization, 'Organization', 'The team or facility the provider works for'),
    metadata(PROVIDER_ATTRIBUTE_TYPES.location, 'Location', 'Where the provider works'),
    metadata(PROVIDER_ATTRIBUTE_TYPES.specialty, 'Specialty', "The provider's specialty"),
  ];
  for (const entry of providerAttributeTypes) store.providerAttributeTypes.set(entry.uuid, { ...entry, minOccurs: 0, maxOccurs: 1, datatypeClassname: FREE_TEXT_DATATYPE });

  store.visitTypes.set(VISIT_TYPES.facilityVisit, metadata(VISIT_TYPES.facilityVisit, 'Facility Visit', 'Visit to the facility'));
  store.visitTypes.set(VISIT_TYPES.communityVisit, metadata(VISIT_TYPES.communityVisit, 'Community Visit', 'Visit by a CHW in the community'));
  store.encounterRoles.set(UNKNOWN_ENCOUNTER_ROLE, metadata(UNKNOWN_ENCOUNTER_ROLE, 'Unknown', 'Unknown encounter role'));
  store.forms.set(FORMS.communityFollowUp, metadata(FORMS.communityFollowUp, 'Community Follow-up Form', 'CHW follow-up form'));

  service.createProvider({ uuid: PROVIDERS.admin, identifier: 'admin', person: { uuid: ADMIN_PERSON_UUID, gender: 'M', names: [{ givenName: 'Super', familyName: 'User' }] } });
  service.createProvider({ uuid: PROVIDERS.sampleClinician, identifier: 'Test', person: { gender: 'M', names: [{ givenName: 'John', familyName: 'Doe' }] } });

  const community = [
    { uuid: PATIENTS.amina, id: OPENMRS_IDS.amina, given: 'Amina', family: 'Otieno', gender: 'F', birthdate: '1990-03-14', phone: '+254712000001', catchment: LOCATIONS.northCatchment, village: 'Amani North', postalCode: '40100', cht: 'CHT-51201' },
    { uuid: PATIENTS.baraka, id: OPENMRS_IDS.baraka, given: 'Baraka', family: 'Mwangi', gender: 'M', birthdate: '1985-07-02', phone: '+254712000002', catchment: LOCATIONS.northCatchment, village: 'Amani North', postalCode: '40100', cht: undefined },
    { uuid: PATIENTS.chausiku, id: OPENMRS_IDS.chausiku, given: 'Chausiku', family: 'Njeri', gender: 'F', birthdate: '2018-11-20', phone: '+254712000003', catchment: LOCATIONS.southCatchment, village: 'Amani South', postalCode: '40101', cht: 'CHT-51203' },
    { uuid: PATIENTS.daudi, id: OPENMRS_IDS.daudi, given: 'Daudi', family: 'Kiprop', gender: 'M', birthdate: '1962-01-09', phone: '+254712000004', catchment: LOCATIONS.southCatchment, village: 'Amani South', postalCode: '40101', cht: undefined },
    { uuid: PATIENTS.esther, id: OPENMRS_IDS.esther, given: 'Esther', family: 'Achieng', gender: 'F', birthdate: '2001-05-30', phone: '+254712000005', catchment: LOCATIONS.northCatchment, village: 'Amani North', postalCode: '40100', cht: undefined },
  ];
  for (const patient of community) {
    const identifiers: Array<{ identifier: string; identifierType: string; location: string; preferred: boolean }> = [{ identifier: patient.id, identifierType: IDENTIFIER_TYPES.openmrsId, location: patient.catchment, preferred: true }];
    if (patient.cht) identifiers.push({ identifier: patient.cht, identifierType: IDENTIFIER_TYPES.chtPatientId, location: patient.catchment, preferred: false });
    service.createPatient({
      uuid: patient.uuid,
      identifiers,
      person: {
        gender: patient.gender,
        birthdate: patient.birthdate,
        names: [{ givenName: patient.given, familyName: patient.family }],
        addresses: [{ preferred: true, address1: `${patient.family} homestead`, cityVillage: patient.village, countyDistrict: 'Kisumu', stateProvince: 'Kisumu', country: 'Kenya', postalCode: patient.postalCode }],
        attributes: [{ attributeType: ATTRIBUTE_TYPES.telephoneNumber, value: patient.phone }],
      },
    });
  }
  service.createPatient({
    uuid: PATIENTS.collet,
    identifiers: [{ identifier: '6TS-4', identifierType: IDENTIFIER_TYPES.openmrsIdentificationNumber, location: LOCATIONS.unknown }],
    person: { gender: 'F', birthdate: '1976-08-25', names: [{ givenName: 'Collet', middleName: 'Test', familyName: 'Chebaskwony' }] },
  });

  // History that drives the two reports, relative to now so that "missed" stays missed.
  const now = Date.now();
  const iso = (ms: number): string => new Date(ms).toISOString();
  const date = (ms: number): string => iso(ms).slice(0, 10);
  const encounter = (patient: string, type: string, daysAgo: number, location: string, obs: Array<{ concept: string; value: unknown }>): void => {
    service.createEncounter({
      patient, encounterType: type, encounterDatetime: iso(now - daysAgo * DAY), location,
      encounterProviders: [{ provider: PROVIDERS.admin, encounterRole: UNKNOWN_ENCOUNTER_ROLE }], obs,
    });
  };
  encounter(PATIENTS.amina, ENCOUNTER_TYPES.referral, 5, LOCATIONS.northCatchment, [
    { concept: CONCEPTS.dangerSignsPresent, value: CONCEPTS.yes },
    { concept: CONCEPTS.referralReason, value: 'Fever and vomiting for three days' },
    { concept: CONCEPTS.referralUrgency, value: CONCEPTS.urgent },
  ]);
  encounter(PATIENTS.baraka, ENCOUNTER_TYPES.referral, 3, LOCATIONS.northCatchment, [
    { concept: CONCEPTS.dangerSignsPresent, value: CONCEPTS.no },
    { concept: CONCEPTS.referralReason, value: 'Needs blood pressure review' },
    { concept: CONCEPTS.referralUrgency, value: CONCEPTS.routine },
  ]);
  encounter(PATIENTS.daudi, ENCOUNTER_TYPES.referral, 20, LOCATIONS.southCatchment, [
    { concept: CONCEPTS.referralReason, value: 'Persistent cough' },
    { concept: CONCEPTS.referralUrgency, value: CONCEPTS.routine },
  ]);
  encounter(PATIENTS.daudi, ENCOUNTER_TYPES.communityFollowUp, 15, LOCATIONS.southCatchment, [
    { concept: CONCEPTS.weight, value: 71 },
    { concept: CONCEPTS.returnVisitDate, value: date(now + 10 * DAY) },
  ]);
  encounter(PATIENTS.chausiku, ENCOUNTER_TYPES.communityFollowUp, 30, LOCATIONS.southCatchment, [
    { concept: CONCEPTS.weight, value: 18.5 },
    { concept: CONCEPTS.temperature, value: 37.2 },
    { concept: CONCEPTS.returnVisitDate, value: date(now - 7 * DAY) },
  ]);
  encounter(PATIENTS.esther, ENCOUNTER_TYPES.homeVisit, 40, LOCATIONS.northCatchment, [
    { concept: CONCEPTS.visitDate, value: date(now - 40 * DAY) },
    { concept: CONCEPTS.returnVisitDate, value: date(now - 14 * DAY) },
  ]);
  service.createEncounter({
    uuid: SAMPLE_ENCOUNTER, patient: PATIENTS.collet, encounterType: ENCOUNTER_TYPES.consultation,
    encounterDatetime: '2008-08-01T00:00:00.000+0000', location: LOCATIONS.unknown,
  });
}
