import assert from 'node:assert/strict';
import { addMessage, emptyState, flush, validateRules } from '../../nodes/dhis2/api/aggregator';
import { buildDataValueSet, conflictsPerValue } from '../../nodes/dhis2/api/aggregate';

const rules = validateRules([
  { dataElement: 'f7n9E0hX8qk', orgUnitPath: 'payload.orgUnit', datePath: 'payload.date', operation: 'count' },
  { dataElement: 'aEFOBN1WkFj', categoryOptionCombo: 's0T9u9BpOvy', orgUnitPath: 'payload.orgUnit', datePath: 'payload.date', operation: 'sum', valuePath: 'payload.n' },
]);

describe('dhis2 aggregator tallies', () => {
  it('counts and sums per org unit and period, once per id, and flushes ended periods as totals', () => {
    const state = emptyState();
    addMessage(state, rules, 'Monthly', { payload: { orgUnit: 'A', date: '2024-01-31', n: '2' } }, 'm1');
    assert.equal(addMessage(state, rules, 'Monthly', { payload: { orgUnit: 'A', date: '2024-01-31', n: 2 } }, 'm1').duplicate, true);
    addMessage(state, rules, 'Monthly', { payload: { orgUnit: 'A', date: '2024-02-01', n: 'x' } }, 'm2');
    const sets = flush(state, { today: '2024-02-10', endedOnly: true, retainDays: 400 });
    assert.deepEqual(sets, [{ orgUnit: 'A', period: '202401', values: [{ dataElement: 'f7n9E0hX8qk', value: 1 }, { dataElement: 'aEFOBN1WkFj', categoryOptionCombo: 's0T9u9BpOvy', value: 2 }] }]);
    assert.deepEqual(flush(state, { today: '2024-03-01', endedOnly: true, retainDays: 400 }).map((s) => [s.period, s.values]), [['202402', [{ dataElement: 'f7n9E0hX8qk', value: 1 }]]]);
    assert.equal(flush(state, { today: '2024-03-01', period: '202401', retainDays: 400 })[0]?.values?.[0].value, 1);
  });

  it('drops old periods after the retention and refuses records that would restart them', () => {
    const state = emptyState();
    addMessage(state, rules, 'Monthly', { payload: { orgUnit: 'A', date: '2024-01-15', n: 1 } });
    flush(state, { today: '2024-06-01', retainDays: 30 });
    assert.deepEqual(state.entries, {});
    assert.equal(addMessage(state, rules, 'Monthly', { payload: { orgUnit: 'A', date: '2024-01-20', n: 1 } }, undefined, '2024-05-02').tooOld, 2);
    assert.deepEqual(state.entries, {});
  });

  it('refuses rules without a data element or paths', () => {
    assert.throws(() => validateRules([{ orgUnitPath: 'a', datePath: 'b' }]), /data element/);
    assert.throws(() => validateRules([{ dataElement: 'x', orgUnitPath: 'a', datePath: 'b', operation: 'sum' }]), /value path/);
  });
});

describe('dhis2 data value sets', () => {
  it('computes the period and resolves combo names, per data element first', () => {
    const set = buildDataValueSet(
      { orgUnit: 'DiszpKrYNg8', date: '2024-12-30', periodType: 'Weekly', values: [{ dataElement: 'aEFOBN1WkFj', categoryOptionCombo: 'Girls', value: 3 }, { dataElement: 'f7n9E0hX8qk', categoryOptionCombo: 'girls', value: 1 }] },
      [{ name: 'girls', categoryOptionCombo: 's0T9u9BpOvy' }, { name: 'Girls', categoryOptionCombo: 'lRWV170qjFP', dataElement: 'f7n9E0hX8qk' }],
    );
    assert.equal(set.period, '2025W1');
    assert.deepEqual(set.dataValues.map((v) => v.categoryOptionCombo), ['s0T9u9BpOvy', 'lRWV170qjFP']);
    assert.equal(set.dataValues[0].value, '3');
  });

  it('lists conflicts per value from 2.40.9 indexes, and keeps older object-only conflicts', () => {
    const set = buildDataValueSet({ orgUnit: 'DiszpKrYNg8', period: '202401', values: [{ dataElement: 'f7n9E0hX8qk', value: 1 }, { dataElement: 'Ix2HsbDMLea', value: 'x' }] });
    assert.deepEqual(conflictsPerValue([{ objects: { dataElement: 'Ix2HsbDMLea' }, value: 'not a number', errorCode: 'E7619', property: 'value', indexes: [1] }, { object: 'Ix2HsbDMLea', value: 'value_not_numeric' }], set), [
      { errorCode: 'E7619', message: 'E7619 (value) not a number', index: 1, dataElement: 'Ix2HsbDMLea' },
      { errorCode: undefined, message: '(Ix2HsbDMLea) value_not_numeric', dataElement: 'Ix2HsbDMLea' },
    ]);
  });
});
