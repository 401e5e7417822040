/**
 * Auth constants and seeded resources for the FHIR server as OpenSRP uses it: a facility
 * Organization with its callback Endpoint, the CHW Organization, a Location, two CHW
 * Practitioners with PractitionerRoles (the ones synced to OpenMRS) and two Patients.
 */
import type { Resource } from './outcome';

export const FHIR_STATIC_TOKEN = 'demo-fhir-token';
export const FHIR_CLIENT_ID = 'demo-fhir-client';
export const FHIR_CLIENT_SECRET = 'demo-fhir-secret';
export const TOKEN_TTL_SECONDS = 300;
export const TOKEN_PATH = '/oauth/token';

export const FACILITY_ORGANIZATION_ID = '3c2b1a90-6f1d-4c55-9a57-1f0e5d6c7b01';
export const FACILITY_ENDPOINT_ID = '3c2b1a90-6f1d-4c55-9a57-1f0e5d6c7b02';
/** Where the facility wants notifications; a Node-RED http-in node on the default port. */
export const FACILITY_CALLBACK_URL = 'http://127.0.0.1:1880/fhir/callback';
export const CHW_ORGANIZATION_ID = '3c2b1a90-6f1d-4c55-9a57-1f0e5d6c7b03';
export const LOCATION_ID = '3c2b1a90-6f1d-4c55-9a57-1f0e5d6c7b04';
export const PRACTITIONER_IDS = ['3c2b1a90-6f1d-4c55-9a57-1f0e5d6c7b11', '3c2b1a90-6f1d-4c55-9a57-1f0e5d6c7b12'] as const;
export const PRACTITIONER_ROLE_IDS = ['3c2b1a90-6f1d-4c55-9a57-1f0e5d6c7b21', '3c2b1a90-6f1d-4c55-9a57-1f0e5d6c7b22'] as const;
export const PATIENT_IDS = ['3c2b1a90-6f1d-4c55-9a57-1f0e5d6c7b31', '3c2b1a90-6f1d-4c55-9a57-1f0e5d6c7b32'] as const;

/** Identifier systems used by the seed (OpenSRP keeps its Keycloak user id on the Practitioner). */
export const PRACTITIONER_IDENTIFIER_SYSTEM = 'http://opensrp.org/fhir/keycloak-user-id';
export const PATIENT_IDENTIFIER_SYSTEM = 'http://opensrp.org/fhir/patient-id';
export const FACILITY_IDENTIFIER_SYSTEM = 'http://example.org/fhir/facility-code';
export const PRACTITIONER_KEYCLOAK_IDS = ['a1f3c2d4-5b6e-4f70-8a91-b2c3d4e5f601', 'a1f3c2d4-5b6e-4f70-8a91-b2c3d4e5f602'] as const;
export const PATIENT_OPENSRP_IDS = ['OPENSRP-0001', 'OPENSRP-0002'] as const;

const CHW_ROLE = {
  coding: [{ system: 'http://snomed.info/sct', code: '223366009', display: 'Healthcare professional' }],
  text: 'Community Health Worker',
};

const PRACTITIONERS = [
  { given: 'Jane', family: 'Achieng', gender: 'female', username: 'chw.jane', phone: '+254700000001' },
  { given: 'Peter', family: 'Otieno', gender: 'male', username: 'chw.peter', phone: '+254700000002' },
];

const PATIENTS = [
  { given: 'Mary', family: 'Atieno', gender: 'female', birthDate: '1994-03-12' },
  { given: 'John', family: 'Odhiambo', gender: 'male', birthDate: '2021-07-01' },
];

export function seedResources(): Resource[] {
  const resources: Resource[] = [
    {
      resourceType: 'Organization',
      id: FACILITY_ORGANIZATION_ID,
      identifier: [{ use: 'official', system: FACILITY_IDENTIFIER_SYSTEM, value: 'FAC-0001' }],
      active: true,
      type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov', display: 'Healthcare Provider' }] }],
      name: 'Kolwa Health Centre',
      endpoint: [{ reference: `Endpoint/${FACILITY_ENDPOINT_ID}` }],
    },
    {
      resourceType: 'Endpoint',
      id: FACILITY_ENDPOINT_ID,
      status: 'active',
      connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' },
      name: 'Kolwa Health Centre callback',
      managingOrganization: { reference: `Organization/${FACILITY_ORGANIZATION_ID}` },
      payloadType: [{ text: 'FHIR resources' }],
      payloadMimeType: ['application/fhir+json'],
      address: FACILITY_CALLBACK_URL,
    },
    {
      resourceType: 'Organization',
      id: CHW_ORGANIZATION_ID,
      identifier: [{ use: 'official', system: FACILITY_IDENTIFIER_SYSTEM, value: 'CHU-0001' }],
      active: true,
      type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'team', display: 'Organizational team' }] }],
      name: 'Kolwa Community Health Unit',
      partOf: { reference: `Organization/${FACILITY_ORGANIZATION_ID}` },
    },
    {
      resourceType: 'Location',
      id: LOCATION_ID,
      status: 'active',
      name: 'Kolwa Village',
      mode: 'instance',
      physicalType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/location-physical-type', code: 'area', display: 'Area' }] },
      managingOrganization: { reference: `Organization/${CHW_ORGANIZATION_ID}` },
    },
  ];
  PRACTITIONERS.forEach((person, index) => {
    resources.push({
      resourceType: 'Practitioner',
      id: PRACTITIONER_IDS[index],
      identifier: [
        { use: 'official', system: PRACTITIONER_IDENTIFIER_SYSTEM, value: PRACTITIONER_KEYCLOAK_IDS[index] },
        { use: 'secondary', system: 'http://opensrp.org/fhir/username', value: person.username },
      ],
      active: true,
      name: [{ use: 'official', family: person.family, given: [person.given] }],
      telecom: [{ system: 'phone', value: person.phone }],
      gender: person.gender,
    });
    resources.push({
      resourceType: 'PractitionerRole',
      id: PRACTITIONER_ROLE_IDS[index],
      active: true,
      practitioner: { reference: `Practitioner/${PRACTITIONER_IDS[index]}` },
      organization: { reference: `Organization/${CHW_ORGANIZATION_ID}` },
      code: [CHW_ROLE],
      location: [{ reference: `Location/${LOCATION_ID}` }],
    });
  });
  PATIENTS.forEach((person, index) => {
    resources.push({
      resourceType: 'Patient',
      id: PATIENT_IDS[index],
      identifier: [{ use: 'usual', system: PATIENT_IDENTIFIER_SYSTEM, value: PATIENT_OPENSRP_IDS[index] }],
      active: true,
      name: [{ use: 'official', family: person.family, given: [person.given] }],
      gender: person.gender,
      birthDate: person.birthDate,
      managingOrganization: { reference: `Organization/${CHW_ORGANIZATION_ID}` },
      generalPractitioner: [{ reference: `Practitioner/${PRACTITIONER_IDS[index]}` }],
    });
  });
  return resources;
}
