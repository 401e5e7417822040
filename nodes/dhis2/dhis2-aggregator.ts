/**
 * chis-dhis2-aggregator: counts and sums records into a monthly (weekly...) report. Every
 * message adds to the tallies, kept in a durable checkpoint; a flush message (msg.topic
 * "flush" or msg.flush = true, e.g. from a cron inject) emits one data value set per org unit
 * and period, ready for the aggregate writer.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { badInput } from '../core/errors';
import { handleInput, registerNodeType } from '../core/node-kit';
import { type AggregationRule, type AggregatorState, addDays, addMessage, describeTallies, emptyState, flush, validateRules, valueAtPath } from './api/aggregator';
import { isPeriodType, type PeriodType } from './api/periods';

interface AggregatorDef extends NodeDef {
  dataSet?: string;
  periodType?: string;
  rules?: AggregationRule[];
  idPath?: string;
  endedOnly?: boolean;
  retainDays?: number | string;
}

type AggregatorMsg = NodeMessage & { flush?: boolean; period?: string };

const today = (): string => new Date().toISOString().slice(0, 10);

export default function register(RED: NodeAPI): void {
  function Dhis2Aggregator(this: Node, def: AggregatorDef): void {
    RED.nodes.createNode(this, def);
    let rules: AggregationRule[];
    try {
      rules = validateRules(def.rules);
    } catch (error) {
      this.status({ fill: 'red', shape: 'ring', text: (error as Error).message });
      return;
    }
    const periodType: PeriodType = isPeriodType(def.periodType) ? def.periodType : 'Monthly';
    const retainDays = Number.isFinite(Number(def.retainDays)) && Number(def.retainDays) >= 0 && def.retainDays !== '' ? Number(def.retainDays) : 45;
    const store = CheckpointStore.inUserDir(RED.settings.userDir as string | undefined);
    const key = `dhis2-aggregator-${this.id}`;
    const state: AggregatorState = store.load<AggregatorState>(key) ?? emptyState();
    let duplicates = 0;
    let tooOld = 0;
    const show = (): void => {
      const notes = [duplicates ? `${duplicates} repeated` : '', tooOld ? `${tooOld} too old` : ''].filter(Boolean);
      this.status({ fill: tooOld ? 'yellow' : 'green', shape: 'dot', text: [describeTallies(state), ...notes].join(' · ') });
    };
    show();

    handleInput<AggregatorMsg>(this, async (msg, send) => {
      if (msg.topic === 'flush' || msg.flush === true) {
        if (msg.period !== undefined && typeof msg.period !== 'string') throw badInput('msg.period must be a period like 202403', 'msg.period');
        const sets = flush(state, { dataSet: def.dataSet || undefined, period: msg.period, endedOnly: def.endedOnly !== false, today: today(), retainDays });
        store.save(key, state);
        show();
        for (const payload of sets) send({ topic: `${payload.orgUnit}/${payload.period}`, payload } as NodeMessage);
        return;
      }
      let id: string | undefined;
      if (def.idPath) {
        const raw = valueAtPath(msg, def.idPath);
        if (raw !== undefined && raw !== null && raw !== '') id = String(raw);
      }
      const added = addMessage(state, rules, periodType, msg, id, addDays(today(), -retainDays));
      if (added.duplicate) duplicates += 1;
      tooOld += added.tooOld ? 1 : 0;
      if (added.counted) store.save(key, state);
      show();
    });
  }
  registerNodeType(RED, 'chis-dhis2-aggregator', Dhis2Aggregator);
}
