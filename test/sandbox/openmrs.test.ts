import assert from 'node:assert/strict';
import type { SandboxApp } from '../../sandbox/core';
import {
  ATTRIBUTE_TYPES, CHUNK_SIZE, CONCEPTS, ENCOUNTER_TYPES, FORMS, IDENTIFIER_TYPES, LOCATIONS, OPENMRS_IDS, PATIENTS, PROVIDERS,
  PROVIDER_ATTRIBUTE_TYPES, REPORTS, SAMPLE_ENCOUNTER, VISIT_TYPES, create,
} from '../../sandbox/openmrs';
import { requireSamples, sampleJson, sampleText } from '../support/samples';
import { shapeDifferences } from '../support/shape';

type Json = Record<string, any>;

const REST = '/openmrs/ws/rest/v1';
const FHIR = '/openmrs/ws/fhir2/R4';
const AUTH = { Authorization: `Basic ${Buffer.from('admin:Admin123').toString('base64')}` };
const JSON_HEADERS = { ...AUTH, 'Content-Type': 'application/json' };

/**
 * A tiny XML tag walker: the set of element paths (with attribute names and the `rel`/`term` values
 * that matter) in a document, so the feed's structure can be compared with the sample's.
 */
function xmlPaths(xml: string): Set<string> {
  const paths = new Set<string>();
  const stack: string[] = [];
  const text = xml.replace(/<\?xml[^>]*\?>/, '').replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  for (const match of text.matchAll(/<(\/?)([\w:-]+)([^>]*?)(\/?)>/g)) {
    const [, closing, name, attributes, selfClosing] = match;
    if (closing) {
      stack.pop();
      continue;
    }
    const rel = /\brel="([^"]+)"/.exec(attributes)?.[1];
    const path = [...stack, rel ? `${name}[rel=${rel}]` : name].join('/');
    paths.add(path);
    for (const attribute of attributes.matchAll(/([\w:-]+)="/g)) paths.add(`${path}@${attribute[1]}`);
    if (!selfClosing) stack.push(name);
  }
  return paths;
}

const elementTexts = (xml: string, tag: string): string[] => [...xml.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, 'g'))].map((match) => match[1]);
const linkHref = (xml: string, rel: string): string | undefined => new RegExp(`<link rel="${rel}"[^>]*href="([^"]+)"`).exec(xml)?.[1];

describe('openmrs sandbox', () => {
  let app: SandboxApp;
  let origin: string;

  beforeEach(async () => {
    app = create();
    origin = `http://127.0.0.1:${await app.listen(0)}`;
  });

  afterEach(() => app.close());

  const get = (path: string, headers: Record<string, string> = AUTH): Promise<Response> => fetch(path.startsWith('http') ? path : `${origin}${path}`, { headers });
  const getJson = async (path: string): Promise<Json> => {
    const response = await get(path);
    assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
    return response.json() as Promise<Json>;
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS): Promise<Response> =>
    fetch(`${origin}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const created = async (path: string, body: unknown, headers?: Record<string, string>): Promise<Json> => {
    const response = await post(path, body, headers);
    assert.equal(response.status, 201, `${path}: ${await response.clone().text()}`);
    return response.json() as Promise<Json>;
  };
  const remove = (path: string): Promise<Response> => fetch(`${origin}${path}`, { method: 'DELETE', headers: AUTH });
  const fhirHeaders = { ...AUTH, 'Content-Type': 'application/fhir+json' };

  let counter = 0;
  const newPatient = (given = 'Neema', extra: Json = {}): Json => ({
    identifiers: [{ identifier: `T-${Date.now()}-${(counter += 1)}`, identifierType: IDENTIFIER_TYPES.commcareCaseId, location: LOCATIONS.northCatchment }],
    person: { gender: 'F', birthdate: '1995-04-02', names: [{ givenName: given, familyName: 'Wanjiru' }] },
    ...extra,
  });

  describe('conformance with the upstream samples', () => {
    beforeEach(function () { requireSamples(this); });

    it('accepts patient-create-request.json and refuses the same identifier again', async () => {
      const sample = sampleJson('openmrs-rest/patient-create-request.json');
      const patient = await created(`${REST}/patient`, sample);
      assert.match(patient.display, /^id-B - Ram Kabir$/);
      const again = await post(`${REST}/patient`, sample);
      assert.equal(again.status, 400);
      const error = ((await again.json()) as Json).error;
      assert.equal(error.code, 'webservices.rest.error.invalid.submission');
      assert.match(error.globalErrors[0].message, /id-B already in use/);
    });

    it('accepts a re-post of patient-get-full.json and reads it back in the same full shape', async () => {
      const sample = sampleJson('openmrs-rest/patient-get-full.json');
      const patient = await created(`${REST}/patient`, sample);
      assert.equal(patient.uuid, sample.uuid);
      const full = await getJson(`${REST}/patient/${sample.uuid}?v=full`);
      assert.deepEqual(shapeDifferences(sample, full), []);
      assert.equal(full.person.attributes[0].value.display, 'Chad');
    });

    it('answers GET ?v=full of a seeded patient in the shape of patient-get-full.json', async () => {
      const full = await getJson(`${REST}/patient/${PATIENTS.amina}?v=full`);
      // The sample's attribute is concept-valued; the seeded phone attribute is text, as OpenMRS types values by format.
      const differences = shapeDifferences(sampleJson('openmrs-rest/patient-get-full.json'), full)
        .filter((difference) => difference !== '$.person.attributes[0].value: expected object, got string');
      assert.deepEqual(differences, []);
    });

    it('answers a patient search in the shape of patient-search-results.json', async () => {
      const page = await getJson(`${REST}/patient?q=a&v=default&limit=1`);
      assert.deepEqual(shapeDifferences(sampleJson('openmrs-rest/patient-search-results.json'), page), []);
    });

    it('lists encounters with obs in the shape of encounter-list-with-obs.json', async () => {
      const patient = await created(`${REST}/patient`, newPatient());
      const visit = await created(`${REST}/visit`, { patient: patient.uuid, visitType: VISIT_TYPES.communityVisit, startDatetime: '2024-05-01T08:00:00.000+0300', location: LOCATIONS.northCatchment });
      for (const day of ['01', '02']) {
        await created(`${REST}/encounter`, {
          patient: patient.uuid, encounterType: ENCOUNTER_TYPES.communityFollowUp, encounterDatetime: `2024-05-${day}T09:30:00.000+0300`,
          location: LOCATIONS.northCatchment, form: FORMS.communityFollowUp, visit: visit.uuid,
          encounterProviders: [{ provider: PROVIDERS.admin, encounterRole: 'a0b03050-c99b-11e0-9572-0800200c9a66' }],
          obs: [{ concept: CONCEPTS.weight, value: 63 }, { concept: CONCEPTS.temperature, value: '37.5' }],
        });
      }
      const page = await getJson(`${REST}/encounter?patient=${patient.uuid}&v=default&limit=1`);
      assert.deepEqual(shapeDifferences(sampleJson('openmrs-rest/encounter-list-with-obs.json'), page), []);
      assert.equal(page.results[0].obs[0].display, 'Weight (kg): 63.0');
      assert.equal(page.results[0].encounterDatetime, '2024-05-01T06:30:00.000+0000');
    });

    it('serves the patient feed in the XML structure of atomfeed-patient-recent.xml', async () => {
      const sample = sampleText('openmrs-rest/atomfeed-patient-recent.xml');
      const response = await get('/openmrs/ws/atomfeed/patient/recent');
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /application\/atom\+xml/);
      const xml = await response.text();
      const actual = xmlPaths(xml);
      const missing = [...xmlPaths(sample)].filter((path) => !actual.has(path));
      assert.deepEqual(missing, []);
      assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/);
      for (const id of elementTexts(xml, 'id').slice(1)) assert.match(id, /^tag:atomfeed\.ict4h\.org:[0-9a-f-]{36}$/);
      for (const content of elementTexts(xml, 'content')) assert.match(content, /^<!\[CDATA\[\/openmrs\/ws\/rest\/v1\/patient\/[0-9a-f-]{36}\?v=full\]\]>$/);
      for (const updated of elementTexts(xml, 'updated')) assert.match(updated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    it('answers a FHIR Patient read in the shape of patient-read.json', async () => {
      const response = await get(`${FHIR}/Patient/${PATIENTS.amina}`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /application\/fhir\+json/);
      const patient = await response.json() as Json;
      assert.deepEqual(shapeDifferences(sampleJson('openmrs-fhir/patient-read.json'), patient), []);
      assert.equal(patient.identifier[0].type.coding[0].code, IDENTIFIER_TYPES.openmrsId);
      assert.equal(patient.telecom[0].value, '+254712000001');
    });

    it('accepts the FHIR Patient, Encounter, Observation and Task create samples', async () => {
      const patient = await created(`${FHIR}/Patient`, sampleJson('openmrs-fhir/patient-create-request.json'), fhirHeaders);
      assert.equal(patient.identifier[0].value, '4444-6');
      const rest = await getJson(`${REST}/patient/${patient.id}`);
      assert.equal(rest.person.display, 'Adam John');

      const encounter = await created(`${FHIR}/Encounter`, sampleJson('openmrs-fhir/encounter-create-request.json'), fhirHeaders);
      assert.equal(encounter.subject.reference, `Patient/${PATIENTS.collet}`);
      assert.equal((await getJson(`${REST}/encounter/${encounter.id}`)).encounterType.uuid, ENCOUNTER_TYPES.consultation);

      const observation = await created(`${FHIR}/Observation`, sampleJson('openmrs-fhir/observation-create-request.json'), fhirHeaders);
      assert.equal(observation.valueQuantity.value, 156);
      const obs = await getJson(`${REST}/obs/${observation.id}`);
      assert.equal(obs.value, 156);
      assert.equal(obs.encounter.uuid, SAMPLE_ENCOUNTER);

      const taskResponse = await post(`${FHIR}/Task`, sampleJson('openmrs-fhir/task-create-request.json'), fhirHeaders);
      assert.equal(taskResponse.status, 201);
      assert.match(taskResponse.headers.get('location') ?? '', /\/Task\/[0-9a-f-]{36}\/_history\//);
      const task = await taskResponse.json() as Json;
      assert.equal(task.status, 'accepted');
      assert.equal(task.output.length, 4);
    });
  });

  describe('REST validation and errors', () => {
    const errorOf = async (response: Response, status = 400): Promise<Json> => {
      assert.equal(response.status, status, await response.clone().text());
      return ((await response.json()) as Json).error;
    };

    it('refuses a patient without identifiers, names or gender with field errors', async () => {
      const error = await errorOf(await post(`${REST}/patient`, { person: { birthdate: '2000-01-01', names: [{ givenName: 'A' }] } }));
      assert.equal(error.message, '[Invalid Submission]');
      assert.equal(error.code, 'webservices.rest.error.invalid.submission');
      assert.deepEqual(error.globalErrors, []);
      assert.deepEqual(Object.keys(error.fieldErrors).sort(), ['identifiers', 'person.gender', 'person.names[0].familyName']);
      assert.deepEqual(error.fieldErrors.identifiers, [{ code: 'error.null', message: 'Cannot be empty or null' }]);
    });

    it('refuses unknown identifier types, unknown properties and future birthdates', async () => {
      const unknownType = await errorOf(await post(`${REST}/patient`, newPatient('X', { identifiers: [{ identifier: '1', identifierType: 'nope' }] })));
      assert.ok(unknownType.fieldErrors['identifiers[0].identifierType']);
      const unknownProperty = await errorOf(await post(`${REST}/patient`, newPatient('X', { colour: 'blue' })));
      assert.equal(unknownProperty.message, '[Some properties are not allowed to be set: colour]');
      assert.equal(unknownProperty.detail, '');
      const future = await errorOf(await post(`${REST}/patient`, newPatient('X', { person: { gender: 'F', birthdate: '2999-01-01', names: [{ givenName: 'A', familyName: 'B' }] } })));
      assert.equal(future.fieldErrors['person.birthdate'][0].code, 'error.date.future');
    });

    it('validates encounters: required fields, offsets and datetimes in the future', async () => {
      const missing = await errorOf(await post(`${REST}/encounter`, { patient: PATIENTS.amina }));
      assert.deepEqual(Object.keys(missing.fieldErrors).sort(), ['encounterDatetime', 'encounterType']);
      const badDate = await errorOf(await post(`${REST}/encounter`, { patient: PATIENTS.amina, encounterType: ENCOUNTER_TYPES.homeVisit, encounterDatetime: '01/05/2024' }));
      assert.equal(badDate.fieldErrors.encounterDatetime[0].code, 'error.date');
      const future = await errorOf(await post(`${REST}/encounter`, { patient: PATIENTS.amina, encounterType: ENCOUNTER_TYPES.homeVisit, encounterDatetime: '2999-01-01T00:00:00Z' }));
      assert.equal(future.fieldErrors.encounterDatetime[0].code, 'Encounter.datetimeShouldBeBeforeCurrent');
      const ok = await created(`${REST}/encounter`, { patient: PATIENTS.amina, encounterType: ENCOUNTER_TYPES.homeVisit, encounterDatetime: '2024-03-01T10:00:00.000+0300' });
      assert.equal(ok.encounterDatetime, '2024-03-01T07:00:00.000+0000');
    });

    it('coerces obs values to the concept datatype and refuses the wrong type on value', async () => {
      const obs = (concept: string, value: unknown): Json => ({ concept, person: PATIENTS.baraka, obsDatetime: '2024-04-01T10:00:00Z', value });
      assert.equal((await created(`${REST}/obs`, obs(CONCEPTS.weight, '63.5'))).value, 63.5);
      assert.equal((await created(`${REST}/obs`, obs(CONCEPTS.dangerSignsPresent, CONCEPTS.yes))).value.uuid, CONCEPTS.yes);
      assert.equal((await created(`${REST}/obs`, obs(CONCEPTS.referralReason, 'Cough'))).value, 'Cough');
      assert.equal((await created(`${REST}/obs`, obs(CONCEPTS.visitDate, '2024-04-01'))).value, '2024-04-01T00:00:00.000+0000');
      assert.equal((await created(`${REST}/obs`, obs(CONCEPTS.reachableByPhone, false))).value, false);
      const cases: Array<[string, unknown, string]> = [
        [CONCEPTS.weight, 'heavy', 'error.valueNotNumeric'],
        [CONCEPTS.weight, 900, 'error.outOfRange'],
        [CONCEPTS.dangerSignsPresent, CONCEPTS.urgent, 'Obs.error.invalidAnswer'],
        [CONCEPTS.visitDate, 'yesterday', 'error.date'],
        [CONCEPTS.reachableByPhone, 'maybe', 'error.valueNotBoolean'],
        [CONCEPTS.referralReason, { text: 'x' }, 'error.valueNotText'],
      ];
      for (const [concept, value, code] of cases) {
        const error = await errorOf(await post(`${REST}/obs`, obs(concept, value)));
        assert.equal(error.fieldErrors.value[0].code, code, `${concept} ${JSON.stringify(value)}`);
      }
      const inEncounter = await errorOf(await post(`${REST}/encounter`, {
        patient: PATIENTS.baraka, encounterType: ENCOUNTER_TYPES.homeVisit, encounterDatetime: '2024-04-01T10:00:00Z', obs: [{ concept: CONCEPTS.weight, value: 'x' }],
      }));
      assert.ok(inEncounter.fieldErrors['obs[0].value']);
    });

    it('voids on DELETE (readable, out of searches), purges with ?purge=true, then 404', async () => {
      const patient = await created(`${REST}/patient`, newPatient('Zawadi'));
      assert.equal((await getJson(`${REST}/patient?q=Zawadi`)).results.length, 1);
      assert.equal((await remove(`${REST}/patient/${patient.uuid}`)).status, 204);
      assert.equal((await getJson(`${REST}/patient/${patient.uuid}`)).voided, true);
      assert.equal((await getJson(`${REST}/patient?q=Zawadi`)).results.length, 0);
      assert.equal((await getJson(`${REST}/patient?q=Zawadi&includeAll=true`)).results.length, 1);
      assert.equal((await remove(`${REST}/patient/${patient.uuid}?purge=true`)).status, 204);
      const error = await errorOf(await get(`${REST}/patient/${patient.uuid}`), 404);
      assert.equal(error.message, "[Object with given uuid doesn't exist]");
      assert.equal(error.detail, '');

      const encounters = await getJson(`${REST}/encounter?patient=${PATIENTS.amina}`);
      const encounter = encounters.results[0];
      assert.equal((await remove(`${REST}/encounter/${encounter.uuid}`)).status, 204);
      assert.equal((await getJson(`${REST}/encounter?patient=${PATIENTS.amina}`)).results.length, encounters.results.length - 1);
      const voidedObs = await getJson(`${REST}/obs/${encounter.obs[0].uuid}`);
      assert.equal(voidedObs.voided, true);
      assert.equal((await remove(`${REST}/encounter/${encounter.uuid}?purge=true`)).status, 204);
      assert.equal((await get(`${REST}/encounter/${encounter.uuid}`)).status, 404);
      assert.equal((await get(`${REST}/obs/${encounter.obs[0].uuid}`)).status, 404);
    });

    it('updates by POST to the uuid; a new phone voids the old attribute', async () => {
      const updated = await post(`${REST}/patient/${PATIENTS.baraka}`, { person: { attributes: [{ attributeType: ATTRIBUTE_TYPES.telephoneNumber, value: '+254799000000' }] } });
      assert.equal(updated.status, 200);
      const full = await getJson(`${REST}/patient/${PATIENTS.baraka}?v=full`);
      assert.deepEqual(full.person.attributes.map((attribute: Json) => attribute.value), ['+254799000000']);
      assert.ok(full.auditInfo.dateChanged);
      const attributes = await getJson(`${REST}/person/${PATIENTS.baraka}/attribute`);
      assert.equal(attributes.results.length, 1);
      const attribute = await created(`${REST}/person/${PATIENTS.baraka}/attribute`, { attributeType: ATTRIBUTE_TYPES.telephoneNumber, value: '+254700000001' });
      assert.equal(attribute.value, '+254700000001');
      assert.equal((await getJson(`${REST}/person/${PATIENTS.baraka}`)).attributes.length, 1);
    });

    it('bounds encounter searches with fromdate/todate and narrows nested custom representations', async () => {
      const at = (encounterDatetime: string): Promise<Json> =>
        created(`${REST}/encounter`, { patient: PATIENTS.baraka, encounterType: ENCOUNTER_TYPES.homeVisit, encounterDatetime, obs: [{ concept: CONCEPTS.weight, value: 60, comment: encounterDatetime }] });
      const early = await at('2024-03-01T10:00:00.000+0300');
      const late = await at('2024-03-05T10:00:00.000+0300');
      const search = `${REST}/encounter?patient=${PATIENTS.baraka}&encounterType=${ENCOUNTER_TYPES.homeVisit}`;
      const uuids = async (query: string): Promise<string[]> => (await getJson(`${search}${query}`)).results.map((encounter: Json) => encounter.uuid);
      // Both bounds are inclusive instants; offsets are honoured.
      assert.deepEqual(await uuids('&fromdate=2024-03-01T07:00:00.000%2B0000&todate=2024-03-01T10:00:00.000%2B0300'), [early.uuid]);
      assert.deepEqual(await uuids('&fromdate=2024-03-02'), [late.uuid]);
      assert.deepEqual(await uuids('&todate=2024-03-02'), [early.uuid]);
      assert.deepEqual(await uuids('&fromdate=2024-03-02&todate=2024-03-03'), []);
      assert.equal((await get(`${search}&fromdate=yesterday`)).status, 400);
      const narrowed = await getJson(`${search}&fromdate=2024-03-05&v=custom:(uuid,encounterType:(uuid),obs:(uuid,comment,concept:(uuid)))`);
      assert.deepEqual(narrowed.results, [{
        uuid: late.uuid,
        encounterType: { uuid: ENCOUNTER_TYPES.homeVisit },
        obs: [{ uuid: late.obs[0].uuid, comment: '2024-03-05T10:00:00.000+0300', concept: { uuid: CONCEPTS.weight } }],
      }]);
    });

    it('searches patients by identifier, encounters by type, obs by concept, metadata by q', async () => {
      assert.equal((await getJson(`${REST}/patient?identifier=${OPENMRS_IDS.daudi}`)).results[0].uuid, PATIENTS.daudi);
      assert.equal((await getJson(`${REST}/patient?q=${OPENMRS_IDS.esther}`)).results[0].uuid, PATIENTS.esther);
      const referrals = await getJson(`${REST}/encounter?patient=${PATIENTS.daudi}&encounterType=${ENCOUNTER_TYPES.referral}`);
      assert.equal(referrals.results.length, 1);
      const weights = await getJson(`${REST}/obs?patient=${PATIENTS.chausiku}&concept=${CONCEPTS.weight}`);
      assert.equal(weights.results[0].value, 18.5);
      assert.equal((await getJson(`${REST}/obs?concept=${CONCEPTS.referralUrgency}`)).results.length, 3);
      assert.equal((await get(`${REST}/obs`)).status, 400);
      assert.equal((await getJson(`${REST}/concept?q=weight`)).results[0].uuid, CONCEPTS.weight);
      const concept = await getJson(`${REST}/concept/${CONCEPTS.traceOutcome}?v=full`);
      assert.equal(concept.answers.length, 5);
      assert.equal(concept.datatype.display, 'Coded');
      assert.equal((await getJson(`${REST}/location?q=catchment`)).results.length, 2);
      assert.equal((await getJson(`${REST}/location/${LOCATIONS.facility}`)).childLocations.length, 2);
      assert.equal((await getJson(`${REST}/encountertype`)).results.length, 5);
      assert.equal((await getJson(`${REST}/patientidentifiertype?q=cht`)).results[0].uuid, IDENTIFIER_TYPES.chtPatientId);
      assert.equal((await getJson(`${REST}/provider?identifier=admin`)).results[0].uuid, PROVIDERS.admin);
      assert.equal((await getJson(`${REST}/provider?q=super`)).results[0].uuid, PROVIDERS.admin);
      assert.equal((await get(`${REST}/patient`)).status, 400);
      const ref = await getJson(`${REST}/patient/${PATIENTS.amina}?v=ref`);
      assert.deepEqual(Object.keys(ref), ['uuid', 'display', 'links']);
      const custom = await getJson(`${REST}/patient/${PATIENTS.amina}?v=custom:(uuid,person:(display))`);
      assert.deepEqual(Object.keys(custom), ['uuid', 'person']);
    });

    it('pages with limit/startIndex, links next and prev, and totalCount', async () => {
      const seen: string[] = [];
      let url: string | undefined = `${REST}/patient?q=a&limit=1&totalCount=true`;
      let pages = 0;
      while (url) {
        const page = await getJson(url);
        pages += 1;
        if (pages === 1) assert.equal(page.totalCount, 2);
        if (pages === 2) assert.ok(page.links.some((link: Json) => link.rel === 'prev'));
        seen.push(...page.results.map((patient: Json) => patient.uuid));
        url = page.links?.find((link: Json) => link.rel === 'next')?.uri;
      }
      assert.equal(pages, 2);
      assert.deepEqual(seen.sort(), [PATIENTS.amina, PATIENTS.esther].sort());
      assert.equal((await get(`${REST}/patient?q=a&limit=0`)).status, 400);
    });
  });

  describe('atom feeds', () => {
    it('appends patient events on create, update and void and archives every 5 entries', async () => {
      const before = await (await get('/openmrs/ws/atomfeed/patient/recent')).text();
      const pageBefore = Number(linkHref(before, 'via')!.split('/').pop());
      const patient = await created(`${REST}/patient`, newPatient());
      await post(`${REST}/patient/${patient.uuid}`, { person: { gender: 'O' } });
      await remove(`${REST}/patient/${patient.uuid}`);
      for (let i = 0; i < CHUNK_SIZE; i += 1) await created(`${REST}/patient`, newPatient());
      const recent = await (await get('/openmrs/ws/atomfeed/patient/recent')).text();
      const working = Number(linkHref(recent, 'via')!.split('/').pop());
      assert.ok(working > pageBefore);
      assert.equal(linkHref(recent, 'next-archive'), undefined);

      // Walk from page 1 with next-archive, as CommCare's importer does, collecting every event.
      const contents: string[] = [];
      let href: string | undefined = `${origin}/openmrs/ws/atomfeed/patient/1`;
      let pages = 0;
      while (href) {
        const xml = await (await get(href)).text();
        pages += 1;
        const entries = elementTexts(xml, 'content');
        assert.ok(entries.length <= CHUNK_SIZE);
        if (href.endsWith('/1')) assert.equal(linkHref(xml, 'prev-archive'), undefined);
        else assert.ok(linkHref(xml, 'prev-archive'));
        contents.push(...entries);
        href = linkHref(xml, 'next-archive');
      }
      assert.equal(pages, working);
      const forPatient = contents.filter((content) => content.includes(patient.uuid));
      assert.equal(forPatient.length, 3);

      const missing = await get(`/openmrs/ws/atomfeed/patient/${working + 1}`);
      assert.equal(missing.status, 500);
      assert.match(await missing.text(), /AtomFeedRuntimeException: feed does not exist/);
      assert.equal((await get('/openmrs/ws/atomfeed/patient/0')).status, 500);
    });

    it('publishes encounters on the encounter feed', async () => {
      const encounter = await created(`${REST}/encounter`, { patient: PATIENTS.esther, encounterType: ENCOUNTER_TYPES.traceOutcome, encounterDatetime: '2024-06-01T08:00:00Z', obs: [{ concept: CONCEPTS.traceOutcome, value: CONCEPTS.foundAndReturned }] });
      const xml = await (await get('/openmrs/ws/atomfeed/encounter/recent')).text();
      assert.match(xml, /<title>Encounter AOP<\/title>/);
      assert.ok(xml.includes(`<![CDATA[/openmrs/ws/rest/v1/encounter/${encounter.uuid}?v=full]]>`));
    });
  });

  describe('auth and sessions', () => {
    it('answers 401 with a Basic challenge without or with wrong credentials', async () => {
      const anonymous = await get(`${REST}/patient/${PATIENTS.amina}`, {});
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      assert.equal(((await anonymous.json()) as Json).error.message, '[User is not logged in]');
      const wrong = await get(`${REST}/patient/${PATIENTS.amina}`, { Authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` });
      assert.equal(wrong.status, 401);
      const fhirDenied = await get(`${FHIR}/Patient/${PATIENTS.amina}`, {});
      assert.equal(fhirDenied.status, 401);
      assert.equal(((await fhirDenied.json()) as Json).resourceType, 'OperationOutcome');
      assert.equal((await get('/openmrs/ws/atomfeed/patient/recent', {})).status, 401);
    });

    it('opens a session with Basic auth, accepts its cookie alone, and ends it on DELETE', async () => {
      const unauthenticated = await (await get(`${REST}/session`, {})).json() as Json;
      assert.equal(unauthenticated.authenticated, false);

      const response = await get(`${REST}/session`);
      const session = await response.json() as Json;
      assert.equal(session.authenticated, true);
      assert.equal(session.user.username, 'admin');
      const cookie = response.headers.get('set-cookie') ?? '';
      assert.match(cookie, /^JSESSIONID=[0-9A-F]+; Path=\/openmrs; HttpOnly$/);
      const jsession = cookie.split(';')[0];
      assert.equal(jsession, `JSESSIONID=${session.sessionId}`);
      assert.equal((await get(`${REST}/patient/${PATIENTS.amina}`, { Cookie: jsession })).status, 200);
      assert.equal((await fetch(`${origin}${REST}/session`, { method: 'DELETE', headers: { Cookie: jsession } })).status, 204);
      assert.equal((await get(`${REST}/patient/${PATIENTS.amina}`, { Cookie: jsession })).status, 401);
    });
  });

  describe('provider attributes', () => {
    const newProvider = (identifier: string, attributes?: Json[]): Json => ({
      identifier, person: { gender: 'F', names: [{ givenName: 'Jane', familyName: 'Achieng' }] }, ...(attributes ? { attributes } : {}),
    });

    it('lists the seeded provider attribute types like the REST module', async () => {
      const types = await getJson(`${REST}/providerattributetype?v=default`);
      const role = types.results.find((type: Json) => type.uuid === PROVIDER_ATTRIBUTE_TYPES.role);
      assert.deepEqual(types.results.map((type: Json) => type.name).sort(), ['Location', 'Organization', 'Role', 'Specialty']);
      assert.equal(role.datatypeClassname, 'org.openmrs.customdatatype.datatype.FreeTextDatatype');
      assert.equal(role.maxOccurs, 1);
      assert.equal(role.minOccurs, 0);
      assert.equal((await getJson(`${REST}/providerattributetype?q=organ`)).results[0].uuid, PROVIDER_ATTRIBUTE_TYPES.organization);
      assert.equal((await getJson(`${REST}/providerattributetype/${PROVIDER_ATTRIBUTE_TYPES.location}`)).display, 'Location');
    });

    it('creates a provider with attributes and shows them as refs by default and in full with v=full', async () => {
      const provider = await created(`${REST}/provider`, newProvider('PA-1', [{ attributeType: PROVIDER_ATTRIBUTE_TYPES.role, value: 'Community Health Worker' }]));
      assert.equal(provider.attributes.length, 1);
      assert.equal(provider.attributes[0].display, 'Role: Community Health Worker');
      assert.equal(provider.attributes[0].attributeType, undefined, 'a ref by default');
      const full = await getJson(`${REST}/provider/${provider.uuid}?v=full`);
      assert.equal(full.attributes[0].value, 'Community Health Worker');
      assert.equal(full.attributes[0].attributeType.uuid, PROVIDER_ATTRIBUTE_TYPES.role);
      assert.equal(full.attributes[0].voided, false);
      assert.match(full.attributes[0].links[0].uri, new RegExp(`/provider/${provider.uuid}/attribute/${full.attributes[0].uuid}$`));
    });

    it('adds, updates and voids attributes through /provider/{uuid}/attribute', async () => {
      const provider = await created(`${REST}/provider`, newProvider('PA-2'));
      const path = `${REST}/provider/${provider.uuid}/attribute`;
      const added = await created(path, { attributeType: { uuid: PROVIDER_ATTRIBUTE_TYPES.organization }, value: 'Kolwa CHU' });
      assert.equal(added.value, 'Kolwa CHU');
      assert.equal(added.attributeType.uuid, PROVIDER_ATTRIBUTE_TYPES.organization);
      const updated = await post(`${path}/${added.uuid}`, { value: 'Kolwa Health Centre' });
      assert.equal(updated.status, 200, await updated.clone().text());
      assert.equal((await getJson(`${path}/${added.uuid}`)).value, 'Kolwa Health Centre');
      assert.deepEqual((await getJson(path)).results.map((attribute: Json) => attribute.value), ['Kolwa Health Centre']);
      assert.equal((await remove(`${path}/${added.uuid}`)).status, 204);
      assert.deepEqual((await getJson(path)).results, [], 'a voided attribute is no longer listed');
      assert.deepEqual((await getJson(`${REST}/provider/${provider.uuid}?v=full`)).attributes, []);
    });

    it('refuses unknown types, a missing value and a second value of a type with maxOccurs 1', async () => {
      const provider = await created(`${REST}/provider`, newProvider('PA-3', [{ attributeType: PROVIDER_ATTRIBUTE_TYPES.role, value: 'CHW' }]));
      const path = `${REST}/provider/${provider.uuid}/attribute`;
      const unknownType = await post(path, { attributeType: ATTRIBUTE_TYPES.telephoneNumber, value: '+254700000001' });
      assert.equal(unknownType.status, 400, 'a person attribute type is not a provider attribute type');
      assert.ok((await unknownType.json()).error.fieldErrors.attributeType);
      const noValue = await post(path, { attributeType: PROVIDER_ATTRIBUTE_TYPES.location });
      assert.equal(noValue.status, 400);
      assert.ok((await noValue.json()).error.fieldErrors.value);
      const second = await post(path, { attributeType: PROVIDER_ATTRIBUTE_TYPES.role, value: 'Nurse' });
      assert.equal(second.status, 400);
      assert.ok((await second.json()).error.fieldErrors.attributes);
      const twiceOnCreate = await post(`${REST}/provider`, newProvider('PA-4', [
        { attributeType: PROVIDER_ATTRIBUTE_TYPES.role, value: 'CHW' }, { attributeType: PROVIDER_ATTRIBUTE_TYPES.role, value: 'Nurse' },
      ]));
      assert.equal(twiceOnCreate.status, 400);
      assert.equal((await getJson(`${REST}/provider?identifier=PA-4`)).results.length, 0, 'nothing is created for a refused submission');
      assert.equal((await get(`${REST}/provider/not-a-provider/attribute`)).status, 404);
    });
  });

  describe('faults and reset', () => {
    const fault = (spec: Json): Promise<Response> => fetch(`${origin}/_sandbox/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(spec) });

    it('injects a 503 and a 429 with Retry-After on the patient routes', async () => {
      await fault({ path: '^/openmrs/ws/rest/v1/patient', status: 503, count: 1 });
      assert.equal((await get(`${REST}/patient/${PATIENTS.amina}`)).status, 503);
      await fault({ path: '^/openmrs/ws/rest/v1/patient$', method: 'POST', status: 429, retryAfter: 3, count: 1 });
      const limited = await post(`${REST}/patient`, newPatient());
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '3');
      assert.equal((await post(`${REST}/patient`, newPatient())).status, 201);
      assert.equal((await get(`${REST}/patient/${PATIENTS.amina}`)).status, 200);
    });

    it('resets to the seed', async () => {
      const patient = await created(`${REST}/patient`, newPatient());
      await remove(`${REST}/patient/${PATIENTS.amina}?purge=true`);
      assert.equal((await fetch(`${origin}/_sandbox/reset`, { method: 'POST' })).status, 200);
      assert.equal((await get(`${REST}/patient/${patient.uuid}`)).status, 404);
      assert.equal((await getJson(`${REST}/patient/${PATIENTS.amina}`)).display, `${OPENMRS_IDS.amina} - Amina Otieno`);
    });
  });

  describe('reporting REST', () => {
    it('evaluates the community follow-up and missed appointment reports', async () => {
      const followUp = await getJson(`${REST}/reportingrest/reportdata/${REPORTS.needingFollowUp}`);
      assert.deepEqual(followUp.dataSets[0].metadata.columns.map((column: Json) => column.name).slice(0, 3), ['patient_uuid', 'identifier', 'given_name']);
      assert.deepEqual(followUp.dataSets[0].rows.map((row: Json) => row.patient_uuid).sort(), [PATIENTS.amina, PATIENTS.baraka].sort());
      const amina = followUp.dataSets[0].rows.find((row: Json) => row.patient_uuid === PATIENTS.amina);
      assert.equal(amina.urgency, 'Urgent');
      assert.equal(amina.phone, '+254712000001');

      const missed = await getJson(`${REST}/reportingrest/reportdata/${REPORTS.missedAppointments}`);
      assert.deepEqual(missed.dataSets[0].rows.map((row: Json) => row.patient_uuid).sort(), [PATIENTS.chausiku, PATIENTS.esther].sort());
      const south = await getJson(`${REST}/reportingrest/reportdata/${REPORTS.missedAppointments}?location=${LOCATIONS.southCatchment}`);
      assert.deepEqual(south.dataSets[0].rows.map((row: Json) => row.patient_uuid), [PATIENTS.chausiku]);

      // A follow-up visit takes Amina off the list.
      await created(`${REST}/encounter`, { patient: PATIENTS.amina, encounterType: ENCOUNTER_TYPES.communityFollowUp, encounterDatetime: new Date().toISOString() });
      const after = await getJson(`${REST}/reportingrest/reportdata/${REPORTS.needingFollowUp}`);
      assert.deepEqual(after.dataSets[0].rows.map((row: Json) => row.patient_uuid), [PATIENTS.baraka]);
      assert.equal((await get(`${REST}/reportingrest/reportdata/unknown`)).status, 404);
    });
  });

  describe('FHIR2', () => {
    it('shares the store with REST both ways', async () => {
      const restPatient = await created(`${REST}/patient`, newPatient('Rehema'));
      const read = await getJson(`${FHIR}/Patient/${restPatient.uuid}`);
      assert.equal(read.name[0].given[0], 'Rehema');
      const bundle = await getJson(`${FHIR}/Patient?identifier=${encodeURIComponent(restPatient.identifiers[0].display.split(' = ')[1])}`);
      assert.equal(bundle.total, 1);
      assert.equal((await getJson(`${FHIR}/Patient?name=rehema`)).entry[0].resource.id, restPatient.uuid);
    });

    it('pages searches with Bundle link next and filters by _lastUpdated', async () => {
      const first = await getJson(`${FHIR}/Patient?_count=2`);
      assert.equal(first.type, 'searchset');
      assert.equal(first.entry.length, 2);
      const ids = first.entry.map((entry: Json) => entry.resource.id);
      let next = first.link.find((link: Json) => link.relation === 'next')?.url;
      while (next) {
        const page = await getJson(next);
        ids.push(...page.entry.map((entry: Json) => entry.resource.id));
        next = page.link.find((link: Json) => link.relation === 'next')?.url;
      }
      assert.equal(ids.length, first.total);
      assert.equal(new Set(ids).size, ids.length);

      const since = new Date(Date.now() + 1000).toISOString();
      assert.equal((await getJson(`${FHIR}/Patient?_lastUpdated=gt${since}`)).total, 0);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const fresh = await created(`${FHIR}/Patient`, { resourceType: 'Patient', identifier: [{ value: 'F-1', type: { text: 'CommCare Case ID' } }], name: [{ family: 'Fresh', given: ['Faith'] }], gender: 'female', birthDate: '2000-02-02' }, fhirHeaders);
      const updated = await getJson(`${FHIR}/Patient?_lastUpdated=gt${since}`);
      assert.deepEqual(updated.entry.map((entry: Json) => entry.resource.id), [fresh.id]);
    });

    it('answers OperationOutcomes: 404, 400 on bad values, 410 after delete', async () => {
      const missing = await get(`${FHIR}/Patient/nope`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as Json).issue[0].code, 'not-found');
      const bad = await post(`${FHIR}/Observation`, { resourceType: 'Observation', status: 'final', code: { coding: [{ code: CONCEPTS.weight }] }, subject: { reference: `Patient/${PATIENTS.amina}` }, effectiveDateTime: '2024-01-01T00:00:00Z', valueString: 'heavy' }, fhirHeaders);
      assert.equal(bad.status, 400);
      const outcome = await bad.json() as Json;
      assert.equal(outcome.resourceType, 'OperationOutcome');
      assert.match(outcome.issue[0].diagnostics, /value/);
      const noType = await post(`${FHIR}/Patient`, { resourceType: 'Patient', identifier: [{ value: '1', type: { text: 'No Such Type' } }], name: [{ family: 'A', given: ['B'] }], gender: 'male', birthDate: '2000-01-01' }, fhirHeaders);
      assert.equal(noType.status, 400);
      const encounter = (await getJson(`${FHIR}/Encounter?subject=Patient/${PATIENTS.daudi}`)).entry[0].resource;
      assert.equal((await remove(`${FHIR}/Encounter/${encounter.id}`)).status, 200);
      assert.equal((await get(`${FHIR}/Encounter/${encounter.id}`)).status, 410);
      assert.equal((await getJson(`${REST}/encounter/${encounter.id}`)).voided, true);
    });

    it('searches observations and practitioners, and updates tasks', async () => {
      const observations = await getJson(`${FHIR}/Observation?patient=${PATIENTS.chausiku}&code=${CONCEPTS.weight}`);
      assert.equal(observations.entry[0].resource.valueQuantity.value, 18.5);
      assert.equal((await getJson(`${FHIR}/Observation?subject=Patient/${PATIENTS.chausiku}&code=https://cielterminology.org|5089`)).total, 1);
      const practitioners = await getJson(`${FHIR}/Practitioner?identifier=admin`);
      assert.equal(practitioners.entry[0].resource.id, PROVIDERS.admin);
      const chw = await created(`${FHIR}/Practitioner`, { resourceType: 'Practitioner', identifier: [{ value: 'CHW-7' }], name: [{ family: 'Odhiambo', given: ['Jane'] }], gender: 'female' }, fhirHeaders);
      assert.equal((await getJson(`${REST}/provider/${chw.id}`)).identifier, 'CHW-7');

      const task = await created(`${FHIR}/Task`, { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: `Patient/${PATIENTS.esther}` }, owner: { reference: `Practitioner/${chw.id}` } }, fhirHeaders);
      const put = await fetch(`${origin}${FHIR}/Task/${task.id}`, { method: 'PUT', headers: fhirHeaders, body: JSON.stringify({ ...task, status: 'completed' }) });
      assert.equal(put.status, 200);
      assert.equal(((await getJson(`${FHIR}/Task/${task.id}`)).status), 'completed');
      assert.equal((await getJson(`${FHIR}/Task?status=completed&owner=Practitioner/${chw.id}`)).total, 1);
      const badStatus = await fetch(`${origin}${FHIR}/Task/${task.id}`, { method: 'PUT', headers: fhirHeaders, body: JSON.stringify({ ...task, status: 'done' }) });
      assert.equal(badStatus.status, 400);
    });
  });
});
