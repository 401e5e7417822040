/**
 * chis-openmrs-patient-finder: finds the OpenMRS patient a record (a CommCare case, a CHT contact)
 * stands for when no stored uuid or identifier links them. Candidates come from a REST name
 * search; weighted property matching decides. No confident match goes to the second output,
 * for a person to link by hand: a wrong match would merge two people's records.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { badInput } from '../core/errors';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { compileValidator } from '../core/schema';
import { DEFAULT_CONFIDENCE_MARGIN, DEFAULT_THRESHOLD, type PropertyWeight, findMatch } from './api/patient-matching';
import type { Patient } from './api/types';
import type { OpenmrsConfigNode } from './openmrs-config';

interface FinderDef extends NodeDef {
  server: string;
  /** JSON array of PropertyWeight. */
  weights: string;
  /** Comma-separated record properties whose values are searched by name (REST `q`). */
  searchBy?: string;
  threshold?: number | string;
  confidenceMargin?: number | string;
}

export const DEFAULT_WEIGHTS: PropertyWeight[] = [
  { property: 'givenName', weight: 0.3, match: 'levenshtein', maxDistance: 1 },
  { property: 'familyName', weight: 0.4, match: 'levenshtein', maxDistance: 1 },
  { property: 'birthdate', weight: 0.3, match: 'days_diff', days: 30 },
  { property: 'gender', weight: 0.1, match: 'exact' },
  { property: 'attribute:Telephone Number', weight: 0.5, match: 'exact' },
];

const WEIGHTS_SCHEMA = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['property', 'weight'],
    properties: {
      property: { type: 'string', minLength: 1 },
      weight: { type: 'number', exclusiveMinimum: 0 },
      match: { enum: ['exact', 'levenshtein', 'days_diff'] },
      maxDistance: { type: 'integer', minimum: 0 },
      days: { type: 'integer', minimum: 0 },
    },
    additionalProperties: false,
  },
};

const RECORD_SCHEMA = { type: 'object', minProperties: 1 };

export function parseWeights(text: string | undefined): PropertyWeight[] {
  if (!text?.trim()) return DEFAULT_WEIGHTS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badInput('the property weights are not valid JSON', 'weights');
  }
  return compileValidator<PropertyWeight[]>(WEIGHTS_SCHEMA, 'weights')(parsed);
}

const numberOr = (value: unknown, fallback: number): number => (value === '' || value === undefined || !Number.isFinite(Number(value)) ? fallback : Number(value));

type FinderMsg = NodeMessage & { patient?: string; match?: unknown };

export default function register(RED: NodeAPI): void {
  const validateRecord = compileValidator<Record<string, unknown>>(RECORD_SCHEMA);

  function OpenmrsPatientFinder(this: Node, def: FinderDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as OpenmrsConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no OpenMRS server configured' });
      return;
    }
    let weights: PropertyWeight[];
    try {
      weights = parseWeights(def.weights);
    } catch (error) {
      this.status({ fill: 'red', shape: 'ring', text: 'invalid property weights' });
      this.error((error as Error).message);
      return;
    }
    const settings = { weights, threshold: numberOr(def.threshold, DEFAULT_THRESHOLD), confidenceMargin: numberOr(def.confidenceMargin, DEFAULT_CONFIDENCE_MARGIN) };
    const searchBy = (def.searchBy || 'familyName,givenName').split(',').map((name) => name.trim()).filter(Boolean);
    const status = new ActivityStatus(this, 'searched');
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());

    handleInput<FinderMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const record = validateRecord(msg.payload);
        const terms = [...new Set(searchBy.map((property) => record[property]).filter((value) => typeof value === 'string' && value.trim().length >= 2) as string[])];
        if (!terms.length) throw badInput(`msg.payload has none of the search properties (${searchBy.join(', ')})`, `msg.payload.${searchBy[0]}`);
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        const candidates: Patient[] = [];
        for (const term of terms) candidates.push(...(await client.searchPatients(term.trim(), { signal })));
        const decision = findMatch(record, candidates, settings);
        status.succeed();
        if (decision.outcome === 'match') {
          msg.patient = decision.best.uuid;
          msg.match = { outcome: 'match', score: decision.best.score, matched: decision.best.matched, candidates: decision.candidates };
          send([msg, null]);
        } else {
          msg.match = { outcome: decision.outcome, candidates: decision.candidates };
          send([null, msg]);
        }
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-openmrs-patient-finder', OpenmrsPatientFinder);
}
