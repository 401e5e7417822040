import assert from 'node:assert/strict';
import { decideMatch, findMatch, levenshtein, scorePatient, type PropertyWeight } from '../../nodes/openmrs/api/patient-matching';
import type { Patient } from '../../nodes/openmrs/api/types';

function patient(uuid: string, given: string, family: string, birthdate: string, extra: Partial<Patient['person']> = {}): Patient {
  return {
    uuid,
    display: `${given} ${family}`,
    identifiers: [{ identifier: `ID-${uuid}`, identifierType: { uuid: 't-openmrs', display: 'OpenMRS ID' } }],
    person: { uuid, gender: 'F', birthdate: `${birthdate}T00:00:00.000+0000`, preferredName: { givenName: given, familyName: family }, ...extra },
  };
}

const weights: PropertyWeight[] = [
  { property: 'givenName', weight: 0.3, match: 'levenshtein', maxDistance: 1 },
  { property: 'familyName', weight: 0.4, match: 'levenshtein', maxDistance: 1 },
  { property: 'birthdate', weight: 0.3, match: 'days_diff', days: 30 },
  { property: 'gender', weight: 0.1 },
  { property: 'attribute:Telephone Number', weight: 0.5 },
];

describe('openmrs patient matching', () => {
  it('levenshtein distance', () => {
    assert.equal(levenshtein('riyaz', 'riaz'), 1);
    assert.equal(levenshtein('kitten', 'sitting'), 3);
    assert.equal(levenshtein('', 'abc'), 3);
  });

  it('scores exact, levenshtein and days_diff properties, ignoring case and accents', () => {
    const amina = patient('p1', 'Amina', 'Wanjiků', '1990-03-10', { attributes: [{ attributeType: { uuid: 'a-phone', display: 'Telephone Number' }, value: '+254700000001' }] });
    const scored = scorePatient({ givenName: 'amina', familyName: 'Wanjiku', birthdate: '1990-03-25', gender: 'F', 'attribute:Telephone Number': '+254700000001' }, amina, weights);
    assert.deepEqual(scored.matched, ['givenName', 'familyName', 'birthdate', 'gender', 'attribute:Telephone Number']);
    assert.equal(scored.score, 1.6);
    const far = scorePatient({ givenName: 'Aminata', familyName: 'Otieno', birthdate: '1991-03-10' }, amina, weights);
    assert.equal(far.score, 0);
  });

  it('matches a single candidate at or above the threshold', () => {
    const decision = findMatch({ givenName: 'Amina', familyName: 'Wanjiku', birthdate: '1990-03-10' }, [patient('p1', 'Amina', 'Wanjiku', '1990-03-10'), patient('p2', 'Grace', 'Akinyi', '1985-01-01')], { weights });
    assert.equal(decision.outcome, 'match');
    assert.equal(decision.outcome === 'match' && decision.best.uuid, 'p1');
  });

  it('prefers no match: below the threshold', () => {
    const decision = findMatch({ givenName: 'Amina', familyName: 'Wanjiku' }, [patient('p1', 'Amina', 'Wanjiku', '1990-03-10')], { weights });
    assert.equal(decision.outcome, 'below-threshold');
    assert.equal(decision.candidates[0].score, 0.7);
  });

  it('prefers no match: two candidates too close to tell apart', () => {
    const twins = [patient('p1', 'Amina', 'Wanjiku', '1990-03-10'), patient('p2', 'Amina', 'Wanjiku', '1990-03-12')];
    assert.equal(findMatch({ givenName: 'Amina', familyName: 'Wanjiku', birthdate: '1990-03-10' }, twins, { weights }).outcome, 'ambiguous');
  });

  it('takes the best when it beats the runner-up by more than the confidence margin', () => {
    assert.equal(decideMatch([{ uuid: 'a', score: 2.0, matched: [] }, { uuid: 'b', score: 1.1, matched: [] }]).outcome, 'match');
    assert.equal(decideMatch([{ uuid: 'a', score: 1.8, matched: [] }, { uuid: 'b', score: 1.1, matched: [] }]).outcome, 'ambiguous');
    assert.equal(decideMatch([{ uuid: 'a', score: 1.8, matched: [] }, { uuid: 'b', score: 1.1, matched: [] }], { confidenceMargin: 0.5 }).outcome, 'match');
    assert.equal(decideMatch([]).outcome, 'no-candidates');
  });

  it('counts a candidate once even when search results repeat it, and ignores voided patients', () => {
    const amina = patient('p1', 'Amina', 'Wanjiku', '1990-03-10');
    const voided = { ...patient('p9', 'Amina', 'Wanjiku', '1990-03-10'), voided: true };
    const decision = findMatch({ givenName: 'Amina', familyName: 'Wanjiku', birthdate: '1990-03-10' }, [amina, amina, voided], { weights });
    assert.equal(decision.outcome, 'match');
    assert.equal(decision.candidates.length, 1);
  });

  it('matches identifiers by type name or uuid', () => {
    const amina = patient('p1', 'Amina', 'Wanjiku', '1990-03-10');
    const byName = scorePatient({ 'identifier:OpenMRS ID': 'ID-p1' }, amina, [{ property: 'identifier:OpenMRS ID', weight: 1 }]);
    const byUuid = scorePatient({ 'identifier:t-openmrs': 'ID-p1' }, amina, [{ property: 'identifier:t-openmrs', weight: 1 }]);
    assert.equal(byName.score, 1);
    assert.equal(byUuid.score, 1);
  });
});
