import assert from 'node:assert/strict';
import { REDACTED, redactDeep, redactHeaders, redactText, redactUrl } from '../../nodes/core/redact';

const base64 = (text: string): string => Buffer.from(text).toString('base64');

describe('redact', () => {
  describe('redactHeaders', () => {
    it('hides credential headers by name and leaves the rest', () => {
      const headers = {
        Authorization: 'Basic abc',
        'proxy-authorization': 'Basic def',
        Cookie: 'JSESSIONID=1',
        'Set-Cookie': 'JSESSIONID=2',
        'X-Api-Key': 'k',
        'X-Auth-Token': 't',
        'X-Client-Secret': 's',
        'Content-Type': 'application/json',
        Accept: 'application/json',
      };
      const redacted = redactHeaders(headers);
      for (const name of ['Authorization', 'proxy-authorization', 'Cookie', 'Set-Cookie', 'X-Api-Key', 'X-Auth-Token', 'X-Client-Secret']) {
        assert.equal(redacted[name], REDACTED, name);
      }
      assert.equal(redacted['Content-Type'], 'application/json');
      assert.equal(headers.Authorization, 'Basic abc', 'input is not modified');
    });
  });

  describe('redactUrl', () => {
    it('hides userinfo', () => {
      assert.equal(redactUrl('https://admin:district@play.dhis2.org/api/me'), 'https://[redacted]@play.dhis2.org/api/me');
    });

    it('hides credential query parameters and keeps the others byte for byte', () => {
      assert.equal(
        redactUrl('https://h/api?filter=name%3Aeq%3AA&api_key=k1&ApiKey=k2&token=t&access_token=a&password=p&key=x&secret=s&signature=g&page=2#frag'),
        'https://h/api?filter=name%3Aeq%3AA&api_key=[redacted]&ApiKey=[redacted]&token=[redacted]&access_token=[redacted]&password=[redacted]&key=[redacted]&secret=[redacted]&signature=[redacted]&page=2#frag',
      );
    });

    it('works on relative URLs and URLs without a query', () => {
      assert.equal(redactUrl('/patient?v=full&access_token=abc'), '/patient?v=full&access_token=[redacted]');
      assert.equal(redactUrl('https://h/a/b'), 'https://h/a/b');
    });
  });

  describe('redactText', () => {
    it('replaces a secret verbatim, URL-encoded and in base64', () => {
      const secret = 'p@ss word/1';
      const text = `pw=${secret} q=${encodeURIComponent(secret)} b=${base64(secret)} basic=Basic ${base64(`admin:${secret}`)}`;
      const redacted = redactText(text, [secret, `admin:${secret}`]);
      assert.equal(redacted, 'pw=[redacted] q=[redacted] b=[redacted] basic=Basic [redacted]');
    });

    it('ignores empty and very short secrets that would mangle ordinary text', () => {
      assert.equal(redactText('a bc def', ['', 'a', 'bc']), 'a bc def');
    });
  });

  describe('redactDeep', () => {
    it('replaces credential keys at any depth and scrubs secrets from strings', () => {
      const input = {
        username: 'admin',
        password: 'district-1',
        nested: [{ apiKey: 'k', 'api-key': 'k', api_key: 'k', token: 't', clientSecret: 's', credentials: { a: 1 }, note: 'the password is district-1' }],
        headers: { Authorization: 'Basic x', Cookie: 'c' },
      };
      assert.deepEqual(redactDeep(input, ['district-1']), {
        username: 'admin',
        password: REDACTED,
        nested: [{ apiKey: REDACTED, 'api-key': REDACTED, api_key: REDACTED, token: REDACTED, clientSecret: REDACTED, credentials: REDACTED, note: 'the password is [redacted]' }],
        headers: { Authorization: REDACTED, Cookie: REDACTED },
      });
      assert.equal(input.password, 'district-1', 'input is not modified');
    });

    it('survives cycles and deep nesting, and summarises binary data', () => {
      const cyclic: Record<string, unknown> = { name: 'loop' };
      cyclic.self = cyclic;
      const shared = { id: 1 };
      assert.deepEqual(redactDeep({ cyclic, a: shared, b: shared }), { cyclic: { name: 'loop', self: '[circular]' }, a: { id: 1 }, b: { id: 1 } });

      let deep: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < 50; i += 1) deep = { child: deep };
      assert.match(JSON.stringify(redactDeep(deep)), /\[truncated\]/);

      assert.equal(redactDeep(Buffer.from('abc')), '[binary 3 bytes]');
    });

    it('copies errors with their message and dates as dates', () => {
      const error = Object.assign(new Error('failed with s3cret-value'), { code: 'E1' });
      assert.deepEqual(redactDeep(error, ['s3cret-value']), { name: 'Error', message: 'failed with [redacted]', code: 'E1' });
      const date = new Date(0);
      assert.deepEqual(redactDeep({ date }), { date });
    });
  });
});
