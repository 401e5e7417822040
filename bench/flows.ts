/**
 * The bench's inputs: forwarded CommCare forms, the encounter flow's mapping widened to 10 obs
 * per form (the example maps 3), and the 50-field mapper flow of scenario 4.
 */
import { randomUUID } from 'node:crypto';
import { CONCEPTS } from '../sandbox/openmrs/seed';
import type { FlowNode } from '../scripts/runtime';
import { MAPPER_DRIVER_TYPE } from './mapper-driver';

export const FOLLOWUP_XMLNS = 'http://openrosa.org/formdesigner/chis-demo-followup';
export const TRACKER_REGISTRATION_XMLNS = 'http://openrosa.org/formdesigner/chis-demo-tracker-registration';
export const TRACKER_VISIT_XMLNS = 'http://openrosa.org/formdesigner/chis-demo-tracker-visit';

/** A forwarded form in HQ's form JSON, as Data Forwarding posts it. */
export function forwardedForm(xmlns: string, caseId: string, answers: Record<string, string>): Record<string, unknown> {
  const id = randomUUID();
  const now = new Date().toISOString();
  return {
    id,
    domain: 'demo',
    received_on: now,
    form: {
      '@xmlns': xmlns,
      '#type': 'data',
      ...answers,
      case: { '@case_id': caseId, '@xmlns': 'http://commcarehq.org/case/transaction/v2', '@date_modified': now, '@user_id': 'bench-user', update: {} },
      meta: { instanceID: id, userID: 'bench-user', timeStart: now, timeEnd: now },
    },
  };
}

export const FOLLOWUP_ANSWERS = {
  visit_date: '2026-11-20',
  weight_kg: '61.5',
  temperature_c: '37.4',
  danger_signs: 'no',
  height_cm: '162',
  return_visit_date: '2026-12-04',
  referral_reason: 'Review of blood pressure',
  referral_urgency: 'routine',
  reachable_by_phone: 'true',
  trace_outcome: 'found',
};

const obs = (concept: string, path: string, type: string, valueMap?: Record<string, string>): Record<string, unknown> => ({
  target: `obs[concept=${concept}].value`,
  source: { kind: 'path', path },
  ...(valueMap ? { valueMap: { entries: Object.entries(valueMap).map(([from, to]) => ({ from, to })), otherwise: 'error' } } : { type }),
});

/** Seven more obs for the example's mapping: with its weight, temperature and danger signs, 10 per form. */
const EXTRA_OBS = [
  obs(CONCEPTS.height, 'form.height_cm', 'number'),
  obs(CONCEPTS.returnVisitDate, 'form.return_visit_date', 'date'),
  obs(CONCEPTS.referralReason, 'form.referral_reason', 'string'),
  obs(CONCEPTS.referralUrgency, 'form.referral_urgency', '', { routine: CONCEPTS.routine, urgent: CONCEPTS.urgent }),
  obs(CONCEPTS.visitDate, 'form.visit_date', 'date'),
  obs(CONCEPTS.reachableByPhone, 'form.reachable_by_phone', 'boolean'),
  obs(CONCEPTS.traceOutcome, 'form.trace_outcome', '', { found: CONCEPTS.foundAndReturned, moved: CONCEPTS.moved }),
];

export function withTenObs(nodes: FlowNode[]): FlowNode[] {
  return nodes.map((node) => {
    if (node.type !== 'chis-mapper') return node;
    const mapping = JSON.parse(node.mapping as string) as { fields: unknown[] };
    mapping.fields.push(...EXTRA_OBS);
    return { ...node, mapping: JSON.stringify(mapping) };
  });
}

const FIELD_TYPES = ['string', 'number', 'date', 'integer', 'boolean'] as const;

/** The 50-field form of scenario 4 and its answers. */
export function fiftyFieldForm(): Record<string, unknown> {
  const form: Record<string, string> = {};
  for (let i = 0; i < 50; i += 1) {
    const type = FIELD_TYPES[i % FIELD_TYPES.length];
    form[`q${i}`] = type === 'string' ? `answer ${i}` : type === 'number' ? `${i}.5` : type === 'date' ? '2026-11-20' : type === 'integer' ? String(i) : 'true';
  }
  return { id: randomUUID(), form };
}

export function fiftyFieldMapping(): Record<string, unknown> {
  return {
    version: 1,
    fields: Array.from({ length: 50 }, (_, i) => ({
      target: `record.f${i}`,
      source: { kind: 'path', path: `form.q${i}` },
      type: FIELD_TYPES[i % FIELD_TYPES.length],
      required: i % 10 === 0,
    })),
  };
}

/** The same 50 conversions written by hand: what a script or an OpenFn job would do. */
export function mapFiftyByHand(source: { form: Record<string, string> }): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i < 50; i += 1) {
    const value = source.form[`q${i}`];
    switch (FIELD_TYPES[i % FIELD_TYPES.length]) {
      case 'number': record[`f${i}`] = Number(value); break;
      case 'integer': record[`f${i}`] = Number.parseInt(value, 10); break;
      case 'boolean': record[`f${i}`] = value === 'true'; break;
      case 'date': record[`f${i}`] = /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : undefined; break;
      default: record[`f${i}`] = value;
    }
  }
  return { record };
}

/**
 * Scenario 4's flow: POST /bench/mapper makes the driver keep `window` messages in flight through
 * the mapper and answer with the elapsed time and per-message latencies.
 */
export function mapperFlow(): FlowNode[] {
  const tab = 'bench-mapper-tab';
  return [
    { id: tab, type: 'tab', label: 'bench: mapper' },
    { id: 'bench-mapper-in', type: 'http in', z: tab, url: '/bench/mapper', method: 'post', upload: false, wires: [['bench-mapper-driver']] },
    { id: 'bench-mapper-driver', type: MAPPER_DRIVER_TYPE, z: tab, wires: [['bench-mapper'], ['bench-mapper-out']] },
    { id: 'bench-mapper', type: 'chis-mapper', z: tab, name: '50 fields', sourceProperty: 'payload', outputProperty: 'payload', targetSchema: '', mapping: JSON.stringify(fiftyFieldMapping()), wires: [['bench-mapper-driver']] },
    { id: 'bench-mapper-out', type: 'http response', z: tab, statusCode: '', headers: {}, wires: [] },
  ];
}
