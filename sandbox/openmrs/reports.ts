/**
 * The two saved searches the lost-to-follow-up workflow pulls through the reporting REST module
 * (`GET /reportingrest/reportdata/<uuid>`), evaluated live over the store. The response follows
 * reportingrest's evaluated report shape: `dataSets[].metadata.columns` and `dataSets[].rows`, each
 * row a flat `{column: value}` object (what CommCare's OpenMRS importer reads).
 */
import { REPORTS, CONCEPTS, ENCOUNTER_TYPES, ATTRIBUTE_TYPES } from './seed';
import type { Representer } from './representation';
import type { OpenmrsStore, Patient } from './store';
import { parseDatetime } from './dates';

type Json = Record<string, unknown>;
type Row = Record<string, string | number | null>;

interface Column {
  name: string;
  label: string;
  datatype: string;
}

interface ReportDefinition {
  uuid: string;
  name: string;
  description: string;
  columns: Column[];
  rows: (store: OpenmrsStore, representer: Representer, asOf: number) => Row[];
}

const text = (name: string, label: string): Column => ({ name, label, datatype: 'java.lang.String' });
const DAY = 86_400_000;

const COMMON_COLUMNS = [
  text('patient_uuid', 'Patient UUID'),
  text('identifier', 'OpenMRS ID'),
  text('given_name', 'Given name'),
  text('family_name', 'Family name'),
  text('phone', 'Telephone number'),
  text('location_uuid', 'Catchment UUID'),
  text('location', 'Catchment'),
];

function commonColumns(store: OpenmrsStore, representer: Representer, patient: Patient): Row {
  const person = store.persons.get(patient.uuid)!;
  const name = representer.preferredName(person);
  const identifier = representer.preferredIdentifier(patient);
  const phone = person.attributes.find((attribute) => !attribute.voided && attribute.attributeType === ATTRIBUTE_TYPES.telephoneNumber);
  const location = identifier?.location ?? null;
  return {
    patient_uuid: patient.uuid,
    identifier: identifier?.identifier ?? null,
    given_name: name?.givenName ?? null,
    family_name: name?.familyName ?? null,
    phone: phone?.value ?? null,
    location_uuid: location,
    location: location ? store.locations.get(location)?.name ?? null : null,
  };
}

const FOLLOW_UP_TYPES = new Set<string>([ENCOUNTER_TYPES.communityFollowUp, ENCOUNTER_TYPES.homeVisit, ENCOUNTER_TYPES.traceOutcome]);

const DEFINITIONS: ReportDefinition[] = [
  {
    uuid: REPORTS.needingFollowUp,
    name: 'Patients needing community follow-up',
    description: 'Patients whose latest referral has no community follow-up, home visit or trace outcome after it',
    columns: [...COMMON_COLUMNS, { name: 'referral_date', label: 'Referral date', datatype: 'java.util.Date' }, text('referral_reason', 'Referral reason'), text('urgency', 'Referral urgency')],
    rows: (store, representer, asOf) => activePatients(store).flatMap((patient) => {
      const encounters = store.encountersOf(patient.uuid).filter((encounter) => !encounter.voided && encounter.encounterDatetime <= asOf);
      const referral = latest(encounters.filter((encounter) => encounter.encounterType === ENCOUNTER_TYPES.referral));
      if (!referral) return [];
      if (encounters.some((encounter) => FOLLOW_UP_TYPES.has(encounter.encounterType) && encounter.encounterDatetime > referral.encounterDatetime)) return [];
      const obsValue = (concept: string): string | null => {
        const obs = referral.obs.map((uuid) => store.obs.get(uuid)).find((entry) => entry && !entry.voided && entry.concept === concept);
        return obs ? representer.obsValueDisplay(obs) : null;
      };
      return [{
        ...commonColumns(store, representer, patient),
        referral_date: new Date(referral.encounterDatetime).toISOString(),
        referral_reason: obsValue(CONCEPTS.referralReason),
        urgency: obsValue(CONCEPTS.referralUrgency),
      }];
    }),
  },
  {
    uuid: REPORTS.missedAppointments,
    name: 'Missed appointments',
    description: 'Patients whose latest return visit date has passed without an encounter since',
    columns: [...COMMON_COLUMNS, { name: 'appointment_date', label: 'Appointment date', datatype: 'java.util.Date' }, { name: 'days_missed', label: 'Days missed', datatype: 'java.lang.Integer' }],
    rows: (store, representer, asOf) => activePatients(store).flatMap((patient) => {
      const appointments = store.obsOf(patient.uuid).filter((obs) => !obs.voided && obs.concept === CONCEPTS.returnVisitDate && typeof obs.value === 'number');
      const appointment = appointments.sort((a, b) => b.obsDatetime - a.obsDatetime)[0];
      if (!appointment) return [];
      const due = appointment.value as number;
      if (due >= asOf) return [];
      const seenSince = store.encountersOf(patient.uuid).some((encounter) => !encounter.voided && encounter.encounterDatetime >= due);
      if (seenSince) return [];
      return [{
        ...commonColumns(store, representer, patient),
        appointment_date: new Date(due).toISOString().slice(0, 10),
        days_missed: Math.floor((asOf - due) / DAY),
      }];
    }),
  },
];

const BY_UUID = new Map(DEFINITIONS.map((definition) => [definition.uuid, definition]));

function activePatients(store: OpenmrsStore): Patient[] {
  return [...store.patients.values()].filter((patient) => !patient.voided && !store.persons.get(patient.uuid)?.dead);
}

function latest<T extends { encounterDatetime: number }>(items: T[]): T | undefined {
  return items.reduce<T | undefined>((best, item) => (!best || item.encounterDatetime > best.encounterDatetime ? item : best), undefined);
}

function definitionJson(definition: ReportDefinition, base: string): Json {
  return {
    uuid: definition.uuid,
    display: definition.name,
    name: definition.name,
    description: definition.description,
    parameters: [
      { name: 'endDate', label: 'End date', type: 'java.util.Date' },
      { name: 'location', label: 'Location', type: 'org.openmrs.Location' },
    ],
    links: [{ rel: 'self', uri: `${base}/reportingrest/reportDefinition/${definition.uuid}`, resourceAlias: 'reportDefinition' }],
  };
}

export function reportDefinitions(base: string): Json[] {
  return DEFINITIONS.map((definition) => definitionJson(definition, base));
}

export function reportDefinition(uuid: string, base: string): Json | undefined {
  const definition = BY_UUID.get(uuid);
  return definition && definitionJson(definition, base);
}

/**
 * Evaluates a report. `endDate` (yyyy-MM-dd) moves "today"; `location` keeps patients whose
 * preferred identifier belongs to that location or one of its child locations.
 */
export function evaluateReport(uuid: string, query: URLSearchParams, store: OpenmrsStore, representer: Representer, base: string): Json | undefined {
  const definition = BY_UUID.get(uuid);
  if (!definition) return undefined;
  const endDate = query.get('endDate');
  const asOf = endDate ? (parseDatetime(endDate) ?? Date.now()) + (endDate.length === 10 ? DAY - 1 : 0) : Date.now();
  let rows = definition.rows(store, representer, asOf);
  const location = query.get('location');
  if (location) {
    const within = new Set([location, ...[...store.locations.values()].filter((candidate) => candidate.parent === location).map((candidate) => candidate.uuid)]);
    rows = rows.filter((row) => row.location_uuid !== null && within.has(String(row.location_uuid)));
  }
  const parameterValues: Json = {};
  for (const [key, value] of query) if (key !== 'v') parameterValues[key] = value;
  return {
    uuid: definition.uuid,
    definition: definitionJson(definition, base),
    dataSets: [{
      uuid: `${definition.uuid}-ds`,
      metadata: { columns: definition.columns },
      rows,
      definition: { uuid: `${definition.uuid}-ds`, name: definition.name, description: definition.description, parameters: [] },
    }],
    context: { parameterValues, evaluationDate: new Date().toISOString() },
    links: [{ rel: 'self', uri: `${base}/reportingrest/reportdata/${definition.uuid}`, resourceAlias: 'reportdata' }],
    resourceVersion: '1.8',
  };
}
