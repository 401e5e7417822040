/**
 * The CHT <-> RapidPro workflow in a started Node-RED against the sandboxes: CHT people become
 * RapidPro contacts (URN tel:<phone>, field cht_id), a pregnancy report starts the reminder flow,
 * and RapidPro run results come back as CHT reports about the right patient, without echo, while
 * the changes feed drops its connection and RapidPro throttles.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as chtSeed from '../../sandbox/cht/seed';
import * as rapidproSeed from '../../sandbox/rapidpro/seed';
import { demoClients } from '../../scripts/demo-clients';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { requireSamples, sampleJson } from '../support/samples';
import { nodeRedVersion } from '../support/runtime-env';

const CHT_AUTH = { Authorization: `Basic ${Buffer.from(`${chtSeed.USERNAME}:${chtSeed.PASSWORD}`).toString('base64')}` };
const RAPIDPRO_AUTH = { Authorization: `Token ${rapidproSeed.API_TOKEN}` };
const WEBHOOK_AUTH = { 'X-Demo-Token': 'demo-secret' };

interface RapidproContact { uuid: string; name: string | null; urns: string[]; fields: Record<string, string | null>; groups: Array<{ uuid: string; name: string }> }
interface ChtReport { _id: string; form: string; from?: string; fields: Record<string, unknown>; contact?: { _id: string }; errors?: Array<{ code: string }> }

let phoneCounter = 0;
/** A phone number no seeded contact has, different in each test. */
const newPhone = (): string => `+2547330${String(Date.now() % 10_000).padStart(4, '0')}${phoneCounter++}`;

describe(`CHT <-> RapidPro flow in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(180_000);
  let harness: FlowHarness;

  const cht = (path: string, init: RequestInit = {}) =>
    fetch(`${harness.sandboxUrl('cht')}${path}`, { ...init, headers: { ...CHT_AUTH, 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  const rapidpro = async <T>(path: string): Promise<T> => (await fetch(`${harness.sandboxUrl('rapidpro')}${path}`, { headers: RAPIDPRO_AUTH })).json() as Promise<T>;
  const control = (system: 'cht' | 'rapidpro', path: string, body?: unknown, method = 'POST') =>
    fetch(`${harness.sandboxUrl(system)}/_sandbox/${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const requestCount = async (system: 'cht' | 'rapidpro', query: string): Promise<number> => ((await (await control(system, `requests?${query}`, undefined, 'GET')).json()) as unknown[]).length;

  const contactByUrn = async (urn: string): Promise<RapidproContact | undefined> =>
    (await rapidpro<{ results: RapidproContact[] }>(`/api/v2/contacts.json?urn=${encodeURIComponent(urn)}`)).results[0];

  async function createPerson(name: string, phone: string): Promise<string> {
    const response = await cht('/api/v1/people', { method: 'POST', body: JSON.stringify({ name, phone, type: 'person', place: chtSeed.CLINIC_ID }) });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return (JSON.parse(text) as { id: string }).id;
  }

  async function reportsOfForm(form: string): Promise<ChtReport[]> {
    const response = await cht(`/medic/_design/medic-client/_view/reports_by_form?key=${encodeURIComponent(JSON.stringify([form]))}&include_docs=true`);
    return ((await response.json()) as { rows: Array<{ doc: ChtReport }> }).rows.map((row) => row.doc);
  }

  /** The upstream resthook sample, as RapidPro would post it for this contact. */
  function resthookFor(contact: { uuid: string; urn: string; name?: string }): Record<string, any> {
    const sample = sampleJson<Record<string, any>>('rapidpro/resthook-webhook-payload.json');
    return { ...sample, contact: { ...sample.contact, ...contact }, run: { ...sample.run, uuid: randomUUID() } };
  }

  const postResults = (body: unknown) => fetch(`${harness.runtime.url}/rapidpro/results`, {
    method: 'POST',
    headers: { ...WEBHOOK_AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

  before(async function () {
    requireSamples(this);
    harness = await startHarness({ name: 'cht-rapidpro', systems: ['cht', 'rapidpro'] });
    await harness.deployExamples('cht-rapidpro-bidirectional.json');
  });

  after(async () => {
    await harness?.stop();
  });

  it('makes a CHT person created through the API a RapidPro contact within 20 s (URN tel:<phone>, cht_id)', async () => {
    const phone = newPhone();
    const started = Date.now();
    const id = await createPerson('Joy Wanjiru', phone);
    const contact = await eventually(() => contactByUrn(`tel:${phone}`), 20_000, 200);
    assert.ok(Date.now() - started < 20_000);
    assert.equal(contact.fields.cht_id, id);
    assert.equal(contact.name, 'Joy Wanjiru');
    assert.ok(contact.groups.some((group) => group.name === 'CHT contacts'));
  });

  it('syncs the seeded people and starts the reminder flow for the seeded pregnancy report', async () => {
    const mary = await eventually(async () => {
      const contact = await contactByUrn(`tel:${chtSeed.PATIENT_MARY_PHONE}`);
      return contact?.groups.some((group) => group.name === 'Pregnant women') ? contact : undefined;
    }, 20_000, 200);
    assert.equal(mary.fields.cht_id, chtSeed.PATIENT_MARY_ID);
    assert.ok(mary.fields.edd?.startsWith('2024-10-11'), `edd ${mary.fields.edd}`);
    const starts = await eventually(async () => {
      const list = (await rapidpro<{ results: Array<{ flow: { uuid: string }; contacts: Array<{ uuid: string }>; extra?: Record<string, unknown>; params?: Record<string, unknown> }> }>('/api/v2/flow_starts.json')).results;
      const found = list.filter((start) => start.flow.uuid === rapidproSeed.PREGNANCY_REMINDERS_FLOW_UUID && start.contacts.some((contact) => contact.uuid === mary.uuid));
      return found.length ? found : undefined;
    }, 20_000, 200);
    assert.equal(starts.length, 1, 'one start per pregnancy report');
    assert.equal((starts[0].params ?? starts[0].extra)?.cht_report, chtSeed.PREGNANCY_REPORT_ID);
    // The woman was read from CHT (her _id in the report), not written to get her back.
    assert.ok(await requestCount('cht', `method=GET&path=${encodeURIComponent(`^/api/v1/contact/${chtSeed.PATIENT_MARY_ID}$`)}`) >= 1);
    assert.equal(await requestCount('cht', `method=PUT&path=${encodeURIComponent(`^/medic/${chtSeed.PATIENT_MARY_ID}$`)}`), 0, 'nothing is written to the patient');
    const peter = await eventually(() => contactByUrn(`tel:${chtSeed.PATIENT_PETER_PHONE}`), 20_000, 200);
    assert.equal(peter.fields.cht_id, chtSeed.PATIENT_PETER_ID);
  });

  it('turns a resthook payload for the contact into a CHT data_record about the person, once, without echo', async () => {
    const phone = newPhone();
    const id = await createPerson('Esther Njeri', phone);
    const contact = await eventually(() => contactByUrn(`tel:${phone}`), 20_000, 200);
    const mark = Math.max(0, ...((await (await control('rapidpro', 'requests', undefined, 'GET')).json()) as Array<{ seq: number }>).map((entry) => entry.seq));
    const startsBefore = await requestCount('rapidpro', 'method=POST&path=flow_starts');
    const payload = resthookFor({ uuid: contact.uuid, urn: `tel:${phone}`, name: 'Esther Njeri' });
    const response = await postResults(payload);
    assert.equal(response.status, 200, await response.text());

    const reports = (await reportsOfForm('RPRES')).filter((report) => report.fields.rapidpro_run === payload.run.uuid);
    assert.equal(reports.length, 1);
    const [report] = reports;
    assert.equal(report.fields.patient_uuid, id);
    assert.equal(report.fields.patient_id, id);
    assert.equal(report.contact?._id, id, 'CHT attached the person with that phone');
    assert.equal(report.fields.favorite_color, 'red', 'the run\'s results are among the fields');
    assert.equal(report.fields.rapidpro_contact, contact.uuid);
    assert.deepEqual(JSON.parse(String(report.fields.results)).favorite_color, 'red');
    assert.equal((report as unknown as Record<string, unknown>).chis_origin, 'chis-node-red', 'the write carries its origin');
    // The phone was looked up before the report was written, so the report was created about her.
    assert.ok(await requestCount('cht', `method=GET&path=${encodeURIComponent('^/api/v1/contacts-by-phone')}`) >= 1);
    // The records API takes the report's fields at the top level of the body, beside _meta.
    const created = ((await (await control('cht', `requests?method=POST&path=${encodeURIComponent('^/api/v2/records$')}`, undefined, 'GET')).json()) as Array<{ body?: Record<string, unknown> }>)
      .filter((entry) => entry.body?.rapidpro_run === payload.run.uuid);
    assert.equal(created.length, 1);
    assert.equal(created[0].body?.patient_uuid, id);

    const again = await postResults(payload);
    assert.equal(again.status, 200);
    assert.equal((await reportsOfForm('RPRES')).filter((candidate) => candidate.fields.rapidpro_run === payload.run.uuid).length, 1, 'a re-sent run writes nothing new');

    // A person created afterwards still syncs: the feed has moved past the report and its updates.
    const laterPhone = newPhone();
    await createPerson('Later Person', laterPhone);
    await eventually(() => contactByUrn(`tel:${laterPhone}`), 20_000, 200);
    const writesSince = ((await (await control('rapidpro', 'requests?method=POST&path=contacts', undefined, 'GET')).json()) as Array<{ seq: number; query: string }>)
      .filter((entry) => entry.seq > mark)
      .map((entry) => decodeURIComponent(entry.query));
    // Esther's own person revisions (the shortcode CHT adds) may still sync; nothing else may.
    assert.deepEqual(writesSince.filter((query) => !query.includes(laterPhone) && !query.includes(phone)), [], 'the report did not echo');
    assert.ok(writesSince.some((query) => query.includes(laterPhone)));
    assert.equal(await requestCount('rapidpro', 'method=POST&path=flow_starts'), startsBefore);
  });

  it('receives run results from the RapidPro flow engine\'s resthook, as the demo is wired', async () => {
    const phone = newPhone();
    const id = await createPerson('Faith Akinyi', phone);
    await eventually(() => contactByUrn(`tel:${phone}`), 20_000, 200);
    const webhook = demoClients(harness.runtime.url).find((client) => client.system === 'rapidpro' && client.config.name === 'webhook');
    assert.ok(webhook);
    assert.equal(webhook.config.flow, rapidproSeed.PREGNANCY_REMINDERS_FLOW_UUID, 'the demo webhook fires for the flow with the webhook action only');
    const configured = await control('rapidpro', 'clients', webhook.config);
    assert.equal(configured.status, 200);
    const run = await control('rapidpro', 'runs', { contact: `tel:${phone}`, flow: rapidproSeed.PREGNANCY_REMINDERS_FLOW_UUID });
    assert.equal(run.status, 201, await run.text());
    const report = await eventually(async () => (await reportsOfForm('RPRES')).find((candidate) => candidate.fields.patient_uuid === id && candidate.fields.anc_visit !== undefined), 20_000, 200);
    assert.equal(report.fields.anc_visit, 'yes');
    const deliveries = (await (await control('rapidpro', 'deliveries', undefined, 'GET')).json()) as Array<{ status: number }>;
    assert.ok(deliveries.some((delivery) => delivery.status === 200));
  });

  /** A completed run of a flow without a webhook action, as the sandbox's flow engine records it. */
  async function completeSurvey(urn: string): Promise<string> {
    const run = await control('rapidpro', 'runs', { contact: urn, flow: rapidproSeed.FOLLOW_UP_SURVEY_FLOW_UUID });
    const text = await run.text();
    assert.equal(run.status, 201, text);
    return (JSON.parse(text) as { uuid: string }).uuid;
  }
  const reportsOfRun = async (run: string): Promise<ChtReport[]> => (await reportsOfForm('RPRES')).filter((report) => report.fields.rapidpro_run === run);

  it('polls the completed runs of a flow without a webhook into one CHT report each, with the webhook also wired', async () => {
    const phone = newPhone();
    const id = await createPerson('Mercy Atieno', phone);
    await eventually(() => contactByUrn(`tel:${phone}`), 20_000, 200);
    const webhook = demoClients(harness.runtime.url).find((client) => client.system === 'rapidpro' && client.config.name === 'webhook');
    assert.equal((await control('rapidpro', 'clients', webhook?.config)).status, 200);
    const deliveriesBefore = ((await (await control('rapidpro', 'deliveries', undefined, 'GET')).json()) as unknown[]).length;
    const run = await completeSurvey(`tel:${phone}`);
    const [report] = await eventually(async () => {
      // The report is written first and its results copied in by a second step: wait for both.
      const found = await reportsOfRun(run);
      return found.length && found[0].fields.feeling !== undefined ? found : undefined;
    }, 20_000, 200);
    assert.equal(report.fields.patient_uuid, id);
    assert.equal(report.contact?._id, id);
    assert.equal(report.fields.feeling, 'good');
    assert.equal(report.fields.rapidpro_flow, 'Follow-up survey');
    assert.ok(await requestCount('rapidpro', `method=GET&path=${encodeURIComponent('^/api/v2/runs.json$')}`) >= 1, 'read from runs.json');
    // Polls later: still one report, and RapidPro called no webhook for this flow.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    assert.equal((await reportsOfRun(run)).length, 1);
    assert.equal(((await (await control('rapidpro', 'deliveries', undefined, 'GET')).json()) as unknown[]).length, deliveriesBefore);
  });

  it('registers a survey respondent CHT does not know as a CHT person under the clinic, and reports about her', async () => {
    const phone = newPhone();
    const created = await fetch(`${harness.sandboxUrl('rapidpro')}/api/v2/contacts.json`, {
      method: 'POST',
      headers: { ...RAPIDPRO_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Zawadi Chepkoech', urns: [`tel:${phone}`] }),
    });
    assert.equal(created.status, 201, await created.text());
    const run = await completeSurvey(`tel:${phone}`);
    const [report] = await eventually(async () => {
      // The report is written first and its results copied in by a second step: wait for both.
      const found = await reportsOfRun(run);
      return found.length && found[0].fields.feeling !== undefined ? found : undefined;
    }, 20_000, 200);
    const people = (await (await cht(`/api/v1/contacts-by-phone?phone=${encodeURIComponent(phone)}`)).json()) as { ok: boolean; docs: Array<{ _id: string; name: string; type: string; parent?: { _id: string }; chis_origin?: string }> };
    assert.equal(people.docs.length, 1, 'one person with her phone');
    const [person] = people.docs;
    assert.equal(person.name, 'Zawadi Chepkoech');
    assert.equal(person.type, 'person');
    assert.equal(person.parent?._id, chtSeed.CLINIC_ID);
    assert.equal(person.chis_origin, 'chis-node-red', 'marked, so it does not echo to RapidPro');
    assert.equal(report.fields.patient_uuid, person._id);
    assert.equal(report.contact?._id, person._id, 'CHT attached her as the sender');
    assert.equal(report.fields.feeling, 'good');
  });

  it('keeps a result from a phone CHT does not know, with CHT\'s facility_not_found error, unlinked', async () => {
    const payload = resthookFor({ uuid: randomUUID(), urn: 'tel:+254700999888' });
    const response = await postResults(payload);
    assert.equal(response.status, 200, await response.text());
    const [report] = (await reportsOfForm('RPRES')).filter((candidate) => candidate.fields.rapidpro_run === payload.run.uuid);
    assert.ok(report);
    assert.equal(report.fields.patient_uuid, undefined);
    assert.ok(report.errors?.some((error) => error.code === 'sys.facility_not_found'));
  });

  it('refuses webhooks without the demo token', async () => {
    const response = await fetch(`${harness.runtime.url}/rapidpro/results`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Demo-Token': 'wrong' }, body: '{}' });
    assert.equal(response.status, 401);
  });

  it('skips no person when the _changes feed drops its connection', async () => {
    await control('cht', 'faults', [{ path: '^/medic/_changes', reset: true, count: 3 }]);
    const phones = [newPhone(), newPhone(), newPhone()];
    const ids: string[] = [];
    for (const [index, phone] of phones.entries()) ids.push(await createPerson(`Dropped Feed ${index}`, phone));
    for (const [index, phone] of phones.entries()) {
      const contact = await eventually(() => contactByUrn(`tel:${phone}`), 30_000, 200);
      assert.equal(contact.fields.cht_id, ids[index]);
    }
    const left = (await (await control('cht', 'faults', undefined, 'GET')).json()) as unknown[];
    assert.equal(left.length, 0, 'the feed did lose its connection three times');
  });

  it('syncs a person created while Node-RED was killed, once it is back', async () => {
    await harness.runtime.kill9();
    const phone = newPhone();
    const id = await createPerson('Created While Down', phone);
    await harness.restart({ crash: true });
    const contact = await eventually(() => contactByUrn(`tel:${phone}`), 30_000, 200);
    assert.equal(contact.fields.cht_id, id);
  });

  it('still delivers a contact when RapidPro answers 429', async () => {
    await control('rapidpro', 'faults', [{ path: '^/api/v2/contacts.json', method: 'POST', status: 429, retryAfter: 1, count: 2 }]);
    const phone = newPhone();
    const id = await createPerson('Throttled Person', phone);
    const contact = await eventually(() => contactByUrn(`tel:${phone}`), 30_000, 200);
    assert.equal(contact.fields.cht_id, id);
    assert.ok(await requestCount('rapidpro', 'method=POST&path=contacts&status=429') >= 2, 'RapidPro did throttle');
    await control('rapidpro', 'faults', undefined, 'DELETE');
  });
});
