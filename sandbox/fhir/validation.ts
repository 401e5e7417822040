/**
 * The minimal validation a real server would still refuse on: wrong or missing resourceType,
 * unknown types, bad ids, the required codes of the resources our nodes write, and references
 * that are not strings. Everything else passes, as on a lenient HAPI server.
 */
import { FhirError, type Resource } from './outcome';

const R4_TYPES = `Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse AuditEvent
Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement CarePlan CareTeam CatalogEntry
ChargeItem ChargeItemDefinition Claim ClaimResponse ClinicalImpression CodeSystem Communication CommunicationRequest
CompartmentDefinition Composition ConceptMap Condition Consent Contract Coverage CoverageEligibilityRequest
CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric DeviceRequest DeviceUseStatement
DiagnosticReport DocumentManifest DocumentReference EffectEvidenceSynthesis Encounter Endpoint EnrollmentRequest
EnrollmentResponse EpisodeOfCare EventDefinition Evidence EvidenceVariable ExampleScenario ExplanationOfBenefit
FamilyMemberHistory Flag Goal GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy Immunization
ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan Invoice Library Linkage List
Location Measure MeasureReport Media Medication MedicationAdministration MedicationDispense MedicationKnowledge
MedicationRequest MedicationStatement MedicinalProduct MedicinalProductAuthorization MedicinalProductContraindication
MedicinalProductIndication MedicinalProductIngredient MedicinalProductInteraction MedicinalProductManufactured
MedicinalProductPackaged MedicinalProductPharmaceutical MedicinalProductUndesirableEffect MessageDefinition
MessageHeader MolecularSequence NamingSystem NutritionOrder Observation ObservationDefinition OperationDefinition
OperationOutcome Organization OrganizationAffiliation Parameters Patient PaymentNotice PaymentReconciliation Person
PlanDefinition Practitioner PractitionerRole Procedure Provenance Questionnaire QuestionnaireResponse RelatedPerson
RequestGroup ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject RiskAssessment
RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen SpecimenDefinition StructureDefinition
StructureMap Subscription Substance SubstanceNucleicAcid SubstancePolymer SubstanceProtein
SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification SupplyDelivery SupplyRequest Task
TerminologyCapabilities TestReport TestScript ValueSet VerificationResult VisionPrescription`;

export const RESOURCE_TYPES = new Set(R4_TYPES.split(/\s+/));

/** Types the store keeps. Bundles go to the base URL as transaction/batch; the rest are not stored resources. */
export function assertStorableType(type: string): void {
  if (!RESOURCE_TYPES.has(type)) {
    throw new FhirError(404, `Unknown resource type '${type}' - Server knows how to handle: [${[...RESOURCE_TYPES].filter(isStorable).join(', ')}]`);
  }
  if (!isStorable(type)) throw new FhirError(400, `Resources of type ${type} are not stored by this server; POST transaction and batch Bundles to the base URL`);
}

function isStorable(type: string): boolean {
  return !['Bundle', 'OperationOutcome', 'Parameters', 'CapabilityStatement'].includes(type);
}

export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function assertId(id: string): void {
  if (!ID_PATTERN.test(id)) throw new FhirError(400, `Invalid resource ID "${id}": an id is 1-64 characters of [A-Za-z0-9-.]`);
}

const TASK_STATUS = ['draft', 'requested', 'received', 'accepted', 'rejected', 'ready', 'cancelled', 'in-progress', 'on-hold', 'failed', 'completed', 'entered-in-error'];
const TASK_INTENT = ['unknown', 'proposal', 'plan', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option'];
const GENDER = ['male', 'female', 'other', 'unknown'];

/** Where R4 has `identifier` as a list; a single object there is wrapped, as HAPI's lenient parser does. */
const SINGLE_IDENTIFIER_TYPES = new Set(['Bundle', 'Composition', 'DocumentManifest', 'QuestionnaireResponse', 'ClinicalImpression', 'Evidence', 'EffectEvidenceSynthesis']);

function checkReferences(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkReferences(item, `${path}[${index}]`));
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'reference' && typeof child !== 'string') {
      throw new FhirError(400, `Invalid reference at ${path}.reference: a Reference.reference must be a string, found ${Array.isArray(child) ? 'array' : typeof child}`);
    }
    if (key !== 'contained') checkReferences(child, `${path}.${key}`);
  }
}

function requireCode(resource: Resource, element: string, codes: string[], required: boolean): void {
  const value = resource[element];
  if (value === undefined && !required) return;
  if (value === undefined) throw new FhirError(400, `${resource.resourceType}.${element}: minimum required = 1, but only found 0`);
  if (typeof value !== 'string' || !codes.includes(value)) {
    throw new FhirError(400, `${resource.resourceType}.${element}: unknown code '${String(value)}' (allowed: ${codes.join(', ')})`);
  }
}

/**
 * Parses a request body into the resource to store: checks the type against the URL and returns
 * a private copy, with lenient fixes applied.
 */
export function parseResource(body: unknown, type: string): Resource {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    throw new FhirError(415, 'Only JSON (application/fhir+json) request bodies are supported');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new FhirError(400, 'Failed to parse request body as a JSON resource: expected an object with a resourceType');
  }
  const resource = structuredClone(body) as Resource;
  if (typeof resource.resourceType !== 'string') throw new FhirError(400, 'Invalid JSON content detected, missing required element: \'resourceType\'');
  if (resource.resourceType !== type) {
    throw new FhirError(400, `Incorrect resource type found, expected "${type}" but found "${resource.resourceType}"`);
  }
  if (resource.identifier && !Array.isArray(resource.identifier) && typeof resource.identifier === 'object' && !SINGLE_IDENTIFIER_TYPES.has(type)) {
    resource.identifier = [resource.identifier];
  }
  checkReferences(resource, type);
  if (type === 'Task') {
    requireCode(resource, 'status', TASK_STATUS, true);
    requireCode(resource, 'intent', TASK_INTENT, true);
  }
  if (type === 'Patient' || type === 'Practitioner' || type === 'RelatedPerson' || type === 'Person') {
    requireCode(resource, 'gender', GENDER, false);
  }
  return resource;
}
