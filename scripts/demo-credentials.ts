/**
 * The demo's credentials, by node type, or by node id where one config node differs from the
 * others of its type (the id wins): the real products' well-known demo defaults and the demo
 * receiver secrets documented in the README. They are deployed through the admin API into
 * Node-RED's credential store, so no flow file ever contains them.
 */
export const DEMO_CREDENTIALS: Record<string, Record<string, string>> = {
  'chis-openmrs-config': { username: 'admin', password: 'Admin123' },
  'chis-dhis2-config': { username: 'admin', password: 'district' },
  'chis-commcare-config': { username: 'demo@example.org', apiKey: 'demo-api-key' },
  'chis-rapidpro-config': { token: 'demo-rapidpro-token' },
  'chis-cht-config': { username: 'medic', password: 'password' },
  'chis-openhim-config': { username: 'root@openhim.org', password: 'openhim-password' },
  'chis-fhir-config': { token: 'demo-fhir-token' },
  'chis-receiver-auth': { username: 'demo', password: 'demo-secret', token: 'demo-secret' },
  // OpenMRS's FHIR2 module (a chis-fhir-config node) takes OpenMRS's basic auth, not the FHIR sandbox's token.
  'demo-openmrs-fhir': { username: 'admin', password: 'Admin123' },
};
