import assert from 'node:assert/strict';
import { HttpClient } from '../../nodes/core/http-client';
import { OpenmrsClient, openmrsHttpOptions } from '../../nodes/openmrs/api/client';
import { create } from '../../sandbox/openmrs';
import { CONCEPTS, ENCOUNTER_TYPES, IDENTIFIER_TYPES, OPENMRS_IDS, PASSWORD, PATIENTS, USERNAME } from '../../sandbox/openmrs/seed';

type Sandbox = ReturnType<typeof create>;

describe('openmrs api client (against the sandbox)', function () {
  this.timeout(10_000);
  let sandbox: Sandbox;
  let baseUrl: string;
  let clients: OpenmrsClient[];
  const client = (options: { sessionReuse?: boolean; now?: () => number; password?: string } = {}) => {
    const http = new HttpClient(openmrsHttpOptions({ baseUrl, system: 'openmrs', retry: { maxAttempts: 1 } }, { username: USERNAME, password: options.password ?? PASSWORD }, options.sessionReuse ?? true));
    const made = new OpenmrsClient(http, { sessionReuse: options.sessionReuse ?? true, now: options.now });
    clients.push(made);
    return made;
  };
  const requests = (path: string) => sandbox.log.query(new URLSearchParams({ path }));

  beforeEach(async () => {
    sandbox = create();
    baseUrl = `http://127.0.0.1:${await sandbox.listen(0)}/openmrs`;
    clients = [];
  });
  afterEach(async () => {
    for (const made of clients) made.http.close();
    await sandbox.close();
  });

  it('opens one session and reuses it', async () => {
    const openmrs = client();
    await Promise.all([openmrs.getPatient(PATIENTS.amina), openmrs.getPatient(PATIENTS.baraka), openmrs.listMetadata('encountertype')]);
    await openmrs.getPatient(PATIENTS.daudi);
    assert.equal(requests('/session$').length, 1);
  });

  it('reports wrong credentials as auth', async () => {
    await assert.rejects(client({ password: 'wrong' }).getPatient(PATIENTS.amina), (error: any) => error.code === 'auth' && !error.message.includes('wrong'));
  });

  it('caches concepts for the TTL', async () => {
    let now = 0;
    const openmrs = client({ now: () => now });
    const concept = await openmrs.getConcept(CONCEPTS.dangerSignsPresent);
    assert.equal(concept.datatype, 'Coded');
    assert.deepEqual(concept.answers.map((answer) => answer.uuid), [CONCEPTS.yes, CONCEPTS.no]);
    await openmrs.getConcept(CONCEPTS.dangerSignsPresent);
    assert.equal(requests('/concept/').length, 1);
    now += 11 * 60_000;
    await openmrs.getConcept(CONCEPTS.dangerSignsPresent);
    assert.equal(requests('/concept/').length, 2);
    await assert.rejects(openmrs.getConcept('nope'), (error: any) => error.code === 'not-found');
  });

  it('finds patients by identifier of a given type only', async () => {
    const openmrs = client();
    assert.deepEqual((await openmrs.findPatientsByIdentifier(OPENMRS_IDS.amina, 'OpenMRS ID')).map((patient) => patient.uuid), [PATIENTS.amina]);
    assert.deepEqual((await openmrs.findPatientsByIdentifier(OPENMRS_IDS.amina, IDENTIFIER_TYPES.openmrsId)).map((patient) => patient.uuid), [PATIENTS.amina]);
    assert.deepEqual(await openmrs.findPatientsByIdentifier(OPENMRS_IDS.amina, 'CHT Patient ID'), []);
    assert.equal(await openmrs.resolveMetadata('patientidentifiertype', 'commcare case id'), IDENTIFIER_TYPES.commcareCaseId);
    await assert.rejects(openmrs.resolveMetadata('encountertype', 'No Such Type'), (error: any) => error.code === 'bad-input');
  });

  it('voids and purges encounters, and treats already-gone as done', async () => {
    const openmrs = client();
    const [referral] = await openmrs.searchEncounters({ patient: PATIENTS.amina, encounterType: ENCOUNTER_TYPES.referral });
    await openmrs.deleteEncounter(referral.uuid, { reason: 'test' });
    assert.equal((await openmrs.getEncounter(referral.uuid))?.voided, true);
    assert.deepEqual(await openmrs.searchEncounters({ patient: PATIENTS.amina, encounterType: ENCOUNTER_TYPES.referral }), []);
    await openmrs.deleteEncounter(referral.uuid, { purge: true });
    assert.equal(await openmrs.getEncounter(referral.uuid), undefined);
    await openmrs.deleteEncounter(referral.uuid, { purge: true });
  });

  it('reads atom feed pages and FHIR searches with paging', async () => {
    const openmrs = client();
    const recent = await openmrs.feedPage('patient', 'recent');
    assert.equal(recent.page, '2');
    assert.equal(recent.prevArchive, '1');
    const pages: unknown[][] = [];
    for await (const page of openmrs.fhirSearch('Patient', { _count: 2 })) pages.push(page);
    assert.ok(pages.length >= 3);
    assert.equal(pages.flat().length, 6);
  });
});
