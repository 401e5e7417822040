import assert from 'node:assert/strict';
import { formatOpenmrsDatetime, parseInstant, parseOpenmrsDatetime, resolveTimeZone, toOpenmrsDate, toOpenmrsDatetime, zoneOffsetMinutes } from '../../nodes/openmrs/api/datetime';

describe('openmrs datetime', () => {
  it('formats with a +HHMM offset of the configured zone', () => {
    const instant = Date.UTC(2024, 4, 1, 6, 30, 0, 120);
    assert.equal(formatOpenmrsDatetime(instant, 'Africa/Nairobi'), '2024-05-01T09:30:00.120+0300');
    assert.equal(formatOpenmrsDatetime(instant, 'UTC'), '2024-05-01T06:30:00.120+0000');
    assert.equal(formatOpenmrsDatetime(instant, 'America/Port-au-Prince'), '2024-05-01T02:30:00.120-0400');
    assert.equal(formatOpenmrsDatetime(instant, 'Asia/Kolkata'), '2024-05-01T12:00:00.120+0530');
  });

  it('keeps the instant of inputs that carry an offset', () => {
    assert.equal(toOpenmrsDatetime('2024-05-01T09:30:00+03:00', 'UTC'), '2024-05-01T06:30:00.000+0000');
    assert.equal(toOpenmrsDatetime('2024-05-01T06:30:00Z', 'Africa/Nairobi'), '2024-05-01T09:30:00.000+0300');
    assert.equal(toOpenmrsDatetime('2024-05-01T09:30:00.000+0300', 'Africa/Nairobi'), '2024-05-01T09:30:00.000+0300');
  });

  it('reads inputs without an offset, and bare dates, as wall-clock time of the zone', () => {
    assert.equal(toOpenmrsDatetime('2024-05-01T23:30', 'Africa/Nairobi'), '2024-05-01T23:30:00.000+0300');
    assert.equal(toOpenmrsDatetime('2024-05-01', 'Africa/Nairobi'), '2024-05-01T00:00:00.000+0300');
    // The MOTECH pain: a visit at 01:00 local must not become the previous day.
    assert.equal(toOpenmrsDate('2024-05-01T01:00:00+03:00', 'Africa/Nairobi'), '2024-05-01');
    assert.equal(toOpenmrsDate('2024-05-01', 'Africa/Nairobi'), '2024-05-01');
  });

  it('handles daylight-saving changes', () => {
    assert.equal(toOpenmrsDatetime('2024-07-01T12:00', 'Europe/Paris'), '2024-07-01T12:00:00.000+0200');
    assert.equal(toOpenmrsDatetime('2024-01-01T12:00', 'Europe/Paris'), '2024-01-01T12:00:00.000+0100');
    assert.equal(zoneOffsetMinutes(Date.UTC(2024, 2, 31, 0, 59), 'Europe/Paris'), 60);
    assert.equal(zoneOffsetMinutes(Date.UTC(2024, 2, 31, 1, 0), 'Europe/Paris'), 120);
  });

  it('accepts Date objects and epoch milliseconds', () => {
    const instant = Date.UTC(2024, 0, 2, 3, 4, 5);
    assert.equal(toOpenmrsDatetime(new Date(instant), 'UTC'), '2024-01-02T03:04:05.000+0000');
    assert.equal(toOpenmrsDatetime(instant, 'UTC'), '2024-01-02T03:04:05.000+0000');
  });

  it('rejects unknown zones instead of writing +0000, and bad dates with bad-input naming the field', () => {
    assert.throws(() => resolveTimeZone('Mars/Olympus'), (error: any) => error.code === 'bad-input' && /Mars\/Olympus/.test(error.message));
    assert.equal(resolveTimeZone('Africa/Kampala'), 'Africa/Kampala');
    assert.equal(resolveTimeZone(''), Intl.DateTimeFormat().resolvedOptions().timeZone);
    assert.throws(() => toOpenmrsDatetime('yesterday', 'UTC', 'msg.payload.encounterDatetime'), (error: any) => error.code === 'bad-input' && error.field === 'msg.payload.encounterDatetime');
    assert.throws(() => toOpenmrsDatetime('2024-13-01', 'UTC'), (error: any) => error.code === 'bad-input');
  });

  it('parses what OpenMRS returns', () => {
    assert.equal(parseOpenmrsDatetime('1995-01-01T00:00:00.000+0000'), Date.UTC(1995, 0, 1));
    assert.equal(parseOpenmrsDatetime('2024-05-01T09:30:00.000+0300'), Date.UTC(2024, 4, 1, 6, 30));
    assert.equal(parseOpenmrsDatetime(null), undefined);
    assert.equal(parseInstant('2024-05-01T09:30:00,5+03:00', 'UTC'), Date.UTC(2024, 4, 1, 6, 30, 0, 500));
  });
});
