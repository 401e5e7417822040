/** GET [base]/metadata: what this server supports, with the OAuth token endpoint for discovery. */
import { definitionFor } from './search';
import { TOKEN_PATH } from './seed';

const MAIN_TYPES = ['Patient', 'Practitioner', 'PractitionerRole', 'Organization', 'Endpoint', 'Location', 'Task', 'ServiceRequest', 'Encounter', 'Observation', 'Subscription'];

const SEARCH_PARAMS: Record<string, string[]> = {
  Patient: ['identifier', 'name', 'family', 'given', 'gender', 'birthdate', 'active', 'organization', 'general-practitioner', 'address', 'telecom'],
  Practitioner: ['identifier', 'name', 'family', 'given', 'gender', 'active', 'telecom'],
  PractitionerRole: ['identifier', 'practitioner', 'organization', 'location', 'role', 'active', 'endpoint'],
  Organization: ['identifier', 'name', 'type', 'active', 'partof', 'endpoint'],
  Endpoint: ['identifier', 'name', 'status', 'organization', 'connection-type'],
  Location: ['identifier', 'name', 'status', 'organization', 'partof', 'type'],
  Task: ['identifier', 'status', 'intent', 'code', 'subject', 'patient', 'for', 'owner', 'requester', 'based-on', 'focus', 'encounter', 'part-of', 'business-status', 'authored-on', 'priority'],
  ServiceRequest: ['identifier', 'status', 'intent', 'code', 'subject', 'patient', 'requester', 'based-on', 'encounter', 'performer', 'category', 'authored-on'],
  Encounter: ['identifier', 'status', 'subject', 'patient', 'practitioner', 'participant', 'location', 'service-provider', 'part-of', 'type', 'date'],
  Observation: ['identifier', 'status', 'code', 'subject', 'patient', 'encounter', 'based-on', 'focus', 'performer', 'category', 'date'],
  Subscription: ['status', 'type'],
};

const KIND_TO_TYPE: Record<string, string> = { token: 'token', string: 'string', reference: 'reference', date: 'date' };

export function capabilityStatement(base: string): unknown {
  const common = [
    { name: '_id', type: 'token' },
    { name: '_lastUpdated', type: 'date' },
  ];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'CHIS interop sandbox',
    kind: 'instance',
    software: { name: 'CHIS FHIR R4 sandbox', version: '1.0.0' },
    implementation: { description: 'FHIR R4 server simulator', url: base },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [{
      mode: 'server',
      security: {
        extension: [{
          url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
          extension: [{ url: 'token', valueUri: `${base.replace(/\/fhir$/, '')}${TOKEN_PATH}` }],
        }],
        service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth' }] }],
        description: 'Bearer tokens: the static demo token, or OAuth2 client credentials at the token endpoint',
      },
      resource: MAIN_TYPES.map((type) => ({
        type,
        interaction: ['read', 'vread', 'update', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map((code) => ({ code })),
        versioning: 'versioned-update',
        readHistory: true,
        updateCreate: true,
        conditionalCreate: true,
        conditionalUpdate: true,
        conditionalDelete: 'single',
        searchParam: [...common, ...(SEARCH_PARAMS[type] ?? []).map((name) => ({ name, type: KIND_TO_TYPE[definitionFor(type, name)?.kind ?? 'token'] }))],
      })),
      interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
    }],
  };
}
