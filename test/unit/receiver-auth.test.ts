import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { checkReceiverAuth, secretEquals } from '../../nodes/core/receiver-auth';

const request = (headers: Record<string, string> = {}, query: Record<string, string> = {}, body = '{}') => ({ headers, query, rawBody: Buffer.from(body) });
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('receiver authentication', () => {
  it('compares secrets of any length in constant time', () => {
    assert.equal(secretEquals('abc', 'abc'), true);
    assert.equal(secretEquals('abc', 'abcd'), false);
    assert.equal(secretEquals('', 'x'), false);
  });

  it('denies everything when no auth is configured', () => {
    const result = checkReceiverAuth(undefined, {}, request());
    assert.equal(result.ok, false);
  });

  it('checks basic credentials and answers with a challenge', () => {
    const settings = { mode: 'basic' as const };
    const secrets = { username: 'demo', password: 'demo-secret' };
    assert.deepEqual(checkReceiverAuth(settings, secrets, request({ authorization: basic('demo', 'demo-secret') })), { ok: true });
    const wrong = checkReceiverAuth(settings, secrets, request({ authorization: basic('demo', 'nope') }));
    assert.equal(wrong.ok, false);
    assert.equal(!wrong.ok && wrong.challenge, 'Basic realm="chis"');
    assert.equal(checkReceiverAuth(settings, secrets, request()).ok, false);
    // a password containing a colon still works
    assert.equal(checkReceiverAuth(settings, { username: 'u', password: 'a:b' }, request({ authorization: basic('u', 'a:b') })).ok, true);
  });

  it('refuses basic auth when the node has no password set', () => {
    assert.equal(checkReceiverAuth({ mode: 'basic' }, { username: 'demo' }, request({ authorization: basic('demo', '') })).ok, false);
  });

  it('checks bearer, header and query secrets', () => {
    assert.equal(checkReceiverAuth({ mode: 'bearer' }, { token: 't0k' }, request({ authorization: 'Bearer t0k' })).ok, true);
    assert.equal(checkReceiverAuth({ mode: 'bearer' }, { token: 't0k' }, request({ authorization: 'Bearer t0' })).ok, false);
    assert.equal(checkReceiverAuth({ mode: 'header', headerName: 'X-Demo-Token' }, { token: 'demo-secret' }, request({ 'x-demo-token': 'demo-secret' })).ok, true);
    assert.equal(checkReceiverAuth({ mode: 'header', headerName: 'X-Demo-Token' }, { token: 'demo-secret' }, request({ 'x-other': 'demo-secret' })).ok, false);
    assert.equal(checkReceiverAuth({ mode: 'query', queryParam: 'key' }, { token: 'q' }, request({}, { key: 'q' })).ok, true);
    assert.equal(checkReceiverAuth({ mode: 'query', queryParam: 'key' }, { token: 'q' }, request({}, { key: 'x' })).ok, false);
  });

  it('verifies HMAC signatures over the raw body', () => {
    const body = '{"form":1}';
    const signature = createHmac('sha256', 'k').update(body).digest('hex');
    const settings = { mode: 'hmac' as const, signatureHeader: 'X-Hub-Signature-256', signaturePrefix: 'sha256=' };
    assert.equal(checkReceiverAuth(settings, { token: 'k' }, request({ 'x-hub-signature-256': `sha256=${signature}` }, {}, body)).ok, true);
    assert.equal(checkReceiverAuth(settings, { token: 'k' }, request({ 'x-hub-signature-256': `sha256=${signature}` }, {}, `${body} `)).ok, false);
  });

  it('lets anonymous senders in only with the explicit none mode', () => {
    assert.equal(checkReceiverAuth({ mode: 'none' }, {}, request()).ok, true);
  });
});
