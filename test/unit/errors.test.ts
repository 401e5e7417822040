import assert from 'node:assert/strict';
import {
  IntegrationError,
  abortReason,
  badInput,
  classifyNetworkError,
  classifyStatus,
  defaultErrorSummary,
  isIntegrationError,
} from '../../nodes/core/errors';

describe('errors', () => {
  describe('classifyStatus', () => {
    const expected: Array<[number, string, boolean]> = [
      [400, 'validation', false],
      [401, 'auth', false],
      [403, 'auth', false],
      [404, 'not-found', false],
      [408, 'remote-error', true],
      [409, 'conflict', false],
      [410, 'not-found', false],
      [412, 'conflict', false],
      [413, 'validation', false],
      [422, 'validation', false],
      [429, 'rate-limited', true],
      [500, 'remote-error', true],
      [501, 'remote-error', false],
      [502, 'remote-error', true],
      [503, 'remote-error', true],
      [504, 'remote-error', true],
      [599, 'remote-error', true],
    ];
    for (const [status, code, retryable] of expected) {
      it(`${status} -> ${code}${retryable ? ' (retryable)' : ''}`, () => {
        assert.deepEqual(classifyStatus(status), { code, retryable });
      });
    }
  });

  describe('classifyNetworkError', () => {
    it('treats connect failures as unreachable, retryable and never sent', () => {
      for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']) {
        assert.deepEqual(classifyNetworkError(Object.assign(new Error('x'), { code })), { code: 'unreachable', retryable: true, beforeSend: true, reason: code });
      }
    });

    it('treats dropped connections as unreachable and possibly sent', () => {
      for (const error of [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), Object.assign(new Error('x'), { code: 'EPIPE' }), new Error('socket hang up')]) {
        const result = classifyNetworkError(error);
        assert.equal(result.code, 'unreachable');
        assert.equal(result.retryable, true);
        assert.equal(result.beforeSend, false);
      }
    });

    it('reads the code from a wrapped cause and recognises timeouts', () => {
      assert.equal(classifyNetworkError({ message: 'wrapped', cause: { code: 'ECONNREFUSED' } }).code, 'unreachable');
      assert.equal(classifyNetworkError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })).code, 'timeout');
      assert.equal(classifyNetworkError(new Error('timeout of 100ms exceeded')).code, 'timeout');
    });

    it('does not retry certificate failures', () => {
      const result = classifyNetworkError(Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }));
      assert.equal(result.code, 'unreachable');
      assert.equal(result.retryable, false);
      assert.match(result.reason, /TLS CERT_HAS_EXPIRED/);
    });
  });

  describe('IntegrationError', () => {
    it('defaults retryable from the code', () => {
      assert.equal(new IntegrationError('x', { code: 'timeout' }).retryable, true);
      assert.equal(new IntegrationError('x', { code: 'rate-limited' }).retryable, true);
      assert.equal(new IntegrationError('x', { code: 'validation' }).retryable, false);
      assert.equal(new IntegrationError('x', { code: 'remote-error', retryable: false }).retryable, false);
    });

    it('serialises to a plain object without cause, stack or credential fields', () => {
      const error = new IntegrationError('openmrs POST /patient failed: HTTP 400', {
        code: 'validation',
        status: 400,
        system: 'openmrs',
        request: { method: 'POST', url: 'https://emr/patient' },
        remote: { summary: 'bad', details: { fieldErrors: { name: 'required' }, password: 'hunter22' } },
        cause: new Error('inner'),
      });
      const json = error.toJSON();
      assert.deepEqual(json, {
        name: 'IntegrationError',
        code: 'validation',
        message: 'openmrs POST /patient failed: HTTP 400',
        retryable: false,
        status: 400,
        system: 'openmrs',
        request: { method: 'POST', url: 'https://emr/patient' },
        remote: { summary: 'bad', details: { fieldErrors: { name: 'required' }, password: '[redacted]' } },
      });
      assert.doesNotMatch(JSON.stringify(error), /hunter22|inner|stack/);
    });

    it('badInput names the field and is not retryable', () => {
      const error = badInput('msg.payload.name is required', 'msg.payload.name');
      assert.ok(isIntegrationError(error));
      assert.equal(error.code, 'bad-input');
      assert.equal(error.retryable, false);
      assert.equal(error.field, 'msg.payload.name');
      assert.equal(isIntegrationError(new Error('plain')), false);
    });
  });

  describe('defaultErrorSummary', () => {
    it('reads the common error body shapes', () => {
      assert.equal(defaultErrorSummary({ error: { message: '[Patient identifier is already in use]', fieldErrors: {} } }), '[Patient identifier is already in use]');
      assert.equal(defaultErrorSummary({ httpStatus: 'Conflict', status: 'ERROR', message: 'One or more errors occurred' }), 'One or more errors occurred');
      assert.equal(defaultErrorSummary({ error: 'conflict', reason: 'Document update conflict.' }), 'conflict: Document update conflict.');
      assert.equal(defaultErrorSummary({ error: 'forbidden' }), 'forbidden');
      assert.equal(defaultErrorSummary({ detail: 'Invalid token.' }), 'Invalid token.');
      assert.equal(defaultErrorSummary('Service Unavailable'), 'Service Unavailable');
      assert.equal(defaultErrorSummary('<html><head><title>502</title><style>p{}</style></head><body><h1>Bad Gateway</h1></body></html>'), '502 Bad Gateway');
      assert.equal(defaultErrorSummary({ unrelated: true }), undefined);
      assert.equal(defaultErrorSummary(undefined), undefined);
    });

    it('truncates to 500 characters', () => {
      const summary = defaultErrorSummary({ message: 'x'.repeat(2000) });
      assert.equal(summary?.length, 500);
      assert.ok(summary?.endsWith('…'));
    });
  });

  it('abortReason prefers the signal reason and falls back to an AbortError', () => {
    const controller = new AbortController();
    const reason = new Error('node closed');
    controller.abort(reason);
    assert.equal(abortReason(controller.signal), reason);
    const other = new AbortController();
    other.abort('just a string');
    assert.equal(abortReason(other.signal).name, 'AbortError');
  });
});
