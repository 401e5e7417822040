import assert from 'node:assert/strict';
import { isIntegrationError } from '../../nodes/core/errors';
import { compileMapping, parsePath, summariseFieldErrors, type FieldMapping, type Mapping } from '../../nodes/core/mapping';
import { getTargetSchema, listTargetSchemas, registerTargetSchema } from '../../nodes/core/target-schemas';

const form = {
  form: {
    '@xmlns': 'http://openrosa.org/formdesigner/follow-up',
    '#type': 'data',
    case: { '@case_id': 'case-1', update: { tb: '0' } },
    meta: { instanceID: 'uuid-1', timeEnd: '2024-03-05T23:30:00.000000Z' },
    weight_kg: '12.5',
    cough: 'yes',
    visit_date: '2024-03-05',
    children: [{ name: 'Awa' }, { name: 'Moussa' }],
  },
};

const map = (fields: FieldMapping[], extra: Partial<Mapping> = {}) => compileMapping({ version: 1, fields, ...extra });
const path = (target: string, source: string, more: Partial<FieldMapping> = {}): FieldMapping => ({ target, source: { kind: 'path', path: source }, ...more });

async function mapOne(field: FieldMapping, source: unknown = form) {
  return map([field]).apply(source);
}

function compileError(mapping: unknown): Error & { code?: string; field?: string } {
  try {
    compileMapping(mapping as Mapping);
  } catch (error) {
    assert.ok(isIntegrationError(error), 'compile errors are IntegrationErrors');
    assert.equal(error.code, 'bad-input');
    return error;
  }
  assert.fail('the mapping compiled');
}

describe('mapping engine', () => {
  describe('sources', () => {
    it('reads dot paths with CommCare @ and # keys, indexes and single-entry repeats', async () => {
      const { output, errors } = await map([
        path('caseId', 'form.case.@case_id'),
        path('formType', 'form.#type'),
        path('xmlns', 'form["@xmlns"]'),
        path('firstChild', 'form.children[0].name'),
        path('secondChild', 'form.children[1].name'),
        path('only', 'form.case[0].@case_id'),
        path('awa', 'form.children[name=Awa].name'),
      ]).apply(form);
      assert.deepEqual(errors, []);
      assert.deepEqual(output, {
        caseId: 'case-1', formType: 'data', xmlns: 'http://openrosa.org/formdesigner/follow-up', firstChild: 'Awa', secondChild: 'Moussa', only: 'case-1', awa: 'Awa',
      });
    });

    it('evaluates JSONata with the source as $ and the message as $msg and $env()', async () => {
      const mapping = map([
        { target: 'count', source: { kind: 'jsonata', expression: '$count(form.children)' } },
        { target: 'names', source: { kind: 'jsonata', expression: 'form.children.name' } },
        { target: 'topic', source: { kind: 'jsonata', expression: '$msg.topic' } },
        { target: 'location', source: { kind: 'jsonata', expression: '$env("LOCATION_UUID")' } },
      ]);
      const { output, errors } = await mapping.apply(form, { msg: { topic: 'follow-up' }, env: (name) => (name === 'LOCATION_UUID' ? 'loc-1' : undefined) });
      assert.deepEqual(errors, []);
      assert.deepEqual(output, { count: 2, names: ['Awa', 'Moussa'], topic: 'follow-up', location: 'loc-1' });
    });

    it('writes constants as fresh copies for every message', async () => {
      const mapping = map([{ target: 'encounterType', source: { kind: 'constant', value: { uuid: 'et-1' } } }]);
      const first = await mapping.apply({});
      (first.output.encounterType as { uuid: string }).uuid = 'changed downstream';
      const second = await mapping.apply({});
      assert.deepEqual(second.output, { encounterType: { uuid: 'et-1' } });
    });

    it('reports JSONata runtime failures without quoting the value', async () => {
      const { errors } = await mapOne({ target: 'n', source: { kind: 'jsonata', expression: '$number(form.cough)' } });
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, /^n \(expression\): expression failed/);
      assert.doesNotMatch(errors[0].message, /yes/);
    });
  });

  describe('targets', () => {
    it('builds nested objects and arrays with [n], [] and [key=value]', async () => {
      const { output, errors } = await map([
        { target: 'patient.identifiers[0].type', source: { kind: 'constant', value: 'openmrs-id' } },
        path('patient.identifiers[0].value', 'form.case.@case_id'),
        path('tags[]', 'form.#type'),
        path('tags[]', 'form.meta.instanceID'),
        { target: 'obs[concept=5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA].value', source: { kind: 'path', path: 'form.weight_kg' }, type: 'number' },
        { target: 'obs[concept=143264AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA].value', source: { kind: 'path', path: 'form.cough' } },
        { target: 'obs[concept=5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA].comment', source: { kind: 'constant', value: 'from CommCare' } },
        { target: 'obs[concept="http://x.org/a.b"].value', source: { kind: 'constant', value: 1 } },
      ]).apply(form);
      assert.deepEqual(errors, []);
      assert.deepEqual(output, {
        patient: { identifiers: [{ type: 'openmrs-id', value: 'case-1' }] },
        tags: ['data', 'uuid-1'],
        obs: [
          { concept: '5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', value: 12.5, comment: 'from CommCare' },
          { concept: '143264AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', value: 'yes' },
          { concept: 'http://x.org/a.b', value: 1 },
        ],
      });
    });

    it('does not create an array element for an unanswered question', async () => {
      const { output } = await map([
        path('obs[concept=a].value', 'form.not_asked'),
        path('obs[concept=b].value', 'form.cough'),
      ]).apply(form);
      assert.deepEqual(output, { obs: [{ concept: 'b', value: 'yes' }] });
    });

    it('reports a target that collides with a value of another type', async () => {
      const { errors } = await map([path('a', 'form.cough'), path('a.b', 'form.cough')]).apply(form);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].target, 'a.b');
      assert.match(errors[0].message, /cannot write into a: it is string, not an object/);
    });

    it('starts from a copy of the source with keep "source"', async () => {
      const source = { id: 'x', nested: { a: 1 } };
      const { output } = await map([path('nested.b', 'id')], { keep: 'source' }).apply(source);
      assert.deepEqual(output, { id: 'x', nested: { a: 1, b: 'x' } });
      assert.deepEqual(source, { id: 'x', nested: { a: 1 } }, 'the source is untouched');
    });
  });

  describe('value maps', () => {
    const yesNo = { entries: [{ from: 'yes', to: '1065AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, { from: 'no', to: '1066AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }] };

    it('maps codes, element by element for lists', async () => {
      assert.deepEqual((await mapOne(path('cough', 'form.cough', { valueMap: yesNo }))).output, { cough: '1065AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
      const multi = { target: 'symptoms', source: { kind: 'jsonata' as const, expression: '$split("yes no", " ")' }, valueMap: yesNo };
      assert.deepEqual((await mapOne(multi)).output, { symptoms: ['1065AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '1066AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'] });
      const numeric = path('tb', 'form.case.update.tb', { valueMap: { entries: [{ from: '0', to: false }] } });
      assert.deepEqual((await mapOne(numeric)).output, { tb: false });
    });

    it('treats an unmapped value as an error by default, naming the type only', async () => {
      const { errors } = await mapOne(path('answer', 'form.cough', { valueMap: { entries: [{ from: 'no', to: 0 }] } }));
      assert.deepEqual(errors, [{ target: 'answer', message: 'answer (from form.cough): no value-map entry for the string received' }]);
      const explicit = await mapOne(path('answer', 'form.cough', { valueMap: { entries: [{ from: 'no', to: 0 }], otherwise: 'error' } }));
      assert.equal(explicit.errors.length, 1);
    });

    it('passes unmapped values through with otherwise "pass"', async () => {
      const { output } = await mapOne(path('answer', 'form.cough', { valueMap: { entries: [{ from: 'no', to: 0 }], otherwise: 'pass' } }));
      assert.deepEqual(output, { answer: 'yes' });
    });

    it('uses the value map default with otherwise "default"', async () => {
      const { output } = await mapOne(path('answer', 'form.cough', { valueMap: { entries: [{ from: 'no', to: 0 }], otherwise: 'default', default: 'unknown' } }));
      assert.deepEqual(output, { answer: 'unknown' });
    });

    it('leaves empty values to required/default instead of mapping them', async () => {
      const { output, errors } = await mapOne(path('answer', 'form.missing', { valueMap: { entries: [{ from: 'no', to: 0 }] } }));
      assert.deepEqual({ output, errors }, { output: {}, errors: [] });
    });
  });

  describe('coercion', () => {
    const coerce = async (value: unknown, type: FieldMapping['type'], more: Partial<FieldMapping> = {}) =>
      mapOne({ target: 'v', source: { kind: 'constant', value }, type, ...more }, {});

    it('converts to string, number, integer, boolean, json and leaves auto alone', async () => {
      assert.deepEqual((await coerce(12, 'string')).output, { v: '12' });
      assert.deepEqual((await coerce('12.5', 'number')).output, { v: 12.5 });
      assert.deepEqual((await coerce(' 7 ', 'integer')).output, { v: 7 });
      assert.deepEqual((await coerce('yes', 'boolean')).output, { v: true });
      assert.deepEqual((await coerce('0', 'boolean')).output, { v: false });
      assert.deepEqual((await coerce('{"a":[1]}', 'json')).output, { v: { a: [1] } });
      assert.deepEqual((await coerce({ a: 1 }, 'json')).output, { v: { a: 1 } });
      assert.deepEqual((await coerce('12', 'auto')).output, { v: '12' });
      assert.deepEqual((await coerce(['1', '2'], 'integer')).output, { v: [1, 2] });
    });

    it('formats dates as YYYY-MM-DD', async () => {
      assert.deepEqual((await coerce('2024-03-05', 'date')).output, { v: '2024-03-05' });
      assert.deepEqual((await coerce('2024-03-05T23:30:00.000000Z', 'date')).output, { v: '2024-03-05' });
      // An instant without a written calendar day is placed in the field's timezone.
      assert.deepEqual((await coerce(Date.UTC(2024, 2, 5, 23, 30), 'date', { timezone: 'Africa/Lagos' })).output, { v: '2024-03-06' });
    });

    it('formats date-times in ISO 8601 with an offset, applying the timezone to values without one', async () => {
      assert.deepEqual((await coerce('2017-05-25T21:06:27.012000Z', 'datetime')).output, { v: '2017-05-25T21:06:27.012+00:00' });
      assert.deepEqual((await coerce('2017-05-25T21:06:27+03:00', 'datetime', { timezone: 'Africa/Lagos' })).output, { v: '2017-05-25T21:06:27+03:00' });
      assert.deepEqual((await coerce('2017-05-25T21:06:27.012000', 'datetime')).output, { v: '2017-05-25T21:06:27.012+00:00' });
      assert.deepEqual((await coerce('2017-05-25T21:06:27', 'datetime', { timezone: 'Africa/Lagos' })).output, { v: '2017-05-25T21:06:27+01:00' });
      assert.deepEqual((await coerce('2017-05-25 21:06', 'datetime', { timezone: '-05:30' })).output, { v: '2017-05-25T21:06:00-05:30' });
      assert.deepEqual((await coerce('2024-07-01T08:00:00', 'datetime', { timezone: 'Europe/Paris' })).output, { v: '2024-07-01T08:00:00+02:00' });
      assert.deepEqual((await coerce('2024-01-15', 'datetime', { timezone: 'Europe/Paris' })).output, { v: '2024-01-15T00:00:00+01:00' });
      assert.deepEqual((await coerce(Date.UTC(2024, 0, 15, 12), 'datetime', { timezone: 'Africa/Abidjan' })).output, { v: '2024-01-15T12:00:00+00:00' });
    });

    it('names the field and the type of an invalid value, never the value', async () => {
      const cases: Array<[unknown, FieldMapping['type'], RegExp]> = [
        ['SECRET-abc', 'number', /expected a number, got a string that is not a number/],
        ['SECRET-abc', 'integer', /expected an integer/],
        ['4.75', 'integer', /expected an integer, got a string holding a number with decimals/],
        ['SECRET-abc', 'boolean', /expected a boolean .*got string/],
        ['SECRET-2024-02-30', 'date', /expected a date \(YYYY-MM-DD\), got a string that is not an ISO 8601 date/],
        ['2024-02-30', 'date', /not an ISO 8601 date/],
        ['2024-03-05T25:00', 'datetime', /not an ISO 8601 date-time/],
        [{ secret: 'SECRET-abc' }, 'string', /expected a string, got object/],
        ['{SECRET-abc', 'json', /not valid JSON/],
        [true, 'number', /expected a number, got boolean/],
      ];
      for (const [value, type, expected] of cases) {
        const { errors, output } = await coerce(value, type);
        assert.equal(errors.length, 1, `${type} rejects ${JSON.stringify(value)}`);
        assert.equal(errors[0].target, 'v');
        assert.match(errors[0].message, /^v: /);
        assert.match(errors[0].message, expected);
        assert.doesNotMatch(errors[0].message, /SECRET|4\.75|2024-02-30|25:00/, 'the value must not appear');
        assert.deepEqual(output, {});
      }
    });
  });

  describe('required, default and omitIfEmpty', () => {
    it('fails a required field that is missing or empty', async () => {
      for (const source of [{}, { v: '' }, { v: null }]) {
        const { errors } = await mapOne(path('out', 'v', { required: true }), source);
        assert.deepEqual(errors, [{ target: 'out', message: 'out (from v): is required, but the source is missing or empty' }]);
      }
    });

    it('uses the default when the source is empty, skipping the value map', async () => {
      const field = path('out', 'v', { default: 'fallback', required: true, valueMap: { entries: [{ from: 'a', to: 'b' }] } });
      assert.deepEqual((await mapOne(field, { v: '' })).output, { out: 'fallback' });
      assert.deepEqual((await mapOne(field, { v: 'a' })).output, { out: 'b' });
    });

    it('does not write empty values unless omitIfEmpty is false', async () => {
      const existing = { phone: '+221 77 000 00 00', email: 'x@y.sn' };
      const mapping = map([path('phone', 'new_phone'), path('email', 'new_email', { omitIfEmpty: false })], { keep: 'source' });
      const { output } = await mapping.apply({ ...existing, new_phone: '', new_email: undefined });
      assert.equal(output.phone, existing.phone, 'a missing answer does not wipe the attribute');
      assert.equal(output.email, null, 'an explicit clear writes null');
    });
  });

  describe('mapping validation', () => {
    it('names the faulty row', () => {
      const rows: Array<[unknown, RegExp]> = [
        [{ target: '__proto__.polluted', source: { kind: 'constant', value: 1 } }, /row 2 \(__proto__\.polluted\): invalid target: "__proto__" is not allowed/],
        [{ target: 'a.constructor.prototype', source: { kind: 'constant', value: 1 } }, /"constructor" is not allowed/],
        [{ target: 'a["__proto__"]', source: { kind: 'constant', value: 1 } }, /"__proto__" is not allowed/],
        [{ target: 'obs[__proto__=x].value', source: { kind: 'constant', value: 1 } }, /"__proto__" is not allowed/],
        [{ target: 'a', source: { kind: 'path', path: 'form.prototype' } }, /invalid source path: "prototype" is not allowed/],
        [{ target: 'a', source: { kind: 'path', path: 'form[]' } }, /append\) is only allowed in targets/],
        [{ target: 'a..b', source: { kind: 'constant', value: 1 } }, /empty segment/],
        [{ target: 'obs[concept=x]', source: { kind: 'constant', value: 1 } }, /name the property to write after it/],
        [{ target: 'a', source: { kind: 'jsonata', expression: 'form.(' } }, /invalid JSONata expression/],
        [{ target: 'a', source: { kind: 'sql' } }, /source.kind must be/],
        [{ target: 'a', source: { kind: 'constant', value: 1 }, type: 'float' }, /type must be one of/],
        [{ target: 'a', source: { kind: 'constant', value: 1 }, requried: true }, /unknown property requried/],
        [{ target: 'a', source: { kind: 'constant', value: 1 }, timezone: 'Mars/Olympus' }, /unknown timezone/],
        [{ target: 'a', source: { kind: 'constant', value: 1 }, valueMap: { entries: [{ from: 'x', to: 1 }, { from: 'x', to: 2 }] } }, /"x" is mapped twice/],
        [{ target: 'a', source: { kind: 'constant', value: 1 }, valueMap: { entries: [], otherwise: 'default' } }, /valueMap.default is not set/],
      ];
      for (const [row, expected] of rows) {
        const error = compileError({ version: 1, fields: [{ target: 'ok', source: { kind: 'constant', value: 1 } }, row] });
        assert.match(error.message, expected);
        assert.match(error.message, /^mapping row 2/);
        assert.equal(error.field, 'mapping.fields[1]');
      }
    });

    it('checks the mapping itself', () => {
      assert.match(compileError({ version: 2, fields: [] }).message, /version must be 1/);
      assert.match(compileError({ version: 1 }).message, /list of fields/);
      assert.match(compileError({ version: 1, fields: [], extra: 1 }).message, /unknown properties: extra/);
      assert.match(compileError({ version: 1, fields: [], targetSchema: 'nobody.registered' }).message, /unknown target schema/);
    });

    it('parses bracketed keys and quoted match values', () => {
      assert.deepEqual(parsePath('a["b.c"][2][k="v]x"].d', { target: true }), [
        { kind: 'key', key: 'a' }, { kind: 'key', key: 'b.c' }, { kind: 'index', index: 2 }, { kind: 'match', key: 'k', value: 'v]x' }, { kind: 'key', key: 'd' },
      ]);
    });
  });

  describe('prototype pollution', () => {
    afterEach(() => {
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');
    });

    it('never reads inherited properties through paths', async () => {
      const { output } = await map([path('a', 'toString'), path('b', 'form.children.length'), path('c', 'form.hasOwnProperty')]).apply(form);
      assert.deepEqual(output, {});
    });

    it('drops __proto__ keys of the source when copying it', async () => {
      const source = JSON.parse('{"id": 1, "__proto__": {"polluted": true}, "nested": {"__proto__": {"polluted": true}}}');
      const { output } = await map([], { keep: 'source' }).apply(source);
      assert.deepEqual(Object.keys(output), ['id', 'nested']);
      assert.equal(Object.getPrototypeOf(output), Object.prototype);
      assert.equal(Object.hasOwn(output.nested as object, '__proto__'), false);
      assert.equal((output as Record<string, unknown>).polluted, undefined);
    });

    it('keeps JSONata from reaching or re-pointing prototypes', async () => {
      const expressions = ['$.__proto__', 'constructor', '$.constructor.name', '$lookup($, "__proto__")', '$lookup($, "constructor")', '__proto__.polluted', 'form.toString'];
      for (const expression of expressions) {
        const { output } = await mapOne({ target: 'leak', source: { kind: 'jsonata', expression } });
        assert.deepEqual(output, {}, `${expression} must yield nothing`);
      }
      const builders = ['{"__proto__": {"polluted": true}}', '$merge([{}, {"__proto__": {"polluted": true}}])', '$ ~> |$|{"__proto__": {"polluted": true}}|'];
      for (const expression of builders) {
        const { output } = await mapOne({ target: 'built', source: { kind: 'jsonata', expression } });
        const built = output.built as object;
        assert.equal(Object.hasOwn(built, '__proto__'), false, `${expression} keeps no __proto__ key`);
        const merged = Object.assign({}, built) as Record<string, unknown>;
        assert.equal(merged.polluted, undefined, `${expression} cannot re-point a prototype when merged later`);
      }
    });

    it('a value map or constant cannot smuggle __proto__ either', async () => {
      const smuggled = JSON.parse('{"__proto__": {"polluted": true}}');
      const { output } = await map([
        { target: 'a', source: { kind: 'constant', value: smuggled } },
        path('b', 'form.cough', { valueMap: { entries: [{ from: 'yes', to: smuggled }] } }),
      ]).apply(form);
      assert.equal(Object.hasOwn(output.a as object, '__proto__'), false);
      assert.equal(Object.hasOwn(output.b as object, '__proto__'), false);
    });
  });

  describe('target schemas', () => {
    before(() => {
      registerTargetSchema('test.encounter', {
        title: 'Test encounter',
        schema: {
          type: 'object',
          required: ['patient', 'encounterDatetime', 'obs'],
          properties: {
            patient: { type: 'string' },
            encounterDatetime: { type: 'string', format: 'date-time' },
            obs: { type: 'array', items: { type: 'object', required: ['concept', 'value'], properties: { concept: { type: 'string' }, value: { type: ['string', 'number'] } } } },
          },
          additionalProperties: false,
        },
      });
    });

    it('lists registered schemas', () => {
      assert.ok(listTargetSchemas().some((entry) => entry.name === 'test.encounter' && entry.title === 'Test encounter'));
      assert.equal(getTargetSchema('test.encounter')?.title, 'Test encounter');
      assert.throws(() => registerTargetSchema('broken', { title: 'x', schema: { type: 'no-such-type' } }));
    });

    it('turns schema errors into field errors naming the field', async () => {
      const mapping = map([
        path('patient', 'form.case.@case_id'),
        { target: 'obs[0].concept', source: { kind: 'constant', value: 'c' } },
        { target: 'obs[0].value', source: { kind: 'constant', value: { secret: 'SECRET-x' } } },
        { target: 'extra', source: { kind: 'constant', value: 1 } },
      ], { targetSchema: 'test.encounter' });
      const { errors } = await mapping.apply(form);
      assert.deepEqual(errors.map((error) => error.target).sort(), ['encounterDatetime', 'extra', 'obs[0].value']);
      assert.match(errors.find((error) => error.target === 'obs[0].value')!.message, /^obs\[0\]\.value: must be string,number \(target schema test.encounter\)/);
      assert.doesNotMatch(JSON.stringify(errors), /SECRET/);
    });

    it('accepts a valid document', async () => {
      const { errors } = await map([
        path('patient', 'form.case.@case_id'),
        path('encounterDatetime', 'form.meta.timeEnd', { type: 'datetime' }),
        { target: 'obs[concept=c].value', source: { kind: 'path', path: 'form.weight_kg' }, type: 'number' },
      ], { targetSchema: 'test.encounter' }).apply(form);
      assert.deepEqual(errors, []);
    });
  });

  it('does what the help example says', async () => {
    const example: Mapping = {
      version: 1,
      fields: [
        { target: 'patient', source: { kind: 'path', path: 'form.case.@case_id' }, required: true },
        { target: 'encounterDatetime', source: { kind: 'path', path: 'form.meta.timeEnd' }, type: 'datetime' },
        { target: 'encounterType', source: { kind: 'constant', value: 'd7151f82-c1f3-4152-a605-2f9ea7414a79' } },
        { target: 'obs[concept=5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA].value', source: { kind: 'path', path: 'form.weight_kg' }, type: 'number' },
        {
          target: 'obs[concept=143264AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA].value',
          source: { kind: 'path', path: 'form.cough' },
          valueMap: { entries: [{ from: 'yes', to: '1065AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, { from: 'no', to: '1066AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }] },
        },
      ],
    };
    const { output, errors } = await compileMapping(example).apply(form);
    assert.deepEqual(errors, []);
    assert.deepEqual(output.obs, [
      { concept: '5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', value: 12.5 },
      { concept: '143264AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', value: '1065AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    ]);
    const withoutWeight = await compileMapping(example).apply({ form: { ...form.form, weight_kg: undefined } });
    assert.deepEqual(withoutWeight.output.obs, [{ concept: '143264AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', value: '1065AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }]);
  });

  it('summarises field errors in one line', () => {
    const errors = Array.from({ length: 12 }, (_, i) => ({ target: `f${i}`, message: `f${i}: is required` }));
    const summary = summariseFieldErrors(errors);
    assert.match(summary, /^mapping failed for 12 fields: f0: is required; .*f9: is required; and 2 more$/);
  });

  it('maps 5,000 messages with a 50-field mapping in well under 2 s', async function () {
    this.timeout(10_000);
    const fields: FieldMapping[] = [];
    const source: Record<string, unknown> = { form: { meta: {}, case: { '@case_id': 'c' } } };
    for (let i = 0; i < 50; i += 1) {
      (source.form as Record<string, unknown>)[`q${i}`] = i % 5 === 0 ? 'yes' : String(i);
      const field: FieldMapping = path(i % 2 ? `obs[concept=c${i}].value` : `properties.q${i}`, `form.q${i}`);
      if (i % 5 === 0) field.valueMap = { entries: [{ from: 'yes', to: '1065AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, { from: 'no', to: '1066AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }] };
      else if (i % 7 === 0) field.type = 'integer';
      fields.push(field);
    }
    const mapping = map(fields);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 5000; i += 1) {
      const { errors } = await mapping.apply(source);
      if (errors.length) assert.fail(errors[0].message);
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(elapsedMs < 2000, `took ${elapsedMs.toFixed(0)} ms`);
  });
});
