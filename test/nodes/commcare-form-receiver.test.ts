import assert from 'node:assert/strict';
import request from 'supertest';
import { create } from '../../sandbox/commcare';
import * as seed from '../../sandbox/commcare/seed';
import receiverAuth from '../../nodes/core/receiver-auth-config';
import receipt from '../../nodes/core/receipt';
import { settleReceipt } from '../../nodes/core/receipts';
import { HttpClient } from '../../nodes/core/http-client';
import formReceiver from '../../nodes/commcare/commcare-form-receiver';
import { CommcareClient, commcareHttpOptions } from '../../nodes/commcare/api/client';
import { writeCases } from '../../nodes/commcare/api/case-writer';
import { helper, httpNode, loadFlow, unloadFlow } from '../support/node-helper';
import { requireSamples, sampleJson, sampleText } from '../support/samples';

const GOOD = `Basic ${Buffer.from('hq:forward-secret').toString('base64')}`;
const credentials = { auth: { username: 'hq', password: 'forward-secret' } };
const SAMPLE_XMLNS = 'http://org.commcarehq/formdesigner/0F961E26-3BE6-4D39-9FF1-E41D405346DD';
const XML_XMLNS = 'http://openrosa.org/formdesigner/B9C4EB51-A7CC-49B5-B7D5-10E9F10B450B';

function flow(options: { confirm?: boolean; xmlns?: string[]; appId?: string } = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'auth', type: 'chis-receiver-auth', mode: 'basic' },
    {
      id: 'rx', type: 'chis-commcare-form-receiver', z: 't', path: '/commcare/forms', auth: 'auth',
      xmlns: options.xmlns ?? [SAMPLE_XMLNS, XML_XMLNS], appId: options.appId ?? '', receiptTimeoutMs: 3000,
      wires: [options.confirm === false ? ['out'] : ['out', 'ok']],
    },
    { id: 'ok', type: 'chis-receipt', z: 't', outcome: 'auto', wires: [] },
    { id: 'out', type: 'helper', z: 't' },
  ];
}

const post = (body: unknown, type = 'application/json', auth = GOOD) =>
  request(httpNode()).post('/commcare/forms').set('Authorization', auth).set('Content-Type', type).send(typeof body === 'string' ? body : JSON.stringify(body));

describe('chis-commcare-form-receiver node', function () {
  this.timeout(15_000);
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  it('accepts the real forwarded form JSON and emits it with its facts once confirmed', async function () {
    requireSamples(this);
    await loadFlow([receiverAuth, receipt, formReceiver], flow(), credentials);
    const received = new Promise<any>((resolve) => helper.getNode('out').on('input', resolve));
    const response = await post(sampleJson('commcare/forwarded-form-json.json'));
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: 'accepted', id: '1fede691-1f54-4bbc-9648-9ca8372f01e1' });
    const msg = await received;
    assert.equal(msg.topic, SAMPLE_XMLNS);
    assert.deepEqual(msg.form, {
      id: '1fede691-1f54-4bbc-9648-9ca8372f01e1',
      xmlns: SAMPLE_XMLNS,
      appId: '9393007a6921eecd4a9f20eefb7b97f4',
      caseIds: ['65e55473-e83b-4d78-9dde-eaf949758997'],
      receivedOn: '2017-05-25T21:06:27.275256Z',
    });
    assert.equal(msg.payload.form.nome, 'Elsa');
    assert.equal(JSON.stringify(msg).includes('forward-secret'), false);
  });

  it('accepts the XForm XML sample in the form JSON shape', async function () {
    requireSamples(this);
    await loadFlow([receiverAuth, receipt, formReceiver], flow(), credentials);
    const received = new Promise<any>((resolve) => helper.getNode('out').on('input', resolve));
    const response = await request(httpNode()).post('/commcare/forms?app_id=app-9').set('Authorization', GOOD).set('Content-Type', 'text/xml')
      .send(sampleText('commcare/xform-submission-with-case.xml'));
    assert.equal(response.status, 200);
    const msg = await received;
    assert.equal(msg.form.id, 'afcb3026-c4b3-463f-85ec-0cb9a2737fc5');
    assert.equal(msg.form.appId, 'app-9');
    assert.deepEqual(msg.form.caseIds, ['b0916685-7247-4c44-b712-633d3d64e0c0']);
    assert.equal(msg.payload.form.case.create.case_type, 'mscase');
    assert.equal(msg.payload.form.meta.instanceID, 'afcb3026-c4b3-463f-85ec-0cb9a2737fc5');
  });

  it('acknowledges forms of other xmlns or applications without emitting them', async () => {
    await loadFlow([receiverAuth, receipt, formReceiver], flow({ xmlns: [seed.XMLNS.trackerVisit], appId: seed.APP_ID }), credentials);
    let emitted = 0;
    helper.getNode('out').on('input', () => { emitted += 1; });
    const other = await post({ id: 'f-other', app_id: seed.APP_ID, form: { '@xmlns': seed.XMLNS.referral, meta: { instanceID: 'f-other' } } });
    assert.equal(other.status, 200);
    assert.equal(other.body.status, 'ignored');
    const otherApp = await post({ id: 'f-app', app_id: 'another-app', form: { '@xmlns': seed.XMLNS.trackerVisit, meta: { instanceID: 'f-app' } } });
    assert.equal(otherApp.body.status, 'ignored');
    await post({ id: 'f-visit', app_id: seed.APP_ID, form: { '@xmlns': seed.XMLNS.trackerVisit, meta: { instanceID: 'f-visit' } } }).expect(200);
    assert.equal(emitted, 1);
    assert.match(helper.getNode('rx').status.lastCall?.args?.[0]?.text ?? '', /ignored 2/);
  });

  it('answers a re-sent form without emitting it again', async function () {
    requireSamples(this);
    await loadFlow([receiverAuth, receipt, formReceiver], flow(), credentials);
    let emitted = 0;
    helper.getNode('out').on('input', () => { emitted += 1; });
    const form = sampleJson('commcare/forwarded-form-json.json');
    await post(form).expect(200);
    const again = await post(form);
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'duplicate');
    assert.equal(emitted, 1);
  });

  it('refuses bad credentials with 401 and unprocessable bodies with 400', async () => {
    await loadFlow([receiverAuth, receipt, formReceiver], flow(), credentials);
    let emitted = 0;
    helper.getNode('out').on('input', () => { emitted += 1; });
    await post({ form: { '@xmlns': SAMPLE_XMLNS } }, 'application/json', `Basic ${Buffer.from('hq:wrong').toString('base64')}`).expect(401);
    const noId = await post({ form: { '@xmlns': SAMPLE_XMLNS, meta: {} } });
    assert.equal(noId.status, 400);
    assert.match(noId.body.error, /no id/);
    assert.equal(emitted, 0);
  });

  it('answers 503 when the flow fails with a retryable error, so HQ retries', async () => {
    await loadFlow([receiverAuth, receipt, formReceiver], flow({ confirm: false }), credentials);
    helper.getNode('out').once('input', (msg: { _receipt: string }) => {
      settleReceipt(msg._receipt, { accepted: false, code: 'timeout', message: 'OpenMRS timed out', retryable: true });
    });
    const body = { id: 'f-retry', form: { '@xmlns': SAMPLE_XMLNS, meta: { instanceID: 'f-retry' } } };
    const response = await post(body);
    assert.equal(response.status, 503);
    assert.equal(response.body.code, 'timeout');
    helper.getNode('out').once('input', (msg: { _receipt: string }) => { settleReceipt(msg._receipt, { accepted: true }); });
    await post(body).expect(200);
  });

  it('ignores the forms generated by its own case writes (loop prevention)', async () => {
    const app = create();
    const base = `http://127.0.0.1:${await app.listen(0)}`;
    const client = new CommcareClient(new HttpClient(commcareHttpOptions({ baseUrl: base, system: 'commcare' }, { username: seed.WEB_USER.username, apiKey: seed.WEB_USER.apiKey })), seed.DOMAIN);
    try {
      await writeCases(client, [{ external_id: 'LOOP-1', case_name: 'Loop', properties: { a: '1' } }], { owners: {}, defaultOwner: seed.KIMIRONKO_LOCATION_ID, defaultCaseType: 'patient' });
      const forms = await client.http.get<{ objects: any[] }>('a/demo/api/v0.5/form/', { query: { xmlns: seed.CASE_API_XMLNS } });
      await loadFlow([receiverAuth, receipt, formReceiver], flow({ xmlns: [] }), credentials);
      let emitted = 0;
      helper.getNode('out').on('input', () => { emitted += 1; });
      const response = await post(forms.data.objects[0]);
      assert.equal(response.status, 200);
      assert.equal(response.body.status, 'ignored');
      assert.match(response.body.reason, /loop prevention/);
      assert.equal(emitted, 0);
    } finally {
      client.http.close();
      await app.close();
    }
  });
});
