import assert from 'node:assert/strict';
import mapper from '../../nodes/core/mapper';
import type { Mapping } from '../../nodes/core/mapping';
import { registerTargetSchema } from '../../nodes/core/target-schemas';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';
import { requireSamples, sampleJson } from '../support/samples';

const YES = '1065AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const NO = '1066AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const TB_SCREENING = '160592AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const ON_ART = '160119AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

const encounterMapping: Mapping = {
  version: 1,
  fields: [
    { target: 'patient', source: { kind: 'path', path: 'form.case.@case_id' }, required: true },
    { target: 'encounterDatetime', source: { kind: 'path', path: 'form.meta.timeEnd' }, type: 'datetime', required: true },
    { target: 'encounterType', source: { kind: 'constant', value: 'd7151f82-c1f3-4152-a605-2f9ea7414a79' } },
    { target: 'formUuid', source: { kind: 'jsonata', expression: '$substringAfter(form.`@xmlns`, "formdesigner/")' } },
    { target: `obs[concept=${TB_SCREENING}].value`, source: { kind: 'path', path: 'form.tb' }, valueMap: { entries: [{ from: '1', to: YES }, { from: '0', to: NO }] } },
    { target: `obs[concept=${ON_ART}].value`, source: { kind: 'path', path: 'form.estado_tarv' }, valueMap: { entries: [{ from: '1', to: YES }, { from: '0', to: NO }] } },
    { target: 'obs[concept=5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA].value', source: { kind: 'path', path: 'form.weight_kg' }, type: 'number' },
  ],
};

// The test helper loads the core Catch node itself when a flow contains one.
function flow(mapping: Mapping | string, extra: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'm', type: 'chis-mapper', z: 't', mapping: typeof mapping === 'string' ? mapping : JSON.stringify(mapping), wires: [['out']], ...extra },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['h']] },
    { id: 'h', type: 'helper', z: 't' },
  ];
}

const nextMessage = (id: string): Promise<any> => new Promise((resolve) => helper.getNode(id).once('input', resolve));

describe('chis-mapper node', function () {
  this.timeout(10_000);
  before(() => {
    registerTargetSchema('test.mapper-encounter', {
      title: 'Encounter (test)',
      schema: {
        type: 'object',
        required: ['patient', 'encounterDatetime', 'encounterType'],
        properties: { obs: { type: 'array', items: { type: 'object', required: ['concept', 'value'] } } },
      },
    });
  });
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  it('maps a forwarded CommCare form to an encounter', async function () {
    requireSamples(this);
    const form = sampleJson('commcare/forwarded-form-json.json');
    await loadFlow([mapper], flow(encounterMapping, { targetSchema: 'test.mapper-encounter' }));
    const received = nextMessage('out');
    helper.getNode('m').receive({ payload: form, topic: 'commcare' });
    const msg = await received;
    assert.equal(msg.topic, 'commcare');
    assert.deepEqual(msg.payload, {
      patient: '65e55473-e83b-4d78-9dde-eaf949758997',
      encounterDatetime: '2017-05-25T21:06:27.012+00:00',
      encounterType: 'd7151f82-c1f3-4152-a605-2f9ea7414a79',
      formUuid: '0F961E26-3BE6-4D39-9FF1-E41D405346DD',
      // The form has no weight question: no obs is created for it.
      obs: [{ concept: TB_SCREENING, value: NO }, { concept: ON_ART, value: YES }],
    });
  });

  it('reads and writes the configured message properties', async () => {
    const mapping: Mapping = { version: 1, fields: [{ target: 'name', source: { kind: 'path', path: 'case_name' } }] };
    await loadFlow([mapper], flow(mapping, { sourceProperty: 'commcare.case', outputProperty: 'rapidpro.contact' }));
    const received = nextMessage('out');
    helper.getNode('m').receive({ payload: 'untouched', commcare: { case: { case_name: 'Aminata' } } });
    const msg = await received;
    assert.deepEqual(msg.rapidpro, { contact: { name: 'Aminata' } });
    assert.equal(msg.payload, 'untouched');
  });

  it('sends invalid input to a Catch node as bad-input naming the fields, not the values', async () => {
    await loadFlow([mapper], flow(encounterMapping));
    const caught = nextMessage('h');
    let forwarded = false;
    helper.getNode('out').on('input', () => { forwarded = true; });
    helper.getNode('m').receive({ payload: { form: { tb: 'SECRET-maybe', weight_kg: 'SECRET-heavy', meta: {} } } });
    const msg = await caught;
    assert.equal(forwarded, false);
    assert.equal(msg.error.code, 'bad-input');
    assert.match(msg.error.message, /^(Error: )?mapping failed for 4 fields: patient \(from form\.case\.@case_id\): is required/);
    assert.match(msg.error.message, /obs\[concept=160592A+\]\.value \(from form\.tb\): no value-map entry for the string received/);
    assert.match(msg.error.message, /weight_kg\): expected a number, got a string that is not a number/);
    assert.equal(msg.error.cause.code, 'bad-input');
    assert.equal(msg.error.cause.field, 'patient');
    assert.doesNotMatch(JSON.stringify(msg.error), /SECRET/);
  });

  it('fails every message with the reason when the configured mapping is invalid', async () => {
    const broken = { version: 1, fields: [{ target: 'a.__proto__.b', source: { kind: 'constant', value: 1 } }] } as Mapping;
    await loadFlow([mapper], flow(broken));
    const caught = nextMessage('h');
    helper.getNode('m').receive({ payload: {} });
    const msg = await caught;
    assert.equal(msg.error.code, 'bad-input');
    assert.match(msg.error.message, /mapping row 1 \(a\.__proto__\.b\): invalid target/);
  });

  it('previews a mapping through the admin API', async () => {
    await loadFlow([mapper], flow(encounterMapping));
    const sample = { form: { case: { '@case_id': 'p-1' }, meta: { timeEnd: '2024-03-05T10:00:00' }, tb: '1', weight_kg: 'heavy' } };
    const response = await helper.request().post('/chis/mapper/preview').send({ mapping: encounterMapping, sample }).expect(200);
    assert.equal(response.body.output.patient, 'p-1');
    assert.equal(response.body.output.encounterDatetime, '2024-03-05T10:00:00+00:00');
    assert.deepEqual(response.body.output.obs, [{ concept: TB_SCREENING, value: YES }]);
    assert.deepEqual(response.body.errors, [{ target: 'obs[concept=5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA].value', message: 'obs[concept=5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA].value (from form.weight_kg): expected a number, got a string that is not a number' }]);

    const schemaCheck = await helper.request().post('/chis/mapper/preview')
      .send({ mapping: { version: 1, fields: [{ target: 'obs[0].value', source: { kind: 'constant', value: 1 } }] }, sample: {}, targetSchema: 'test.mapper-encounter' })
      .expect(200);
    assert.deepEqual(schemaCheck.body.errors.map((error: { target: string }) => error.target), ['patient', 'encounterDatetime', 'encounterType', 'obs[0].concept']);

    const invalid = await helper.request().post('/chis/mapper/preview')
      .send({ mapping: { version: 1, fields: [{ target: 'ok', source: { kind: 'constant', value: 1 } }, { target: 'x', source: { kind: 'jsonata', expression: '(' } }] }, sample: {} })
      .expect(400);
    assert.match(invalid.body.message, /^mapping row 2 \(x\): invalid JSONata expression/);
  });

  it('previews with a whole sample msg: rows reading $msg outside the source property get their values', async () => {
    // As in flows/commcare-to-openmrs-encounter.json: the form is msg.payload, the case and the form id ride beside it.
    const msgMapping: Mapping = {
      version: 1,
      fields: [
        { target: 'patient', source: { kind: 'jsonata', expression: '$msg.case.external_id' }, type: 'string', required: true },
        { target: 'idempotencyKey', source: { kind: 'jsonata', expression: '$msg.form.id' }, type: 'string', required: true },
        { target: 'obs[concept=5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA].value', source: { kind: 'path', path: 'form.weight_kg' }, type: 'number' },
      ],
    };
    const msg = { payload: { form: { weight_kg: '61.5' } }, case: { external_id: 'patient-uuid-1' }, form: { id: 'form-7' } };
    await loadFlow([mapper], flow(msgMapping, { sourceProperty: 'payload', outputProperty: 'mapped' }));
    const preview = (body: object) => helper.request().post('/chis/mapper/preview').send({ mapping: msgMapping, sourceProperty: 'payload', ...body });

    const simple = await preview({ sample: msg.payload }).expect(200);
    assert.deepEqual(simple.body.errors.map((error: { target: string }) => error.target), ['patient', 'idempotencyKey']);

    const whole = await preview({ sample: msg, wholeMessage: true }).expect(200);
    assert.deepEqual(whole.body.errors, []);
    const expected = { patient: 'patient-uuid-1', idempotencyKey: 'form-7', obs: [{ concept: '5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', value: 61.5 }] };
    assert.deepEqual(whole.body.output, expected);

    // The deployed node gives the same output for the same msg: the preview runs the runtime's engine.
    const received = nextMessage('out');
    helper.getNode('m').receive(structuredClone(msg));
    assert.deepEqual((await received).mapped, expected);

    // A source property that is not `payload` is read from the whole msg too.
    const nested = await helper.request().post('/chis/mapper/preview')
      .send({ mapping: msgMapping, sourceProperty: 'data.form', sample: { data: { form: msg.payload }, case: msg.case, form: msg.form }, wholeMessage: true }).expect(200);
    assert.deepEqual(nested.body.output, expected);

    for (const sample of [[msg], 'text', null]) {
      const rejected = await preview({ sample, wholeMessage: true }).expect(400);
      assert.match(rejected.body.message, /^sample: the whole msg must be a JSON object/);
    }
  });

  it('lists target schemas for the editor', async () => {
    await loadFlow([mapper], flow(encounterMapping));
    const response = await helper.request().get('/chis/mapper/targets').expect(200);
    assert.ok(response.body.some((entry: { name: string; title: string }) => entry.name === 'test.mapper-encounter' && entry.title === 'Encounter (test)'));
  });
});
