/**
 * chis-openmrs-patient-read in a real Node-RED runtime against the OpenMRS sandbox: by uuid
 * (also a FHIR reference) and by identifier of a type, its identifiers laid out by type name.
 */
import assert from 'node:assert/strict';
import openmrsConfig from '../../nodes/openmrs/openmrs-config';
import patientRead from '../../nodes/openmrs/openmrs-patient-read';
import { IDENTIFIER_TYPES, LOCATIONS, OPENMRS_IDS, PASSWORD, PATIENTS, USERNAME } from '../../sandbox/openmrs/seed';
import { firstOutcome, loadFlow, type LookupOutcome, unloadFlow } from '../support/node-helper';
import { openmrsConfigNode, useOpenmrsSandbox } from '../support/openmrs-sandbox';

function flow(baseUrl: string, read: Record<string, unknown>): object[] {
  return [
    { id: 't', type: 'tab' },
    openmrsConfigNode(baseUrl, { timeZone: 'Africa/Nairobi', maxAttempts: 1 }),
    { id: 'read', type: 'chis-openmrs-patient-read', z: 't', server: 'server', ...read, wires: [['found'], ['none']] },
    { id: 'found', type: 'helper', z: 't' },
    { id: 'none', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

const read = (msg: Record<string, unknown>): Promise<LookupOutcome> => firstOutcome('read', msg);

describe('chis-openmrs-patient-read (against the OpenMRS sandbox)', function () {
  this.timeout(20_000);
  const openmrs = useOpenmrsSandbox();


  it('reads a patient by the uuid of a FHIR reference, with its identifiers by type', async () => {
    await loadFlow([openmrsConfig, patientRead], flow(openmrs.baseUrl, { by: 'uuid', value: 'payload.subject.reference', valueType: 'msg' }), openmrs.credentials);
    const { port, msg } = await read({ payload: { subject: { reference: `Patient/${PATIENTS.amina}` } } });
    assert.equal(port, 'found', JSON.stringify(msg.error));
    assert.equal(msg.patient.uuid, PATIENTS.amina);
    assert.match(msg.patient.person.display, /Amina Otieno/);
    assert.equal(msg.patientIdentifiers['CHT Patient ID'], 'CHT-51201');
    assert.equal(msg.patientIdentifiers[IDENTIFIER_TYPES.chtPatientId], 'CHT-51201');
    assert.equal(msg.patientIdentifiers['OpenMRS ID'], OPENMRS_IDS.amina);
    assert.deepEqual(msg.payload, { subject: { reference: `Patient/${PATIENTS.amina}` } }, 'the payload is left as it was');
  });

  it('reads a patient by an identifier of one type (by name or uuid), and only of that type', async () => {
    await loadFlow([openmrsConfig, patientRead], flow(openmrs.baseUrl, { by: 'identifier', value: 'payload', valueType: 'msg', identifierType: 'CHT Patient ID' }), openmrs.credentials);
    const found = await read({ payload: 'CHT-51203' });
    assert.equal(found.port, 'found', JSON.stringify(found.msg.error));
    assert.equal(found.msg.patient.uuid, PATIENTS.chausiku);
    // The OpenMRS ID of a patient is not a CHT Patient ID.
    assert.equal((await read({ payload: OPENMRS_IDS.amina })).port, 'none');
    await unloadFlow();
    await loadFlow([openmrsConfig, patientRead], flow(openmrs.baseUrl, { by: 'identifier', value: 'payload', valueType: 'msg', identifierType: IDENTIFIER_TYPES.openmrsId }), openmrs.credentials);
    const byUuidType = await read({ payload: OPENMRS_IDS.amina });
    assert.equal(byUuidType.msg.patient.uuid, PATIENTS.amina);
  });

  it('sends an unknown or voided patient to the second output', async () => {
    await loadFlow([openmrsConfig, patientRead], flow(openmrs.baseUrl, { by: 'uuid', value: 'payload', valueType: 'msg' }), openmrs.credentials);
    assert.equal((await read({ payload: '00000000-0000-4000-8000-000000000000' })).port, 'none');
    const auth = { Authorization: `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}` };
    const voided = await fetch(`${openmrs.baseUrl}/ws/rest/v1/patient/${PATIENTS.esther}`, { method: 'DELETE', headers: auth });
    assert.ok(voided.status < 300, String(voided.status));
    assert.equal((await read({ payload: PATIENTS.esther })).port, 'none');
  });

  it('fails with conflict when two patients hold the identifier, and bad-input without a value', async () => {
    const auth = { Authorization: `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`, 'Content-Type': 'application/json' };
    const created = await fetch(`${openmrs.baseUrl}/ws/rest/v1/patient`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        identifiers: [{ identifier: 'CHT-51201', identifierType: IDENTIFIER_TYPES.testIdentifierType, location: LOCATIONS.facility, preferred: true }],
        person: { gender: 'F', birthdate: '1991-01-01', names: [{ givenName: 'Other', familyName: 'Person' }] },
      }),
    });
    assert.equal(created.status, 201, await created.text());
    await loadFlow([openmrsConfig, patientRead], flow(openmrs.baseUrl, { by: 'identifier', value: 'payload', valueType: 'msg', identifierType: '' }), openmrs.credentials);
    const twice = await read({ payload: 'CHT-51201' });
    assert.equal(twice.port, 'error');
    assert.equal(twice.msg.error.code, 'conflict');
    const missing = await read({ payload: { not: 'text' } });
    assert.equal(missing.port, 'error');
    assert.equal(missing.msg.error.code, 'bad-input');
  });
});
