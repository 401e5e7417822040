import assert from 'node:assert/strict';
import { parseBody } from '../../nodes/core/receiver';
import { summarizeCommcareError, rowErrors, openRosaMessage } from '../../nodes/commcare/api/errors';
import {
  caseBlocks, caseIds, formAppId, formId, formJsonFromXml, formXmlns, questionBoolean, questionChoices, questionNumber, questionText, questionValue,
} from '../../nodes/commcare/api/forms';
import { CASE_API_XMLNS, CHIS_DEVICE_ID, CHIS_ORIGIN_PROPERTY, CHIS_ORIGIN_VALUE, CHIS_WRITTEN_AT_PROPERTY, isOwnWriteCase, isOwnWriteForm, markerProperties } from '../../nodes/commcare/api/loop-marker';
import { judgeForm, splitList } from '../../nodes/commcare/api/form-intake';
import { requireSamples, sampleJson, sampleText } from '../support/samples';

const apiForm = (deviceId: string, update: Record<string, string> = {}) => ({
  id: 'f-api',
  form: {
    '#type': 'data',
    '@xmlns': CASE_API_XMLNS,
    case: { '@case_id': 'c1', '@xmlns': 'http://commcarehq.org/case/transaction/v2', update },
    meta: { deviceID: deviceId, instanceID: 'f-api' },
  },
});

describe('commcare form JSON helpers', () => {
  it('reads the forwarded form JSON sample: xmlns, id, app, case blocks and questions', function () {
    requireSamples(this);
    const form = sampleJson('commcare/forwarded-form-json.json');
    assert.equal(formXmlns(form), 'http://org.commcarehq/formdesigner/0F961E26-3BE6-4D39-9FF1-E41D405346DD');
    assert.equal(formId(form), '1fede691-1f54-4bbc-9648-9ca8372f01e1');
    assert.equal(formAppId(form), '9393007a6921eecd4a9f20eefb7b97f4');
    const [block] = caseBlocks(form);
    assert.equal(block.caseId, '65e55473-e83b-4d78-9dde-eaf949758997');
    assert.deepEqual(block.create, { case_name: 'Elsa', case_type: 'paciente', owner_id: '9393007a6921eecd4a9f20eefb5c7a8e' });
    assert.deepEqual(block.update, { estado_tarv: '1', tb: '0' });
    assert.equal(block.close, false);
    assert.equal(questionText(form, '/data/nome'), 'Elsa');
    assert.equal(questionNumber(form, 'estado_tarv'), 1);
    assert.equal(questionBoolean(form, 'tb'), false);
    assert.equal(isOwnWriteForm(form), false);
  });

  it('turns the XForm XML sample into the same shape as form JSON', function () {
    requireSamples(this);
    const parsed = parseBody('xml', Buffer.from(sampleText('commcare/xform-submission-with-case.xml')));
    const json = formJsonFromXml(parsed, { appId: 'app-1' }) as any;
    assert.equal(json.id, 'afcb3026-c4b3-463f-85ec-0cb9a2737fc5');
    assert.equal(json.app_id, 'app-1');
    assert.equal(json.form['#type'], 'data');
    assert.equal(json.form['@xmlns'], 'http://openrosa.org/formdesigner/B9C4EB51-A7CC-49B5-B7D5-10E9F10B450B');
    assert.equal(json.form['@uiVersion'], '1');
    assert.equal(json.form['@xmlns:jrm'], undefined);
    assert.equal(json.form.case['@xmlns'], 'http://commcarehq.org/case/transaction/v2');
    assert.equal(json.form.case['@case_id'], 'b0916685-7247-4c44-b712-633d3d64e0c0');
    assert.deepEqual(json.form.case.create, { case_name: 'Trees', owner_id: 'd0e472a6b36dfd3ee5059222e12b8c1b', case_type: 'mscase' });
    assert.equal(json.form.meta['@xmlns'], 'http://openrosa.org/jr/xforms');
    assert.equal(json.form.meta.appVersion['@xmlns'], 'http://commcarehq.org/xforms');
    assert.match(json.form.meta.appVersion['#text'], /App v10/);
    assert.deepEqual(caseIds(json), ['b0916685-7247-4c44-b712-633d3d64e0c0']);
    assert.equal(questionText(json, 'question1'), 'Trees');
  });

  it('finds case blocks in groups and repeats, with index and close', () => {
    const form = {
      form: {
        '@xmlns': 'x',
        household: {
          member: [
            { case: { '@case_id': 'm1', update: { age: '3' }, index: { parent: { '@case_type': 'household', '@relationship': 'child', '#text': 'h1' } } } },
            { case: { '@case_id': 'm2', close: '' } },
          ],
        },
      },
    };
    const blocks = caseBlocks(form);
    assert.deepEqual(blocks.map((block) => block.caseId), ['m1', 'm2']);
    assert.deepEqual(blocks[0].index.parent, { caseId: 'h1', caseType: 'household', relationship: 'child' });
    assert.equal(blocks[1].close, true);
    assert.deepEqual(questionValue(form, 'household/member/case/@case_id'), ['m1', 'm2']);
    assert.deepEqual(questionChoices({ form: { '@xmlns': 'x', signs: 'fever cough ' } }, 'signs'), ['fever', 'cough']);
  });
});

describe('commcare loop marker', () => {
  it('recognises Case API forms sent with our device id or carrying our origin property', () => {
    assert.equal(isOwnWriteForm(apiForm(CHIS_DEVICE_ID)), true);
    assert.equal(isOwnWriteForm(apiForm('python-requests/2.31')), false);
    assert.equal(isOwnWriteForm(apiForm('proxy-rewrote-it', { [CHIS_ORIGIN_PROPERTY]: CHIS_ORIGIN_VALUE })), true);
    // A phone form is never ours, whatever its device id.
    const phone = apiForm(CHIS_DEVICE_ID);
    phone.form['@xmlns'] = 'http://openrosa.org/formdesigner/visit';
    assert.equal(isOwnWriteForm(phone), false);
  });

  it('recognises a case whose latest change is our own write', () => {
    const marker = markerProperties(new Date('2024-05-01T10:00:00Z'));
    const ours = { properties: marker, last_modified: '2024-05-01T10:00:01.000000Z', server_last_modified: '2024-05-01T10:00:01.500000Z' };
    assert.equal(isOwnWriteCase(ours), true);
    assert.equal(isOwnWriteCase({ ...ours, server_last_modified: '2024-05-02T08:00:00.000000Z' }), false);
    assert.equal(isOwnWriteCase({ ...ours, properties: { [CHIS_WRITTEN_AT_PROPERTY]: marker[CHIS_WRITTEN_AT_PROPERTY] } }), false);
  });
});

describe('commcare form intake', () => {
  const form = (xmlns: string, appId?: string) => ({ id: 'f1', app_id: appId, form: { '@xmlns': xmlns, meta: { instanceID: 'f1' } } });

  it('accepts wanted forms and ignores other xmlns, other apps and own writes', () => {
    const filters = { xmlns: ['x:visit'], appId: 'app-1' };
    const accepted = judgeForm({ format: 'json', body: form('x:visit', 'app-1') }, filters);
    assert.equal(accepted.kind, 'accept');
    assert.deepEqual(accepted.kind === 'accept' && accepted.facts, { id: 'f1', xmlns: 'x:visit', appId: 'app-1', caseIds: [], receivedOn: null });
    assert.equal((judgeForm({ format: 'json', body: form('x:other', 'app-1') }, filters) as any).reason, 'xmlns');
    assert.equal((judgeForm({ format: 'json', body: form('x:visit', 'app-2') }, filters) as any).reason, 'app');
    assert.equal((judgeForm({ format: 'json', body: form('x:visit') , query: { app_id: 'app-1' } }, filters)).kind, 'accept');
    assert.equal((judgeForm({ format: 'json', body: apiForm(CHIS_DEVICE_ID) }, {}) as any).reason, 'own-write');
    assert.equal(judgeForm({ format: 'json', body: apiForm(CHIS_DEVICE_ID) }, { ignoreOwnWrites: false }).kind, 'accept');
  });

  it('refuses what can never be processed', () => {
    assert.equal(judgeForm({ format: 'json', body: { hello: 1 } }, {}).kind, 'invalid');
    assert.equal(judgeForm({ format: 'json', body: { form: { meta: {} } } }, {}).kind, 'invalid');
    assert.equal(judgeForm({ format: 'json', body: { form: { '@xmlns': 'x' } } }, {}).kind, 'invalid');
  });

  it('splits editor lists', () => {
    assert.deepEqual(splitList('a, b\n c\n\n'), ['a', 'b', 'c']);
    assert.deepEqual(splitList(['a', ' ', 'b']), ['a', 'b']);
    assert.deepEqual(splitList(undefined), []);
  });
});

describe('commcare error summaries', () => {
  it('reads Case API, tastypie and OpenRosa error bodies', () => {
    assert.equal(summarizeCommcareError(400, { error: "'foo' is not a valid field." }), "'foo' is not a valid field.");
    assert.equal(summarizeCommcareError(400, { error: 'InvalidCaseIndex: nope', form_id: 'f9' }), 'InvalidCaseIndex: nope (form f9)');
    assert.equal(summarizeCommcareError(400, { error_message: 'bad limit' }), 'bad limit');
    assert.equal(summarizeCommcareError(201, sampleOpenRosa()), "InvalidCaseIndex: Case 'a' references non-existent case 'b'");
    assert.equal(summarizeCommcareError(500, '<html><body><h1>Server Error (500)</h1></body></html>'), 'Server Error (500)');
    assert.deepEqual(openRosaMessage(sampleOpenRosa())?.nature, 'submit_error');
  });

  it('splits a bulk refusal into rows (0-based)', () => {
    const rows = rowErrors("Error in row 2: Property case_name is required.; Error in row 5: 'x' is not a valid field.");
    assert.deepEqual([...rows], [[1, 'Property case_name is required.'], [4, "'x' is not a valid field."]]);
    assert.equal(rowErrors('Not all owner_ids are real owner_ids in the project').size, 0);
  });
});

function sampleOpenRosa(): string {
  return `<OpenRosaResponse xmlns="http://openrosa.org/http/response">
    <message nature="submit_error">InvalidCaseIndex: Case 'a' references non-existent case 'b'</message>
</OpenRosaResponse>`;
}
