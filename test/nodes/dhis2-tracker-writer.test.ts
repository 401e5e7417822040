import assert from 'node:assert/strict';
import {
  ADMIN_PASSWORD, ADMIN_USERNAME, ATTRIBUTE_COMMCARE_CASE_ID, ATTRIBUTE_FIRST_NAME, ATTRIBUTE_LAST_NAME, DATA_ELEMENT_VISIT_WEIGHT,
  DEMO_API_TOKEN, ORG_UNIT_NGELEHUN_CHC, PROGRAM_COMMUNITY_FOLLOW_UP, PROGRAM_STAGE_VISIT, SEEDED_COMMCARE_CASE_ID, SEEDED_ENROLLMENT,
  SEEDED_TRACKED_ENTITY, TRACKED_ENTITY_TYPE_PERSON, create,
} from '../../sandbox/dhis2';
import dhis2Config from '../../nodes/dhis2/dhis2-config';
import trackerWriter from '../../nodes/dhis2/dhis2-tracker-writer';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';
import { requireSamples, sampleJson } from '../support/samples';

type Sandbox = ReturnType<typeof create>;
const credentials = { server: { username: ADMIN_USERNAME, password: ADMIN_PASSWORD } };

function flow(baseUrl: string, writer: Record<string, unknown> = {}, server: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'server', type: 'chis-dhis2-config', baseUrl, authType: 'basic', apiMode: 'tracker', ...server },
    { id: 'w', type: 'chis-dhis2-tracker-writer', z: 't', server: 'server', atomicMode: 'OBJECT', batchSize: 50, batchWaitMs: 100, wires: [['out']], ...writer },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

/** Sends messages; resolves with each one's output or Catch message, by index. */
function writeAll(payloads: unknown[], timeoutMs = 30_000): Promise<Array<{ ok: boolean; msg: any }>> {
  return new Promise((resolve, reject) => {
    const results: Array<{ ok: boolean; msg: any }> = new Array(payloads.length);
    let count = 0;
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const timer = setTimeout(() => reject(new Error(`only ${count} of ${payloads.length} answered`)), timeoutMs);
    const settle = (ok: boolean) => (msg: any) => {
      results[msg.index] = { ok, msg };
      count += 1;
      if (count === payloads.length) {
        clearTimeout(timer);
        out.removeAllListeners('input');
        caught.removeAllListeners('input');
        resolve(results);
      }
    };
    out.on('input', settle(true));
    caught.on('input', settle(false));
    payloads.forEach((payload, index) => helper.getNode('w').receive({ payload, index }));
  });
}

const write = async (payload: unknown) => (await writeAll([payload]))[0];

function newPerson(caseId: string, weight = '54.2'): any {
  return {
    trackedEntities: [{
      trackedEntityType: TRACKED_ENTITY_TYPE_PERSON,
      orgUnit: ORG_UNIT_NGELEHUN_CHC,
      attributes: [
        { attribute: ATTRIBUTE_FIRST_NAME, value: 'Mariama' },
        { attribute: ATTRIBUTE_LAST_NAME, value: 'Bangura' },
        { attribute: ATTRIBUTE_COMMCARE_CASE_ID, value: caseId },
      ],
      enrollments: [{
        program: PROGRAM_COMMUNITY_FOLLOW_UP,
        orgUnit: ORG_UNIT_NGELEHUN_CHC,
        enrolledAt: '2024-03-01',
        events: [{ programStage: PROGRAM_STAGE_VISIT, orgUnit: ORG_UNIT_NGELEHUN_CHC, status: 'COMPLETED', occurredAt: '2024-03-02', dataValues: [{ dataElement: DATA_ELEMENT_VISIT_WEIGHT, value: weight }] }],
      }],
    }],
  };
}

describe('chis-dhis2-tracker-writer node (against the DHIS2 sandbox)', function () {
  this.timeout(60_000);
  let sandbox: Sandbox;
  let base: string;

  const api = async (path: string): Promise<any> => {
    const response = await fetch(`${base}/api/${path}`, { headers: { Authorization: `ApiToken ${DEMO_API_TOKEN}` } });
    return response.json();
  };
  const byCaseId = async (caseId: string): Promise<any[]> =>
    (await api(`tracker/trackedEntities?trackedEntityType=${TRACKED_ENTITY_TYPE_PERSON}&ouMode=ACCESSIBLE&filter=${ATTRIBUTE_COMMCARE_CASE_ID}:eq:${caseId}&fields=trackedEntity,enrollments[enrollment,events[event]]`)).instances;
  const trackerPosts = () => sandbox.log.query(new URLSearchParams({ method: 'POST', path: '^/api/tracker$' }));
  const trackerSearches = () => sandbox.log.query(new URLSearchParams({ method: 'GET', path: '^/api/tracker/trackedEntities$' }));

  beforeEach(async () => {
    sandbox = create();
    base = `http://127.0.0.1:${await sandbox.listen(0)}`;
    await helper.startServer();
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    await sandbox.close();
  });

  it('creates a tracked entity, its enrollment and event from the upstream nested payload, with client UIDs and a journal', async function () {
    requireSamples(this);
    await loadFlow([dhis2Config, trackerWriter], flow(base, {}, { authType: 'pat' }), { server: { token: DEMO_API_TOKEN } });
    const payload = sampleJson('dhis2/tracker-import-payload-nested.json');
    const { ok, msg } = await write(payload);
    assert.ok(ok, msg.error?.message);
    assert.equal(msg.payload.status, 'OK');
    assert.equal(msg.payload.events.length, 1);
    // The UIDs were chosen by the client and written into the message's payload, so a re-send reuses them.
    assert.equal(payload.trackedEntities[0].trackedEntity, msg.payload.trackedEntity);
    assert.equal(payload.trackedEntities[0].enrollments[0].events[0].event, msg.payload.events[0]);
    const entity = await api(`tracker/trackedEntities/${msg.payload.trackedEntity}?program=${PROGRAM_COMMUNITY_FOLLOW_UP}&fields=trackedEntity,enrollments[enrollment,events[event,dataValues]]`);
    assert.equal(entity.enrollments[0].enrollment, msg.payload.enrollment);
    assert.equal(entity.enrollments[0].events[0].event, msg.payload.events[0]);
    assert.deepEqual(msg.journal.map((entry: any) => [entry.system, entry.resource, entry.action, entry.configId]), [
      ['dhis2', 'trackedEntity', 'created', 'server'],
      ['dhis2', 'enrollment', 'created', 'server'],
      ['dhis2', 'event', 'created', 'server'],
    ]);
  });

  it('1,000 events become at most 20 imports, and each message gets its own answer', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, { batchSize: 50, batchWaitMs: 200 }), credentials);
    const payloads = Array.from({ length: 1000 }, (_, index) => ({
      events: [{
        program: PROGRAM_COMMUNITY_FOLLOW_UP, programStage: PROGRAM_STAGE_VISIT, enrollment: SEEDED_ENROLLMENT, orgUnit: ORG_UNIT_NGELEHUN_CHC,
        status: 'COMPLETED', occurredAt: '2024-04-01', dataValues: [{ dataElement: DATA_ELEMENT_VISIT_WEIGHT, value: index % 100 === 7 ? 'heavy' : String(50 + (index % 10)) }],
      }],
    }));
    const results = await writeAll(payloads, 50_000);
    const posts = trackerPosts();
    assert.ok(posts.length <= 20, `${posts.length} imports`);
    const failed = results.map((result, index) => (result.ok ? -1 : index)).filter((index) => index >= 0);
    assert.deepEqual(failed, Array.from({ length: 10 }, (_, i) => i * 100 + 7));
    for (const index of failed) {
      assert.equal(results[index].msg.error.code, 'validation');
      assert.match(results[index].msg.error.message, /E1302 \(EVENT [A-Za-z0-9]{11}\)/);
    }
    const ok = results.filter((result) => result.ok);
    assert.equal(new Set(ok.map((result) => result.msg.payload.events[0])).size, 990);
    const stored = await api(`tracker/events?enrollment=${SEEDED_ENROLLMENT}&pageSize=2000&fields=event`);
    assert.equal(stored.instances.length, 991, 'the seeded visit and the 990 valid ones');
  });

  it('atomicMode ALL: a bad message fails alone, the rest of its batch is imported again', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, { atomicMode: 'ALL', batchSize: 10, batchWaitMs: 100 }), credentials);
    const payloads = ['ALL-1', 'ALL-2', 'ALL-3'].map((caseId, index) => newPerson(caseId, index === 1 ? 'x' : '60'));
    const results = await writeAll(payloads);
    assert.deepEqual(results.map((result) => result.ok), [true, false, true]);
    assert.equal(trackerPosts().length, 2);
    assert.equal((await byCaseId('ALL-2')).length, 0);
    assert.equal((await byCaseId('ALL-3')).length, 1);
  });

  it('a timeout after DHIS2 committed, then the retry: no duplicate', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, { uniqueAttribute: ATTRIBUTE_COMMCARE_CASE_ID, batchWaitMs: 0 }, { timeoutMs: 300, maxAttempts: 3 }), credentials);
    sandbox.faults.add({ path: '^/api/tracker$', method: 'POST', latencyMs: 900, count: 1 });
    const { ok, msg } = await write(newPerson('case-timeout-1'));
    assert.ok(ok, msg.error?.message);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.equal(trackerPosts().length, 2, 'the first (slow) import and its retry');
    const found = await byCaseId('case-timeout-1');
    assert.equal(found.length, 1);
    assert.equal(found[0].trackedEntity, msg.payload.trackedEntity);
    assert.equal(found[0].enrollments.length, 1);
    assert.equal(found[0].enrollments[0].events.length, 1);
  });

  it('a message re-sent after a failed attempt updates what the first attempt stored', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, { uniqueAttribute: ATTRIBUTE_COMMCARE_CASE_ID, batchWaitMs: 0 }, { timeoutMs: 300, maxAttempts: 1 }), credentials);
    sandbox.faults.add({ path: '^/api/tracker$', method: 'POST', latencyMs: 700, count: 1 });
    const payload = newPerson('case-timeout-2');
    const first = await write(payload);
    assert.equal(first.ok, false);
    assert.equal(first.msg.error.code, 'timeout');
    await new Promise((resolve) => setTimeout(resolve, 900));
    // The Catch path re-sends the same message: it carries the UIDs chosen the first time.
    const again = await write(first.msg.payload);
    assert.ok(again.ok, again.msg.error?.message);
    const found = await byCaseId('case-timeout-2');
    assert.equal(found.length, 1);
    assert.equal(found[0].enrollments.length, 1);
    assert.equal(found[0].enrollments[0].events.length, 1);
  });

  it('UIDs from msg.correlationId: the same form delivered again as a new message updates its event instead of adding one', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, { uniqueAttribute: ATTRIBUTE_COMMCARE_CASE_ID, uidKey: 'correlationId', uidKeyType: 'msg' }), credentials);
    const send = (payload: unknown, correlationId: string): Promise<{ ok: boolean; msg: any }> => new Promise((resolve) => {
      helper.getNode('out').once('input', (msg: any) => resolve({ ok: true, msg }));
      helper.getNode('caught').once('input', (msg: any) => resolve({ ok: false, msg }));
      helper.getNode('w').receive({ payload, correlationId });
    });
    const first = await send(newPerson(SEEDED_COMMCARE_CASE_ID, '57'), 'form-uid-key-1');
    assert.ok(first.ok, first.msg.error?.message);
    // A fresh copy of the form, as a re-delivery brings it: no UIDs in it.
    const again = await send(newPerson(SEEDED_COMMCARE_CASE_ID, '58'), 'form-uid-key-1');
    assert.ok(again.ok, again.msg.error?.message);
    assert.deepEqual(again.msg.payload.events, first.msg.payload.events, 'the same event UID');
    const other = await send(newPerson(SEEDED_COMMCARE_CASE_ID, '59'), 'form-uid-key-2');
    assert.notDeepEqual(other.msg.payload.events, first.msg.payload.events, 'another form, another event');
    assert.equal((await byCaseId(SEEDED_COMMCARE_CASE_ID))[0].enrollments[0].events.length, 3, 'the seeded visit and one per form');
    const event = await api(`tracker/events/${first.msg.payload.events[0]}?fields=event,dataValues`);
    assert.equal(event.dataValues.find((value: any) => value.dataElement === DATA_ELEMENT_VISIT_WEIGHT).value, '58', 'the re-delivered form updated its event');
  });

  it('refuses "UIDs from" fixed text, which would give every message the same UIDs', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, { uidKey: 'same-for-all', uidKeyType: 'str' }), credentials);
    const { ok, msg } = await write(newPerson('fixed-key'));
    assert.equal(ok, false);
    assert.equal(msg.error.code, 'bad-input');
    assert.match(msg.error.message, /fixed text/);
    assert.equal((await byCaseId('fixed-key')).length, 0, 'nothing written');
  });

  it('finds an existing tracked entity by its unique attribute and adds the visit to its active enrollment', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, { uniqueAttribute: ATTRIBUTE_COMMCARE_CASE_ID }), credentials);
    const { ok, msg } = await write(newPerson(SEEDED_COMMCARE_CASE_ID));
    assert.ok(ok, msg.error?.message);
    assert.equal(msg.payload.trackedEntity, SEEDED_TRACKED_ENTITY);
    assert.equal(msg.payload.enrollment, SEEDED_ENROLLMENT);
    assert.deepEqual(msg.payload.objects.map((o: any) => o.action), ['updated', 'reused', 'created']);
    const found = await byCaseId(SEEDED_COMMCARE_CASE_ID);
    assert.equal(found.length, 1);
    assert.equal(found[0].enrollments.length, 1);
    assert.equal(found[0].enrollments[0].events.length, 2);
    const updated = msg.journal.find((entry: any) => entry.action === 'updated');
    assert.equal(updated.id, SEEDED_TRACKED_ENTITY);
    assert.ok(updated.before.attributes.some((a: any) => a.attribute === ATTRIBUTE_FIRST_NAME && a.value === 'Amina'));
  });

  it('two messages about the same new person in one batch create them once', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, { uniqueAttribute: ATTRIBUTE_COMMCARE_CASE_ID, batchWaitMs: 100 }), credentials);
    const results = await writeAll([newPerson('twice-1'), newPerson('twice-1', '61')]);
    assert.deepEqual(results.map((result) => result.ok), [true, true], results.map((r) => r.msg.error?.message).join());
    assert.equal(results[0].msg.payload.trackedEntity, results[1].msg.payload.trackedEntity);
    const found = await byCaseId('twice-1');
    assert.equal(found.length, 1);
    assert.equal(found[0].enrollments.length, 1);
    assert.equal(found[0].enrollments[0].events.length, 2);
  });

  it('10 visits each for 3 registered people in one burst: one import, no deferral, each visit on the person\'s enrollment', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, { uniqueAttribute: ATTRIBUTE_COMMCARE_CASE_ID, batchSize: 50, batchWaitMs: 100 }), credentials);
    const caseIds = ['burst-1', 'burst-2', 'burst-3'];
    const registered = await writeAll(caseIds.map((caseId) => newPerson(caseId)));
    assert.ok(registered.every((result) => result.ok), registered.map((r) => r.msg.error?.message).join());
    const postsBefore = trackerPosts().length;
    const searchesBefore = trackerSearches().length;
    const visits = Array.from({ length: 30 }, (_, index) => newPerson(caseIds[index % 3], String(50 + index)));
    const results = await writeAll(visits);
    assert.deepEqual(results.filter((result) => !result.ok).map((result) => result.msg.error.message), []);
    const imports = trackerPosts().length - postsBefore;
    assert.ok(imports <= 2, `${imports} imports`);
    // The batch's people are looked up together (filter=<attribute>:in:a;b;c), not one search per form.
    const searches = trackerSearches().length - searchesBefore;
    assert.ok(searches >= 1 && searches <= imports, `${searches} searches for ${imports} imports`);
    results.forEach((result, index) => {
      const owner = registered[index % 3].msg.payload;
      assert.equal(result.msg.payload.trackedEntity, owner.trackedEntity);
      assert.equal(result.msg.payload.enrollment, owner.enrollment);
      assert.deepEqual(result.msg.payload.objects.map((o: any) => o.action), ['updated', 'reused', 'created']);
    });
    assert.equal(new Set(results.map((result) => result.msg.payload.events[0])).size, 30);
    for (const [position, caseId] of caseIds.entries()) {
      const found = await byCaseId(caseId);
      assert.equal(found.length, 1);
      assert.deepEqual(found[0].enrollments.map((e: any) => e.enrollment), [registered[position].msg.payload.enrollment]);
      assert.equal(found[0].enrollments[0].events.length, 11, 'the registration visit and 10 new ones');
    }
  });

  it('legacy mode: visits for a registered person in one burst all land on their enrollment, keeping the latest attributes', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, { uniqueAttribute: ATTRIBUTE_COMMCARE_CASE_ID, batchSize: 50, batchWaitMs: 100 }, { apiMode: 'legacy' }), credentials);
    const registered = await write(newPerson('legacy-burst'));
    assert.ok(registered.ok, registered.msg.error?.message);
    const visits = Array.from({ length: 5 }, (_, index) => {
      const payload = newPerson('legacy-burst', String(50 + index));
      payload.trackedEntities[0].attributes[0].value = `Mariama-${index}`;
      return payload;
    });
    const results = await writeAll(visits);
    assert.deepEqual(results.filter((result) => !result.ok).map((result) => result.msg.error.message), []);
    assert.ok(results.every((result) => result.msg.payload.enrollment === registered.msg.payload.enrollment));
    const entity = await api(`tracker/trackedEntities/${registered.msg.payload.trackedEntity}?program=${PROGRAM_COMMUNITY_FOLLOW_UP}&fields=attributes[attribute,value],enrollments[enrollment,events[event]]`);
    assert.equal(entity.enrollments[0].events.length, 6);
    assert.equal(entity.attributes.find((a: any) => a.attribute === ATTRIBUTE_FIRST_NAME).value, 'Mariama-4');
  });

  it('legacy mode: an ERROR nested under HTTP 200 reaches the Catch node', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base, {}, { apiMode: 'legacy' }), credentials);
    const { ok, msg } = await write(newPerson('legacy-1', 'not-a-number'));
    assert.equal(ok, false);
    assert.equal(msg.error.code, 'validation');
    assert.match(msg.error.message, /event [A-Za-z0-9]{11}: Event validation failed/);
    const answer = sandbox.log.query(new URLSearchParams({ method: 'POST', path: '^/api/trackedEntityInstances$' }))[0];
    assert.equal(answer.status, 200, 'DHIS2 said the import was successful');
    // What was stored is in the journal, for a rollback.
    assert.deepEqual(msg.journal.map((entry: any) => entry.resource), ['trackedEntity', 'enrollment']);
    const good = await write(newPerson('legacy-2'));
    assert.ok(good.ok, good.msg.error?.message);
    assert.equal(good.msg.payload.events.length, 1);
  });

  it('refuses a payload that breaks the contract, naming the field', async () => {
    await loadFlow([dhis2Config, trackerWriter], flow(base), credentials);
    const { ok, msg } = await write({ trackedEntities: [{ orgUnit: ORG_UNIT_NGELEHUN_CHC }] });
    assert.equal(ok, false);
    assert.equal(msg.error.code, 'bad-input');
    assert.match(msg.error.message, /trackedEntityType is required/);
    assert.equal(trackerPosts().length, 0);
  });
});
