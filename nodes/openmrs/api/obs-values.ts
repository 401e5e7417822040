/**
 * Turns the values a form or mapper produces into what OpenMRS accepts for an obs of a given
 * concept: numbers for Numeric, an answer concept uuid for Coded, booleans for Boolean, OpenMRS
 * datetimes for Date/Datetime. Errors name the question (the concept), never the value, which
 * is patient data.
 */
import { badInput } from '../../core/errors';
import { toOpenmrsDate, toOpenmrsDatetime } from './datetime';
import type { ConceptAnswer, ConceptInfo } from './types';

export type ObsValue = string | number | boolean;

/** OpenMRS uuids are 36 characters; CIEL ones are digits padded with A (1065AAAA…), without hyphens. */
const UUID = /^[0-9a-z-]{36}$/i;
/** CIEL concept uuids: the concept id padded with 'A's to 36 characters (1065AAAA…). */
const CIEL_UUID = /^(\d+)A+$/;
const YES = new Set(['yes', 'true', 'y', '1', 'oui']);
const NO = new Set(['no', 'false', 'n', '0', 'non']);
const CIEL_YES = '1065';
const CIEL_NO = '1066';

const cielId = (uuid: string): string | undefined => CIEL_UUID.exec(uuid)?.[1];
const normalise = (label: string): string => label.trim().toLowerCase().replace(/[\s_-]+/g, ' ');

export interface CoerceOptions {
  /** Where the value sits in the message, for errors, e.g. "msg.payload.obs[2].value". */
  field: string;
  timeZone: string;
}

const question = (concept: ConceptInfo): string => `"${concept.display || concept.uuid}"`;

export function coerceObsValue(concept: ConceptInfo, value: unknown, options: CoerceOptions): ObsValue {
  if (value === undefined || value === null || value === '') throw badInput(`${options.field}: no value for question ${question(concept)}`, options.field);
  switch (concept.datatype.toLowerCase()) {
    case 'numeric':
      return numericValue(concept, value, options.field);
    case 'coded':
      return codedValue(concept, value, options.field);
    case 'boolean':
      return booleanValue(concept, value, options.field);
    case 'text':
      if (typeof value === 'object') throw badInput(`${options.field}: question ${question(concept)} expects text`, options.field);
      return String(value);
    case 'date':
      return toOpenmrsDate(value, options.timeZone, options.field);
    case 'datetime':
      return toOpenmrsDatetime(value, options.timeZone, options.field);
    case 'time':
      if (typeof value !== 'string' || !/^\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value.trim())) {
        throw badInput(`${options.field}: question ${question(concept)} expects a time such as 14:30`, options.field);
      }
      return value.trim().length === 5 ? `${value.trim()}:00` : value.trim();
    default:
      throw badInput(`${options.field}: question ${question(concept)} has datatype ${concept.datatype}, which holds no value`, options.field);
  }
}

function numericValue(concept: ConceptInfo, value: unknown, field: string): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(number)) throw badInput(`${field}: question ${question(concept)} expects a number`, field);
  if (concept.allowDecimal === false && !Number.isInteger(number)) throw badInput(`${field}: question ${question(concept)} expects a whole number`, field);
  if (typeof concept.hiAbsolute === 'number' && number > concept.hiAbsolute) {
    throw badInput(`${field}: question ${question(concept)} allows at most ${concept.hiAbsolute}`, field);
  }
  if (typeof concept.lowAbsolute === 'number' && number < concept.lowAbsolute) {
    throw badInput(`${field}: question ${question(concept)} allows at least ${concept.lowAbsolute}`, field);
  }
  return number;
}

/** Which way a yes/no-like input points, if it is one. */
function truth(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : undefined;
  if (typeof value !== 'string') return undefined;
  const label = normalise(value);
  const ciel = cielId(value.trim()) ?? label;
  if (YES.has(label) || ciel === CIEL_YES) return true;
  if (NO.has(label) || ciel === CIEL_NO) return false;
  return undefined;
}

function codedValue(concept: ConceptInfo, value: unknown, field: string): string {
  const answers = concept.answers;
  if (typeof value === 'string' && UUID.test(value.trim())) {
    const uuid = value.trim();
    // A concept without listed answers may still be answered by any concept (set members, drugs...).
    if (!answers.length || answers.some((answer) => answer.uuid.toLowerCase() === uuid.toLowerCase())) return uuid;
    throw badInput(`${field}: the answer is not one of the answers of question ${question(concept)}`, field);
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    const found = findAnswer(answers, value);
    if (found) return found.uuid;
  }
  const known = answers.slice(0, 10).map((answer) => answer.display).join(', ');
  throw badInput(`${field}: no answer of question ${question(concept)} matches the value${known ? ` (answers: ${known})` : ''}`, field);
}

function findAnswer(answers: ConceptAnswer[], value: string | number | boolean): ConceptAnswer | undefined {
  if (typeof value === 'string' || typeof value === 'number') {
    const label = normalise(String(value));
    const byName = answers.find((answer) => [answer.display, ...answer.names].some((name) => normalise(name) === label));
    if (byName) return byName;
    const byCiel = answers.find((answer) => cielId(answer.uuid) === String(value).trim());
    if (byCiel) return byCiel;
  }
  const yes = truth(value);
  if (yes === undefined) return undefined;
  const code = yes ? CIEL_YES : CIEL_NO;
  const word = yes ? 'yes' : 'no';
  return answers.find((answer) => cielId(answer.uuid) === code) ?? answers.find((answer) => [answer.display, ...answer.names].some((name) => normalise(name) === word));
}

function booleanValue(concept: ConceptInfo, value: unknown, field: string): boolean {
  const result = truth(value);
  if (result === undefined) throw badInput(`${field}: question ${question(concept)} expects true/false (or yes/no)`, field);
  return result;
}
