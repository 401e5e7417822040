/**
 * Seeded CHT instance: the default hierarchy district_hospital -> health_center -> clinic
 * (a household), a CHW who is the health center's contact, three patients in the household, one
 * app-form report, the JSON forms the records API accepts and the medic-client views.
 * Ids are fixed so example flows and tests can name them.
 */
import { withCheckDigit } from './shortcodes';
import type { CouchDoc } from './couch';

export const USERNAME = 'medic';
export const PASSWORD = 'password';
/** Version reported by GET /api/info. */
export const CHT_VERSION = '4.21.0';

export const DISTRICT_HOSPITAL_ID = '3c7a64f2-5b1e-4d0a-9f3e-1a2b3c4d5e01';
export const HEALTH_CENTER_ID = '3c7a64f2-5b1e-4d0a-9f3e-1a2b3c4d5e02';
export const CLINIC_ID = '3c7a64f2-5b1e-4d0a-9f3e-1a2b3c4d5e03';
export const CHW_ID = '3c7a64f2-5b1e-4d0a-9f3e-1a2b3c4d5e04';
export const PATIENT_MARY_ID = '3c7a64f2-5b1e-4d0a-9f3e-1a2b3c4d5e05';
export const PATIENT_PETER_ID = '3c7a64f2-5b1e-4d0a-9f3e-1a2b3c4d5e06';
export const PATIENT_ROSE_ID = '3c7a64f2-5b1e-4d0a-9f3e-1a2b3c4d5e07';
export const PREGNANCY_REPORT_ID = '3c7a64f2-5b1e-4d0a-9f3e-1a2b3c4d5e08';

export const DISTRICT_HOSPITAL_PLACE_ID = withCheckDigit('1001');
export const HEALTH_CENTER_PLACE_ID = withCheckDigit('1002');
export const CLINIC_PLACE_ID = withCheckDigit('1003');
export const CHW_PATIENT_ID = withCheckDigit('2001');
export const PATIENT_MARY_PATIENT_ID = withCheckDigit('2002');
export const PATIENT_PETER_PATIENT_ID = withCheckDigit('2003');
export const PATIENT_ROSE_PATIENT_ID = withCheckDigit('2004');

export const CHW_PHONE = '+254712345679';
export const PATIENT_MARY_PHONE = '+254722000101';
export const PATIENT_PETER_PHONE = '+254722000102';
export const PATIENT_ROSE_PHONE = '+254722000103';

export interface ContactType {
  id: string;
  parents?: string[];
  person?: boolean;
}

/**
 * CHT's default hierarchy, plus the `patient` person type the docs' POST /api/v1/people example
 * uses (`type: "contact", contact_type: "patient"`), as configured deployments define one.
 */
export const CONTACT_TYPES: ContactType[] = [
  { id: 'district_hospital' },
  { id: 'health_center', parents: ['district_hospital'] },
  { id: 'clinic', parents: ['health_center'] },
  { id: 'person', parents: ['district_hospital', 'health_center', 'clinic'], person: true },
  { id: 'patient', parents: ['district_hospital', 'health_center', 'clinic'], person: true },
];

export interface JsonFormField {
  type: 'string' | 'integer' | 'date' | 'boolean';
  required?: boolean;
}

export interface JsonForm {
  meta: { code: string; label: string };
  fields: Record<string, JsonFormField>;
  /** Public forms accept reports from unknown phone numbers without a facility_not_found error. */
  public_form?: boolean;
}

/** app_settings.forms: the JSON (SMS) forms POST /api/v2/records accepts, keyed by upper-case code. */
export const JSON_FORMS: Record<string, JsonForm> = {
  // The form of the docs' POST /api/v2/records examples.
  YYYZ: {
    meta: { code: 'YYYZ', label: 'ANC visit' },
    fields: { nurse: { type: 'string' }, week: { type: 'integer' }, year: { type: 'integer' }, visit: { type: 'string' } },
  },
  REF: {
    meta: { code: 'REF', label: 'Referral' },
    fields: { patient_id: { type: 'string', required: true }, patient_temp_deg_f: { type: 'integer' }, notes: { type: 'string' } },
  },
  // RapidPro flow results written back by flows/cht-rapidpro-bidirectional.json.
  RPRES: {
    meta: { code: 'RPRES', label: 'RapidPro flow results' },
    fields: { patient_id: { type: 'string' }, patient_uuid: { type: 'string' }, rapidpro_contact: { type: 'string' }, rapidpro_flow: { type: 'string' }, rapidpro_run: { type: 'string' }, results: { type: 'string' } },
  },
  // Facility encounters of CHT patients, returned by flows/cht-to-emr.json (sent by no phone, hence public).
  FACVISIT: {
    meta: { code: 'FACVISIT', label: 'Facility visit (from the EMR)' },
    fields: {
      patient_id: { type: 'string', required: true }, patient_uuid: { type: 'string' }, openmrs_patient: { type: 'string' }, openmrs_encounter: { type: 'string' },
      encounter_type: { type: 'string' }, visit_date: { type: 'string' }, location: { type: 'string' }, chis_origin: { type: 'string' },
    },
    public_form: true,
  },
  // Trace requests raised by flows/cht-ltfu-trace.json (missed appointments, EMR ServiceRequests).
  TRACE: {
    meta: { code: 'TRACE', label: 'Trace request' },
    fields: { patient_id: { type: 'string', required: true }, patient_uuid: { type: 'string' }, reason: { type: 'string' }, appointment_date: { type: 'string' }, openmrs_patient: { type: 'string' }, service_request: { type: 'string' }, callback: { type: 'string' } },
    public_form: true,
  },
  // The health worker's trace outcome, read back by flows/cht-ltfu-trace.json.
  TRACEOUT: {
    meta: { code: 'TRACEOUT', label: 'Trace outcome' },
    fields: { patient_id: { type: 'string', required: true }, patient_uuid: { type: 'string' }, trace_request: { type: 'string' }, outcome: { type: 'string', required: true }, notes: { type: 'string' }, service_request: { type: 'string' }, callback: { type: 'string' } },
  },
};

const REPORTED = 1708453778059;
const hcLineage = { _id: HEALTH_CENTER_ID, parent: { _id: DISTRICT_HOSPITAL_ID } };
const clinicLineage = { _id: CLINIC_ID, parent: hcLineage };

/** Map functions of the medic-client design doc that CHT clients query (same keys as CHT's views). */
export const MEDIC_CLIENT_DDOC: CouchDoc = {
  _id: '_design/medic-client',
  views: {
    contacts_by_phone: {
      map: `function (doc) {
  var contactTypes = ['contact', 'district_hospital', 'health_center', 'clinic', 'person'];
  if (doc.phone && contactTypes.indexOf(doc.type) >= 0) emit(doc.phone);
}`,
    },
    contacts_by_reference: {
      map: `function (doc) {
  var contactTypes = ['contact', 'national_office', 'district_hospital', 'health_center', 'clinic', 'person'];
  if (contactTypes.indexOf(doc.type) < 0) return;
  if (doc.place_id) emit(['shortcode', String(doc.place_id)], doc.reported_date);
  if (doc.patient_id) emit(['shortcode', String(doc.patient_id)], doc.reported_date);
  if (doc.rc_code) emit(['external', String(doc.rc_code).toUpperCase()], doc.reported_date);
}`,
    },
    contacts_by_type: {
      map: `function (doc) {
  var typeId = doc.type === 'contact' ? doc.contact_type : doc.type;
  var contactTypes = ['contact', 'district_hospital', 'health_center', 'clinic', 'person'];
  if (contactTypes.indexOf(doc.type) >= 0) emit([typeId], doc.name);
}`,
    },
    // As CHT's: each string field's lower-cased words and "key:value", so a contact can be found by a field.
    contacts_by_freetext: {
      map: `function (doc) {
  var contactTypes = ['contact', 'district_hospital', 'health_center', 'clinic', 'person'];
  if (contactTypes.indexOf(doc.type) < 0) return;
  var skip = ['_id', '_rev', 'type', 'refid', 'geolocation'];
  var typeId = doc.type === 'contact' ? doc.contact_type : doc.type;
  Object.keys(doc).forEach(function (key) {
    var value = doc[key];
    if (skip.indexOf(key) >= 0 || (typeof value !== 'string' && typeof value !== 'number')) return;
    value = String(value).toLowerCase();
    emit([key.toLowerCase() + ':' + value], typeId);
    value.split(/\\s+/).forEach(function (word) { if (word.length >= 3) emit([word], typeId); });
  });
}`,
    },
    contacts_by_parent: {
      map: `function (doc) {
  if (doc.parent && doc.parent._id && doc.type !== 'data_record') emit([doc.parent._id, doc.type === 'contact' ? doc.contact_type : doc.type]);
}`,
    },
    reports_by_form: {
      map: `function (doc) {
  if (doc.type === 'data_record' && doc.form) emit([doc.form], doc.reported_date);
}`,
    },
  },
};

export function seedDocs(): CouchDoc[] {
  const chwContact = { _id: CHW_ID, parent: hcLineage };
  const maryContact = { _id: PATIENT_MARY_ID, parent: clinicLineage };
  return [
    MEDIC_CLIENT_DDOC,
    { _id: DISTRICT_HOSPITAL_ID, type: 'district_hospital', name: 'Kisumu District Hospital', reported_date: REPORTED, place_id: DISTRICT_HOSPITAL_PLACE_ID },
    {
      _id: HEALTH_CENTER_ID, type: 'health_center', name: 'Nyalenda Health Center', parent: { _id: DISTRICT_HOSPITAL_ID },
      contact: chwContact, reported_date: REPORTED, place_id: HEALTH_CENTER_PLACE_ID,
    },
    {
      _id: CLINIC_ID, type: 'clinic', name: 'Achieng Household', parent: hcLineage,
      contact: maryContact, reported_date: REPORTED, place_id: CLINIC_PLACE_ID,
    },
    {
      _id: CHW_ID, type: 'person', name: 'Grace Atieno', short_name: 'Grace', date_of_birth: '1990-04-12', phone: CHW_PHONE,
      sex: 'female', role: 'chw', reported_date: REPORTED, parent: hcLineage, patient_id: CHW_PATIENT_ID,
    },
    {
      _id: PATIENT_MARY_ID, type: 'person', name: 'Mary Achieng', short_name: 'Mary', date_of_birth: '1996-06-01', phone: PATIENT_MARY_PHONE,
      sex: 'female', role: 'patient', reported_date: REPORTED, parent: clinicLineage, patient_id: PATIENT_MARY_PATIENT_ID,
    },
    {
      _id: PATIENT_PETER_ID, type: 'person', name: 'Peter Otieno', short_name: 'Peter', date_of_birth: '1988-01-20', phone: PATIENT_PETER_PHONE,
      sex: 'male', role: 'patient', reported_date: REPORTED, parent: clinicLineage, patient_id: PATIENT_PETER_PATIENT_ID,
    },
    {
      _id: PATIENT_ROSE_ID, type: 'person', name: 'Rose Akinyi', short_name: 'Rose', date_of_birth: '2019-09-15', phone: PATIENT_ROSE_PHONE,
      sex: 'female', role: 'patient', reported_date: REPORTED, parent: clinicLineage, patient_id: PATIENT_ROSE_PATIENT_ID,
    },
    {
      _id: PREGNANCY_REPORT_ID, type: 'data_record', form: 'pregnancy', content_type: 'xml', reported_date: REPORTED + 3_600_000,
      fields: {
        patient_uuid: PATIENT_MARY_ID, patient_id: PATIENT_MARY_PATIENT_ID, patient_name: 'Mary Achieng',
        lmp_date: '2024-01-05', edd: '2024-10-11', danger_signs: { vaginal_bleeding: 'no', fever: 'no', severe_headache: 'no' },
      },
      contact: { _id: CHW_ID, parent: hcLineage },
    },
  ];
}
