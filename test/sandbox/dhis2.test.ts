import assert from 'node:assert/strict';
import type { SandboxApp } from '../../sandbox/core';
import {
  ADMIN_PASSWORD, ADMIN_USERNAME, ATTRIBUTE_COMMCARE_CASE_ID, ATTRIBUTE_FIRST_NAME, ATTRIBUTE_LAST_NAME, ATTRIBUTE_NATIONAL_ID,
  CATEGORY_OPTION_COMBO_FEMALE, CATEGORY_OPTION_COMBO_MALE, CHW_PASSWORD, CHW_USERNAME, DATA_ELEMENT_CHILDREN_SCREENED,
  DATA_ELEMENT_DANGER_SIGNS, DATA_ELEMENT_HOME_VISITS, DATA_ELEMENT_REFERRALS, DATA_ELEMENT_VISIT_WEIGHT, DATA_SET_COMMUNITY_MONTHLY,
  DEMO_API_TOKEN, DHIS2_VERSION, ORG_UNIT_BO, ORG_UNIT_GBENIKORO_MCHP, ORG_UNIT_NGELEHUN_CHC, ORG_UNIT_SIERRA_LEONE,
  PROGRAM_COMMUNITY_FOLLOW_UP, PROGRAM_STAGE_REGISTRATION, PROGRAM_STAGE_VISIT, SEEDED_COMMCARE_CASE_ID, SEEDED_NATIONAL_ID,
  SEEDED_TRACKED_ENTITY, TRACKED_ENTITY_TYPE_PERSON, create,
} from '../../sandbox/dhis2';
import { requireSamples, sampleJson, sampleText } from '../support/samples';
import { shapeDifferences } from '../support/shape';

type Json = Record<string, any>;

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ADMIN = { Authorization: basic(ADMIN_USERNAME, ADMIN_PASSWORD), 'Content-Type': 'application/json' };
const CHW = { Authorization: basic(CHW_USERNAME, CHW_PASSWORD), 'Content-Type': 'application/json' };

/** A tracked entity enrolled into Community Follow-up with one visit, all with client UIDs. */
function person(uids: { te: string; enrollment: string; event: string }, overrides: { nationalId?: string; weight?: string; firstName?: string } = {}): Json {
  return {
    trackedEntity: uids.te,
    trackedEntityType: TRACKED_ENTITY_TYPE_PERSON,
    orgUnit: ORG_UNIT_NGELEHUN_CHC,
    attributes: [
      { attribute: ATTRIBUTE_FIRST_NAME, value: overrides.firstName ?? 'Mariama' },
      { attribute: ATTRIBUTE_LAST_NAME, value: 'Bangura' },
      ...(overrides.nationalId ? [{ attribute: ATTRIBUTE_NATIONAL_ID, value: overrides.nationalId }] : []),
    ],
    enrollments: [{
      enrollment: uids.enrollment,
      program: PROGRAM_COMMUNITY_FOLLOW_UP,
      orgUnit: ORG_UNIT_NGELEHUN_CHC,
      enrolledAt: '2024-03-01',
      occurredAt: '2024-03-01',
      events: [{
        event: uids.event,
        programStage: PROGRAM_STAGE_VISIT,
        orgUnit: ORG_UNIT_NGELEHUN_CHC,
        status: 'COMPLETED',
        occurredAt: '2024-03-02',
        dataValues: [{ dataElement: DATA_ELEMENT_VISIT_WEIGHT, value: overrides.weight ?? '54.2' }],
      }],
    }],
  };
}

describe('dhis2 sandbox', () => {
  let app: SandboxApp;
  let base: string;
  let root: string;

  beforeEach(async () => {
    app = create();
    root = `http://127.0.0.1:${await app.listen(0)}`;
    base = `${root}/api`;
  });

  afterEach(() => app.close());

  const get = async (path: string, headers: Record<string, string> = ADMIN): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${base}${path}`, { headers });
    return { status: response.status, body: await response.json() as Json };
  };
  const post = async (path: string, body: unknown, headers: Record<string, string> = ADMIN, method = 'POST'): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${base}${path}`, { method, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: response.status, body: await response.json() as Json };
  };
  const track = (body: unknown, params = ''): Promise<{ status: number; body: Json }> => post(`/tracker?async=false${params}`, body);

  describe('conformance with upstream samples', () => {
    beforeEach(function () { requireSamples(this); });

    it('imports the nested docs payload synchronously and answers an ImportReport shaped like the docs', async () => {
      const { status, body } = await post('/tracker?async=false', sampleText('dhis2/tracker-import-payload-nested.json'));
      assert.equal(status, 200);
      assert.equal(body.status, 'OK', JSON.stringify(body.validationReport));
      assert.deepEqual(shapeDifferences(sampleJson('dhis2/tracker-import-report-ok.json'), body), []);
      assert.deepEqual(body.stats, { created: 3, updated: 0, deleted: 0, ignored: 0, total: 3 });
    });

    it('answers an async import with the job WebMessage, then serves the report and notifications', async () => {
      const { status, body } = await post('/tracker', sampleText('dhis2/tracker-import-payload-nested.json'));
      assert.equal(status, 200);
      assert.deepEqual(shapeDifferences(sampleJson('dhis2/tracker-import-async-response.json'), body), []);
      assert.equal(body.response.location, `${base}/tracker/jobs/${body.response.id}`);
      const report = await get(`/tracker/jobs/${body.response.id}/report`);
      assert.equal(report.status, 200);
      assert.deepEqual(shapeDifferences(sampleJson('dhis2/tracker-import-report-ok.json'), report.body), []);
      const notifications = await get(`/tracker/jobs/${body.response.id}`);
      assert.ok(Array.isArray(notifications.body));
      assert.equal((notifications.body as unknown as Json[])[0].completed, true);
      assert.equal((await get('/tracker/jobs/Xx1234567890/report')).status, 404);
    });

    it('serves an imported tracked entity shaped like the docs GET /tracker/trackedEntities/{uid}', async () => {
      const imported = await post('/tracker?async=false', sampleText('dhis2/tracker-import-payload-nested.json'));
      const uid = imported.body.bundleReport.typeReportMap.TRACKED_ENTITY.objectReports[0].uid as string;
      const { status, body } = await get(`/tracker/trackedEntities/${uid}?fields=*`);
      assert.equal(status, 200);
      assert.deepEqual(shapeDifferences(sampleJson('dhis2/tracker-trackedentity-get.json'), body), []);
      assert.equal(body.enrollments[0].events[0].dataValues.length, 2);
    });

    it('reports validation errors with status ERROR and 409, shaped like the docs fragment', async () => {
      const { status, body } = await track({ trackedEntities: [{ trackedEntity: 'Kj6vYde4LHh', orgUnit: ORG_UNIT_NGELEHUN_CHC, trackedEntityType: 'Q9GufDoplCL' }] });
      assert.equal(status, 409);
      assert.equal(body.status, 'ERROR');
      assert.deepEqual(shapeDifferences(sampleJson('dhis2/tracker-import-report-error-fragment.json'), body), []);
      assert.deepEqual(body.validationReport.errorReports, [
        { message: 'Could not find TrackedEntityType: `Q9GufDoplCL`.', errorCode: 'E1005', trackerType: 'TRACKED_ENTITY', uid: 'Kj6vYde4LHh' },
      ]);
      assert.equal(body.bundleReport, undefined, 'DHIS2 leaves the bundle report out when atomicMode ALL rejects the payload');
    });

    it('imports the docs data value set and answers an ImportSummary shaped like the docs, sync and async', async () => {
      const payload = sampleText('dhis2/datavalueset-payload.json');
      const sync = await post('/dataValueSets', payload);
      assert.equal(sync.status, 200);
      assert.equal(sync.body.status, 'OK');
      assert.equal(sync.body.response.responseType, 'ImportSummary');
      assert.deepEqual(shapeDifferences(sampleJson('dhis2/datavalueset-import-summary.json'), sync.body.response), []);
      assert.deepEqual(sync.body.response.importCount, { imported: 3, updated: 0, ignored: 0, deleted: 0 });

      const job = await post('/dataValueSets?async=true', payload);
      assert.equal(job.body.message, 'Initiated DATAVALUE_IMPORT');
      const summary = await get(`/system/taskSummaries/DATAVALUE_IMPORT/${job.body.response.id}`);
      assert.deepEqual(shapeDifferences(sampleJson('dhis2/datavalueset-import-summary.json'), summary.body), []);
      assert.deepEqual(summary.body.importCount, { imported: 0, updated: 3, ignored: 0, deleted: 0 });
    });

    it('serves a legacy tracked entity instance shaped like the CommCare fixture', async () => {
      const created = await post('/trackedEntityInstances', {
        trackedEntityType: TRACKED_ENTITY_TYPE_PERSON,
        orgUnit: ORG_UNIT_GBENIKORO_MCHP,
        attributes: [{ attribute: ATTRIBUTE_FIRST_NAME, value: 'Isatu' }, { attribute: ATTRIBUTE_LAST_NAME, value: 'Conteh' }],
        enrollments: [{
          program: PROGRAM_COMMUNITY_FOLLOW_UP,
          orgUnit: ORG_UNIT_GBENIKORO_MCHP,
          enrollmentDate: '2021-06-04',
          incidentDate: '2021-06-04',
          events: [{ programStage: PROGRAM_STAGE_VISIT, orgUnit: ORG_UNIT_GBENIKORO_MCHP, eventDate: '2021-06-04', status: 'COMPLETED', dataValues: [{ dataElement: DATA_ELEMENT_VISIT_WEIGHT, value: '61' }] }],
        }],
      });
      assert.equal(created.status, 200);
      const uid = created.body.response.importSummaries[0].reference as string;
      const { status, body } = await get(`/trackedEntityInstances/${uid}`);
      assert.equal(status, 200);
      assert.deepEqual(shapeDifferences(sampleJson('dhis2/legacy-tei-get.json'), body), []);
    });

    it('answers a legacy PUT with the nested ImportSummary shaped like the CommCare fixture', async () => {
      const tei = {
        trackedEntityType: TRACKED_ENTITY_TYPE_PERSON,
        orgUnit: ORG_UNIT_NGELEHUN_CHC,
        attributes: [{ attribute: ATTRIBUTE_FIRST_NAME, value: 'Amina' }, { attribute: ATTRIBUTE_LAST_NAME, value: 'Kamara-Koroma' }],
        enrollments: [{ enrollment: 'UjIps1Tvpns', program: PROGRAM_COMMUNITY_FOLLOW_UP, orgUnit: ORG_UNIT_NGELEHUN_CHC, enrollmentDate: '2024-01-02', status: 'COMPLETED' }],
      };
      const { status, body } = await post(`/trackedEntityInstances/${SEEDED_TRACKED_ENTITY}`, tei, ADMIN, 'PUT');
      assert.equal(status, 200);
      assert.deepEqual(shapeDifferences(sampleJson('dhis2/legacy-tei-import-response-success.json'), body), []);
      assert.deepEqual(body.response.importCount, { imported: 0, updated: 1, ignored: 0, deleted: 0 });
      assert.equal(body.response.reference, SEEDED_TRACKED_ENTITY);
    });
  });

  describe('tracker import', () => {
    it('reports every problem of a payload with DHIS2 error codes and imports nothing (atomicMode ALL)', async () => {
      const { status, body } = await track({
        trackedEntities: [
          { ...person({ te: 'bad-uid', enrollment: 'aaaaaaaaaa1', event: 'aaaaaaaaaa2' }) },
          {
            trackedEntity: 'Tq1kzW2BxNe', trackedEntityType: TRACKED_ENTITY_TYPE_PERSON, orgUnit: ORG_UNIT_NGELEHUN_CHC,
            attributes: [{ attribute: ATTRIBUTE_NATIONAL_ID, value: SEEDED_NATIONAL_ID }],
            enrollments: [{
              enrollment: 'Eq1kzW2BxNe', program: PROGRAM_COMMUNITY_FOLLOW_UP, orgUnit: ORG_UNIT_NGELEHUN_CHC, enrolledAt: '2024-03-01',
              events: [{ event: 'Vq1kzW2BxNe', programStage: PROGRAM_STAGE_VISIT, orgUnit: ORG_UNIT_NGELEHUN_CHC, occurredAt: '2024-03-02', dataValues: [{ dataElement: DATA_ELEMENT_VISIT_WEIGHT, value: 'heavy' }] }],
            }],
          },
        ],
      });
      assert.equal(status, 409);
      const codes = (body.validationReport.errorReports as Json[]).map((report) => `${report.errorCode}:${report.trackerType}`);
      assert.deepEqual(codes.sort(), [
        'E1048:TRACKED_ENTITY', 'E5000:ENROLLMENT', 'E5000:EVENT', 'E1064:TRACKED_ENTITY', 'E1018:ENROLLMENT', 'E1018:ENROLLMENT', 'E1302:EVENT',
      ].sort());
      assert.deepEqual(body.stats, { created: 0, updated: 0, deleted: 0, ignored: 6, total: 6 });
      assert.equal((await get('/tracker/trackedEntities?program=IpHINAT79UW&ouMode=ALL&totalPages=true')).body.total, 1);
    });

    it('validates references: org unit, program, stage ownership, data elements of the stage', async () => {
      const { body } = await track({
        enrollments: [{ enrollment: 'Eb2kzW2BxNe', trackedEntity: SEEDED_TRACKED_ENTITY, program: 'NoSuchProg1', orgUnit: 'NoSuchUnit1', enrolledAt: '2024-03-01' }],
        events: [
          { event: 'Va2kzW2BxNe', enrollment: 'SnymQz04r2Y', program: PROGRAM_COMMUNITY_FOLLOW_UP, programStage: 'NoSuchStage', orgUnit: ORG_UNIT_NGELEHUN_CHC, occurredAt: '2024-03-02' },
          { event: 'Vb2kzW2BxNe', enrollment: 'SnymQz04r2Y', programStage: PROGRAM_STAGE_VISIT, orgUnit: ORG_UNIT_NGELEHUN_CHC, occurredAt: '2024-03-02', dataValues: [{ dataElement: DATA_ELEMENT_HOME_VISITS, value: '1' }, { dataElement: 'NoSuchDE001', value: '1' }] },
          { event: 'Vc2kzW2BxNe', programStage: PROGRAM_STAGE_VISIT, orgUnit: ORG_UNIT_NGELEHUN_CHC, status: 'ACTIVE' },
        ],
      });
      const codes = (body.validationReport.errorReports as Json[]).map((report) => `${report.errorCode}:${report.uid}`).sort();
      assert.deepEqual(codes, [
        'E1013:Va2kzW2BxNe', 'E1031:Vc2kzW2BxNe', 'E1033:Vc2kzW2BxNe', 'E1069:Eb2kzW2BxNe', 'E1070:Eb2kzW2BxNe', 'E1304:Vb2kzW2BxNe', 'E1305:Vb2kzW2BxNe',
      ]);
    });

    it('imports the valid objects and reports the invalid ones with atomicMode OBJECT', async () => {
      const good = person({ te: 'Gd1kzW2BxNe', enrollment: 'Gd2kzW2BxNe', event: 'Gd3kzW2BxNe' });
      const bad = person({ te: 'Bd1kzW2BxNe', enrollment: 'Bd2kzW2BxNe', event: 'Bd3kzW2BxNe' }, { weight: 'x' });
      const { status, body } = await track({ trackedEntities: [good, bad] }, '&atomicMode=OBJECT');
      assert.equal(status, 409, 'any error makes the report ERROR and the answer 409');
      assert.equal(body.status, 'ERROR');
      assert.deepEqual(body.stats, { created: 5, updated: 0, deleted: 0, ignored: 1, total: 6 });
      assert.deepEqual(body.validationReport.errorReports.map((report: Json) => report.uid), ['Bd3kzW2BxNe']);
      assert.equal((await get('/tracker/events/Gd3kzW2BxNe')).status, 200);
      assert.equal((await get('/tracker/trackedEntities/Bd1kzW2BxNe')).status, 200);
      assert.equal((await get('/tracker/events/Bd3kzW2BxNe')).status, 404);
    });

    it('accepts client UIDs, updates on a retried CREATE_AND_UPDATE without duplicating, rejects CREATE of an existing UID', async () => {
      const uids = { te: 'Rt1kzW2BxNe', enrollment: 'Rt2kzW2BxNe', event: 'Rt3kzW2BxNe' };
      const first = await track({ trackedEntities: [person(uids)] });
      assert.deepEqual(first.body.bundleReport.typeReportMap.TRACKED_ENTITY.objectReports[0].uid, uids.te);
      const retry = await track({ trackedEntities: [person(uids, { weight: '55.0' })] }, '&importStrategy=CREATE_AND_UPDATE');
      assert.equal(retry.status, 200);
      assert.deepEqual(retry.body.stats, { created: 0, updated: 3, deleted: 0, ignored: 0, total: 3 });
      const search = await get(`/tracker/trackedEntities?program=${PROGRAM_COMMUNITY_FOLLOW_UP}&orgUnit=${ORG_UNIT_NGELEHUN_CHC}&filter=${ATTRIBUTE_FIRST_NAME}:EQ:mariama&totalPages=true`);
      assert.equal(search.body.total, 1);
      const event = await get(`/tracker/events/${uids.event}`);
      assert.equal(event.body.dataValues[0].value, '55.0');
      const again = await track({ trackedEntities: [person(uids)] }, '&importStrategy=CREATE');
      assert.equal(again.status, 409);
      assert.deepEqual(again.body.validationReport.errorReports.map((report: Json) => report.errorCode).sort(), ['E1002', 'E1030', 'E1080']);
      const missing = await track({ trackedEntities: [{ trackedEntity: 'Nx1kzW2BxNe', trackedEntityType: TRACKED_ENTITY_TYPE_PERSON, orgUnit: ORG_UNIT_NGELEHUN_CHC }] }, '&importStrategy=UPDATE');
      assert.equal(missing.body.validationReport.errorReports[0].errorCode, 'E1063');
    });

    it('generates 11-character UIDs for objects sent without one', async () => {
      const { body } = await track({ trackedEntities: [{ trackedEntityType: TRACKED_ENTITY_TYPE_PERSON, orgUnit: ORG_UNIT_NGELEHUN_CHC }] });
      assert.match(body.bundleReport.typeReportMap.TRACKED_ENTITY.objectReports[0].uid, /^[A-Za-z][A-Za-z0-9]{10}$/);
    });

    it('deletes with importStrategy DELETE, cascading to enrollments and events', async () => {
      const uids = { te: 'Dl1kzW2BxNe', enrollment: 'Dl2kzW2BxNe', event: 'Dl3kzW2BxNe' };
      await track({ trackedEntities: [person(uids, { nationalId: 'NID-DEL-1' })] });
      const { status, body } = await track({ trackedEntities: [{ trackedEntity: uids.te }] }, '&importStrategy=DELETE');
      assert.equal(status, 200);
      assert.equal(body.stats.deleted, 1);
      for (const path of [`/tracker/trackedEntities/${uids.te}`, `/tracker/enrollments/${uids.enrollment}`, `/tracker/events/${uids.event}`]) {
        assert.equal((await get(path)).status, 404, path);
      }
      const twice = await track({ trackedEntities: [{ trackedEntity: uids.te }] }, '&importStrategy=DELETE');
      assert.equal(twice.body.validationReport.errorReports[0].errorCode, 'E1114');
      const reuse = await track({ trackedEntities: [person({ te: 'Dl4kzW2BxNe', enrollment: 'Dl5kzW2BxNe', event: 'Dl6kzW2BxNe' }, { nationalId: 'NID-DEL-1' })] });
      assert.equal(reuse.status, 200, 'a deleted entity no longer holds its unique values');
    });

    it('refuses a second active enrollment and a second event in a non-repeatable stage', async () => {
      const { body } = await track({
        enrollments: [{ enrollment: 'En1kzW2BxNe', trackedEntity: SEEDED_TRACKED_ENTITY, program: PROGRAM_COMMUNITY_FOLLOW_UP, orgUnit: ORG_UNIT_NGELEHUN_CHC, enrolledAt: '2024-03-01' }],
        events: [
          { event: 'Ev1kzW2BxNe', enrollment: 'SnymQz04r2Y', programStage: PROGRAM_STAGE_REGISTRATION, orgUnit: ORG_UNIT_NGELEHUN_CHC, occurredAt: '2024-03-02' },
          { event: 'Ev2kzW2BxNe', enrollment: 'SnymQz04r2Y', programStage: PROGRAM_STAGE_REGISTRATION, orgUnit: ORG_UNIT_NGELEHUN_CHC, occurredAt: '2024-03-03' },
        ],
      });
      assert.deepEqual(body.validationReport.errorReports.map((report: Json) => `${report.errorCode}:${report.uid}`), ['E1015:En1kzW2BxNe', 'E1039:Ev2kzW2BxNe']);
    });

    it('checks the capture scope of the user (E1000) and validates without committing in importMode VALIDATE', async () => {
      const scoped = await post('/tracker?async=false', { trackedEntities: [person({ te: 'Sc1kzW2BxNe', enrollment: 'Sc2kzW2BxNe', event: 'Sc3kzW2BxNe' })] }, CHW);
      assert.equal(scoped.status, 409);
      assert.ok(scoped.body.validationReport.errorReports.every((report: Json) => report.errorCode === 'E1000'));
      const validated = await track({ trackedEntities: [person({ te: 'Va1kzW2BxNe', enrollment: 'Va2kzW2BxNe', event: 'Va3kzW2BxNe' })] }, '&importMode=VALIDATE');
      assert.equal(validated.body.stats.created, 3);
      assert.equal((await get('/tracker/trackedEntities/Va1kzW2BxNe')).status, 404);
    });

    it('rejects unknown enum parameters with a 400 WebMessage', async () => {
      const { status, body } = await track({ trackedEntities: [] }, '&importStrategy=MERGE');
      assert.equal(status, 400);
      assert.equal(body.httpStatusCode, 400);
      assert.match(body.message, /importStrategy/);
    });
  });

  describe('tracker reads', () => {
    it('finds a tracked entity by a unique attribute with filter, and answers 409 without program or type', async () => {
      const { status, body } = await get(`/tracker/trackedEntities?trackedEntityType=${TRACKED_ENTITY_TYPE_PERSON}&orgUnit=${ORG_UNIT_SIERRA_LEONE}&ouMode=DESCENDANTS&filter=${ATTRIBUTE_COMMCARE_CASE_ID}:EQ:${SEEDED_COMMCARE_CASE_ID}&fields=trackedEntity,attributes[attribute,value]`);
      assert.equal(status, 200);
      assert.deepEqual(body.instances.map((entity: Json) => entity.trackedEntity), [SEEDED_TRACKED_ENTITY]);
      assert.deepEqual(Object.keys(body.instances[0]), ['trackedEntity', 'attributes']);
      assert.equal((await get(`/tracker/trackedEntities?program=${PROGRAM_COMMUNITY_FOLLOW_UP}&orgUnit=${ORG_UNIT_SIERRA_LEONE}&filter=${ATTRIBUTE_COMMCARE_CASE_ID}:EQ:${SEEDED_COMMCARE_CASE_ID}`)).body.instances.length, 0, 'SELECTED mode does not descend');
      assert.equal((await get(`/tracker/trackedEntities?program=${PROGRAM_COMMUNITY_FOLLOW_UP}&orgUnit=${ORG_UNIT_BO}&ouMode=DESCENDANTS&filter=${ATTRIBUTE_LAST_NAME}:like:kam`)).body.instances.length, 1);
      // One search for a whole batch: `in` takes ;-separated values (the tracker writer's batch look-up).
      const batch = await get(`/tracker/trackedEntities?trackedEntityType=${TRACKED_ENTITY_TYPE_PERSON}&ouMode=ACCESSIBLE&filter=${ATTRIBUTE_COMMCARE_CASE_ID}:in:no-such-case;${SEEDED_COMMCARE_CASE_ID};another-missing&fields=trackedEntity`);
      assert.equal(batch.status, 200);
      assert.deepEqual(batch.body.instances.map((entity: Json) => entity.trackedEntity), [SEEDED_TRACKED_ENTITY]);
      assert.equal((await get(`/tracker/trackedEntities?trackedEntityType=${TRACKED_ENTITY_TYPE_PERSON}&ouMode=ACCESSIBLE&filter=${ATTRIBUTE_COMMCARE_CASE_ID}:in:no-such-case;another-missing`)).body.instances.length, 0);

      const missing = await get(`/tracker/trackedEntities?orgUnit=${ORG_UNIT_NGELEHUN_CHC}&filter=${ATTRIBUTE_COMMCARE_CASE_ID}:EQ:${SEEDED_COMMCARE_CASE_ID}`);
      assert.equal(missing.status, 409);
      assert.deepEqual(missing.body, { httpStatus: 'Conflict', httpStatusCode: 409, status: 'ERROR', message: 'Either Program or Tracked entity type should be specified' });
      const noOrgUnit = await get(`/tracker/trackedEntities?program=${PROGRAM_COMMUNITY_FOLLOW_UP}`);
      assert.equal(noOrgUnit.status, 409);
      assert.equal(noOrgUnit.body.message, 'At least one organisation unit must be specified');
    });

    it('pages tracked entities, enrollments and events with the 2.40 envelope', async () => {
      for (let i = 0; i < 4; i += 1) {
        await track({ trackedEntities: [person({ te: `Pg${i}kzW2BxNe`, enrollment: `Pe${i}kzW2BxNe`, event: `Pv${i}kzW2BxNe` })] });
      }
      const page = await get(`/tracker/trackedEntities?program=${PROGRAM_COMMUNITY_FOLLOW_UP}&ouMode=ALL&page=2&pageSize=2&totalPages=true`);
      assert.deepEqual({ ...page.body, instances: page.body.instances.length }, { page: 2, pageSize: 2, total: 5, pageCount: 3, instances: 2 });
      const withoutTotals = await get(`/tracker/trackedEntities?program=${PROGRAM_COMMUNITY_FOLLOW_UP}&ouMode=ALL&pageSize=2`);
      assert.equal(withoutTotals.body.total, undefined);
      assert.equal(withoutTotals.body.instances[0].trackedEntity, 'Pg3kzW2BxNe', 'newest first');
      const events = await get(`/tracker/events?program=${PROGRAM_COMMUNITY_FOLLOW_UP}&orgUnit=${ORG_UNIT_NGELEHUN_CHC}&paging=false`);
      assert.equal(events.body.instances.length, 5);
      assert.equal(events.body.page, undefined);
      const enrollments = await get(`/tracker/enrollments?trackedEntity=Pg1kzW2BxNe`);
      assert.deepEqual(enrollments.body.instances.map((enrollment: Json) => enrollment.enrollment), ['Pe1kzW2BxNe']);
      assert.equal((await get('/tracker/trackedEntities?program=IpHINAT79UW&ouMode=ALL&page=0')).status, 400);
    });
  });

  describe('legacy tracker API', () => {
    it('answers HTTP 200 "Import was successful." while a nested event failed with status ERROR', async () => {
      const { status, body } = await post('/trackedEntityInstances', {
        trackedEntityType: TRACKED_ENTITY_TYPE_PERSON,
        orgUnit: ORG_UNIT_NGELEHUN_CHC,
        attributes: [{ attribute: ATTRIBUTE_FIRST_NAME, value: 'Kadiatu' }, { attribute: ATTRIBUTE_LAST_NAME, value: 'Jalloh' }],
        enrollments: [{
          program: PROGRAM_COMMUNITY_FOLLOW_UP,
          orgUnit: ORG_UNIT_NGELEHUN_CHC,
          enrollmentDate: '2024-03-01',
          events: [{ programStage: PROGRAM_STAGE_VISIT, orgUnit: ORG_UNIT_NGELEHUN_CHC, eventDate: '2024-03-02', dataValues: [{ dataElement: DATA_ELEMENT_DANGER_SIGNS, value: 'maybe' }] }],
        }],
      });
      assert.equal(status, 200);
      assert.equal(body.status, 'OK');
      assert.equal(body.message, 'Import was successful.');
      const tei = body.response.importSummaries[0];
      assert.equal(tei.status, 'SUCCESS');
      assert.equal(tei.enrollments.importSummaries[0].status, 'SUCCESS');
      const events = tei.enrollments.importSummaries[0].events;
      assert.equal(events.status, 'ERROR');
      assert.deepEqual(events.importSummaries[0].conflicts, [{ object: DATA_ELEMENT_DANGER_SIGNS, value: 'value_not_bool' }]);
      assert.equal(events.ignored, 1);
    });

    it('also hides a failed enrollment (unknown program) behind HTTP 200', async () => {
      const { status, body } = await post('/trackedEntityInstances', {
        trackedEntityType: TRACKED_ENTITY_TYPE_PERSON,
        orgUnit: ORG_UNIT_NGELEHUN_CHC,
        attributes: [{ attribute: ATTRIBUTE_FIRST_NAME, value: 'Hawa' }],
        enrollments: [{ program: 'NoSuchProg1', orgUnit: ORG_UNIT_NGELEHUN_CHC, enrollmentDate: '2024-03-01' }],
      });
      assert.equal(status, 200);
      assert.equal(body.response.importSummaries[0].enrollments.status, 'ERROR');
      assert.equal(body.response.imported, 1);
    });

    it('answers 409 WARNING when POST /api/events ignores an event, and searches instances with filters', async () => {
      const events = await post('/events', { events: [
        { program: PROGRAM_COMMUNITY_FOLLOW_UP, programStage: PROGRAM_STAGE_VISIT, orgUnit: ORG_UNIT_NGELEHUN_CHC, trackedEntityInstance: SEEDED_TRACKED_ENTITY, eventDate: '2024-04-01', dataValues: [{ dataElement: DATA_ELEMENT_VISIT_WEIGHT, value: '60' }] },
        { program: PROGRAM_COMMUNITY_FOLLOW_UP, programStage: 'NoSuchStage', orgUnit: ORG_UNIT_NGELEHUN_CHC, trackedEntityInstance: SEEDED_TRACKED_ENTITY, eventDate: '2024-04-01' },
      ] });
      assert.equal(events.status, 409);
      assert.equal(events.body.status, 'WARNING');
      assert.deepEqual([events.body.response.imported, events.body.response.ignored], [1, 1]);
      assert.equal(events.body.response.importSummaries[1].description, 'Event.programStage does not point to a valid programStage: NoSuchStage');

      const list = await get(`/events?program=${PROGRAM_COMMUNITY_FOLLOW_UP}&orgUnit=${ORG_UNIT_NGELEHUN_CHC}&totalPages=true&pageSize=1`);
      assert.deepEqual(list.body.pager, { page: 1, pageCount: 2, total: 2, pageSize: 1 });
      const search = await get(`/trackedEntityInstances?ou=${ORG_UNIT_SIERRA_LEONE}&ouMode=DESCENDANTS&program=${PROGRAM_COMMUNITY_FOLLOW_UP}&filter=${ATTRIBUTE_NATIONAL_ID}:EQ:${SEEDED_NATIONAL_ID}`);
      assert.deepEqual(search.body.trackedEntityInstances.map((tei: Json) => tei.trackedEntityInstance), [SEEDED_TRACKED_ENTITY]);
      assert.equal((await get(`/trackedEntityInstances?ou=${ORG_UNIT_NGELEHUN_CHC}`)).status, 409);
      assert.equal((await get('/trackedEntityInstances/Nx1kzW2BxNe')).status, 404);
    });
  });

  describe('aggregate data', () => {
    const dataValueSet = (dataValues: Json[]): Json => ({ dataSet: DATA_SET_COMMUNITY_MONTHLY, period: '202401', orgUnit: ORG_UNIT_NGELEHUN_CHC, dataValues });

    it('reports conflicts with 2.40 error codes and indexes, answers 409 WARNING and counts ignored values', async () => {
      const { status, body } = await post('/dataValueSets', dataValueSet([
        { dataElement: DATA_ELEMENT_HOME_VISITS, value: '12' },
        { dataElement: 'NoSuchDE001', value: '1' },
        { dataElement: DATA_ELEMENT_REFERRALS, value: '-2' },
        { dataElement: DATA_ELEMENT_REFERRALS, value: '3', period: '2024W60' },
        { dataElement: DATA_ELEMENT_REFERRALS, value: '3', orgUnit: 'NoSuchUnit1' },
        { dataElement: DATA_ELEMENT_HOME_VISITS, value: '2', categoryOptionCombo: CATEGORY_OPTION_COMBO_MALE },
        { dataElement: DATA_ELEMENT_CHILDREN_SCREENED, value: '4', categoryOptionCombo: CATEGORY_OPTION_COMBO_FEMALE },
      ]));
      assert.equal(status, 409);
      assert.equal(body.status, 'WARNING');
      assert.equal(body.message, 'One more conflicts encountered, please check import summary.');
      assert.deepEqual(body.response.importCount, { imported: 2, updated: 0, ignored: 5, deleted: 0 });
      assert.deepEqual(body.response.conflicts.map((conflict: Json) => [conflict.errorCode, conflict.property, conflict.indexes]), [
        ['E7610', 'dataElement', [1]], ['E7619', 'value', [2]], ['E7611', 'period', [3]], ['E7612', 'orgUnit', [4]], ['E7634', 'categoryOptionCombo', [5]],
      ]);
      assert.deepEqual(body.response.conflicts[0], {
        object: 'NoSuchDE001', objects: { dataElement: 'NoSuchDE001' }, value: 'Data element not found or not accessible: `NoSuchDE001`', errorCode: 'E7610', property: 'dataElement', indexes: [1],
      });
      assert.deepEqual(body.response.rejectedIndexes, [1, 2, 3, 4, 5]);
    });

    it('validates the period formats DHIS2 accepts', async () => {
      const periods = ['20240115', '2024W3', '202401', '2024Q1', '2024', '2024S2', '202401B'];
      const { body } = await post('/dataValueSets', { dataValues: [...periods, '2024W54', '202413', '2024Q5', '20240230', '24'].map((period) => ({ dataElement: DATA_ELEMENT_HOME_VISITS, period, orgUnit: ORG_UNIT_NGELEHUN_CHC, value: '1' })) });
      assert.equal(body.response.importCount.imported, periods.length);
      assert.deepEqual(body.response.conflicts.map((conflict: Json) => conflict.object), ['2024W54', '202413', '2024Q5', '20240230', '24']);
    });

    it('validates without storing on dryRun, then stores, updates and reads values back', async () => {
      const payload = dataValueSet([{ dataElement: DATA_ELEMENT_HOME_VISITS, value: '7' }, { dataElement: DATA_ELEMENT_CHILDREN_SCREENED, categoryOptionCombo: CATEGORY_OPTION_COMBO_MALE, value: '3' }]);
      const dry = await post('/dataValueSets?dryRun=true', payload);
      assert.equal(dry.body.response.importOptions.dryRun, true);
      assert.equal(dry.body.response.importCount.imported, 2);
      const read = `/dataValueSets?dataSet=${DATA_SET_COMMUNITY_MONTHLY}&period=202401&orgUnit=${ORG_UNIT_NGELEHUN_CHC}`;
      assert.deepEqual((await get(read)).body.dataValues, []);
      await post('/dataValueSets', payload);
      const again = await post('/dataValueSets', dataValueSet([{ dataElement: DATA_ELEMENT_HOME_VISITS, value: '8' }]));
      assert.deepEqual(again.body.response.importCount, { imported: 0, updated: 1, ignored: 0, deleted: 0 });
      const stored = (await get(read)).body;
      assert.deepEqual(stored.dataValues.map((value: Json) => [value.dataElement, value.categoryOptionCombo, value.value]).sort(), [
        [DATA_ELEMENT_CHILDREN_SCREENED, CATEGORY_OPTION_COMBO_MALE, '3'], [DATA_ELEMENT_HOME_VISITS, 'HllvX50cXC0', '8'],
      ].sort());
      const deleted = await post('/dataValueSets?importStrategy=DELETE', dataValueSet([{ dataElement: DATA_ELEMENT_HOME_VISITS, value: '8' }]));
      assert.equal(deleted.body.response.importCount.deleted, 1);
      assert.equal((await get(`/dataValueSets?period=202401&orgUnit=${ORG_UNIT_NGELEHUN_CHC}`)).status, 409);
    });

    it('aborts the whole set with status ERROR when the data set does not exist', async () => {
      const { status, body } = await post('/dataValueSets', { ...dataValueSet([{ dataElement: DATA_ELEMENT_HOME_VISITS, value: '1' }]), dataSet: 'NoSuchSet01' });
      assert.equal(status, 409);
      assert.equal(body.status, 'ERROR');
      assert.equal(body.response.conflicts[0].errorCode, 'E7600');
      assert.equal(body.response.importCount.imported, 0);
    });
  });

  describe('metadata', () => {
    it('pages and filters organisation units with the metadata pager', async () => {
      const { body } = await get('/organisationUnits?pageSize=2&page=1&fields=id,name,level');
      assert.deepEqual({ ...body.pager, nextPage: typeof body.pager.nextPage }, { page: 1, total: 6, pageSize: 2, pageCount: 3, nextPage: 'string' });
      const next = await fetch(body.pager.nextPage, { headers: ADMIN });
      assert.equal(((await next.json()) as Json).pager.page, 2);
      const filtered = await get('/organisationUnits?filter=name:ilike:chc&paging=false&fields=id');
      assert.equal(filtered.body.pager, undefined);
      assert.deepEqual(filtered.body.organisationUnits.map((unit: Json) => unit.id).sort(), [ORG_UNIT_NGELEHUN_CHC, 'GPAfzyqrOMZ'].sort());
      assert.equal((await get('/organisationUnits?level=3&paging=false')).body.organisationUnits.length, 3);
    });

    it('serves programs with stages and attributes, data sets, system info and me', async () => {
      const program = await get(`/programs/${PROGRAM_COMMUNITY_FOLLOW_UP}?fields=id,name,programStages[id,name],programTrackedEntityAttributes[mandatory,trackedEntityAttribute[id,unique]]`);
      assert.equal(program.body.name, 'Community Follow-up');
      assert.deepEqual(program.body.programStages.map((stage: Json) => stage.name), ['Registration', 'Visit']);
      const unique = program.body.programTrackedEntityAttributes.filter((ptea: Json) => ptea.trackedEntityAttribute.unique).map((ptea: Json) => ptea.trackedEntityAttribute.id);
      assert.deepEqual(unique.sort(), [ATTRIBUTE_NATIONAL_ID, ATTRIBUTE_COMMCARE_CASE_ID].sort());
      const dataSet = await get(`/dataSets/${DATA_SET_COMMUNITY_MONTHLY}?fields=periodType,dataSetElements[dataElement[id,valueType,categoryCombo[categoryOptionCombos[id,name]]]]`);
      assert.equal(dataSet.body.periodType, 'Monthly');
      assert.equal(dataSet.body.dataSetElements.length, 4);
      assert.equal((await get('/programs')).body.programs[0].displayName, 'Community Follow-up');
      assert.equal((await get('/programs/NoSuchProg1')).status, 404);
      assert.equal((await get('/system/info')).body.version, DHIS2_VERSION);
      assert.equal((await get('/me?fields=username')).body.username, ADMIN_USERNAME);
    });
  });

  describe('auth, faults and reset', () => {
    it('accepts Basic and ApiToken auth and answers 401 WebMessages otherwise', async () => {
      assert.equal((await get('/me', { Authorization: `ApiToken ${DEMO_API_TOKEN}` })).body.username, ADMIN_USERNAME);
      const anonymous = await get('/me', {});
      assert.equal(anonymous.status, 401);
      assert.deepEqual(anonymous.body, { httpStatus: 'Unauthorized', httpStatusCode: 401, status: 'ERROR', message: 'Unauthorized' });
      assert.equal((await get('/me', { Authorization: basic(ADMIN_USERNAME, 'wrong') })).status, 401);
      const token = await get('/me', { Authorization: 'ApiToken d2pat_nope' });
      assert.equal(token.status, 401);
      assert.equal(token.body.message, 'The API token does not exists.');
    });

    it('reports data values outside the user hierarchy as E7617 conflicts', async () => {
      const { body } = await post('/dataValueSets', { dataValues: [{ dataElement: DATA_ELEMENT_HOME_VISITS, period: '202401', orgUnit: ORG_UNIT_NGELEHUN_CHC, value: '1' }] }, CHW);
      assert.equal(body.response.conflicts[0].errorCode, 'E7617');
    });

    it('injects faults on the tracker endpoint and recovers', async () => {
      await fetch(`${root}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: '^/api/tracker$', method: 'POST', status: 503, retryAfter: 1, count: 1 }) });
      const payload = { trackedEntities: [person({ te: 'Ft1kzW2BxNe', enrollment: 'Ft2kzW2BxNe', event: 'Ft3kzW2BxNe' })] };
      const failed = await fetch(`${base}/tracker?async=false`, { method: 'POST', headers: ADMIN, body: JSON.stringify(payload) });
      assert.equal(failed.status, 503);
      assert.equal(failed.headers.get('retry-after'), '1');
      assert.equal((await get('/tracker/trackedEntities/Ft1kzW2BxNe')).status, 404, 'a failed request changes nothing');
      assert.equal((await track(payload)).status, 200);
    });

    it('resets data to the seed', async () => {
      await track({ trackedEntities: [person({ te: 'Rs1kzW2BxNe', enrollment: 'Rs2kzW2BxNe', event: 'Rs3kzW2BxNe' })] });
      await post('/dataValueSets', { dataValues: [{ dataElement: DATA_ELEMENT_HOME_VISITS, period: '202401', orgUnit: ORG_UNIT_NGELEHUN_CHC, value: '1' }] });
      await fetch(`${root}/_sandbox/reset`, { method: 'POST' });
      assert.equal((await get('/tracker/trackedEntities/Rs1kzW2BxNe')).status, 404);
      assert.equal((await get(`/tracker/trackedEntities/${SEEDED_TRACKED_ENTITY}`)).status, 200);
      assert.deepEqual((await get(`/dataValueSets?dataSet=${DATA_SET_COMMUNITY_MONTHLY}&period=202401&orgUnit=${ORG_UNIT_NGELEHUN_CHC}`)).body.dataValues, []);
    });
  });
});
