/**
 * Security of the mapper: no path or JSONata expression reaches the prototype chain or the
 * JavaScript runtime, failures name the field and the value's type but never the value, and
 * fuzzed sources and mappings always end in a result or a typed IntegrationError.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IntegrationError } from '../../nodes/core/errors';
import { compileMapping, parsePath, readPath, safeClone, summariseFieldErrors, writePath, type FieldMapping, type Mapping, type ValueType } from '../../nodes/core/mapping';

const jsonataField = (expression: string, type: ValueType = 'auto'): FieldMapping => ({ target: 'x', source: { kind: 'jsonata', expression }, type });
const pathField = (path: string, target = 'x', type: ValueType = 'auto'): FieldMapping => ({ target, source: { kind: 'path', path }, type });

function assertPrototypesClean(): void {
  for (const probe of [{}, [], Object.create(null) as object]) {
    assert.equal((probe as Record<string, unknown>).polluted, undefined);
    assert.equal((probe as Record<string, unknown>).isAdmin, undefined);
  }
  assert.equal(typeof Object.prototype.toString, 'function');
}

/** Compiles or returns the IntegrationError, which must be a typed bad-input error. */
function compileOrError(mapping: unknown): ReturnType<typeof compileMapping> | IntegrationError {
  try {
    return compileMapping(mapping as Mapping);
  } catch (error) {
    assert.ok(error instanceof IntegrationError, `not an IntegrationError: ${String(error)}`);
    assert.equal(error.code, 'bad-input');
    assert.ok(error.message.length > 0);
    return error;
  }
}

describe('security: mapping and the prototype chain', () => {
  afterEach(assertPrototypesClean);

  it('refuses __proto__, constructor and prototype in every path syntax', () => {
    const paths = ['__proto__', 'a.__proto__.polluted', 'constructor.prototype', 'a["__proto__"]', "a['constructor']", 'a[constructor=x].y', 'a.prototype', 'a[0].__proto__', '["__proto__"].isAdmin'];
    for (const path of paths) {
      for (const target of [false, true]) assert.throws(() => parsePath(path, { target }), /not allowed in a path/, path);
      const asSource = compileOrError({ version: 1, fields: [pathField(path)] });
      assert.ok(asSource instanceof IntegrationError, path);
      assert.match(asSource.message, /mapping row 1/);
      const asTarget = compileOrError({ version: 1, fields: [{ target: path, source: { kind: 'constant', value: true } }] });
      assert.ok(asTarget instanceof IntegrationError, path);
    }
  });

  it('reads own properties only, so inherited members are invisible', () => {
    for (const key of ['toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf']) {
      assert.equal(readPath({ name: 'x' }, parsePath(key, { target: false })), undefined, key);
      assert.equal(readPath({ list: [] }, parsePath(`list.${key === 'toString' ? 'map' : key}`, { target: false })), undefined);
    }
  });

  it('drops "__proto__" keys from a parsed body, constants, value maps and kept sources', async () => {
    const hostile = JSON.parse('{"name":"n","__proto__":{"polluted":true,"isAdmin":true},"nested":{"__proto__":{"polluted":true}}}');
    const cloned = safeClone(hostile) as Record<string, unknown>;
    assert.equal(Object.prototype.hasOwnProperty.call(cloned, '__proto__'), false);
    assert.equal(Object.getPrototypeOf(cloned), Object.prototype);
    const mapping = compileMapping({
      version: 1,
      keep: 'source',
      fields: [
        { target: 'fromConstant', source: { kind: 'constant', value: JSON.parse('{"__proto__":{"polluted":1},"ok":1}') } },
        { target: 'mapped', source: { kind: 'path', path: 'name' }, valueMap: { entries: [{ from: 'n', to: JSON.parse('{"__proto__":{"isAdmin":true}}') }] } },
        { target: 'viaJsonata', source: { kind: 'jsonata', expression: '$' } },
      ],
    });
    const { output, errors } = await mapping.apply(hostile);
    assert.deepEqual(errors, []);
    const text = JSON.stringify(output);
    assert.equal(text.includes('polluted'), false, text);
    assert.equal(text.includes('isAdmin'), false, text);
    assert.deepEqual(output.fromConstant, { ok: 1 });
    for (const value of [output, output.fromConstant, output.mapped, output.viaJsonata, (output.viaJsonata as Record<string, unknown>).nested]) {
      assert.equal(Object.getPrototypeOf(value), Object.prototype);
      assert.equal((value as Record<string, unknown>).polluted, undefined);
    }
  });

  it('JSONata expressions cannot reach constructors, Function, process or the bound functions', async () => {
    const attacks = [
      'constructor', '$.constructor', 'name.constructor', '$string(constructor)', '__proto__', '$.__proto__', '$.prototype',
      'constructor.constructor("return process")()', 'name.constructor.constructor("return process")()',
      '$lookup($, "constructor")', '$lookup($, "__proto__")', '$string($lookup($, "constructor"))', '$keys($.__proto__)',
      '$eval("constructor")', '$eval("$.constructor.constructor(\'return process\')()")', '$.`constructor`', '$.`__proto__`.polluted',
      'name.__proto__.toString()', 'name.toString', '$string($.hasOwnProperty)', '$.hasOwnProperty("name")', 'name.__defineGetter__',
      '$sift($, function($v, $k){ $k = "constructor" })', '$string($string)', '$string($env)', '$env.constructor', '$env.call',
      '$env.constructor("return process")()', '$lookup($env, "constructor")', '$msg.constructor', '$msg.payload.constructor.constructor("return 1")()',
      '$string($lookup($msg, "__proto__"))', '$merge([{}, {"__proto__": {"polluted": true}}]).polluted', '($x := {}; $x.__proto__.polluted := true; $x)',
    ];
    const context = { msg: { payload: { name: 'Amina' }, topic: 't' }, env: (name: string) => `env:${name}` };
    for (const expression of attacks) {
      const compiled = compileOrError({ version: 1, fields: [jsonataField(expression)] });
      if (compiled instanceof IntegrationError) continue;
      const { output, errors } = await compiled.apply({ name: 'Amina', list: [1, 2] }, context);
      const value = output.x;
      assert.notEqual(typeof value, 'function', expression);
      const text = JSON.stringify(value) ?? '';
      for (const leak of ['process', 'function', '[native code]', 'env:', 'polluted']) assert.equal(text.includes(leak), false, `${expression} -> ${text}`);
      for (const error of errors) assert.equal(error.message.includes('[native code]'), false);
      assertPrototypesClean();
    }
  });

  it('turns an expression that returns a function, or a value holding one, into a field error without copying its closure', async () => {
    for (const expression of ['function($a){ $a }', '{"a": function($x){ $x }}', '[1, function($x){ $x }]', '$string', '{"a": $uppercase}']) {
      const { output, errors } = await compileMapping({ version: 1, fields: [jsonataField(expression)] }).apply({ name: 'CLOSURE-SECRET' });
      assert.equal(output.x, undefined, expression);
      assert.match(errors[0].message, /returned a function/, expression);
      assert.equal(JSON.stringify(output).includes('CLOSURE-SECRET'), false);
    }
  });
});

describe('security: mapping errors name the field and the type, never the value', () => {
  const PATIENT = { name: 'Amina Yusuf', hiv: 'POSITIVE-R2D2', dob: 'born-in-Kano-1990', weight: 'WEIGHT-71kg', nested: { secretNote: 'NOTE-abc123' }, list: ['LIST-ITEM-xyz'] };
  const VALUES = ['Amina Yusuf', 'POSITIVE-R2D2', 'born-in-Kano-1990', 'WEIGHT-71kg', 'NOTE-abc123', 'LIST-ITEM-xyz'];

  it('for type coercion, value maps, JSONata casts and write conflicts', async () => {
    const mapping = compileMapping({
      version: 1,
      fields: [
        pathField('weight', 'weightKg', 'number'),
        pathField('name', 'age', 'integer'),
        pathField('dob', 'birthDate', 'date'),
        pathField('hiv', 'hivPositive', 'boolean'),
        pathField('dob', 'seen', 'datetime'),
        pathField('list', 'counts', 'number'),
        { target: 'status', source: { kind: 'path', path: 'hiv' }, valueMap: { entries: [{ from: 'yes', to: true }] } },
        { target: 'cast', source: { kind: 'jsonata', expression: '$number(name)' } },
        { target: 'cast2', source: { kind: 'jsonata', expression: 'nested.secretNote + 1' } },
        { target: 'parsed', source: { kind: 'path', path: 'name' }, type: 'json' },
        pathField('name', 'name'),
        pathField('hiv', 'name.first'),
        { target: 'required', source: { kind: 'path', path: 'missing' }, required: true },
      ],
    });
    const { errors } = await mapping.apply(PATIENT);
    assert.equal(errors.length, 12, JSON.stringify(errors.map((e) => e.target)));
    for (const error of errors) {
      for (const value of VALUES) assert.equal(error.message.includes(value), false, error.message);
      assert.ok(error.message.includes(error.target), error.message);
    }
    const byTarget = Object.fromEntries(errors.map((error) => [error.target, error.message]));
    assert.match(byTarget.weightKg, /expected a number, got a string/);
    assert.match(byTarget.birthDate, /got a string/);
    assert.match(byTarget.status, /no value-map entry for the string/);
    assert.match(byTarget.cast, /<string>|string/);
    assert.match(byTarget['name.first'], /it is string/);
    const summary = summariseFieldErrors(errors);
    for (const value of VALUES) assert.equal(summary.includes(value), false);
  });

  it('in the mapper node error (an IntegrationError) and its JSON form', async () => {
    const { errors } = await compileMapping({ version: 1, fields: [pathField('hiv', 'hivPositive', 'boolean')] }).apply(PATIENT);
    const error = new IntegrationError(summariseFieldErrors(errors), { code: 'bad-input', field: errors[0].target });
    const everything = [error.message, JSON.stringify(error.toJSON()), String(error.cause ?? ''), error.stack ?? ''].join('\n');
    for (const value of VALUES) assert.equal(everything.includes(value), false);
    assert.match(error.message, /hivPositive/);
    assert.match(error.message, /boolean/);
  });

  it('fuzz: random values never appear in a failed field\'s message', async function () {
    this.timeout(30_000);
    const secret = fc.stringMatching(/^[A-Z]{4}-[a-z0-9]{6,12}$/);
    const types: ValueType[] = ['number', 'integer', 'boolean', 'date', 'datetime', 'json'];
    await fc.assert(fc.asyncProperty(secret, fc.constantFrom(...types), fc.constantFrom('plain', 'array', 'nested', 'jsonata'), async (value, type, shape) => {
      const source = { v: shape === 'array' ? [value] : shape === 'nested' ? { inner: value } : value };
      const field: FieldMapping = shape === 'jsonata' ? { target: 'out', source: { kind: 'jsonata', expression: '$number(v)' }, type } : pathField('v', 'out', type);
      const { errors } = await compileMapping({ version: 1, fields: [field, pathField('v', 'out.deeper')] }).apply(source);
      for (const error of errors) assert.equal(error.message.includes(value), false, error.message);
      assert.equal(summariseFieldErrors(errors).includes(value), false);
    }), { numRuns: 400 });
  });
});

describe('security: fuzzing the mapper', () => {
  afterEach(assertPrototypesClean);

  it('fuzz: any source document gives a result or field errors, never a throw', async function () {
    this.timeout(30_000);
    const mapping = compileMapping({
      version: 1,
      keep: 'source',
      fields: [
        pathField('form.case.@case_id', 'id', 'string'),
        pathField('form.age', 'age', 'integer'),
        pathField('form.dob', 'birthDate', 'date'),
        pathField('form.items[0].value', 'items[]', 'number'),
        { target: 'sex', source: { kind: 'path', path: 'form.sex' }, valueMap: { entries: [{ from: 'f', to: 'female' }, { from: 'm', to: 'male' }] } },
        { target: 'summary', source: { kind: 'jsonata', expression: '$string(form.name) & "/" & $count(form.items)' } },
        { target: 'json', source: { kind: 'path', path: 'form.raw' }, type: 'json' },
      ],
    });
    const document = fc.oneof(
      fc.anything({ maxDepth: 5, withBigInt: false, withMap: true, withSet: true, withDate: true, withTypedArray: true, withNullPrototype: true, withObjectString: true }),
      fc.record({ form: fc.anything({ maxDepth: 4 }) }),
      fc.record({ form: fc.record({ age: fc.oneof(fc.string(), fc.double(), fc.constant(null)), dob: fc.string(), sex: fc.string(), raw: fc.string(), items: fc.array(fc.anything({ maxDepth: 2 })) }, { requiredKeys: [] }) }),
      fc.integer({ min: 1, max: 3_000 }).map((depth) => {
        let nested: unknown = 'leaf';
        for (let i = 0; i < depth; i += 1) nested = { form: nested };
        return nested;
      }),
      fc.string({ minLength: 50_000, maxLength: 60_000 }).map((huge) => ({ form: { name: huge, dob: huge, raw: huge } })),
    );
    await fc.assert(fc.asyncProperty(document, async (source) => {
      const { output, errors } = await mapping.apply(source);
      assert.equal(typeof output, 'object');
      for (const error of errors) {
        assert.equal(typeof error.target, 'string');
        assert.ok(error.message.length > 0 && error.message.length < 2_000, error.message.slice(0, 100));
      }
    }), { numRuns: 300 });
  });

  it('fuzz: random mappings compile or fail with a typed bad-input IntegrationError', () => {
    const path = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('__proto__', 'a..b', 'a[', 'a[]', 'a[99999]', 'a[x=]', 'a["b', 'a.b.', '[0]', 'a[0].b[c="d"].e'));
    const field = fc.record({
      target: fc.oneof(path, fc.anything({ maxDepth: 1 })),
      source: fc.oneof(
        fc.record({ kind: fc.constant('path'), path }),
        fc.record({ kind: fc.constant('jsonata'), expression: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('$eval("1")', '(', '$$$', '{"a":}', 'function(){}')) }),
        fc.record({ kind: fc.constant('constant'), value: fc.jsonValue({ maxDepth: 3 }) }),
        fc.anything({ maxDepth: 2 }),
      ),
      type: fc.oneof(fc.constantFrom('string', 'number', 'integer', 'boolean', 'date', 'datetime', 'json', 'auto'), fc.string({ maxLength: 8 })),
      timezone: fc.oneof(fc.constant(undefined), fc.constantFrom('Africa/Lagos', '+01:00', '+99:00', 'Mars/Base'), fc.string({ maxLength: 10 })),
      required: fc.oneof(fc.boolean(), fc.anything({ maxDepth: 0 })),
    }, { requiredKeys: ['target', 'source'] });
    const mapping = fc.oneof(
      fc.record({ version: fc.constant(1), fields: fc.array(field, { maxLength: 5 }) }),
      fc.anything({ maxDepth: 3 }),
      fc.record({ version: fc.oneof(fc.constant(1), fc.integer()), fields: fc.anything({ maxDepth: 2 }), keep: fc.anything({ maxDepth: 0 }) }, { requiredKeys: [] }),
    );
    fc.assert(fc.property(mapping, (candidate) => {
      compileOrError(candidate);
    }), { numRuns: 1_000 });
  });

  it('writePath refuses to turn a value into a container and reports the types', () => {
    const root: Record<string, unknown> = { name: 'Amina Yusuf' };
    const problem = writePath(root, parsePath('name.first', { target: true }), 'x');
    assert.match(problem ?? '', /it is string, not an object/);
    assert.equal((problem ?? '').includes('Amina'), false);
  });
});
