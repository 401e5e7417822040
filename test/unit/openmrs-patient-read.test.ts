import assert from 'node:assert/strict';
import { identifiersByType, patientUuidOf } from '../../nodes/openmrs/api/patient-read';
import type { Patient } from '../../nodes/openmrs/api/types';

describe('openmrs api: patient read helpers', () => {
  it('reads the uuid of a FHIR reference, a full reference URL or a bare uuid', () => {
    assert.equal(patientUuidOf('Patient/5a1e2d3c-0001'), '5a1e2d3c-0001');
    assert.equal(patientUuidOf('https://emr.example.org/openmrs/ws/fhir2/R4/Patient/abc?x=1'), 'abc');
    assert.equal(patientUuidOf(' 5a1e2d3c-0001 '), '5a1e2d3c-0001');
  });

  it('lays identifiers out by type name and uuid, the preferred one of a type first, voided ones left out', () => {
    const patient = {
      uuid: 'p',
      person: { uuid: 'p' },
      identifiers: [
        { identifier: 'old', identifierType: { uuid: 't1', display: 'CHT Patient ID' }, voided: true },
        { identifier: 'second', identifierType: { uuid: 't2', display: 'OpenMRS ID' } },
        { identifier: 'first', identifierType: { uuid: 't2', display: 'OpenMRS ID' }, preferred: true },
        { identifier: 'cht-1', identifierType: { uuid: 't1', name: 'CHT Patient ID' } },
      ],
    } as unknown as Patient;
    assert.deepEqual(identifiersByType(patient), { 'OpenMRS ID': 'first', t2: 'first', 'CHT Patient ID': 'cht-1', t1: 'cht-1' });
  });
});
