import assert from 'node:assert/strict';
import { changedByUser, fingerprint, lastChangedBy, uuidOfRow } from '../../nodes/openmrs/api/patient-changes';
import { parseSearchQuery } from '../../nodes/openmrs/openmrs-source';
import type { Patient } from '../../nodes/openmrs/api/types';

const patient = (audit: Patient['auditInfo'], personAudit?: Patient['auditInfo']): Patient => ({
  uuid: 'p1',
  identifiers: [],
  auditInfo: audit,
  person: { uuid: 'p1', auditInfo: personAudit },
});

describe('openmrs patient changes', () => {
  it('finds who changed a patient last, across the patient and person audit info', () => {
    const created = { creator: { uuid: 'u1', display: 'clerk' }, dateCreated: '2024-01-01T08:00:00.000+0000' };
    assert.equal(lastChangedBy(patient(created)), 'clerk');
    const changed = { ...created, changedBy: { uuid: 'u2', display: 'integration' }, dateChanged: '2024-02-01T08:00:00.000+0300' };
    assert.equal(lastChangedBy(patient(changed)), 'integration');
    const personLater = { creator: { uuid: 'u3', display: 'nurse' }, dateCreated: '2024-01-01T08:00:00.000+0000', changedBy: { uuid: 'u3', display: 'nurse' }, dateChanged: '2024-03-01T08:00:00.000+0000' };
    assert.equal(lastChangedBy(patient(changed, personLater)), 'nurse');
  });

  it('recognises the integration user, whatever the display format', () => {
    const byUser = (display: string) => patient({ creator: { uuid: 'u', display }, dateCreated: '2024-01-01T08:00:00.000+0000' });
    assert.equal(changedByUser(byUser('admin'), 'admin'), true);
    assert.equal(changedByUser(byUser('Admin - Super User'), 'admin'), true);
    assert.equal(changedByUser(byUser('administrator'), 'admin'), false);
    assert.equal(changedByUser(byUser('admin'), undefined), false);
  });

  it('fingerprints content, not links', () => {
    const a = { uuid: 'p1', identifiers: [], person: { uuid: 'p1', gender: 'F' }, links: [{ rel: 'self', uri: 'http://a' }] } as unknown as Patient;
    const b = { ...a, links: [{ rel: 'self', uri: 'http://b' }] } as unknown as Patient;
    const c = { ...a, person: { uuid: 'p1', gender: 'M' } } as unknown as Patient;
    assert.equal(fingerprint(a), fingerprint(b));
    assert.notEqual(fingerprint(a), fingerprint(c));
  });

  it('reads the patient uuid of report rows and the REST search setting', () => {
    assert.equal(uuidOfRow({ patient_uuid: 'x', uuid: 'y' }), 'x');
    assert.equal(uuidOfRow({ person: 'z' }, 'person'), 'z');
    assert.equal(uuidOfRow({ name: 'n' }), undefined);
    assert.deepEqual(parseSearchQuery('?q=Otieno&identifier=1'), { q: 'Otieno', identifier: '1' });
    assert.equal(parseSearchQuery('  '), undefined);
  });
});
