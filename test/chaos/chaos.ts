/**
 * The chaos run of issue 9: a simulated CommCare posts N follow-up forms to the example flow
 * "CommCare → OpenMRS encounter" in a real Node-RED, while the OpenMRS sandbox fails (5xx, 429
 * with Retry-After, dropped connections, hung requests, and writes that commit but lose their
 * answer) and Node-RED is killed with SIGKILL at random points. Afterwards the sandbox's state
 * and request log must show exactly one encounter per accepted form, and every deliberately bad
 * form must be a dead letter with its reason.
 *
 * Used by test/flows/chaos.test.ts (short run) and test/chaos/run.ts (`npm run test:chaos`).
 */
import { randomUUID } from 'node:crypto';
import * as openmrsSeed from '../../sandbox/openmrs/seed';
import { SYSTEMS } from '../../sandbox';
import { DEMO_CREDENTIALS } from '../../scripts/demo-credentials';
import { readFlow, retarget, withCredentials, type FlowNode } from '../../scripts/runtime';
import { startHarness, type FlowHarness } from '../support/flow-harness';

const FLOW_FILE = 'commcare-to-openmrs-encounter.json';
const QUEUE = 'openmrs-encounters';
const FOLLOWUP_XMLNS = 'http://openrosa.org/formdesigner/chis-demo-followup';
const REST = '/openmrs/ws/rest/v1';
const OPENMRS_AUTH = { Authorization: `Basic ${Buffer.from('admin:Admin123').toString('base64')}` };
const COMMCARE_AUTH = { Authorization: 'ApiKey demo@example.org:demo-api-key' };
const RECEIVER_AUTH = { Authorization: `Basic ${Buffer.from('demo:demo-secret').toString('base64')}` };
/** A CommCare location the demo domain knows, so the chaos patients' cases can be created. */
const CASE_OWNER = '1b2c3d4e5f60718293a4b5c6d7e8f901';
/** CommCare's repeater gives up on a form after this many client failures (4xx). */
const CLIENT_FAILURE_ATTEMPTS = 3;
const KEY_MARKER = /\[chis:([^\]]+)\]$/;

/** Ways a form passes the receiver but can never be written: each must end as a dead letter. */
export type BadKind = 'weight-out-of-range' | 'unknown-danger-sign' | 'unknown-case';
const BAD_KINDS: BadKind[] = ['weight-out-of-range', 'unknown-danger-sign', 'unknown-case'];

export interface ChaosOptions {
  messages: number;
  /** Node-RED SIGKILLs (each followed by a restart on the same userDir) while forms arrive. */
  kills: number;
  /** Forms CommCare posts at once. */
  senderConcurrency?: number;
  /** Share of deliberately bad forms. */
  badRate?: number;
  /** Patients (and CommCare cases) the forms are spread over. */
  patients?: number;
  /** How long the outbox may take to drain once every form was accepted. */
  drainTimeoutMs?: number;
  /** Rates of the injected OpenMRS faults (per request; 5xx is split over 500, 502 and 503). */
  faults?: Partial<FaultRates>;
  /** The flow's OpenMRS request timeout: hung requests end after this. */
  requestTimeoutMs?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface FaultRates {
  serverError: number;
  rateLimited: number;
  dropped: number;
  hung: number;
  committedThenDropped: number;
  committedThenHung: number;
}

export const DEFAULT_FAULTS: FaultRates = { serverError: 0.2, rateLimited: 0.03, dropped: 0.02, hung: 0.005, committedThenDropped: 0.1, committedThenHung: 0.02 };

export interface ChaosResult {
  messages: number;
  accepted: number;
  rejected: number;
  delivered: number;
  deadLettered: number;
  /** Deliberately bad forms, and how many of them are dead letters with a reason. */
  bad: number;
  badDeadLettered: number;
  /** Good forms that became dead letters (should be none). */
  goodDeadLettered: number;
  /** Bad forms that were written anyway (should be none). */
  badWritten: number;
  duplicates: number;
  lost: number;
  restarts: number;
  faultsHit: Record<string, number>;
  senderRetries: number;
  /** What the receiver answered when it did not answer 2xx, by status ("no answer" when refused, reset or timed out). */
  receiverAnswers: Record<string, number>;
  /** Encounter creates OpenMRS committed, per its request log (status 201). */
  committedCreates: number;
  drained: boolean;
  durationMs: number;
  /** Reasons of the dead letters, by code. */
  deadLetterCodes: Record<string, number>;
  problems: string[];
}

interface PlannedForm {
  id: string;
  caseId: string;
  bad?: BadKind;
  body: Record<string, unknown>;
  outcome?: 'accepted' | 'rejected';
  tries: number;
  clientFailures: number;
}

interface QueueView { queue: string; ready: number; inflight: number; dead: number; depth: number; circuit: string | null }
interface DeadLetterView { id: number; key: string | null; attempts: number; error: { code: string; message: string; status?: number } | null }
interface EncounterView { uuid: string; obs?: Array<{ comment?: string | null; voided?: boolean }>; voided?: boolean }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded generator, so a failing run can be repeated with --seed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/** A forwarded follow-up form as HQ's Data Forwarding posts it (form JSON). */
export function followUpForm(id: string, caseId: string, answers: Record<string, string>): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    id,
    domain: 'demo',
    app_id: 'chaos-app',
    received_on: now,
    form: {
      '@xmlns': FOLLOWUP_XMLNS,
      '@name': 'Follow-up visit',
      '#type': 'data',
      ...answers,
      case: { '@case_id': caseId, '@xmlns': 'http://commcarehq.org/case/transaction/v2', '@date_modified': now, '@user_id': 'chaos-chw', update: {} },
      meta: { instanceID: id, userID: 'chaos-chw', username: 'chaos.chw', deviceID: 'chaos-phone', timeStart: now, timeEnd: now },
    },
  };
}

export interface ChaosPatient { uuid: string; caseId: string }

/** Patients in OpenMRS and their CommCare cases (external_id = patient uuid), as the follow-up flow makes them. */
export async function createPatients(harness: FlowHarness, patientCount: number): Promise<ChaosPatient[]> {
  const openmrsUrl = harness.sandboxUrl('openmrs');
  const commcareUrl = harness.sandboxUrl('commcare');
  const patients: ChaosPatient[] = [];
  for (let index = 0; index < patientCount; index += 1) {
    const created = await fetch(`${openmrsUrl}${REST}/patient`, {
      method: 'POST',
      headers: { ...OPENMRS_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        identifiers: [{ identifier: `CHAOS-${index}`, identifierType: openmrsSeed.IDENTIFIER_TYPES.commcareCaseId, location: openmrsSeed.LOCATIONS.northCatchment, preferred: true }],
        person: { gender: index % 2 ? 'M' : 'F', birthdate: '1990-01-01', names: [{ givenName: 'Chaos', familyName: `Patient ${index}` }] },
      }),
    });
    if (created.status !== 201) throw new Error(`could not create chaos patient ${index}: ${created.status} ${await created.text()}`);
    const patient = (await created.json()) as { uuid: string };
    const kase = await fetch(`${commcareUrl}/a/demo/api/case/v2/`, {
      method: 'POST',
      headers: { ...COMMCARE_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ case_name: `Chaos Patient ${index}`, case_type: 'patient', owner_id: CASE_OWNER, external_id: patient.uuid, properties: {} }),
    });
    if (!kase.ok) throw new Error(`could not create the case of chaos patient ${index}: ${kase.status} ${await kase.text()}`);
    const body = (await kase.json()) as { case_id?: string; case?: { case_id: string } };
    const caseId = body.case_id ?? body.case?.case_id;
    if (!caseId) throw new Error(`the CommCare sandbox returned no case_id: ${JSON.stringify(body).slice(0, 300)}`);
    patients.push({ uuid: patient.uuid, caseId });
  }
  return patients;
}

/** How many (unvoided) encounters carry each idempotency key, on the given patients. */
export async function encountersByKeyOf(harness: FlowHarness, patients: ChaosPatient[]): Promise<Map<string, number>> {
  const openmrsUrl = harness.sandboxUrl('openmrs');
  const encountersByKey = new Map<string, number>();
  for (const patient of patients) {
    for (let startIndex = 0; ; startIndex += 100) {
      const response = await fetch(`${openmrsUrl}${REST}/encounter?patient=${patient.uuid}&v=full&limit=100&startIndex=${startIndex}`, { headers: OPENMRS_AUTH });
      if (!response.ok) throw new Error(`could not read the encounters of ${patient.uuid}: ${response.status}`);
      const page = (await response.json()) as { results: EncounterView[]; links?: Array<{ rel: string }> };
      for (const encounter of page.results) {
        if (encounter.voided) continue;
        const keys = new Set((encounter.obs ?? []).filter((obs) => !obs.voided).map((obs) => KEY_MARKER.exec(obs.comment ?? '')?.[1]).filter((key): key is string => Boolean(key)));
        for (const key of keys) encountersByKey.set(key, (encountersByKey.get(key) ?? 0) + 1);
      }
      if (!page.links?.some((link) => link.rel === 'next')) break;
    }
  }
  return encountersByKey;
}

/** The example flow as deployed by the run: the same wiring, with timings that fit a test. */
export function chaosFlow(harness: FlowHarness, requestTimeoutMs: number, adjust: (node: FlowNode) => FlowNode = (node) => node): FlowNode[] {
  const origins: Record<string, string> = {};
  for (const [name, sandbox] of Object.entries(harness.sandboxes)) origins[`http://127.0.0.1:${SYSTEMS[name as keyof typeof SYSTEMS].DEFAULT_PORT}`] = sandbox.url;
  const nodes = retarget(readFlow(FLOW_FILE), origins).map((node) => {
    switch (node.type) {
      // Hung requests must time out within the run; two tries inside the writer, the rest is the outbox's job.
      case 'chis-openmrs-config':
        return { ...node, timeoutMs: requestTimeoutMs, maxAttempts: 2 };
      case 'chis-commcare-config':
        return { ...node, timeoutMs: requestTimeoutMs };
      // Short backoff so the run ends in minutes; enough attempts that no transient fault
      // dead-letters a good form (20% 5xx on every call makes 5+ failures in a row plausible).
      case 'chis-outbox-out':
        return { ...node, concurrency: 8, maxAttempts: 40, backoffBaseMs: 200, backoffMaxMs: 3000, breakerThreshold: 20, breakerCooldownMs: 1000 };
      default:
        return node;
    }
  }).map(adjust);
  return withCredentials(nodes, DEMO_CREDENTIALS);
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const rand = random(options.seed ?? Date.now());
  const rates: FaultRates = { ...DEFAULT_FAULTS, ...options.faults };
  const patientCount = options.patients ?? Math.max(10, Math.ceil(options.messages / 50));
  const senderConcurrency = options.senderConcurrency ?? 16;
  const requestTimeoutMs = options.requestTimeoutMs ?? 2_000;
  const problems: string[] = [];

  const harness = await startHarness({ name: 'chaos', systems: ['openmrs', 'commcare'] });
  try {
    const openmrsUrl = harness.sandboxUrl('openmrs');
    const control = async (path: string, body?: unknown, method = 'POST'): Promise<unknown> => {
      const response = await fetch(`${openmrsUrl}/_sandbox/${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      if (!response.ok) throw new Error(`sandbox ${method} ${path} -> ${response.status}: ${await response.text()}`);
      return response.json();
    };

    log(`chaos: creating ${patientCount} patients and their CommCare cases`);
    const patients = await createPatients(harness, patientCount);

    await harness.runtime.deploy(chaosFlow(harness, requestTimeoutMs));

    // The forms: about badRate of them deliberately bad, spread evenly.
    const badEvery = Math.max(2, Math.round(1 / (options.badRate ?? 0.02)));
    const forms: PlannedForm[] = Array.from({ length: options.messages }, (_, index) => {
      const patient = patients[index % patients.length];
      const id = randomUUID();
      const bad = index % badEvery === badEvery - 1 ? BAD_KINDS[Math.floor(index / badEvery) % BAD_KINDS.length] : undefined;
      const answers = {
        visit_date: new Date(Date.UTC(2026, 0, 1) + (index % 300) * 86_400_000).toISOString().slice(0, 10),
        weight_kg: bad === 'weight-out-of-range' ? '999' : String(40 + (index % 60)),
        temperature_c: String(36 + (index % 30) / 10),
        danger_signs: bad === 'unknown-danger-sign' ? 'maybe' : index % 7 ? 'no' : 'yes',
      };
      const caseId = bad === 'unknown-case' ? randomUUID() : patient.caseId;
      return { id, caseId, bad, body: followUpForm(id, caseId, answers), tries: 0, clientFailures: 0 };
    });

    // Faults on every OpenMRS REST call; the commit-then-drop one only where it creates duplicates.
    const rules: Array<{ kind: string; spec: Record<string, unknown> }> = [
      { kind: 'committed, then connection dropped', spec: { path: `^${REST}/encounter$`, method: 'POST', rate: rates.committedThenDropped, afterHandler: true, reset: true } },
      { kind: 'committed, then no answer (timed out)', spec: { path: `^${REST}/encounter$`, method: 'POST', rate: rates.committedThenHung, afterHandler: true, hang: true } },
      { kind: '500', spec: { path: `^${REST}/`, rate: rates.serverError / 3, status: 500 } },
      { kind: '502', spec: { path: `^${REST}/`, rate: rates.serverError / 3, status: 502 } },
      { kind: '503', spec: { path: `^${REST}/`, rate: rates.serverError / 3, status: 503 } },
      { kind: '429 + Retry-After', spec: { path: `^${REST}/`, rate: rates.rateLimited, status: 429, retryAfter: 1 } },
      { kind: 'dropped connection', spec: { path: `^${REST}/`, rate: rates.dropped, reset: true } },
      { kind: 'hung (timed out)', spec: { path: `^${REST}/`, rate: rates.hung, hang: true } },
    ];
    const { ids } = (await control('faults', rules.map((rule) => rule.spec))) as { ids: number[] };
    const kindById = new Map(ids.map((id, index) => [id, rules[index].kind]));
    const createsBefore = harness.sandboxes.openmrs.app.log.query(new URLSearchParams({ method: 'POST', path: `^${REST}/encounter$` })).length;

    // Kill points, alternately while CommCare sends (after this many accepted forms) and while the
    // outbox drains (once this many forms have left it): SIGKILL Node-RED, start it again.
    const killPoint = (): number => Math.floor(options.messages * (0.1 + 0.8 * rand()));
    const killPoints = Array.from({ length: Math.ceil(options.kills / 2) }, killPoint).sort((a, b) => a - b);
    const drainKillPoints = Array.from({ length: Math.floor(options.kills / 2) }, killPoint).sort((a, b) => a - b);
    let accepted = 0;
    let restarts = 0;
    let senderRetries = 0;
    const receiverAnswers: Record<string, number> = {};
    let restarting: Promise<void> | undefined;
    const maybeKill = (): void => {
      if (restarting || !killPoints.length || accepted < killPoints[0]) return;
      killPoints.shift();
      restarting = (async () => {
        log(`chaos: kill -9 of Node-RED after ${accepted} accepted forms`);
        await harness.restart({ crash: true });
        restarts += 1;
        log('chaos: Node-RED restarted on the same userDir');
      })().catch((error: Error) => {
        problems.push(`restart after kill -9 failed: ${error.message}`);
      }).finally(() => { restarting = undefined; });
    };

    // CommCare's repeater: re-send with backoff until a 2xx (accepted) or the third 4xx (rejected).
    const sendForm = async (form: PlannedForm): Promise<void> => {
      for (;;) {
        form.tries += 1;
        let status = 0;
        let retryAfterMs = 0;
        try {
          const response = await fetch(`${harness.runtime.url}/commcare/forms`, {
            method: 'POST',
            headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' },
            body: JSON.stringify(form.body),
            signal: AbortSignal.timeout(30_000),
          });
          status = response.status;
          retryAfterMs = Number(response.headers.get('retry-after') ?? 0) * 1000;
          await response.arrayBuffer();
        } catch {
          // refused (Node-RED down), reset or timed out: status stays 0, a retry
        }
        if (status >= 200 && status < 300) {
          form.outcome = 'accepted';
          accepted += 1;
          maybeKill();
          return;
        }
        const answer = status ? String(status) : 'no answer';
        receiverAnswers[answer] = (receiverAnswers[answer] ?? 0) + 1;
        // HQ gives a client failure (4xx) 3 attempts in all, a server failure or no answer more.
        if (status >= 400 && status < 500 && status !== 408 && status !== 429 && ++form.clientFailures >= CLIENT_FAILURE_ATTEMPTS) {
          form.outcome = 'rejected';
          return;
        }
        senderRetries += 1;
        const backoff = Math.min(100 * 2 ** Math.min(form.tries, 6), 3_000) * (0.5 + rand());
        await sleep(Math.max(backoff, Math.min(retryAfterMs, 5_000)));
      }
    };

    log(`chaos: sending ${forms.length} forms (${forms.filter((form) => form.bad).length} deliberately bad), ${options.kills} kill -9 planned`);
    let next = 0;
    let done = 0;
    await Promise.all(Array.from({ length: senderConcurrency }, async () => {
      while (next < forms.length) {
        const form = forms[next++];
        await sendForm(form);
        done += 1;
        if (done % 500 === 0) log(`chaos: ${done} forms sent, ${accepted} accepted`);
      }
    }));
    await restarting;
    // A kill point the sending outran moves to the drain.
    drainKillPoints.push(...killPoints.splice(0));
    drainKillPoints.sort((a, b) => a - b);
    log(`chaos: all forms sent in ${Math.round((Date.now() - started) / 1000)} s; waiting for the outbox to drain`);

    // Drained: nothing ready or in flight in the queue.
    const queueView = async (): Promise<QueueView | undefined> =>
      (await harness.runtime.api<{ queues: QueueView[] }>('GET', '/chis/outbox')).queues.find((queue) => queue.queue === QUEUE);
    const drainDeadline = Date.now() + (options.drainTimeoutMs ?? 180_000);
    let drained = false;
    let lastReport = 0;
    while (Date.now() < drainDeadline) {
      const view = await queueView().catch(() => undefined);
      if (view && view.depth === 0 && view.inflight === 0) {
        drained = true;
        break;
      }
      if (view && drainKillPoints.length && accepted - view.depth >= drainKillPoints[0]) {
        drainKillPoints.shift();
        log(`chaos: kill -9 of Node-RED while the outbox drains (${view.depth} waiting, ${view.inflight} in flight)`);
        await harness.restart({ crash: true });
        restarts += 1;
        continue;
      }
      if (view && Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        log(`chaos: outbox ready ${view.ready}, in flight ${view.inflight}, dead ${view.dead}, circuit ${view.circuit}`);
      }
      await sleep(250);
    }
    if (!drained) problems.push(`the outbox did not drain within ${options.drainTimeoutMs ?? 180_000} ms`);

    const faultsHit: Record<string, number> = {};
    for (const fault of (await control('faults', undefined, 'GET')) as Array<{ id: number; hits: number }>) {
      const kind = kindById.get(fault.id) ?? `rule ${fault.id}`;
      faultsHit[kind] = (faultsHit[kind] ?? 0) + fault.hits;
    }
    await control('faults', undefined, 'DELETE');
    // Anything the flow is still finishing settles now (a late confirm after a restart, say).
    await sleep(1_000);

    // The effect of each form: the encounters carrying its key, on every chaos patient.
    const encountersByKey = await encountersByKeyOf(harness, patients);

    // The request log: every encounter OpenMRS committed, including those whose answer was cut off.
    const creates = harness.sandboxes.openmrs.app.log.query(new URLSearchParams({ method: 'POST', path: `^${REST}/encounter$` })).slice(createsBefore);
    const committedCreates = creates.filter((entry) => entry.status === 201).length;
    const encounterTotal = [...encountersByKey.values()].reduce((sum, count) => sum + count, 0);
    if (committedCreates !== encounterTotal) problems.push(`the request log shows ${committedCreates} committed encounter creates but ${encounterTotal} keyed encounters exist`);

    const deadByKey = new Map<string, DeadLetterView>();
    for (let offset = 0; ; offset += 500) {
      const page = (await harness.runtime.api<{ deadLetters: DeadLetterView[] }>('GET', `/chis/outbox/dead-letters?queue=${QUEUE}&limit=500&offset=${offset}`)).deadLetters;
      for (const letter of page) if (letter.key) deadByKey.set(letter.key, letter);
      if (page.length < 500) break;
    }

    let delivered = 0;
    let duplicates = 0;
    let lost = 0;
    let badDeadLettered = 0;
    let goodDeadLettered = 0;
    let badWritten = 0;
    const deadLetterCodes: Record<string, number> = {};
    for (const letter of deadByKey.values()) {
      const code = letter.error?.code ?? '(no reason)';
      deadLetterCodes[code] = (deadLetterCodes[code] ?? 0) + 1;
    }
    for (const form of forms) {
      if (form.outcome !== 'accepted') continue;
      const count = encountersByKey.get(form.id) ?? 0;
      const letter = deadByKey.get(form.id);
      if (count > 0) delivered += 1;
      if (count > 1) {
        duplicates += count - 1;
        if (problems.length < 50) problems.push(`form ${form.id} has ${count} encounters`);
      }
      if (form.bad) {
        if (count > 0) {
          badWritten += 1;
          problems.push(`bad form ${form.id} (${form.bad}) was written`);
        }
        if (letter && letter.error?.code && letter.error.message) badDeadLettered += 1;
        else if (letter) problems.push(`dead letter of bad form ${form.id} (${form.bad}) has no reason`);
        else if (count === 0) {
          lost += 1;
          problems.push(`bad form ${form.id} (${form.bad}) is neither a dead letter nor written`);
        }
      } else if (letter) {
        goodDeadLettered += 1;
        if (problems.length < 50) problems.push(`good form ${form.id} is a dead letter: ${letter.error?.code}: ${letter.error?.message}`);
      } else if (count === 0) {
        lost += 1;
        if (problems.length < 50) problems.push(`form ${form.id} was accepted but has no encounter and no dead letter`);
      }
    }

    return {
      messages: forms.length,
      accepted: forms.filter((form) => form.outcome === 'accepted').length,
      rejected: forms.filter((form) => form.outcome === 'rejected').length,
      delivered,
      deadLettered: deadByKey.size,
      bad: forms.filter((form) => form.bad).length,
      badDeadLettered,
      goodDeadLettered,
      badWritten,
      duplicates,
      lost,
      restarts,
      faultsHit,
      senderRetries,
      receiverAnswers,
      committedCreates,
      drained,
      durationMs: Date.now() - started,
      deadLetterCodes,
      problems,
    };
  } finally {
    await harness.stop();
  }
}

/** The summary table printed at the end of a run (markdown, so it can go into the README as is). */
export function summaryTable(result: ChaosResult): string {
  const rows: Array<[string, string | number]> = [
    ['messages sent', result.messages],
    ['accepted by the receiver (2xx)', result.accepted],
    ['rejected by the receiver (4xx)', result.rejected],
    ['delivered (one encounter each)', result.delivered],
    ['dead-lettered', `${result.deadLettered} (deliberately bad: ${result.bad}; with reason: ${result.badDeadLettered}; codes: ${Object.entries(result.deadLetterCodes).map(([code, n]) => `${code} ${n}`).join(', ') || 'none'})`],
    ['duplicates', result.duplicates],
    ['lost', result.lost],
    ['kill -9 + restarts of Node-RED', result.restarts],
    ...Object.entries(result.faultsHit).map(([kind, hits]): [string, number] => [`faults hit: ${kind}`, hits]),
    ['encounter creates committed (request log)', result.committedCreates],
    ['sender retries (non-2xx or no answer)', `${result.senderRetries} (${Object.entries(result.receiverAnswers).map(([answer, n]) => `${answer}: ${n}`).join(', ') || 'none'})`],
    ['duration', `${(result.durationMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return ['| what | count |', '|---|---|', ...rows.map(([label, value]) => `| ${label.padEnd(width)} | ${value} |`)].join('\n');
}

/** The run's last line, exactly as issue 9 specifies it. */
export function finalLine(result: ChaosResult): string {
  return `chaos: sent ${result.messages}, delivered ${result.delivered}, dead-lettered ${result.deadLettered}, duplicates ${result.duplicates}, lost ${result.lost}`;
}
