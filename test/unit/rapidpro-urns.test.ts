import assert from 'node:assert/strict';
import { isIntegrationError } from '../../nodes/core/errors';
import { internationalNumber, normalizeUrn } from '../../nodes/rapidpro/api/urns';

function refusal(fn: () => unknown): { code: string; field?: string; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(isIntegrationError(error));
    return { code: error.code, field: error.field, message: error.message };
  }
  throw new Error('expected a refusal');
}

describe('rapidpro URNs', () => {
  it('normalises tel: numbers to + and digits', () => {
    assert.equal(normalizeUrn('tel:+250 788-200 (001)'), 'tel:+250788200001');
    assert.equal(normalizeUrn('TEL:00250788200001'), 'tel:+250788200001');
    assert.equal(normalizeUrn(' tel: +250.788.200.001 '), 'tel:+250788200001');
  });

  it('completes national numbers only with a default country code', () => {
    assert.equal(normalizeUrn('tel:0788200001', { defaultCountryCode: '250' }), 'tel:+250788200001');
    assert.equal(normalizeUrn('tel:250788200001', { defaultCountryCode: '+250' }), 'tel:+250788200001');
    const refused = refusal(() => normalizeUrn('tel:0788200001', { field: 'msg.payload.urn' }));
    assert.equal(refused.code, 'bad-input');
    assert.equal(refused.field, 'msg.payload.urn');
    assert.match(refused.message, /country code/);
  });

  it('refuses numbers too short or too long for E.164', () => {
    assert.equal(internationalNumber('+12345'), undefined);
    assert.equal(internationalNumber('+1234567890123456'), undefined);
    assert.equal(internationalNumber('+0788200001'), undefined);
    assert.equal(internationalNumber('+123456'), '+123456');
  });

  it('writes WhatsApp ids as international digits without +', () => {
    assert.equal(normalizeUrn('whatsapp:+250 788 200 004'), 'whatsapp:250788200004');
    assert.equal(normalizeUrn('whatsapp:250788200004'), 'whatsapp:250788200004');
    assert.equal(normalizeUrn('whatsapp:0788200004', { defaultCountryCode: '250' }), 'whatsapp:250788200004');
    assert.equal(refusal(() => normalizeUrn('whatsapp:0788200004')).code, 'bad-input');
  });

  it('keeps ext: ids as they are and lower-cases the scheme', () => {
    assert.equal(normalizeUrn('EXT:CHT-P-0001'), 'ext:CHT-P-0001');
    assert.equal(refusal(() => normalizeUrn('ext:two words')).code, 'bad-input');
    assert.equal(normalizeUrn('mailto:Amina@Example.org'), 'mailto:amina@example.org');
  });

  it('refuses unknown schemes, missing schemes and empty paths, naming the field', () => {
    assert.match(refusal(() => normalizeUrn('sms:+250788200001')).message, /URN scheme/);
    assert.match(refusal(() => normalizeUrn('+250788200001')).message, /URN scheme/);
    assert.match(refusal(() => normalizeUrn('tel:')).message, /no path/);
    assert.equal(refusal(() => normalizeUrn(42, { field: 'msg.payload.urns[1]' })).field, 'msg.payload.urns[1]');
  });
});
