import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { HttpClient } from '../../nodes/core/http-client';
import { ChtClient, chtHttpOptions, type ChtDoc } from '../../nodes/cht/api';
import chtConfig from '../../nodes/cht/cht-config';
import changesSource from '../../nodes/cht/cht-changes-source';
import { create } from '../../sandbox/cht';
import * as seed from '../../sandbox/cht/seed';
import { CheckpointStore } from '../../nodes/core/checkpoint';
import receipt from '../../nodes/core/receipt';
import { currentUserDir, helper, initHelper, loadFlow, unloadFlow } from '../support/node-helper';

const credentials = { cht: { username: seed.USERNAME, password: seed.PASSWORD } };

function flow(baseUrl: string, source: Record<string, unknown> = {}): object[] {
  return [
    { id: 't', type: 'tab' },
    { id: 'cht', type: 'chis-cht-config', baseUrl, timeoutMs: 10_000 },
    { id: 'src', type: 'chis-cht-changes-source', z: 't', server: 'cht', types: 'person, data_record', forms: '', hydrate: true, startAt: 'now', batchSize: 100, ...source, wires: [['out']] },
    { id: 'out', type: 'helper', z: 't' },
  ];
}

/** Collects the messages of the helper node until `until` says enough. */
function collect(until: (messages: any[]) => boolean, timeoutMs = 12_000): Promise<any[]> {
  const messages: any[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${messages.length} messages: ${messages.map((m) => m.payload._id).join(', ')}`)), timeoutMs);
    helper.getNode('out').on('input', (msg: any) => {
      messages.push(msg);
      if (until(messages)) {
        clearTimeout(timer);
        resolve(messages);
      }
    });
  });
}

const following = async (): Promise<void> => {
  const node = helper.getNode('src');
  for (let i = 0; i < 100; i += 1) {
    if (/following/.test(node.status?.lastCall?.args?.[0]?.text ?? '')) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the source never started following');
};

const record = (client: ChtClient, patient: string) =>
  client.createRecord({ _meta: { form: 'REF', from: seed.CHW_PHONE }, patient_id: patient, notes: `note ${patient}` });

describe('chis-cht-changes-source node', function () {
  this.timeout(30_000);
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

  it('emits new people and reports of the chosen forms, with their lineage hydrated', async () => {
    await loadFlow([chtConfig, changesSource], flow(baseUrl, { forms: 'REF' }), credentials);
    await following();
    const done = collect((messages) => messages.some((msg) => msg.topic === 'data_record/REF'));
    await client.createRecord({ _meta: { form: 'YYYZ', from: seed.CHW_PHONE }, nurse: 'Sam' });
    const person = await client.createPerson({ name: 'Jane Adhiambo', type: 'person', place: seed.CLINIC_ID });
    const report = await record(client, seed.PATIENT_MARY_PATIENT_ID);
    const messages = await done;

    assert.equal(messages.some((msg) => msg.payload.form === 'YYYZ'), false, 'other forms are left out');
    const personMsg = messages.find((msg) => msg.payload._id === person.id);
    assert.equal(personMsg.topic, 'person');
    assert.equal(personMsg.correlationId, person.id, 'the doc id correlates what the flow does with it');
    assert.equal(personMsg.payload.parent.name, 'Achieng Household');
    assert.equal(personMsg.payload.parent.parent.name, 'Nyalenda Health Center');
    assert.equal(personMsg.payload.parent.parent.parent.name, 'Kisumu District Hospital');
    const reportMsg = messages.find((msg) => msg.payload._id === report.id);
    assert.equal(reportMsg.payload.contact.name, 'Grace Atieno');
    assert.equal(reportMsg.payload.contact.parent.name, 'Nyalenda Health Center');
    assert.ok(reportMsg.seq !== undefined);
    assert.match(helper.getNode('src').status.lastCall.args[0].text, /following · seq \d+/);
  });

  it('skips no change when the feed connection is refused and reconnects with backoff', async () => {
    await loadFlow([chtConfig, changesSource], flow(baseUrl, { types: 'data_record', batchSize: 1 }), credentials);
    await following();
    const ids: string[] = [];
    const done = collect((messages) => messages.length >= 3);
    ids.push((await record(client, 'A')).id);
    // The next feed request (after the first change) is cut off before it is answered.
    await client.http.post('_sandbox/faults', { body: { path: '^/medic/_changes', reset: true, count: 1 } });
    ids.push((await record(client, 'B')).id);
    ids.push((await record(client, 'C')).id);
    const messages = await done;
    assert.deepEqual(messages.map((msg) => msg.payload._id), ids);
    const texts = helper.getNode('src').status.getCalls().map((call: any) => call.args[0].text);
    assert.ok(texts.some((text: string) => /reconnecting in \d+s \(unreachable/.test(text)), texts.join(' | '));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(messages.length, 3, 'nothing is emitted twice');
  });

  it('skips no change when the connection drops halfway through an answer', async () => {
    // A proxy that cuts the first feed answer carrying changes after half its body.
    let cut = 0;
    const proxy = http.createServer((req, res) => {
      const upstream = http.request(`${baseUrl}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          const headers = { ...answer.headers, 'content-length': String(body.length) };
          delete headers['transfer-encoding'];
          res.writeHead(answer.statusCode ?? 502, headers);
          if (req.url?.startsWith('/medic/_changes') && body.includes('"results":[{') && cut === 0) {
            cut += 1;
            res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
            return;
          }
          res.end(body);
        });
      });
      upstream.on('error', () => res.destroy());
      // The feed's longpoll is aborted when the flow stops: stop asking upstream too.
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
      await loadFlow([chtConfig, changesSource], flow(proxyUrl, { types: 'data_record', batchSize: 2 }), credentials);
      await following();
      const done = collect((messages) => messages.length >= 3);
      const ids = [(await record(client, 'A')).id, (await record(client, 'B')).id, (await record(client, 'C')).id];
      const messages = await done;
      assert.equal(cut, 1);
      assert.deepEqual(messages.map((msg) => msg.payload._id), ids);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(messages.length, 3);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it('resumes from its checkpoint after a restart, without skipping or repeating', async () => {
    initHelper();
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-cht-restart-'));
    const start = async (): Promise<void> => {
      helper.settings({ userDir });
      await helper.load([chtConfig, changesSource], flow(baseUrl, { types: 'data_record' }), credentials);
      await following();
    };
    try {
      await start();
      let first = collect((messages) => messages.length >= 1);
      const a = await record(client, 'A');
      assert.deepEqual((await first).map((msg) => msg.payload._id), [a.id]);
      await helper.unload();

      // Written while the flow is stopped.
      const b = await record(client, 'B');
      const c = await record(client, 'C');
      await start();
      first = collect((messages) => messages.length >= 3);
      const d = await record(client, 'D');
      const messages = await first;
      assert.deepEqual(messages.map((msg) => msg.payload._id), [b.id, c.id, d.id]);
      assert.deepEqual(messages.map((msg) => (msg.payload as ChtDoc).fields && (msg.payload.fields as { patient_id: string }).patient_id), ['B', 'C', 'D']);
      await helper.unload();
    } finally {
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });

  it('leaves out the documents CHIS writers marked as their own', async () => {
    await loadFlow([chtConfig, changesSource], flow(baseUrl, { types: 'data_record' }), credentials);
    await following();
    const done = collect((messages) => messages.length >= 1);
    await client.createRecord({ _meta: { form: 'REF', from: seed.CHW_PHONE, chis_origin: 'chis-node-red' }, patient_id: 'OWN', chis_origin: 'chis-node-red' });
    const theirs = await record(client, 'THEIRS');
    const messages = await done;
    assert.deepEqual(messages.map((msg) => msg.payload._id), [theirs.id]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.match(helper.getNode('src').status.lastCall.args[0].text, /skipped \d+/);
  });

  describe('move checkpoint after confirmation', () => {
    const seqNumber = (seq: unknown): number => Number(String(seq).split('-')[0]);
    const savedSeq = () => CheckpointStore.inUserDir(currentUserDir()).load<string | number>('cht-changes-src-data_record-REF');
    const confirming = (outcome: 'accept' | 'reject') => [
      ...flow(baseUrl, { types: 'data_record', forms: 'REF', checkpointAfter: 'confirm', confirmTimeout: 5 }).map((node: any) => (node.id === 'src' ? { ...node, wires: [['out', 'confirm']] } : node)),
      { id: 'confirm', type: 'chis-receipt', z: 't', outcome, wires: [] },
    ];

    it('moves since past a change once the flow confirmed it', async () => {
      await loadFlow([chtConfig, changesSource, receipt], confirming('accept'), credentials);
      await following();
      const done = collect((messages) => messages.length === 1);
      const report = await record(client, seed.PATIENT_MARY_PATIENT_ID);
      const [msg] = await done;
      assert.equal(msg.payload._id, report.id);
      assert.equal(typeof msg._receipt, 'string');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(seqNumber(savedSeq()) >= seqNumber(msg.seq), `saved ${String(savedSeq())}, change ${String(msg.seq)}`);
    });

    it('keeps since before a refused change and sends it again after reconnecting', async () => {
      await loadFlow([chtConfig, changesSource, receipt], confirming('reject'), credentials);
      await following();
      const before = savedSeq();
      const done = collect((messages) => messages.length === 2);
      const report = await record(client, seed.PATIENT_MARY_PATIENT_ID);
      const messages = await done;
      assert.deepEqual(messages.map((msg) => msg.payload._id), [report.id, report.id], 'the refused change comes again');
      assert.ok(seqNumber(savedSeq()) < seqNumber(messages[0].seq), `saved ${String(savedSeq())} (was ${String(before)}), change ${String(messages[0].seq)}`);
      const texts = helper.getNode('src').status.getCalls().map((call: any) => call.args[0].text);
      assert.ok(texts.some((text: string) => /reconnecting in \d+s \(remote-error, 1 failed\)/.test(text)), JSON.stringify(texts));
    });
  });
});
