/**
 * The CommCare -> DHIS2 tracker workflow in a started Node-RED against the sandboxes: a
 * registration form becomes one person enrolled in the Community Follow-up program, a visit
 * form one event in its Visit stage, exactly once, and a burst of forms few tracker imports.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as commcareSeed from '../../sandbox/commcare/seed';
import * as dhis2Seed from '../../sandbox/dhis2/seed';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { requireSamples, sampleJson } from '../support/samples';
import { nodeRedVersion } from '../support/runtime-env';

const DHIS2_AUTH = { Authorization: `Basic ${Buffer.from(`${dhis2Seed.ADMIN_USERNAME}:${dhis2Seed.ADMIN_PASSWORD}`).toString('base64')}` };
const RECEIVER_AUTH = { Authorization: `Basic ${Buffer.from('demo:demo-secret').toString('base64')}` };
const REGISTRATION_XMLNS = 'http://openrosa.org/formdesigner/chis-demo-tracker-registration';
const VISIT_XMLNS = 'http://openrosa.org/formdesigner/chis-demo-tracker-visit';
const BATCH_SIZE = 50;

interface TrackedEntity { trackedEntity: string; orgUnit: string; attributes: Array<{ attribute: string; value: string }>; enrollments?: Array<{ enrollment: string; program: string; status: string; attributes?: Array<{ attribute: string; value: string }> }> }
interface TrackerEvent { event: string; enrollment: string; programStage: string; occurredAt: string; dataValues: Array<{ dataElement: string; value: string }> }

describe(`CommCare -> DHIS2 tracker flow in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(180_000);
  let harness: FlowHarness;

  const dhis2 = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${harness.sandboxUrl('dhis2')}/api${path}`, { headers: DHIS2_AUTH });
    assert.equal(response.status, 200, `GET ${path}`);
    return (await response.json()) as T;
  };
  const peopleWithCase = async (caseId: string): Promise<TrackedEntity[]> => (await dhis2<{ instances: TrackedEntity[] }>(
    `/tracker/trackedEntities?ouMode=ACCESSIBLE&program=${dhis2Seed.PROGRAM_COMMUNITY_FOLLOW_UP}`
    + `&filter=${dhis2Seed.ATTRIBUTE_COMMCARE_CASE_ID}:eq:${caseId}&fields=trackedEntity,orgUnit,attributes[attribute,value],enrollments[enrollment,program,status,attributes[attribute,value]]`,
  )).instances;
  const visitsOf = async (enrollment: string): Promise<TrackerEvent[]> => (await dhis2<{ instances: TrackerEvent[] }>(
    `/tracker/events?enrollment=${enrollment}&programStage=${dhis2Seed.PROGRAM_STAGE_VISIT}&fields=event,enrollment,programStage,occurredAt,dataValues[dataElement,value]`,
  )).instances;
  const trackerImports = async (): Promise<number> => {
    const response = await fetch(`${harness.sandboxUrl('dhis2')}/_sandbox/requests?method=POST&path=^/api/tracker$`);
    return ((await response.json()) as unknown[]).length;
  };

  /** A forwarded form (HQ's form JSON), built on the real upstream sample's envelope. */
  function trackerForm(xmlns: string, caseId: string, answers: Record<string, string>, formId = randomUUID()): Record<string, unknown> {
    const sample = sampleJson<Record<string, any>>('commcare/forwarded-form-json.json');
    const now = new Date().toISOString();
    return {
      ...sample,
      id: formId,
      domain: 'demo',
      received_on: now,
      form: {
        '@xmlns': xmlns,
        '@name': xmlns === REGISTRATION_XMLNS ? 'Tracker Registration' : 'Tracker Visit',
        '#type': 'data',
        ...answers,
        case: { '@case_id': caseId, '@xmlns': 'http://commcarehq.org/case/transaction/v2', '@date_modified': now, '@user_id': sample.form?.meta?.userID ?? 'demo-user', update: {} },
        meta: { ...(sample.form?.meta ?? {}), instanceID: formId, timeEnd: now },
      },
    };
  }
  const registration = (caseId: string, answers: Partial<Record<string, string>> = {}) => trackerForm(REGISTRATION_XMLNS, caseId, {
    first_name: 'Mariama', last_name: 'Bangura', sex: 'female', dob: '1994-05-17', org_unit: dhis2Seed.ORG_UNIT_NGELEHUN_CHC, ...answers,
  } as Record<string, string>);
  const visit = (caseId: string, answers: Partial<Record<string, string>> = {}) => trackerForm(VISIT_XMLNS, caseId, {
    visit_date: '2026-03-02', weight_kg: '54.2', org_unit: dhis2Seed.ORG_UNIT_NGELEHUN_CHC, ...answers,
  } as Record<string, string>);

  const postForm = (form: unknown) => fetch(`${harness.runtime.url}/commcare/tracker`, {
    method: 'POST',
    headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify(form),
  });

  /** The receiver's route exists once an anonymous request is refused rather than not found. */
  const receiverListening = () => eventually(async () => (await fetch(`${harness.runtime.url}/commcare/tracker`, { method: 'POST' })).status === 401, 10_000);

  before(async function () {
    requireSamples(this);
    harness = await startHarness({ name: 'dhis2-tracker', systems: ['dhis2', 'commcare'] });
    await harness.deployExamples('commcare-to-dhis2-tracker.json');
    await receiverListening();
  });

  after(async () => {
    await harness?.stop();
  });

  const caseId = randomUUID();
  const registrationForm = () => registration(caseId, { sex: 'female' });
  let firstRegistration: Record<string, unknown>;
  let firstVisit: Record<string, unknown>;

  it('turns a registration form into exactly one person with the CommCare case id, enrolled in the program', async () => {
    firstRegistration = registrationForm();
    const response = await postForm(firstRegistration);
    assert.equal(response.status, 200, await response.text());
    const people = await peopleWithCase(caseId);
    assert.equal(people.length, 1, 'exactly one tracked entity');
    const [person] = people;
    assert.equal(person.orgUnit, dhis2Seed.ORG_UNIT_NGELEHUN_CHC);
    const enrollments = (person.enrollments ?? []).filter((enrollment) => enrollment.program === dhis2Seed.PROGRAM_COMMUNITY_FOLLOW_UP);
    assert.equal(enrollments.length, 1, 'enrolled once in Community Follow-up');
    assert.equal(enrollments[0].status, 'ACTIVE');
    const attributes = new Map([...person.attributes, ...(enrollments[0].attributes ?? [])].map((item) => [item.attribute, item.value]));
    assert.equal(attributes.get(dhis2Seed.ATTRIBUTE_COMMCARE_CASE_ID), caseId);
    assert.equal(attributes.get(dhis2Seed.ATTRIBUTE_FIRST_NAME), 'Mariama');
    assert.equal(attributes.get(dhis2Seed.ATTRIBUTE_LAST_NAME), 'Bangura');
    assert.equal(attributes.get(dhis2Seed.ATTRIBUTE_SEX), 'Female', 'CommCare "female" is stored as DHIS2 "Female"');
    assert.equal(attributes.get(dhis2Seed.ATTRIBUTE_DATE_OF_BIRTH), '1994-05-17');
  });

  it('turns a visit form into one event of the Visit stage on that enrollment', async () => {
    const [person] = await peopleWithCase(caseId);
    const enrollment = person.enrollments![0].enrollment;
    firstVisit = visit(caseId, { visit_date: '2026-03-02', weight_kg: '54.2' });
    const response = await postForm(firstVisit);
    assert.equal(response.status, 200, await response.text());
    const visits = await visitsOf(enrollment);
    assert.equal(visits.length, 1);
    assert.equal(visits[0].programStage, dhis2Seed.PROGRAM_STAGE_VISIT);
    assert.equal(visits[0].occurredAt.slice(0, 10), '2026-03-02');
    const values = new Map(visits[0].dataValues.map((value) => [value.dataElement, value.value]));
    assert.equal(Number(values.get(dhis2Seed.DATA_ELEMENT_VISIT_WEIGHT)), 54.2);
    assert.equal((await peopleWithCase(caseId))[0].enrollments!.length, 1, 'the visit reuses the active enrollment');
  });

  it('creates nothing new when either form is delivered again', async () => {
    const importsBefore = await trackerImports();
    for (const form of [firstRegistration, firstVisit]) {
      const again = await postForm(form);
      assert.equal(again.status, 200);
      assert.equal(((await again.json()) as { status: string }).status, 'duplicate');
    }
    assert.equal(await trackerImports(), importsBefore, 'no import for a re-delivered form');
    const people = await peopleWithCase(caseId);
    assert.equal(people.length, 1);
    assert.equal(people[0].enrollments!.length, 1);
    assert.equal((await visitsOf(people[0].enrollments![0].enrollment)).length, 1);
  });

  it('writes no second event when Node-RED wrote a visit but did not live to acknowledge it', async () => {
    // The event UID is derived from the form id, so past the receiver's memory DHIS2 updates the same event.
    const [person] = await peopleWithCase(caseId);
    const enrollment = person.enrollments![0].enrollment;
    const form = visit(caseId, { visit_date: '2026-03-09', weight_kg: '55' });
    assert.equal((await postForm(form)).status, 200);
    const visitsBefore = await visitsOf(enrollment);
    // What a crash between the import and the answer leaves: DHIS2 has the event, the receiver never marked the form seen.
    await harness.runtime.kill9();
    fs.rmSync(path.join(harness.userDir, 'chis-state', 'seen'), { recursive: true, force: true });
    await harness.restart();
    await receiverListening();
    const again = await postForm(form);
    const answer = (await again.json()) as { status: string };
    assert.equal(again.status, 200, JSON.stringify(answer));
    assert.equal(answer.status, 'accepted', 'the receiver had forgotten the form');
    const visitsAfter = await visitsOf(enrollment);
    assert.equal(visitsAfter.length, visitsBefore.length, 'the same event, not a second one');
  });

  it('answers a form with an unknown org unit non-2xx through the error path, and stores nothing', async () => {
    const unknownCase = randomUUID();
    const response = await postForm(registration(unknownCase, { org_unit: 'AbCdEfGhIjK' }));
    assert.equal(response.status, 422, 'permanent: CommCare must not retry');
    const body = (await response.json()) as { code: string; error: string };
    assert.equal(body.code, 'validation');
    assert.match(body.error, /AbCdEfGhIjK/);
    assert.equal((await peopleWithCase(unknownCase)).length, 0);
  });

  it('answers a visit of a person DHIS2 does not know non-2xx and leaves no person behind', async () => {
    const stranger = randomUUID();
    const response = await postForm(visit(stranger));
    assert.equal(response.status, 422);
    assert.equal(((await response.json()) as { code: string }).code, 'validation');
    const left = await dhis2<{ instances: unknown[] }>(`/tracker/trackedEntities?ouMode=ACCESSIBLE&trackedEntityType=${dhis2Seed.TRACKED_ENTITY_TYPE_PERSON}&filter=${dhis2Seed.ATTRIBUTE_COMMCARE_CASE_ID}:eq:${stranger}`);
    assert.deepEqual(left.instances, [], 'the person DHIS2 stored without an enrollment is rolled back');
  });

  it('brings a person changed in DHIS2 back to the CommCare case the registration came from', async () => {
    const commcareAuth = { Authorization: `ApiKey ${commcareSeed.WEB_USER.username}:${commcareSeed.WEB_USER.apiKey}` };
    const created = await fetch(`${harness.sandboxUrl('commcare')}/a/${commcareSeed.DOMAIN}/api/case/v2/`, {
      method: 'POST',
      headers: { ...commcareAuth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ case_type: 'patient', case_name: 'Fatmata Kamara', owner_id: commcareSeed.KIMIRONKO_LOCATION_ID, properties: { first_name: 'Fatmata', last_name: 'Kamara' } }),
    });
    const createdText = await created.text();
    assert.ok(created.status < 300, createdText);
    const commcareCase = (JSON.parse(createdText) as { case: { case_id: string } }).case.case_id;
    const caseOf = async (): Promise<{ properties: Record<string, string> }> =>
      (await fetch(`${harness.sandboxUrl('commcare')}/a/${commcareSeed.DOMAIN}/api/case/v2/${commcareCase}/`, { headers: commcareAuth })).json() as Promise<{ properties: Record<string, string> }>;
    const response = await postForm(registration(commcareCase, { first_name: 'Fatmata', last_name: 'Kamara' }));
    assert.equal(response.status, 200, await response.text());
    const [person] = await peopleWithCase(commcareCase);
    // The source polls every 5 s: the case learns its tracked entity.
    const linked = await eventually(async () => {
      const current = await caseOf();
      return current.properties.dhis2_tracked_entity === person.trackedEntity ? current : undefined;
    }, 20_000, 250);
    assert.equal(linked.properties.dhis2_org_unit, dhis2Seed.ORG_UNIT_NGELEHUN_CHC);

    // The facility corrects her name in DHIS2: the CHW's case follows.
    const update = await fetch(`${harness.sandboxUrl('dhis2')}/api/tracker?async=false&importStrategy=UPDATE`, {
      method: 'POST',
      headers: { ...DHIS2_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ trackedEntities: [{ trackedEntity: person.trackedEntity, trackedEntityType: dhis2Seed.TRACKED_ENTITY_TYPE_PERSON, orgUnit: person.orgUnit,
        attributes: [...person.attributes.filter((item) => item.attribute !== dhis2Seed.ATTRIBUTE_FIRST_NAME), { attribute: dhis2Seed.ATTRIBUTE_FIRST_NAME, value: 'Fatima' }] }] }),
    });
    assert.equal(update.status, 200, await update.text());
    const renamed = await eventually(async () => {
      const current = await caseOf();
      return current.properties.first_name === 'Fatima' ? current : undefined;
    }, 20_000, 250);
    assert.equal(renamed.properties.last_name, 'Kamara');
    assert.equal(renamed.properties.dhis2_tracked_entity, person.trackedEntity);
  });

  it('imports a burst of 200 visit forms in at most ceil(200 / batch size) tracker imports, answering each form 2xx', async () => {
    const people = Array.from({ length: 200 }, () => randomUUID());
    const registrations = await Promise.all(people.map((id, index) => postForm(registration(id, { first_name: `Person${index}`, sex: index % 2 ? 'm' : 'f' }))));
    assert.deepEqual(registrations.map((response) => response.status), people.map(() => 200));
    const importsBefore = await trackerImports();
    const forms = people.map((id, index) => visit(id, { visit_date: '2026-03-10', weight_kg: String(40 + (index % 30)) }));
    const answers = await Promise.all(forms.map((form) => postForm(form)));
    assert.deepEqual(answers.map((response) => response.status), forms.map(() => 200), 'every form gets its own 2xx');
    const imports = (await trackerImports()) - importsBefore;
    assert.ok(imports <= Math.ceil(forms.length / BATCH_SIZE), `${imports} tracker imports for ${forms.length} forms`);
    const sample = (await peopleWithCase(people[123]))[0];
    await eventually(async () => (await visitsOf(sample.enrollments![0].enrollment)).length === 1);
  });
});
