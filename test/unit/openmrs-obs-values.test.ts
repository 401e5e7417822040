import assert from 'node:assert/strict';
import { coerceObsValue } from '../../nodes/openmrs/api/obs-values';
import type { ConceptInfo } from '../../nodes/openmrs/api/types';

const YES = '1065AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const NO = '1066AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const weight: ConceptInfo = { uuid: '5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', display: 'Weight (kg)', datatype: 'Numeric', answers: [], hiAbsolute: 250, lowAbsolute: 0 };
const fever: ConceptInfo = {
  uuid: 'fever-concept',
  display: 'Fever',
  datatype: 'Coded',
  answers: [
    { uuid: YES, display: 'Yes', names: ['Yes', 'Oui'] },
    { uuid: NO, display: 'No', names: ['No', 'Non'] },
  ],
};
const dangerSigns: ConceptInfo = {
  uuid: 'danger-signs',
  display: 'Danger signs',
  datatype: 'Coded',
  answers: [
    { uuid: '1111aaaa-0000-4000-8000-000000000001', display: 'Convulsions', names: ['Convulsions', 'Seizure'] },
    { uuid: '1111aaaa-0000-4000-8000-000000000002', display: 'Unable to drink', names: ['Unable to drink'] },
  ],
};
const options = { field: 'msg.payload.obs[0].value', timeZone: 'Africa/Nairobi' };
const concept = (datatype: string): ConceptInfo => ({ uuid: `${datatype}-concept`, display: datatype, datatype, answers: [] });

describe('openmrs obs value coercion', () => {
  it('Numeric: numbers and numeric strings', () => {
    assert.equal(coerceObsValue(weight, 3.2, options), 3.2);
    assert.equal(coerceObsValue(weight, ' 12.5 ', options), 12.5);
    assert.equal(coerceObsValue(weight, '7', options), 7);
  });

  it('Numeric: rejects non-numbers and out-of-range values naming the question, not the value', () => {
    assert.throws(() => coerceObsValue(weight, 'heavy', options), (error: any) => {
      assert.equal(error.code, 'bad-input');
      assert.equal(error.field, options.field);
      assert.match(error.message, /Weight \(kg\)/);
      assert.doesNotMatch(error.message, /heavy/);
      return true;
    });
    assert.throws(() => coerceObsValue(weight, '12kg', options), /expects a number/);
    assert.throws(() => coerceObsValue(weight, 300, options), /at most 250/);
    assert.throws(() => coerceObsValue({ ...weight, allowDecimal: false }, 2.5, options), /whole number/);
    assert.throws(() => coerceObsValue(weight, '', options), /no value/);
  });

  it('Coded: answer uuids, labels, synonyms, yes/no and booleans', () => {
    assert.equal(coerceObsValue(fever, YES, options), YES);
    assert.equal(coerceObsValue(fever, 'yes', options), YES);
    assert.equal(coerceObsValue(fever, true, options), YES);
    assert.equal(coerceObsValue(fever, 'false', options), NO);
    assert.equal(coerceObsValue(fever, 'Non', options), NO);
    assert.equal(coerceObsValue(fever, '1066', options), NO);
    assert.equal(coerceObsValue(dangerSigns, 'seizure', options), '1111aaaa-0000-4000-8000-000000000001');
    assert.equal(coerceObsValue(dangerSigns, 'unable_to_drink', options), '1111aaaa-0000-4000-8000-000000000002');
  });

  it('Coded: rejects answers that are not the question\'s', () => {
    assert.throws(() => coerceObsValue(dangerSigns, 'headache', options), (error: any) => error.code === 'bad-input' && /Danger signs/.test(error.message) && /Convulsions/.test(error.message));
    assert.throws(() => coerceObsValue(dangerSigns, YES, options), /not one of the answers/);
    assert.throws(() => coerceObsValue(dangerSigns, true, options), /no answer/);
  });

  it('Boolean: true/false, yes/no, 1/0 and the CIEL 1065/1066 concepts', () => {
    const bool = concept('Boolean');
    assert.equal(coerceObsValue(bool, true, options), true);
    assert.equal(coerceObsValue(bool, 'no', options), false);
    assert.equal(coerceObsValue(bool, 1, options), true);
    assert.equal(coerceObsValue(bool, YES, options), true);
    assert.equal(coerceObsValue(bool, NO, options), false);
    assert.throws(() => coerceObsValue(bool, 'maybe', options), /true\/false/);
  });

  it('Text, Date, Datetime and Time', () => {
    assert.equal(coerceObsValue(concept('Text'), 42, options), '42');
    assert.throws(() => coerceObsValue(concept('Text'), { a: 1 }, options), /expects text/);
    assert.equal(coerceObsValue(concept('Date'), '2024-05-01', options), '2024-05-01');
    assert.equal(coerceObsValue(concept('Date'), '2024-04-30T22:30:00Z', options), '2024-05-01');
    assert.equal(coerceObsValue(concept('Datetime'), '2024-05-01T08:00', options), '2024-05-01T08:00:00.000+0300');
    assert.equal(coerceObsValue(concept('Time'), '14:30', options), '14:30:00');
    assert.throws(() => coerceObsValue(concept('N/A'), 'x', options), /holds no value/);
  });
});
