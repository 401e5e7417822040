import assert from 'node:assert/strict';
import { HttpClient } from '../../nodes/core/http-client';
import { type JournalEntry, undoJournal } from '../../nodes/core/journal';
import { getTargetSchema } from '../../nodes/core/target-schemas';
import { ChtClient, chtHttpOptions, type ChtDoc } from '../../nodes/cht/api';
import chtConfig from '../../nodes/cht/cht-config';
import recordWriter from '../../nodes/cht/cht-record-writer';
import contactWriter from '../../nodes/cht/cht-contact-writer';
import docUpdate from '../../nodes/cht/cht-doc-update';
import { create } from '../../sandbox/cht';
import * as seed from '../../sandbox/cht/seed';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

const credentials = { cht: { username: seed.USERNAME, password: seed.PASSWORD } };

function flow(baseUrl: string, writer: Record<string, unknown>): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'cht', type: 'chis-cht-config', baseUrl },
    { id: 'w', z: 't', server: 'cht', ...writer, wires: [['out']] },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

function outcome(): Promise<{ ok: boolean; msg: any }> {
  return new Promise((resolve) => {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const settle = (ok: boolean) => (msg: any) => {
      out.removeListener('input', onOut);
      caught.removeListener('input', onCaught);
      resolve({ ok, msg });
    };
    const onOut = settle(true);
    const onCaught = settle(false);
    out.on('input', onOut);
    caught.on('input', onCaught);
  });
}

async function send(payload: unknown): Promise<{ ok: boolean; msg: any }> {
  const result = outcome();
  helper.getNode('w').receive({ payload });
  return result;
}

const undo = (journal: JournalEntry[]) => undoJournal(journal, { findConfig: (id) => helper.getNode(id), retry: { maxAttempts: 1 } });

describe('CHT writer nodes', function () {
  this.timeout(20_000);
  let app: ReturnType<typeof create>;
  let baseUrl: string;
  let client: ChtClient;

  beforeEach(async () => {
    await helper.startServer();
    app = create();
    baseUrl = `http://127.0.0.1:${await app.listen(0)}`;
    client = new ChtClient(new HttpClient(chtHttpOptions({ baseUrl, system: 'cht' }, credentials.cht)));
  });
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
    client.http.close();
    await app.close();
  });

  describe('chis-cht-record-writer', () => {
    it('creates a data_record through /api/v2/records, journaled and marked', async () => {
      await loadFlow([chtConfig, recordWriter], flow(baseUrl, { type: 'chis-cht-record-writer', form: 'REF' }), credentials);
      const { ok, msg } = await send({ from: seed.CHW_PHONE, reported_date: 1_700_000_000_000, fields: { patient_id: seed.PATIENT_MARY_PATIENT_ID, patient_temp_deg_f: 101 } });
      assert.equal(ok, true, JSON.stringify(msg.error));
      assert.equal(msg.payload.form, 'REF');
      assert.equal(msg.correlationId, msg.payload.id, 'without an upstream correlation id, the report written');
      assert.deepEqual(msg.journal, [{ system: 'cht', resource: 'data_record', id: msg.payload.id, action: 'created', configId: 'cht', detail: { form: 'REF' } }]);
      const report = await client.getReport(msg.payload.id);
      assert.equal(report.type, 'data_record');
      assert.equal(report.form, 'REF');
      assert.equal(report.reported_date, 1_700_000_000_000);
      assert.deepEqual(report.fields, { patient_id: seed.PATIENT_MARY_PATIENT_ID, patient_temp_deg_f: 101 });
      assert.equal((report.contact as ChtDoc)._id, seed.CHW_ID);
      assert.equal((report.sms_message as Record<string, unknown>).chis_origin, 'chis-node-red');
      assert.ok(getTargetSchema('cht.record'));

      const [report_undo] = await undo(msg.journal);
      assert.equal(report_undo.outcome, 'undone');
      await assert.rejects(client.getReport(msg.payload.id), /404/);
    });

    it('takes the form from the message when the setting is typed msg, and the payload\'s own form still wins', async () => {
      await loadFlow([chtConfig, recordWriter], flow(baseUrl, { type: 'chis-cht-record-writer', form: 'topic', formType: 'msg' }), credentials);
      const sendWithTopic = (topic: string, payload: unknown) => {
        const result = outcome();
        helper.getNode('w').receive({ topic, payload } as never);
        return result;
      };
      const referral = await sendWithTopic('REF', { fields: { patient_id: seed.PATIENT_MARY_PATIENT_ID } });
      const visit = await sendWithTopic('YYYZ', { fields: { nurse: 'Akinyi', week: 12, year: 2024 } });
      const own = await sendWithTopic('YYYZ', { form: 'REF', fields: { patient_id: seed.PATIENT_MARY_PATIENT_ID } });
      assert.equal(referral.ok && visit.ok && own.ok, true, JSON.stringify(referral.msg.error ?? visit.msg.error ?? own.msg.error));
      assert.equal((await client.getReport(referral.msg.payload.id)).form, 'REF');
      assert.equal((await client.getReport(visit.msg.payload.id)).form, 'YYYZ');
      assert.equal((await client.getReport(own.msg.payload.id)).form, 'REF');
    });

    it('shows sending, then created n and the last failure under the node', async () => {
      await loadFlow([chtConfig, recordWriter], flow(baseUrl, { type: 'chis-cht-record-writer', form: 'REF' }), credentials);
      const node = helper.getNode('w');
      const shown: Array<{ fill?: string; shape?: string; text?: string }> = [];
      const status = node.status.bind(node);
      node.status = (value: { fill?: string; shape?: string; text?: string }) => { shown.push(value); return status(value); };
      const report = { fields: { patient_id: seed.PATIENT_MARY_PATIENT_ID } };
      const all = new Promise<void>((resolve) => {
        let left = 4;
        const settle = () => { left -= 1; if (left === 0) resolve(); };
        helper.getNode('out').on('input', settle);
        helper.getNode('caught').on('input', settle);
      });
      for (const payload of [report, report, report, 'not a report']) node.receive({ payload });
      await all;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const texts = shown.map((value) => value.text);
      assert.ok(texts.some((text) => /^sending/.test(text ?? '')), texts.join(' | '));
      assert.deepEqual(shown.at(-1), { fill: 'red', shape: 'ring', text: 'created 3 · failed 1 (last: bad-input)' });
    });

    it('sends a report without a form to the Catch node as bad-input, and an unknown form too', async () => {
      await loadFlow([chtConfig, recordWriter], flow(baseUrl, { type: 'chis-cht-record-writer' }), credentials);
      const missing = await send({ fields: { patient_id: '1' } });
      assert.equal(missing.ok, false);
      assert.equal(missing.msg.error.code, 'bad-input');
      assert.match(missing.msg.error.message, /msg\.payload\.form is required/);
      const unknown = await send({ form: 'NOPE', fields: {} });
      assert.equal(unknown.ok, false);
      assert.equal(unknown.msg.error.code, 'bad-input');
      assert.match(unknown.msg.error.message, /Form not found: NOPE/);
      assert.equal(unknown.msg.error.cause.status, 500);
    });
  });

  describe('chis-cht-contact-writer', () => {
    it('creates a person under the configured place', async () => {
      await loadFlow([chtConfig, contactWriter], flow(baseUrl, { type: 'chis-cht-contact-writer', kind: 'person', parent: seed.CLINIC_ID }), credentials);
      const result = outcome();
      helper.getNode('w').receive({ payload: { name: 'Jane Adhiambo', phone: '+254700000001', date_of_birth: '2001-02-03' }, correlationId: 'report-from-upstream' } as never);
      const { ok, msg } = await result;
      assert.equal(ok, true, JSON.stringify(msg.error));
      assert.equal(msg.correlationId, 'report-from-upstream', 'an upstream correlation id is kept');
      assert.deepEqual(msg.journal, [{ system: 'cht', resource: 'person', id: msg.payload.id, action: 'created', configId: 'cht' }]);
      const person = await client.getPerson(msg.payload.id, { withLineage: true });
      assert.equal(person.type, 'person');
      assert.equal(person.chis_origin, 'chis-node-red');
      assert.equal((person.parent as ChtDoc).name, 'Achieng Household');
      assert.equal(((person.parent as ChtDoc).parent as ChtDoc)._id, seed.HEALTH_CENTER_ID);
    });

    it('takes the parent place per message from JSONata, and the contact type from flow context', async () => {
      const writer = { type: 'chis-cht-contact-writer', kind: 'place', contactType: 'placeType', contactTypeType: 'flow', parent: '$lookup(route, payload.district)', parentType: 'jsonata' };
      await loadFlow([chtConfig, contactWriter], flow(baseUrl, writer), credentials);
      helper.getNode('w').context().flow.set('placeType', 'clinic');
      const result = outcome();
      helper.getNode('w').receive({ payload: { name: 'Wanjiru Household', district: 'nyalenda' }, route: { nyalenda: seed.HEALTH_CENTER_ID } } as never);
      const { ok, msg } = await result;
      assert.equal(ok, true, JSON.stringify(msg.error));
      const place = await client.getPlace(msg.payload.id);
      assert.equal(place.type, 'clinic');
      assert.equal((place.parent as ChtDoc)._id, seed.HEALTH_CENTER_ID);
    });

    it('creates a place with a new contact, journals both and rolls both back', async () => {
      await loadFlow([chtConfig, contactWriter], flow(baseUrl, { type: 'chis-cht-contact-writer', kind: 'place', contactType: 'clinic', parent: seed.HEALTH_CENTER_ID }), credentials);
      const { ok, msg } = await send({ name: 'Otieno Household', contact: { name: 'Paul Otieno', phone: '+254700000002' } });
      assert.equal(ok, true, JSON.stringify(msg.error));
      assert.deepEqual(msg.journal.map((entry: JournalEntry) => entry.resource), ['place', 'person']);
      const place = await client.getPlace(msg.payload.id);
      assert.equal(place.type, 'clinic');
      assert.equal((place.contact as ChtDoc)._id, msg.payload.contact.id);

      const reports = await undo(msg.journal);
      assert.deepEqual(reports.map((report) => report.outcome), ['undone', 'undone']);
      await assert.rejects(client.getDoc(msg.payload.id), /404/);
      await assert.rejects(client.getDoc(msg.payload.contact.id), /404/);
    });

    it('journals the new parents it created, and refuses a place the hierarchy does not allow', async () => {
      await loadFlow([chtConfig, contactWriter], flow(baseUrl, { type: 'chis-cht-contact-writer', kind: 'person' }), credentials);
      const created = await send({ name: 'Hannah', place: { name: 'CHP Area One', type: 'health_center', parent: { name: 'CHP Branch One', type: 'district_hospital' } } });
      assert.equal(created.ok, true, JSON.stringify(created.msg.error));
      assert.deepEqual(created.msg.journal.map((entry: JournalEntry) => entry.resource), ['place', 'place', 'person']);
      const person = await client.getPerson(created.msg.payload.id, { withLineage: true });
      assert.equal((person.parent as ChtDoc)._id, created.msg.journal[1].id);
      assert.equal(((person.parent as ChtDoc).parent as ChtDoc)._id, created.msg.journal[0].id);

      const wrong = await send({ name: 'Lost', place: { name: 'Orphan clinic', type: 'clinic', parent: seed.DISTRICT_HOSPITAL_ID } });
      assert.equal(wrong.ok, false);
      assert.equal(wrong.msg.error.code, 'validation');
      assert.match(wrong.msg.error.message, /should have one of the following parent types/);
      const nameless = await send({ phone: '+1' });
      assert.equal(nameless.msg.error.code, 'bad-input');
      assert.match(nameless.msg.error.message, /msg\.payload\.name is required/);
    });
  });

  it('serves the editor look-ups from the deployed server', async () => {
    await loadFlow([chtConfig, recordWriter], flow(baseUrl, { type: 'chis-cht-record-writer' }), credentials);
    const forms = (await helper.request().get('/chis/lookup/chis-cht-config/cht/forms').expect(200)).body;
    assert.ok(forms.some((form: { value: string }) => form.value === 'pregnancy'));
    const types = (await helper.request().get('/chis/lookup/chis-cht-config/cht/contactTypes?kind=place').expect(200)).body;
    assert.deepEqual(types.map((type: { value: string }) => type.value), ['district_hospital', 'health_center', 'clinic']);
    const places = (await helper.request().get('/chis/lookup/chis-cht-config/cht/places?q=household').expect(200)).body;
    assert.deepEqual(places.map((place: { value: string }) => place.value), [seed.CLINIC_ID]);
    const test = (await helper.request().get('/chis/lookup/chis-cht-config/cht/test').expect(200)).body;
    assert.match(test[0].label, new RegExp(`Connected to CHT ${seed.CHT_VERSION}`));
  });

  describe('chis-cht-doc-update', () => {
    it('survives a _rev conflict by re-reading, merging and retrying, and can be rolled back', async () => {
      await loadFlow([chtConfig, docUpdate], flow(baseUrl, { type: 'chis-cht-doc-update' }), credentials);
      // Hold our write back long enough for someone else to update the doc first.
      const docPath = `^/medic/${seed.PATIENT_PETER_ID}$`;
      await client.http.post('_sandbox/faults', { body: { path: docPath, method: 'PUT', latencyMs: 400, count: 1 } });
      const result = outcome();
      helper.getNode('w').receive({ payload: { _id: seed.PATIENT_PETER_ID, external_id: 'OMRS-42', phone: '+254722999999' } });
      for (let i = 0; i < 100; i += 1) {
        const faults = (await client.http.get<unknown[]>('_sandbox/faults')).data;
        if (faults.length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await client.updateDoc(seed.PATIENT_PETER_ID, { short_name: 'Pete' });
      const { ok, msg } = await result;
      assert.equal(ok, true, JSON.stringify(msg.error));
      assert.equal(msg.cht.attempts, 2);
      assert.equal(msg.correlationId, seed.PATIENT_PETER_ID);
      const stored = await client.getDoc(seed.PATIENT_PETER_ID);
      assert.equal(stored.short_name, 'Pete', 'the other writer\'s change is kept');
      assert.equal(stored.external_id, 'OMRS-42');
      assert.equal(stored.phone, '+254722999999');
      assert.equal(stored.chis_rev_gen, Number.parseInt(String(stored._rev), 10));
      const [entry] = msg.journal as JournalEntry[];
      assert.equal(entry.action, 'updated');
      assert.equal(entry.resource, 'person');
      assert.deepEqual((entry.before as { values: Record<string, unknown> }).values, { phone: seed.PATIENT_PETER_PHONE });

      const [report] = await undo(msg.journal);
      assert.equal(report.outcome, 'undone');
      const restored = await client.getDoc(seed.PATIENT_PETER_ID);
      assert.equal(restored.phone, seed.PATIENT_PETER_PHONE);
      assert.equal(restored.external_id, undefined);
      assert.equal(restored.chis_origin, undefined);
      assert.equal(restored.short_name, 'Pete');
    });

    it('reports an unknown document as not-found', async () => {
      await loadFlow([chtConfig, docUpdate], flow(baseUrl, { type: 'chis-cht-doc-update' }), credentials);
      const { ok, msg } = await send({ _id: 'no-such-doc', a: 1 });
      assert.equal(ok, false);
      assert.equal(msg.error.code, 'not-found');
    });
  });
});
