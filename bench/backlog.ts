/**
 * Scenario 5, the backlog: forms posted to the encounter flow's receiver while OpenMRS is down
 * pile up in its durable outbox (chis-outbox-in); then OpenMRS comes back and the flow's
 * chis-outbox-out drains them through the case look-up, mapper and writer, in the runtime.
 * Peak RSS covers both; the drain rate is compared with scenario 1's rate at the same latency.
 */
import type { BenchEnv } from './env';
import { perSecond, runLoad, sleep } from './load';
import type { Measurement } from './results';
import { followUpForm, postForm, prepareEncounterFlow, SENDER_CONCURRENCY, type EncounterFixture } from './scenarios';

const LATENCY_MS = 5;

interface QueueState { queue: string; ready: number; inflight: number; dead: number; depth: number; circuit: string | null }

async function queueState(env: BenchEnv, queue: string): Promise<QueueState> {
  const { queues } = await env.runtime.api<{ queues: QueueState[] }>('GET', '/chis/outbox');
  return queues.find((entry) => entry.queue === queue) ?? { queue, ready: 0, inflight: 0, dead: 0, depth: 0, circuit: null };
}

export interface BacklogOptions {
  count: number;
  people: number;
  /** Stop timing the drain after this long (the rest drains unobserved): a full 100k drain can take many minutes. */
  drainBudgetMs: number;
  /** Scenario 1's msgs/s at 5 ms, to compare the drain rate with. */
  encounterRate?: number;
  encounterLimit?: number;
}

export async function backlogScenario(env: BenchEnv, options: BacklogOptions): Promise<Measurement[]> {
  let queue = '';
  const fixture: EncounterFixture = await prepareEncounterFlow(env, options.people, (nodes) => nodes.map((node) => {
    if (node.type !== 'chis-outbox-in') return node;
    queue = String(node.queue);
    return { ...node, maxQueued: options.count + 10_000 };
  }));
  if (!queue) throw new Error('the encounter flow has no chis-outbox-in node');
  await env.setDown('openmrs', true, LATENCY_MS);
  await env.setLatency(LATENCY_MS); // CommCare and DHIS2 answer, slowly
  await env.setDown('openmrs', true, LATENCY_MS);
  env.resetPeakRss();
  const fillStarted = performance.now();
  const fill = await runLoad(options.count, SENDER_CONCURRENCY * 4, (index) => postForm(env, '/commcare/forms', followUpForm(fixture, index)));
  if (fill.failures) throw new Error(`backlog: ${fill.failures} forms were refused, first: ${fill.firstError}`);
  const enqueueRate = perSecond(options.count, performance.now() - fillStarted);
  const queued = await queueState(env, queue);
  const rssWhenQueued = env.peakRssMb();
  console.log(`    backlog: ${queued.depth} queued at ${Math.round(enqueueRate)} forms/s (circuit ${queued.circuit}), peak RSS ${rssWhenQueued?.toFixed(1)} MB (now ${env.rssBreakdown()})`);
  const snapshot = await env.heapSnapshot();
  if (snapshot) console.log(`    backlog: heap snapshot after the fill: ${snapshot}`);

  await env.setDown('openmrs', false, LATENCY_MS);
  const backUp = performance.now();
  let firstDelivery: number | undefined;
  let last = queued;
  while (performance.now() - backUp < options.drainBudgetMs) {
    await sleep(250);
    last = await queueState(env, queue);
    if (firstDelivery === undefined && last.depth < queued.depth) firstDelivery = performance.now();
    if (last.depth === 0) break;
  }
  const ended = performance.now();
  const delivered = queued.depth - last.depth;
  const drainRate = firstDelivery === undefined ? 0 : perSecond(delivered, ended - firstDelivery);
  const peakRssMb = env.peakRssMb();
  console.log(`    backlog: ${delivered} of ${queued.depth} delivered in ${((ended - backUp) / 1000).toFixed(1)} s after OpenMRS came back`
    + ` (first after ${firstDelivery === undefined ? '–' : ((firstDelivery - backUp) / 1000).toFixed(1)} s), ${Math.round(drainRate)} msgs/s,`
    + ` ${last.dead} dead; scenario 1 at ${LATENCY_MS} ms: ${options.encounterRate?.toFixed(1) ?? '–'} msgs/s`);
  return [{
    scenario: `5 backlog of ${options.count}: drain via outbox-out (${LATENCY_MS} ms)${last.depth ? `, ${delivered} drained in ${Math.round(options.drainBudgetMs / 1000)} s` : ''}`,
    msgsPerSecond: drainRate,
    latenciesMs: fill.latenciesMs,
    peakRssMb,
    limitMsgsPerSecond: options.encounterLimit ?? null,
    peerMsgsPerSecond: null,
  }];
}
