import assert from 'node:assert/strict';
import type { Dhis2Client } from '../../nodes/dhis2/api/client';
import { prepareMessage, toLegacy, writeTrackerBatch } from '../../nodes/dhis2/api/tracker';
import { Batcher } from '../../nodes/dhis2/api/batcher';
import { isUid, uidFromKey } from '../../nodes/dhis2/api/uid';
import { requireSamples, sampleJson } from '../support/samples';

const TET = 'nEenWmSyUEp';
const OU = 'DiszpKrYNg8';

function person(uid: string, enrollment?: string, event?: string): any {
  return {
    trackedEntity: uid, trackedEntityType: TET, orgUnit: OU,
    enrollments: enrollment ? [{ enrollment, program: 'IpHINAT79UW', orgUnit: OU, enrolledAt: '2024-01-01', events: event ? [{ event, programStage: 'A03MvHHogjR', orgUnit: OU, occurredAt: '2024-01-02' }] : [] }] : [],
  };
}

function fakeClient(reports: any[], calls: any[] = []): Dhis2Client {
  return {
    mode: 'tracker',
    importTracker: async (payload: any, options: any) => {
      calls.push({ payload, options });
      return reports.shift();
    },
    findByAttribute: async () => [],
    activeEnrollment: async () => undefined,
  } as unknown as Dhis2Client;
}

describe('dhis2 tracker payloads', () => {
  it('gives every object a UID, writes it into the message, and flattens nested payloads', () => {
    const payload: any = { trackedEntities: [{ trackedEntityType: TET, orgUnit: OU, enrollments: [{ program: 'IpHINAT79UW', orgUnit: OU, enrolledAt: '2024-01-01', events: [{ programStage: 'A03MvHHogjR', orgUnit: OU, notes: [{ value: 'x' }] }] }] }] };
    const prepared = prepareMessage(payload, new Map());
    const te = payload.trackedEntities[0];
    const enrollment = te.enrollments[0];
    const event = enrollment.events[0];
    assert.ok(isUid(te.trackedEntity) && isUid(enrollment.enrollment) && isUid(event.event) && isUid(event.notes[0].note));
    assert.equal(prepared.flat.trackedEntities[0].enrollments, undefined);
    assert.equal(prepared.flat.enrollments[0].trackedEntity, te.trackedEntity);
    assert.equal(prepared.flat.events[0].enrollment, enrollment.enrollment);
    assert.equal(prepared.flat.events[0].program, 'IpHINAT79UW');
    assert.deepEqual(prepared.objects.map((o) => o.origin), ['new', 'new', 'new']);
    // A second preparation of the same message (a retry) sends the same UIDs.
    const again = prepareMessage(payload, new Map());
    assert.deepEqual(again.objects.map((o) => o.uid), prepared.objects.map((o) => o.uid));
    assert.deepEqual(again.objects.map((o) => o.origin), ['unknown', 'unknown', 'unknown']);
  });

  it('derives UIDs from a key: a fresh copy of the same message names the same objects, another key others', () => {
    const message = (): any => ({ trackedEntities: [{ trackedEntityType: TET, orgUnit: OU, enrollments: [{ program: 'IpHINAT79UW', orgUnit: OU, enrolledAt: '2024-01-01', events: [{ programStage: 'A03MvHHogjR', orgUnit: OU }, { programStage: 'A03MvHHogjR', orgUnit: OU, notes: [{ value: 'x' }] }] }] }] });
    const first = prepareMessage(message(), new Map(), 'form-1');
    const again = prepareMessage(message(), new Map(), 'form-1');
    const other = prepareMessage(message(), new Map(), 'form-2');
    const uids = (prepared: ReturnType<typeof prepareMessage>): string[] => prepared.objects.map((object) => object.uid);
    assert.deepEqual(uids(again), uids(first));
    assert.ok(uids(first).every(isUid));
    assert.equal(new Set(uids(first)).size, 4, 'each object its own UID');
    assert.ok(uids(other).every((uid) => !uids(first).includes(uid)));
    // It may exist already (a re-delivery): not "new", so a rollback only deletes what the import created.
    assert.deepEqual(first.objects.map((object) => object.origin), ['unknown', 'unknown', 'unknown', 'unknown']);
    const noteOf = (prepared: ReturnType<typeof prepareMessage>): unknown => (prepared.flat.events[1] as { notes: Array<{ note: string }> }).notes[0].note;
    assert.equal(noteOf(again), noteOf(first));
  });

  it('uidFromKey: a valid UID, the same for the same key', () => {
    for (const key of ['', 'a', 'form-1|msg.payload.events[0].event', 'ü'.repeat(1000)]) {
      assert.ok(isUid(uidFromKey(key)), key);
      assert.equal(uidFromKey(key), uidFromKey(key));
    }
    assert.notEqual(uidFromKey('form-1'), uidFromKey('form-2'));
  });

  it('reuses a found tracked entity and its active enrollment', () => {
    const payload: any = { trackedEntities: [{ trackedEntityType: TET, orgUnit: 'y77LiPqLMoq', attributes: [{ attribute: 'LaH0cUEKyIP', value: 'case-1' }], enrollments: [{ program: 'IpHINAT79UW', orgUnit: OU, enrolledAt: '2024-05-01', attributes: [{ attribute: 'w75KJ2mc4zz', value: 'Awa' }], events: [{ programStage: 'A03MvHHogjR', orgUnit: OU }] }] }] };
    const found = { trackedEntity: 'ZXdEX7EE7wF', orgUnit: OU, trackedEntityType: TET, attributes: [{ attribute: 'LaH0cUEKyIP', value: 'case-1' }], enrollments: [{ enrollment: 'SnymQz04r2Y', program: 'IpHINAT79UW', status: 'ACTIVE' }] };
    const prepared = prepareMessage(payload, new Map([[payload.trackedEntities[0], found]]));
    assert.equal(prepared.flat.trackedEntities[0].trackedEntity, 'ZXdEX7EE7wF');
    assert.equal(prepared.flat.trackedEntities[0].orgUnit, OU, 'a found person keeps their org unit');
    assert.equal(payload.trackedEntities[0].trackedEntity, undefined, 'a found UID is not written back');
    assert.equal(prepared.flat.enrollments.length, 0);
    assert.equal(prepared.flat.events[0].enrollment, 'SnymQz04r2Y');
    assert.deepEqual(prepared.flat.trackedEntities[0].attributes!.map((a) => a.attribute), ['LaH0cUEKyIP', 'w75KJ2mc4zz']);
    assert.deepEqual(prepared.objects.map((o) => [o.type, o.origin]), [['trackedEntity', 'existing'], ['enrollment', 'reused'], ['event', 'new']]);
  });

  it('refuses a malformed UID, naming the field', () => {
    assert.throws(() => prepareMessage({ events: [{ event: 'not-a-uid', programStage: 'A03MvHHogjR' }] }, new Map()), (error: any) => error.field === 'msg.payload.events[0].event');
  });

  it('translates to the legacy shape, keeping a found entity\'s other attributes', () => {
    const payload: any = { trackedEntities: [{ trackedEntityType: TET, orgUnit: OU, attributes: [{ attribute: 'LaH0cUEKyIP', value: 'case-1' }], enrollments: [{ program: 'IpHINAT79UW', orgUnit: OU, enrolledAt: '2024-05-01', occurredAt: '2024-04-30', events: [{ programStage: 'A03MvHHogjR', orgUnit: OU, occurredAt: '2024-05-02' }] }] }] };
    const found = { trackedEntity: 'ZXdEX7EE7wF', orgUnit: OU, attributes: [{ attribute: 'LaH0cUEKyIP', value: 'case-1' }, { attribute: 'AuPLng5hLbE', value: 'SL-1' }], enrollments: [] };
    const legacy = toLegacy(prepareMessage(payload, new Map([[payload.trackedEntities[0], found]])));
    const tei: any = legacy.trackedEntityInstances[0];
    assert.equal(tei.trackedEntityInstance, 'ZXdEX7EE7wF');
    assert.deepEqual(tei.attributes.map((a: any) => a.attribute).sort(), ['AuPLng5hLbE', 'LaH0cUEKyIP']);
    assert.equal(tei.enrollments[0].enrollmentDate, '2024-05-01');
    assert.equal(tei.enrollments[0].incidentDate, '2024-04-30');
    assert.equal(tei.enrollments[0].events[0].eventDate, '2024-05-02');
    assert.deepEqual(legacy.events, []);
  });
});

describe('dhis2 tracker report splitting', () => {
  beforeEach(function () { requireSamples(this); });
  const settings = { atomicMode: 'OBJECT' as const, configId: 'cfg' };

  it('answers each message from the upstream OK report, with journal entries for what it created', async () => {
    const report = sampleJson('dhis2/tracker-import-report-ok.json');
    const outcomes = await writeTrackerBatch(fakeClient([report]), [{ trackedEntities: [person('aVcGf9iO8Xp', 'ffcvJvWjiNZ', 'gTZBPT3Jq39')] }], settings);
    const outcome: any = outcomes[0];
    assert.deepEqual(outcome.result.trackedEntity, 'aVcGf9iO8Xp');
    assert.deepEqual(outcome.result.enrollment, 'ffcvJvWjiNZ');
    assert.deepEqual(outcome.result.events, ['gTZBPT3Jq39']);
    assert.deepEqual(outcome.journal.map((e: any) => [e.system, e.resource, e.id, e.action, e.configId]), [
      ['dhis2', 'trackedEntity', 'aVcGf9iO8Xp', 'created', 'cfg'],
      ['dhis2', 'enrollment', 'ffcvJvWjiNZ', 'created', 'cfg'],
      ['dhis2', 'event', 'gTZBPT3Jq39', 'created', 'cfg'],
    ]);
  });

  it('OBJECT: the message owning an errorReport fails, the others succeed, from one import', async () => {
    const ok = sampleJson('dhis2/tracker-import-report-ok.json');
    const fragment = sampleJson('dhis2/tracker-import-report-error-fragment.json');
    const calls: any[] = [];
    const outcomes: any[] = await writeTrackerBatch(fakeClient([{ ...ok, status: 'ERROR', validationReport: fragment.validationReport }], calls), [
      { trackedEntities: [person('Kj6vYde4LHh')] },
      { trackedEntities: [person('aVcGf9iO8Xp', 'ffcvJvWjiNZ', 'gTZBPT3Jq39')] },
    ], settings);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].payload.trackedEntities.length, 2);
    assert.equal(calls[0].options.idempotent, true);
    assert.equal(outcomes[0].error.code, 'validation');
    assert.match(outcomes[0].error.message, /E1005 \(TRACKED_ENTITY Kj6vYde4LHh\): Could not find TrackedEntityType/);
    assert.equal(outcomes[1].result.trackedEntity, 'aVcGf9iO8Xp');
  });

  it('ALL: a rejected batch fails the message with errors and imports the others again', async () => {
    const ok = sampleJson('dhis2/tracker-import-report-ok.json');
    const fragment = sampleJson('dhis2/tracker-import-report-error-fragment.json');
    const calls: any[] = [];
    const rejected = { status: 'ERROR', validationReport: fragment.validationReport, stats: { created: 0, updated: 0, deleted: 0, ignored: 4, total: 4 } };
    const outcomes: any[] = await writeTrackerBatch(fakeClient([rejected, ok], calls), [
      { trackedEntities: [person('Kj6vYde4LHh')] },
      { trackedEntities: [person('aVcGf9iO8Xp', 'ffcvJvWjiNZ', 'gTZBPT3Jq39')] },
    ], { ...settings, atomicMode: 'ALL' });
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1].payload.trackedEntities.map((t: any) => t.trackedEntity), ['aVcGf9iO8Xp']);
    assert.equal(outcomes[0].error.code, 'validation');
    assert.deepEqual(outcomes[0].journal, []);
    assert.equal(outcomes[1].result.events[0], 'gTZBPT3Jq39');
  });
});

describe('dhis2 tracker batches with a unique attribute', () => {
  const CASE_ID = 'LaH0cUEKyIP';
  const FIRST_NAME = 'w75KJ2mc4zz';
  const PROGRAM = 'IpHINAT79UW';
  const settings = { atomicMode: 'OBJECT' as const, configId: 'cfg', uniqueAttribute: CASE_ID };
  const registered = (enrollments: any[]) => ({ trackedEntity: 'ZXdEX7EE7wF', orgUnit: OU, trackedEntityType: TET, attributes: [{ attribute: CASE_ID, value: 'case-1' }, { attribute: FIRST_NAME, value: 'Amina' }], enrollments });
  const visit = (caseId: string, firstName: string): any => ({
    trackedEntities: [{
      trackedEntityType: TET, orgUnit: OU, attributes: [{ attribute: CASE_ID, value: caseId }, { attribute: FIRST_NAME, value: firstName }],
      enrollments: [{ program: PROGRAM, orgUnit: OU, enrolledAt: '2024-05-01', events: [{ programStage: 'A03MvHHogjR', orgUnit: OU, occurredAt: '2024-05-02' }] }],
    }],
  });
  /** A client that finds `found` by case id and persists everything it is sent. */
  function clientFinding(found: any[], calls: { searches: string[][]; imports: any[] }): Dhis2Client {
    const uids = (objects: any[] = [], key: string) => objects.map((object) => ({ uid: object[key] }));
    return {
      mode: 'tracker',
      findByAttribute: async (_type: string, _attribute: string, values: string[]) => {
        calls.searches.push(values);
        return found.filter((entity) => values.includes(entity.attributes[0].value));
      },
      importTracker: async (payload: any) => {
        calls.imports.push(payload);
        return {
          status: 'OK',
          bundleReport: { typeReportMap: {
            TRACKED_ENTITY: { objectReports: uids(payload.trackedEntities, 'trackedEntity') },
            ENROLLMENT: { objectReports: uids(payload.enrollments, 'enrollment') },
            EVENT: { stats: { updated: 0 }, objectReports: uids(payload.events, 'event') },
          } },
        };
      },
      activeEnrollment: async () => undefined,
    } as unknown as Dhis2Client;
  }

  it('imports every visit of a found person in one request, sending the person once with the attributes merged in message order', async () => {
    const calls = { searches: [] as string[][], imports: [] as any[] };
    const client = clientFinding([registered([{ enrollment: 'SnymQz04r2Y', program: PROGRAM, status: 'ACTIVE' }])], calls);
    const outcomes: any[] = await writeTrackerBatch(client, [visit('case-1', 'Aminata'), visit('new-1', 'Fatu'), visit('case-1', 'Ami'), visit('new-1', 'Fatu')], settings);
    assert.deepEqual(calls.searches, [['case-1', 'new-1']]);
    assert.equal(calls.imports.length, 1);
    const sent = calls.imports[0];
    const person = sent.trackedEntities.filter((entity: any) => entity.trackedEntity === 'ZXdEX7EE7wF');
    assert.equal(person.length, 1);
    assert.equal(person[0].attributes.find((a: any) => a.attribute === FIRST_NAME).value, 'Ami');
    assert.equal(sent.trackedEntities.length, 2, 'the found person and the new one');
    assert.equal(sent.events.length, 3);
    assert.equal(sent.enrollments.length, 1, 'only the new person is enrolled');
    assert.deepEqual(outcomes.map((outcome) => ('defer' in outcome ? 'defer' : 'result' in outcome ? 'result' : 'error')), ['result', 'result', 'result', 'defer']);
    assert.equal(outcomes[0].result.enrollment, 'SnymQz04r2Y');
    assert.equal(outcomes[2].result.enrollment, 'SnymQz04r2Y');
    assert.notEqual(outcomes[0].result.events[0], outcomes[2].result.events[0]);
    // Rolling back the second visit restores the person as the first visit left them.
    const before = (outcome: any) => outcome.journal.find((entry: any) => entry.resource === 'trackedEntity').before.attributes.find((a: any) => a.attribute === FIRST_NAME).value;
    assert.equal(before(outcomes[0]), 'Amina');
    assert.equal(before(outcomes[2]), 'Aminata');
  });

  it('a found person not yet enrolled in the program is enrolled by the first message; the next waits for the following batch', async () => {
    const calls = { searches: [] as string[][], imports: [] as any[] };
    const client = clientFinding([registered([{ enrollment: 'SnymQz04r2Y', program: PROGRAM, status: 'COMPLETED' }])], calls);
    const outcomes: any[] = await writeTrackerBatch(client, [visit('case-1', 'Amina'), visit('case-1', 'Amina')], settings);
    assert.ok('result' in outcomes[0]);
    assert.ok('defer' in outcomes[1]);
    assert.equal(calls.imports[0].enrollments.length, 1);
  });
});

describe('dhis2 batcher', () => {
  it('sends full batches at once and the rest after the wait, one batch at a time', async () => {
    const batches: number[][] = [];
    let running = 0;
    const batcher = new Batcher<number, number>({
      maxSize: 3,
      maxWaitMs: 30,
      run: async (items) => {
        running += 1;
        assert.equal(running, 1);
        batches.push(items);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        return items.map((item) => (item === 4 && batches.length === 2 ? { defer: true as const } : { value: item * 10 }));
      },
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map((item) => batcher.submit(item)));
    assert.deepEqual(results, [10, 20, 30, 40, 50]);
    assert.deepEqual(batches, [[1, 2, 3], [4, 5], [4]]);
  });
});
