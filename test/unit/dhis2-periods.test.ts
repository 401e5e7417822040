import assert from 'node:assert/strict';
import { calendarDate, isoWeek, periodBounds, periodOf } from '../../nodes/dhis2/api/periods';
import { generateUid, isUid } from '../../nodes/dhis2/api/uid';

describe('dhis2 periods', () => {
  it('computes ISO weeks across year boundaries, week 53 included', () => {
    assert.equal(periodOf('2024-12-30', 'Weekly'), '2025W1');
    assert.equal(periodOf('2021-01-03', 'Weekly'), '2020W53');
    assert.equal(periodOf('2021-01-04', 'Weekly'), '2021W1');
    assert.equal(periodOf('2020-12-31', 'Weekly'), '2020W53');
    assert.equal(periodOf('2024-01-01', 'Weekly'), '2024W1');
    assert.equal(periodOf('2023-01-01', 'Weekly'), '2022W52');
    assert.equal(periodOf('2026-12-31', 'Weekly'), '2026W53');
    assert.deepEqual(isoWeek({ year: 2015, month: 12, day: 31 }), { year: 2015, week: 53 });
  });

  it('computes daily, monthly, quarterly, six-monthly, bi-monthly and yearly periods', () => {
    assert.equal(periodOf('2024-01-05', 'Daily'), '20240105');
    assert.equal(periodOf('2024-01-05', 'Monthly'), '202401');
    assert.equal(periodOf('2024-12-31', 'Monthly'), '202412');
    assert.equal(periodOf('2024-03-31', 'Quarterly'), '2024Q1');
    assert.equal(periodOf('2024-04-01', 'Quarterly'), '2024Q2');
    assert.equal(periodOf('2024-07-01', 'SixMonthly'), '2024S2');
    assert.equal(periodOf('2024-04-30', 'BiMonthly'), '202402B');
    assert.equal(periodOf('2024-12-31', 'Yearly'), '2024');
  });

  it('reads the date as written, whatever the offset', () => {
    assert.equal(periodOf('2024-03-31T23:30:00+03:00', 'Monthly'), '202403');
    assert.equal(periodOf('2024-12-31T23:59:59.999Z', 'Yearly'), '2024');
    assert.deepEqual(calendarDate(new Date(Date.UTC(2024, 1, 29))), { year: 2024, month: 2, day: 29 });
  });

  it('refuses what is not a date, naming the field', () => {
    assert.throws(() => periodOf('2024-02-30', 'Monthly', 'msg.payload.date'), (error: any) => error.code === 'bad-input' && error.field === 'msg.payload.date');
    assert.throws(() => periodOf('yesterday', 'Daily'), /not a date/);
  });

  it('gives the first and last day of a period', () => {
    assert.deepEqual(periodBounds('2025W1'), { start: '2024-12-30', end: '2025-01-05' });
    assert.deepEqual(periodBounds('2020W53'), { start: '2020-12-28', end: '2021-01-03' });
    assert.deepEqual(periodBounds('202402'), { start: '2024-02-01', end: '2024-02-29' });
    assert.deepEqual(periodBounds('2024Q4'), { start: '2024-10-01', end: '2024-12-31' });
    assert.deepEqual(periodBounds('2024'), { start: '2024-01-01', end: '2024-12-31' });
    assert.equal(periodBounds('not-a-period'), undefined);
  });
});

describe('dhis2 UIDs', () => {
  it('are 11 characters, a letter first, letters and digits after, and differ', () => {
    const uids = Array.from({ length: 2000 }, generateUid);
    for (const uid of uids) assert.match(uid, /^[A-Za-z][A-Za-z0-9]{10}$/);
    assert.equal(new Set(uids).size, uids.length);
    assert.ok(uids.some((uid) => /\d/.test(uid)));
    assert.ok(isUid('IpHINAT79UW'));
    assert.ok(!isUid('1pHINAT79UW'));
    assert.ok(!isUid('IpHINAT79U'));
  });
});
