/**
 * Scenarios 1-4 of issue #11 with their baselines, each measured side by side in one run:
 * ours (the real Node-RED runtime running the flow), the limit (raw keep-alive HTTP making the
 * same requests at the same concurrency) and the peer (OpenFn's adaptors, one job per message).
 */
import { randomUUID } from 'node:crypto';
import * as openmrsSeed from '../sandbox/openmrs/seed';
import type { FlowNode } from '../scripts/runtime';
import { AUTH, RECEIVER_AUTH, type BenchEnv, type BenchSystem, type LoggedRequest } from './env';
import {
  FOLLOWUP_ANSWERS, FOLLOWUP_XMLNS, TRACKER_REGISTRATION_XMLNS, TRACKER_VISIT_XMLNS, fiftyFieldForm, fiftyFieldMapping, forwardedForm, mapFiftyByHand, mapperFlow, withTenObs,
} from './flows';
import { perSecond, runLoad, sleep, until, type LoadRun } from './load';
import { commonAdaptor, httpAdaptor, openmrsAdaptor, quietly, type OpenFnState } from './openfn';
import type { Measurement } from './results';
import { compileMapping, type Mapping } from '../nodes/core/mapping';

export interface ScenarioOptions { count: number; latencyMs: number }

/** One request a flow made for one message, as the sandbox logged it. */
export interface RecordedRequest { system: BenchSystem; method: string; path: string; body?: unknown }

function assertClean(run: LoadRun, what: string): void {
  if (run.failures) throw new Error(`${what}: ${run.failures} of ${run.failures + run.latenciesMs.length} messages failed, first: ${run.firstError}`);
}

/** The requests the sandboxes saw since their logs were cleared, in order (control routes excluded). */
async function recorded(env: BenchEnv, systems: BenchSystem[]): Promise<RecordedRequest[]> {
  const all: Array<LoggedRequest & { system: BenchSystem; rank: number }> = [];
  for (const [rank, system] of systems.entries()) {
    for (const entry of await env.requests(system)) all.push({ ...entry, system, rank });
  }
  all.sort((a, b) => a.time.localeCompare(b.time) || a.rank - b.rank || a.seq - b.seq);
  return all.map((entry) => ({ system: entry.system, method: entry.method, path: entry.query ? `${entry.path}?${entry.query}` : entry.path, body: entry.body }));
}

/** The limit: each message replays `perMessage` one request after another on keep-alive connections. */
async function rawLimit(env: BenchEnv, perMessage: (index: number) => RecordedRequest[], count: number, concurrency: number): Promise<number> {
  const run = await runLoad(count, concurrency, async (index) => {
    for (const request of perMessage(index)) {
      const response = await env.raw[request.system].send({ method: request.method, path: request.path, body: request.body, headers: { Authorization: AUTH[request.system] } });
      if (response.status >= 400) throw new Error(`${request.method} ${request.path} -> ${response.status}`);
    }
  });
  assertClean(run, 'raw limit');
  return perSecond(count, run.elapsedMs);
}

/**
 * The peer: the same requests as OpenFn jobs, one workflow run per message. OpenMRS creates go
 * through @openfn/language-openmrs, everything else through @openfn/language-http; each run of
 * consecutive requests to one system is one step (one `execute`), as a Lightning workflow would be.
 */
async function openFnPeer(env: BenchEnv, perMessage: (index: number) => RecordedRequest[], count: number, concurrency: number): Promise<number> {
  const openmrs = openmrsAdaptor();
  const http = httpAdaptor();
  const stepsOf = (requests: RecordedRequest[]): RecordedRequest[][] => {
    const steps: RecordedRequest[][] = [];
    for (const request of requests) {
      const last = steps[steps.length - 1];
      if (last && last[0].system === request.system) last.push(request);
      else steps.push([request]);
    }
    return steps;
  };
  const run = await quietly(() => runLoad(count, concurrency, async (index) => {
    let state: OpenFnState = { data: {} };
    for (const step of stepsOf(perMessage(index))) {
      const system = step[0].system;
      if (system === 'openmrs' && step.every((request) => request.method === 'POST' && request.path.includes('/ws/rest/v1/'))) {
        const operations = step.map((request) => openmrs.create(request.path.split('/ws/rest/v1/')[1], request.body));
        state = await openmrs.execute(...operations)({ configuration: { instanceUrl: `${env.origins.openmrs}/openmrs`, username: 'admin', password: 'Admin123' }, data: state.data });
      } else {
        const headers = { Authorization: AUTH[system] };
        const operations = step.map((request) => (request.method === 'GET'
          ? http.get(request.path, { headers })
          : http.post(request.path, request.body, { headers })));
        state = await http.execute(...operations)({ configuration: { baseUrl: env.origins[system] }, data: state.data });
      }
    }
  }));
  assertClean(run, 'OpenFn peer');
  return perSecond(count, run.elapsedMs);
}

export const postForm = async (env: BenchEnv, route: string, form: unknown): Promise<void> => {
  const response = await env.sender.send({ method: 'POST', path: route, headers: { Authorization: RECEIVER_AUTH }, body: form });
  if (response.status !== 200) throw new Error(`POST ${route} -> ${response.status}: ${response.body.slice(0, 300)}`);
};

const countRequests = async (env: BenchEnv, system: BenchSystem, filter: string): Promise<number> => (await env.requests(system, filter)).length;

// --- Scenario 1: CommCare forms -> OpenMRS encounters with 10 obs ----------------------------------

/** Forms in flight from the sender (CommCare HQ forwards several forms at once). */
export const SENDER_CONCURRENCY = 8;
const ENCOUNTER_CREATED = 'method=POST&path=/encounter$&status=201';

export interface EncounterFixture {
  /** CommCare case id and OpenMRS patient uuid of each bench patient. */
  people: Array<{ caseId: string; patient: string }>;
  /** Concurrent deliveries to OpenMRS in the flow (its outbox-out, else the sender's): the limit and the peer use the same. */
  concurrency: number;
}

/** Creates `count` OpenMRS patients, each with a CommCare case linked by external_id. */
async function createPeople(env: BenchEnv, count: number): Promise<Array<{ caseId: string; patient: string }>> {
  await env.setLatency(0);
  const people: Array<{ caseId: string; patient: string }> = [];
  const run = await runLoad(count, 16, async (index) => {
    const patient = await createPatient(env, index);
    const created = await env.raw.commcare.json<{ case_id?: string; case?: { case_id: string } }>({
      method: 'POST', path: '/a/demo/api/case/v2/', headers: { Authorization: AUTH.commcare },
      body: { case_type: 'patient', case_name: `Bench Patient${index}`, external_id: patient, owner_id: '1b2c3d4e5f60718293a4b5c6d7e8f901', properties: {} },
    });
    const caseId = created.case_id ?? created.case?.case_id;
    if (!caseId) throw new Error(`no case id in ${JSON.stringify(created).slice(0, 200)}`);
    people.push({ caseId, patient });
  });
  assertClean(run, 'scenario 1 set-up');
  return people;
}

export async function prepareEncounterFlow(env: BenchEnv, people: number, flowEdit: (nodes: FlowNode[]) => FlowNode[] = (nodes) => nodes): Promise<EncounterFixture> {
  const nodes = flowEdit(withTenObs(env.exampleFlow('commcare-to-openmrs-encounter.json')));
  await env.deploy(nodes);
  const outboxOut = nodes.find((node) => node.type === 'chis-outbox-out');
  return { people: await createPeople(env, people), concurrency: outboxOut ? Number(outboxOut.concurrency ?? 1) : SENDER_CONCURRENCY };
}

export const followUpForm = (fixture: EncounterFixture, index: number): Record<string, unknown> =>
  forwardedForm(FOLLOWUP_XMLNS, fixture.people[index % fixture.people.length].caseId, FOLLOWUP_ANSWERS);

/** Posts `count` forms and waits until every encounter exists; latency is the sender's post -> 2xx. */
async function driveEncounters(env: BenchEnv, fixture: EncounterFixture, count: number, offset = 0): Promise<{ msgsPerSecond: number; latenciesMs: number[] }> {
  await env.clearLogs();
  const started = performance.now();
  const run = await runLoad(count, SENDER_CONCURRENCY, (index) => postForm(env, '/commcare/forms', followUpForm(fixture, offset + index)));
  assertClean(run, 'scenario 1');
  // With the durable outbox the receiver answers before the write: count completions, not 2xx.
  const finished = await until(async () => (await countRequests(env, 'openmrs', ENCOUNTER_CREATED)) >= count, 600_000, 50);
  return { msgsPerSecond: perSecond(count, finished - started), latenciesMs: run.latenciesMs };
}

/** The recorded requests of one message, rewritten for another person (ids in paths and bodies). */
function forPerson(requests: RecordedRequest[], from: { caseId: string; patient: string }, to: { caseId: string; patient: string }): RecordedRequest[] {
  const swap = (text: string): string => text.split(from.caseId).join(to.caseId).split(from.patient).join(to.patient);
  return requests.map((request) => ({ ...request, path: swap(request.path), body: request.body === undefined ? undefined : JSON.parse(swap(JSON.stringify(request.body))) }));
}

/**
 * The writer gives each create a uuid derived from the message's idempotency key, so replaying the
 * probe's body as recorded would be a duplicate-uuid 400: each replayed message gets its own.
 */
function withFreshUuids(requests: RecordedRequest[]): RecordedRequest[] {
  return requests.map((request) => {
    if (request.method !== 'POST' || request.body === undefined) return request;
    let text = JSON.stringify(request.body);
    const assigned = new Set([...text.matchAll(/"uuid":"([0-9a-f-]{36})"/g)].map((match) => match[1]));
    for (const uuid of assigned) text = text.split(uuid).join(randomUUID());
    return { ...request, body: JSON.parse(text) };
  });
}

export async function encounterScenario(env: BenchEnv, fixture: EncounterFixture, options: ScenarioOptions): Promise<Measurement & { perMessage: RecordedRequest[] }> {
  await env.setLatency(options.latencyMs);
  await driveEncounters(env, fixture, Math.min(50, options.count)); // warm-up: sessions, metadata caches, JIT
  await env.clearLogs();
  await postForm(env, '/commcare/forms', followUpForm(fixture, 0));
  await until(async () => (await countRequests(env, 'openmrs', ENCOUNTER_CREATED)) >= 1, 30_000, 20);
  const perMessage = await recorded(env, ['commcare', 'openmrs']);
  const perPerson = fixture.people.map((person) => forPerson(perMessage, fixture.people[0], person));
  const perIndex = (index: number): RecordedRequest[] => withFreshUuids(perPerson[index % perPerson.length]);
  env.resetPeakRss();
  const ours = await driveEncounters(env, fixture, options.count);
  const peakRssMb = env.peakRssMb();
  const limit = await rawLimit(env, perIndex, options.count, fixture.concurrency);
  const peer = await openFnPeer(env, perIndex, options.count, fixture.concurrency);
  return {
    scenario: `1 CommCare form -> OpenMRS encounter, 10 obs (${options.latencyMs} ms)`,
    msgsPerSecond: ours.msgsPerSecond, latenciesMs: ours.latenciesMs, peakRssMb, limitMsgsPerSecond: limit, peerMsgsPerSecond: peer, perMessage,
  };
}

// --- Scenario 2: CommCare forms -> DHIS2 tracker events, batched -----------------------------------

/** Enough senders in flight to fill the writer's batches of 50. */
export const TRACKER_CONCURRENCY = 64;
const PEOPLE = 20;

export async function prepareTrackerFlow(env: BenchEnv): Promise<string[]> {
  await env.deploy(env.exampleFlow('commcare-to-dhis2-tracker.json'));
  await env.setLatency(0);
  const { ORG_UNIT_NGELEHUN_CHC } = await import('../sandbox/dhis2/seed');
  const cases = Array.from({ length: PEOPLE }, () => randomUUID());
  const run = await runLoad(cases.length, cases.length, (index) => postForm(env, '/commcare/tracker', forwardedForm(TRACKER_REGISTRATION_XMLNS, cases[index], {
    first_name: 'Mariama', last_name: `Bench${index}`, sex: 'female', dob: '1994-05-17', org_unit: ORG_UNIT_NGELEHUN_CHC,
  })));
  assertClean(run, 'scenario 2 registrations');
  return cases;
}

export async function trackerScenario(env: BenchEnv, cases: string[], options: ScenarioOptions): Promise<Measurement & { perMessage: RecordedRequest[] }> {
  const { ORG_UNIT_NGELEHUN_CHC } = await import('../sandbox/dhis2/seed');
  const visit = (index: number): Record<string, unknown> => forwardedForm(TRACKER_VISIT_XMLNS, cases[index % cases.length], { visit_date: '2026-03-02', weight_kg: `${50 + (index % 30)}.5`, org_unit: ORG_UNIT_NGELEHUN_CHC });
  await env.setLatency(options.latencyMs);
  assertClean(await runLoad(Math.min(100, options.count), TRACKER_CONCURRENCY, (index) => postForm(env, '/commcare/tracker', visit(index))), 'scenario 2 warm-up');
  // One form alone: the requests an unbatched client makes per form.
  await env.clearLogs();
  await postForm(env, '/commcare/tracker', visit(0));
  const perMessage = await recorded(env, ['commcare', 'dhis2']);
  await env.clearLogs();
  env.resetPeakRss();
  const run = await runLoad(options.count, TRACKER_CONCURRENCY, (index) => postForm(env, '/commcare/tracker', visit(index)));
  assertClean(run, 'scenario 2');
  const peakRssMb = env.peakRssMb();
  const imports = await env.requests('dhis2', 'method=POST&path=^/api/tracker$');
  const failedImports = imports.filter((entry) => entry.status >= 300).length;
  if (failedImports) throw new Error(`scenario 2: ${failedImports} tracker imports failed`);
  const limit = await rawLimit(env, () => perMessage, options.count, TRACKER_CONCURRENCY);
  const peer = await openFnPeer(env, () => perMessage, options.count, TRACKER_CONCURRENCY);
  return {
    scenario: `2 CommCare form -> DHIS2 tracker event, batched (${options.latencyMs} ms)`,
    msgsPerSecond: perSecond(options.count, run.elapsedMs), latenciesMs: run.latenciesMs, peakRssMb, limitMsgsPerSecond: limit, peerMsgsPerSecond: peer, perMessage,
  };
}

// --- Scenario 3: OpenMRS patients -> CommCare cases (source poller + bulk case writer) --------------

export const SOURCE_REPLAY_CONCURRENCY = 8;

async function createPatient(env: BenchEnv, index: number): Promise<string> {
  const patient = await env.raw.openmrs.json<{ uuid: string }>({
    method: 'POST', path: '/openmrs/ws/rest/v1/patient', headers: { Authorization: AUTH.openmrs },
    body: {
      person: { names: [{ givenName: 'Bench', familyName: `Patient${index}` }], gender: index % 2 ? 'M' : 'F', birthdate: '1990-01-01' },
      identifiers: [{ identifier: randomUUID(), identifierType: openmrsSeed.IDENTIFIER_TYPES.commcareCaseId, location: openmrsSeed.LOCATIONS.facility, preferred: true }],
    },
  });
  return patient.uuid;
}

/** Creates `count` patients with a referral and no follow-up, so the follow-up report lists them. */
export async function preparePatients(env: BenchEnv, count: number): Promise<Set<string>> {
  await env.setLatency(0);
  const uuids = new Set<string>();
  const run = await runLoad(count, 16, async (index) => {
    const patient = await createPatient(env, index);
    await env.raw.openmrs.json({
      method: 'POST', path: '/openmrs/ws/rest/v1/encounter', headers: { Authorization: AUTH.openmrs },
      body: { patient, encounterType: openmrsSeed.ENCOUNTER_TYPES.referral, encounterDatetime: new Date(Date.now() - 3_600_000).toISOString(), location: openmrsSeed.LOCATIONS.northCatchment },
    });
    uuids.add(patient);
  });
  assertClean(run, 'scenario 3 set-up');
  return uuids;
}

/** External ids of the cases written (created or updated) since the log was cleared. */
async function casesWritten(env: BenchEnv, wanted: Set<string>): Promise<number> {
  const written = new Set<string>();
  for (const entry of await env.requests('commcare', 'path=/api/case/v2')) {
    if (entry.method !== 'POST' && entry.method !== 'PUT') continue;
    if (entry.path.includes('bulk-fetch')) continue;
    const bodies = Array.isArray(entry.body) ? entry.body : [entry.body];
    for (const body of bodies) {
      const externalId = (body as { external_id?: string } | undefined)?.external_id;
      if (externalId && wanted.has(externalId)) written.add(externalId);
    }
    const idFromPath = /\/ext\/([^/]+)/.exec(entry.path)?.[1];
    if (idFromPath && wanted.has(idFromPath)) written.add(idFromPath);
  }
  return written.size;
}

export async function sourceScenario(env: BenchEnv, patients: Set<string>, options: ScenarioOptions, runId: string): Promise<Measurement> {
  await env.deploy([]);
  await env.setLatency(options.latencyMs);
  await env.clearLogs();
  // A new source node id is a new checkpoint: the source starts from the beginning again.
  const nodes: FlowNode[] = env.exampleFlow('openmrs-to-commcare-followup.json').map((node) => (node.id === 'followup-source' ? { ...node, id: `followup-source-${runId}` } : node));
  env.resetPeakRss();
  const started = performance.now();
  await env.deploy(nodes);
  const finished = await until(async () => (await casesWritten(env, patients)) >= patients.size, 600_000, 200);
  const peakRssMb = env.peakRssMb();
  const msgsPerSecond = perSecond(patients.size, finished - started);
  await env.deploy([]);
  // The limit replays every request the flow made (reads and bulk writes) at the flow's concurrency.
  const requests = await recorded(env, ['openmrs', 'commcare']);
  let next = 0;
  const replay = await runLoad(requests.length, SOURCE_REPLAY_CONCURRENCY, async () => {
    const request = requests[next++];
    const response = await env.raw[request.system].send({ method: request.method, path: request.path, body: request.body, headers: { Authorization: AUTH[request.system] } });
    if (response.status >= 400) throw new Error(`${request.method} ${request.path} -> ${response.status}`);
  });
  assertClean(replay, 'scenario 3 raw limit');
  return {
    scenario: `3 OpenMRS patients -> CommCare cases, polled + bulk (${options.latencyMs} ms)`,
    msgsPerSecond, latenciesMs: [], peakRssMb, limitMsgsPerSecond: perSecond(patients.size, replay.elapsedMs), peerMsgsPerSecond: null,
  };
}

// --- Scenario 4: the mapper alone, 50 fields ---------------------------------------------------------

export const MAPPER_WINDOW = 64;

export async function mapperScenario(env: BenchEnv, count: number): Promise<Measurement & { directMsgsPerSecond: number }> {
  await env.deploy(mapperFlow());
  const form = fiftyFieldForm();
  const drive = async (n: number): Promise<{ elapsedMs: number; latencies: number[]; sample: unknown }> => {
    const response = await fetch(`${env.runtime.url}/bench/mapper`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ count: n, window: MAPPER_WINDOW, form }) });
    if (!response.ok) throw new Error(`mapper flow -> ${response.status}: ${(await response.text()).slice(0, 300)}`);
    return (await response.json()) as { elapsedMs: number; latencies: number[]; sample: unknown };
  };
  await drive(Math.min(5_000, count));
  env.resetPeakRss();
  const ours = await drive(count);
  const peakRssMb = env.peakRssMb();
  const compiled = compileMapping(fiftyFieldMapping() as unknown as Mapping);
  const expected = JSON.stringify((await compiled.apply({ form: { ...(form as { form: object }).form } })).output);
  if (JSON.stringify(ours.sample) !== expected) throw new Error(`the mapper flow's output differs from the mapping's: ${JSON.stringify(ours.sample).slice(0, 300)}`);
  // Limit: the same 50 conversions by hand, in a plain loop, no runtime.
  const source = form as { form: Record<string, string> };
  let sink = 0;
  let started = performance.now();
  for (let i = 0; i < count; i += 1) sink += Object.keys(mapFiftyByHand({ form: { ...source.form } }).record as object).length;
  const limit = perSecond(count, performance.now() - started);
  // For the README: our compiled mapping called directly, without Node-RED.
  started = performance.now();
  for (let i = 0; i < count; i += 1) sink += (await compiled.apply({ form: { ...source.form } })).errors.length;
  const direct = perSecond(count, performance.now() - started);
  // Peer: one OpenFn job per message whose only operation maps the form by hand.
  const common = commonAdaptor();
  const peerRun = await quietly(() => runLoad(count, MAPPER_WINDOW, async () => {
    const state = await common.execute(common.fn((s) => ({ ...s, data: mapFiftyByHand(s.data as { form: Record<string, string> }) })))({ configuration: {}, data: { form: { ...source.form } } });
    sink += state.data ? 1 : 0;
  }));
  if (sink < 0) console.log(sink);
  return {
    scenario: '4 mapper alone, 50-field form (in the runtime)',
    msgsPerSecond: perSecond(count, ours.elapsedMs), latenciesMs: ours.latencies, peakRssMb,
    limitMsgsPerSecond: limit, peerMsgsPerSecond: perSecond(count, peerRun.elapsedMs), directMsgsPerSecond: direct,
  };
}

export { sleep };
