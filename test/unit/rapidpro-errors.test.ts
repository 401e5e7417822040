import assert from 'node:assert/strict';
import { fieldErrorMessages, summarizeRapidproError } from '../../nodes/rapidpro/api/errors';

describe('rapidpro error summaries', () => {
  it('reads nested DRF field errors as path: message', () => {
    assert.equal(summarizeRapidproError(400, { urns: { 0: ['URN is in use by another contact.'] } }), 'urns[0]: URN is in use by another contact.');
    assert.equal(
      summarizeRapidproError(400, { name: ['Ensure this field has no more than 64 characters.'], fields: { edd: ['Not a valid string.'] } }),
      'name: Ensure this field has no more than 64 characters.; fields.edd: Not a valid string.',
    );
  });

  it('shows non_field_errors without a prefix and detail as it is', () => {
    assert.equal(summarizeRapidproError(400, { non_field_errors: ['Must specify at least one group, contact or URN'] }), 'Must specify at least one group, contact or URN');
    assert.equal(summarizeRapidproError(429, { detail: 'Request was throttled. Expected available in 2 seconds.' }), 'Request was throttled. Expected available in 2 seconds.');
    assert.equal(summarizeRapidproError(403, { detail: 'Invalid token' }), 'Invalid token');
  });

  it('keeps every message of a list and caps long listings', () => {
    assert.deepEqual(fieldErrorMessages({ groups: ['No such object: x', 'No such object: y'] }), ['groups: No such object: x', 'groups: No such object: y']);
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, index) => [String(index), ['bad']]));
    assert.match(summarizeRapidproError(400, { urns: many }) ?? '', /\(and 2 more\)$/);
  });

  it('falls back to the default summary for HTML error pages', () => {
    assert.equal(summarizeRapidproError(502, '<html><body><h1>Bad Gateway</h1></body></html>'), 'Bad Gateway');
  });
});
