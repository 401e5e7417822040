import assert from 'node:assert/strict';
import request from 'supertest';
import { ENCOUNTER_TYPES, IDENTIFIER_TYPES, PASSWORD, PATIENTS, USERNAME } from '../../sandbox/openmrs/seed';
import openmrsConfig from '../../nodes/openmrs/openmrs-config';
import openmrsPatientFinder from '../../nodes/openmrs/openmrs-patient-finder';
import { helper, loadFlow } from '../support/node-helper';
import { openmrsConfigNode, useOpenmrsSandbox } from '../support/openmrs-sandbox';

function flow(baseUrl: string): object[] {
  return [
    { id: 't', type: 'tab' },
    openmrsConfigNode(baseUrl, { timeZone: 'Africa/Nairobi' }),
    { id: 'find', type: 'chis-openmrs-patient-finder', z: 't', server: 'server', weights: '', searchBy: 'familyName,givenName', threshold: 1, confidenceMargin: 0.667, wires: [['match'], ['none']] },
    { id: 'match', type: 'helper', z: 't' },
    { id: 'none', type: 'helper', z: 't' },
  ];
}

function find(payload: unknown): Promise<{ port: 'match' | 'none'; msg: any }> {
  return new Promise((resolve) => {
    const match = helper.getNode('match');
    const none = helper.getNode('none');
    const done = (port: 'match' | 'none') => (msg: any) => {
      match.removeAllListeners('input');
      none.removeAllListeners('input');
      resolve({ port, msg });
    };
    match.once('input', done('match'));
    none.once('input', done('none'));
    helper.getNode('find').receive({ payload });
  });
}

describe('chis-openmrs-patient-finder and look-ups (against the OpenMRS sandbox)', function () {
  this.timeout(20_000);
  const openmrs = useOpenmrsSandbox();


  it('matches a case to its patient despite a typo and an estimated birthdate', async () => {
    await loadFlow([openmrsConfig, openmrsPatientFinder], flow(openmrs.baseUrl), openmrs.credentials);
    const { port, msg } = await find({ givenName: 'Amina', familyName: 'Otieno', birthdate: '1990-03-01', gender: 'F' });
    assert.equal(port, 'match');
    assert.equal(msg.patient, PATIENTS.amina);
    assert.equal(msg.match.outcome, 'match');
    const typo = await find({ givenName: 'Aminah', familyName: 'Otieno', 'attribute:Telephone Number': '+254712000001' });
    assert.equal(typo.msg.patient, PATIENTS.amina);
  });

  it('prefers no match: too weak, or two patients alike', async () => {
    await loadFlow([openmrsConfig, openmrsPatientFinder], flow(openmrs.baseUrl), openmrs.credentials);
    const weak = await find({ givenName: 'Amina', familyName: 'Otieno' });
    assert.equal(weak.port, 'none');
    assert.equal(weak.msg.match.outcome, 'below-threshold');
    assert.equal(weak.msg.patient, undefined);
    assert.equal(weak.msg.match.candidates[0].uuid, PATIENTS.amina);

    const nobody = await find({ givenName: 'Zawadi', familyName: 'Kamau' });
    assert.equal(nobody.msg.match.outcome, 'no-candidates');

    // A second Amina Otieno born the same month: the finder must not guess.
    await request(openmrs.root).post('/openmrs/ws/rest/v1/patient').auth(USERNAME, PASSWORD).send({
      identifiers: [{ identifier: 'cc-twin', identifierType: IDENTIFIER_TYPES.commcareCaseId }],
      person: { gender: 'F', birthdate: '1990-03-20', names: [{ givenName: 'Amina', familyName: 'Otieno' }] },
    }).expect(201);
    const twins = await find({ givenName: 'Amina', familyName: 'Otieno', birthdate: '1990-03-14', gender: 'F' });
    assert.equal(twins.port, 'none');
    assert.equal(twins.msg.match.outcome, 'ambiguous');
    assert.equal(twins.msg.match.candidates.length, 2);
  });

  it('serves editor look-ups from the deployed config: encounter types, concept answers, connection test', async () => {
    await loadFlow([openmrsConfig, openmrsPatientFinder], flow(openmrs.baseUrl), openmrs.credentials);
    const types = await helper.request().get('/chis/lookup/chis-openmrs-config/server/encountertypes').expect(200);
    assert.ok(types.body.some((option: any) => option.value === ENCOUNTER_TYPES.communityFollowUp && option.label === 'Community Follow-up'));
    const filtered = await helper.request().get('/chis/lookup/chis-openmrs-config/server/encountertypes?q=refer').expect(200);
    assert.deepEqual(filtered.body.map((option: any) => option.value), [ENCOUNTER_TYPES.referral]);
    const concepts = await helper.request().get('/chis/lookup/chis-openmrs-config/server/concepts?q=weight').expect(200);
    assert.ok(concepts.body.some((option: any) => option.value === '5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'));
    const answers = await helper.request().get('/chis/lookup/chis-openmrs-config/server/answers?concept=999101AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').expect(200);
    assert.deepEqual(answers.body.map((option: any) => option.label), ['Yes', 'No']);
    const test = await helper.request().get('/chis/lookup/chis-openmrs-config/server/test').expect(200);
    assert.match(test.body[0].label, /Connected as/);
    assert.equal(JSON.stringify(test.body).includes(PASSWORD), false);
  });

  it('a look-up with wrong credentials answers 502 with code auth', async () => {
    await loadFlow([openmrsConfig, openmrsPatientFinder], flow(openmrs.baseUrl), { server: { username: USERNAME, password: 'wrong' } });
    const response = await helper.request().get('/chis/lookup/chis-openmrs-config/server/test').expect(502);
    assert.equal(response.body.code, 'auth');
    assert.equal(JSON.stringify(response.body).includes('wrong'), false);
  });
});
