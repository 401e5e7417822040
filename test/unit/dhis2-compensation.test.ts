import assert from 'node:assert/strict';
import { HttpClient } from '../../nodes/core/http-client';
import { Dhis2Client, dhis2HttpOptions } from '../../nodes/dhis2/api/client';
import { undoTrackerEntry } from '../../nodes/dhis2/api/compensation';
import { writeTrackerBatch } from '../../nodes/dhis2/api/tracker';
import {
  ATTRIBUTE_COMMCARE_CASE_ID, ATTRIBUTE_FIRST_NAME, ATTRIBUTE_LAST_NAME, DEMO_API_TOKEN, ORG_UNIT_NGELEHUN_CHC, PROGRAM_COMMUNITY_FOLLOW_UP,
  PROGRAM_STAGE_VISIT, SEEDED_COMMCARE_CASE_ID, SEEDED_TRACKED_ENTITY, TRACKED_ENTITY_TYPE_PERSON, create,
} from '../../sandbox/dhis2';

describe('dhis2 rollback of journaled tracker writes (against the sandbox)', () => {
  let sandbox: ReturnType<typeof create>;
  let client: Dhis2Client;

  beforeEach(async () => {
    sandbox = create();
    const port = await sandbox.listen(0);
    client = new Dhis2Client(new HttpClient(dhis2HttpOptions({ baseUrl: `http://127.0.0.1:${port}`, system: 'dhis2' }, 'pat', { token: DEMO_API_TOKEN })));
  });
  afterEach(async () => {
    client.http.close();
    await sandbox.close();
  });

  it('deletes what was created (then reports it gone) and restores an updated person\'s attributes', async () => {
    const visit = { programStage: PROGRAM_STAGE_VISIT, orgUnit: ORG_UNIT_NGELEHUN_CHC, status: 'COMPLETED', occurredAt: '2024-03-02' };
    const [outcome]: any[] = await writeTrackerBatch(client, [{
      trackedEntities: [{
        trackedEntityType: TRACKED_ENTITY_TYPE_PERSON, orgUnit: ORG_UNIT_NGELEHUN_CHC,
        attributes: [{ attribute: ATTRIBUTE_COMMCARE_CASE_ID, value: SEEDED_COMMCARE_CASE_ID }, { attribute: ATTRIBUTE_FIRST_NAME, value: 'Aminata' }],
        enrollments: [{ program: PROGRAM_COMMUNITY_FOLLOW_UP, orgUnit: ORG_UNIT_NGELEHUN_CHC, enrolledAt: '2024-03-01', events: [visit] }],
      }],
    }], { atomicMode: 'OBJECT', uniqueAttribute: ATTRIBUTE_COMMCARE_CASE_ID, configId: 'cfg' });
    assert.deepEqual(outcome.journal.map((e: any) => [e.resource, e.action]), [['trackedEntity', 'updated'], ['event', 'created']]);
    const [updated, created] = outcome.journal;
    assert.equal(await undoTrackerEntry(client, created), 'undone');
    assert.equal(await undoTrackerEntry(client, created), 'already-gone');
    const gone = await client.http.get<any>(`api/tracker/events/${created.id}`, { acceptStatus: [404] });
    assert.equal(gone.status, 404);
    assert.equal(await undoTrackerEntry(client, updated), 'undone');
    const person = await client.http.get<any>(`api/tracker/trackedEntities/${SEEDED_TRACKED_ENTITY}`, { query: { fields: 'attributes[attribute,value]' } });
    const first = person.data.attributes.find((a: any) => a.attribute === ATTRIBUTE_FIRST_NAME);
    assert.equal(first.value, 'Amina');
    assert.ok(person.data.attributes.some((a: any) => a.attribute === ATTRIBUTE_LAST_NAME));
  });
});
