/**
 * Weighted property matching of a record (a CommCare case, a CHT contact) against OpenMRS
 * patients, after MOTECH's WeightedPropertyPatientFinder: each configured property that matches
 * adds its weight; candidates scoring at least the threshold qualify; with several qualifying,
 * the best must score more than (1 + margin) times the runner-up. Anything less certain is no
 * match: a missed match costs a manual link, a wrong match mixes two people's health records.
 */
import { parseOpenmrsDatetime } from './datetime';
import type { Patient } from './types';

export type MatchType = 'exact' | 'levenshtein' | 'days_diff';

export interface PropertyWeight {
  /**
   * givenName, middleName, familyName, gender, birthdate, address fields (address1,
   * cityVillage, ...), `identifier:<type name or uuid>`, `attribute:<type name or uuid>`.
   */
  property: string;
  weight: number;
  match?: MatchType;
  /** levenshtein: the most edits that still match (default 1). */
  maxDistance?: number;
  /** days_diff: the most days apart that still match (default 0). */
  days?: number;
}

export interface MatchSettings {
  weights: PropertyWeight[];
  /** Default 1.0. */
  threshold?: number;
  /** Default 0.667. */
  confidenceMargin?: number;
}

export interface ScoredCandidate {
  uuid: string;
  display?: string;
  score: number;
  /** The properties that matched, for explaining a decision. */
  matched: string[];
}

export type MatchDecision =
  | { outcome: 'match'; best: ScoredCandidate; candidates: ScoredCandidate[] }
  | { outcome: 'no-candidates' | 'below-threshold' | 'ambiguous'; candidates: ScoredCandidate[] };

export const DEFAULT_THRESHOLD = 1.0;
export const DEFAULT_CONFIDENCE_MARGIN = 0.667;

export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

const normalise = (value: unknown): string | undefined => {
  if (value === undefined || value === null) return undefined;
  const text = String(value).normalize('NFKD').replace(/[\u0300-\u036f]/g, '').trim().toLowerCase().replace(/\s+/g, ' ');
  return text || undefined;
};

const DAY_MS = 86_400_000;

/** A date's day number, ignoring time and offset (a birthdate is a calendar date). */
function dayNumber(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(value.trim());
  if (date) return Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3])) / DAY_MS;
  const instant = parseOpenmrsDatetime(value);
  return instant === undefined ? undefined : Math.floor(instant / DAY_MS);
}

export function valuesMatch(weight: PropertyWeight, wanted: unknown, actual: unknown): boolean {
  const match = weight.match ?? 'exact';
  if (match === 'days_diff') {
    const a = dayNumber(wanted);
    const b = dayNumber(actual);
    return a !== undefined && b !== undefined && Math.abs(a - b) <= (weight.days ?? 0);
  }
  const a = normalise(wanted);
  const b = normalise(actual);
  if (a === undefined || b === undefined) return false;
  if (match === 'levenshtein') return levenshtein(a, b) <= (weight.maxDistance ?? 1);
  return a === b;
}

const sameRef = (ref: { uuid?: string; display?: string; name?: string } | undefined, key: string): boolean =>
  !!ref && [ref.uuid, ref.display, ref.name].some((value) => typeof value === 'string' && value.toLowerCase() === key.toLowerCase());

/** Every value a patient has for a property (a patient may have several names or identifiers). */
export function patientValues(patient: Patient, property: string): unknown[] {
  const person = patient.person ?? ({} as Patient['person']);
  const names = [person.preferredName, ...(person.names ?? [])].filter((name) => name && !name.voided);
  if (property === 'givenName' || property === 'middleName' || property === 'familyName') return names.map((name) => name?.[property]);
  if (property === 'gender' || property === 'birthdate') return [person[property]];
  if (property.startsWith('identifier:')) {
    const type = property.slice('identifier:'.length);
    return (patient.identifiers ?? []).filter((identifier) => !identifier.voided && sameRef(identifier.identifierType, type)).map((identifier) => identifier.identifier);
  }
  if (property.startsWith('attribute:')) {
    const type = property.slice('attribute:'.length);
    return (person.attributes ?? [])
      .filter((attribute) => !attribute.voided && sameRef(attribute.attributeType, type))
      .map((attribute) => (attribute.value && typeof attribute.value === 'object' ? (attribute.value as { display?: unknown; uuid?: unknown }).display ?? (attribute.value as { uuid?: unknown }).uuid : attribute.value));
  }
  return [person.preferredAddress, ...(person.addresses ?? [])].filter(Boolean).map((address) => address?.[property]);
}

/** One weight per property at most, however many of the patient's values match it. */
export function scorePatient(record: Record<string, unknown>, patient: Patient, weights: PropertyWeight[]): ScoredCandidate {
  let score = 0;
  const matched: string[] = [];
  for (const weight of weights) {
    const wanted = record[weight.property];
    if (wanted === undefined || wanted === null || wanted === '') continue;
    if (patientValues(patient, weight.property).some((actual) => valuesMatch(weight, wanted, actual))) {
      score += weight.weight;
      matched.push(weight.property);
    }
  }
  // Sums of decimal weights (0.1 + 0.2) must compare cleanly with the threshold.
  return { uuid: patient.uuid, display: patient.display, score: Math.round(score * 1e6) / 1e6, matched };
}

export function decideMatch(scored: ScoredCandidate[], settings: Pick<MatchSettings, 'threshold' | 'confidenceMargin'> = {}): MatchDecision {
  const threshold = settings.threshold ?? DEFAULT_THRESHOLD;
  const margin = settings.confidenceMargin ?? DEFAULT_CONFIDENCE_MARGIN;
  const candidates = [...scored].sort((a, b) => b.score - a.score);
  if (!candidates.length) return { outcome: 'no-candidates', candidates };
  const qualifying = candidates.filter((candidate) => candidate.score >= threshold);
  if (!qualifying.length) return { outcome: 'below-threshold', candidates };
  if (qualifying.length === 1) return { outcome: 'match', best: qualifying[0], candidates };
  const [best, runnerUp] = qualifying;
  if (best.score > runnerUp.score * (1 + margin)) return { outcome: 'match', best, candidates };
  return { outcome: 'ambiguous', candidates };
}

export function findMatch(record: Record<string, unknown>, patients: Patient[], settings: MatchSettings): MatchDecision {
  const unique = new Map<string, Patient>();
  for (const patient of patients) if (patient?.uuid && !patient.voided) unique.set(patient.uuid, patient);
  return decideMatch([...unique.values()].map((patient) => scorePatient(record, patient, settings.weights)), settings);
}
