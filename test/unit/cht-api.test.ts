import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IntegrationError } from '../../nodes/core/errors';
import { HttpClient } from '../../nodes/core/http-client';
import {
  ChtClient, PayloadVersions, beforeOf, canonicalJson, chtHttpOptions, classifyChtError, classifyDelivery, findDocId, followChanges, hydrateDoc,
  idsToHydrate, isOwnWrite, mergeChanges, newParentIds, parseIdProperties, payloadHash, processPage, recordBody, restoreBefore, summarizeChtError,
  updateDoc, wanted, type ChangeRow, type ChtDoc, type FollowerState, type Seq,
} from '../../nodes/cht/api';
import { create } from '../../sandbox/cht';
import * as seed from '../../sandbox/cht/seed';
import { requireSamples, sampleJson } from '../support/samples';

const conflict = (): IntegrationError => new IntegrationError('cht PUT failed: HTTP 409: conflict: Document update conflict.', { code: 'conflict', status: 409, system: 'cht' });

describe('cht api: error summaries and classification', () => {
  it('summarises CHT API, CouchDB and text bodies in one line', () => {
    assert.equal(summarizeChtError(500, { code: 500, error: 'Server error', details: 'Missing required field: form' }), 'Server error: Missing required field: form');
    assert.equal(summarizeChtError(409, { error: 'conflict', reason: 'Document update conflict.' }), 'conflict: Document update conflict.');
    assert.equal(summarizeChtError(404, { error: 'not_found', reason: 'missing' }), 'not_found: missing');
    assert.equal(summarizeChtError(400, { code: 400, error: 'Person is missing a "name" property.' }), 'Person is missing a "name" property.');
    assert.equal(summarizeChtError(500, 'Server error: "Missing required value: from"'), 'Server error: "Missing required value: from"');
  });

  it('turns the 500s CHT gives for known bad input into non-retryable bad-input', () => {
    const serverError = (details: unknown) => new IntegrationError('HTTP 500', {
      code: 'remote-error', status: 500, system: 'cht', remote: { summary: `Server error: ${String(details)}`, details: { code: 500, error: 'Server error', details } },
    });
    for (const details of ['Missing required field: form', 'Missing _meta property.', 'Form not found: XYZ', 'Missing required value: from', 'Content type not supported.']) {
      const classified = classifyChtError(serverError(details)) as IntegrationError;
      assert.equal(classified.code, 'bad-input', details);
      assert.equal(classified.retryable, false);
      assert.equal(classified.status, 500);
    }
    const outage = serverError('connect ECONNREFUSED couchdb:5984');
    assert.equal(classifyChtError(outage), outage);
    const textBody = new IntegrationError('HTTP 500', { code: 'remote-error', status: 500, remote: { summary: 'Server error: "Form not found: A"', details: 'Server error: "Form not found: A"' } });
    assert.equal((classifyChtError(textBody) as IntegrationError).code, 'bad-input');
    assert.equal((classifyChtError(conflict()) as IntegrationError).code, 'conflict');
  });

  describe('against the CHT sandbox', () => {
    let app: ReturnType<typeof create>;
    let client: ChtClient;
    before(async () => {
      app = create();
      const port = await app.listen(0);
      client = new ChtClient(new HttpClient(chtHttpOptions({ baseUrl: `http://127.0.0.1:${port}`, system: 'cht' }, { username: seed.USERNAME, password: seed.PASSWORD })));
    });
    after(async () => {
      client.http.close();
      await app.close();
    });

    it('reports a record without a form as validation (400) and an unknown form as bad-input', async () => {
      await assert.rejects(client.createRecord({ _meta: {} }), (error: IntegrationError) => error.code === 'validation' && error.status === 400 && /Missing required field: form/.test(error.message));
      await assert.rejects(client.createRecord({ _meta: { form: 'NOPE' } }), (error: IntegrationError) => error.code === 'bad-input' && !error.retryable && /Form not found: NOPE/.test(error.message));
    });

    it('sends the docs\' JSON record example as it is and reads the report back', async function () {
      requireSamples(this);
      const created = await client.createRecord(sampleJson('cht/records-v2-create-request.json'));
      assert.equal(created.success, true);
      const report = await client.getReport(created.id);
      assert.equal(report.form, 'YYYZ');
      assert.equal((report.fields as Record<string, unknown>).nurse, 'Sam');
    });

    it('answers contacts-by-phone with the hydrated contact, and an unknown number with none', async () => {
      const [chw] = await client.contactsByPhone(seed.CHW_PHONE);
      assert.equal(chw._id, seed.CHW_ID);
      assert.equal((chw.parent as ChtDoc).name, 'Nyalenda Health Center');
      assert.deepEqual(await client.contactsByPhone('+10000000000'), []);
    });

    it('deletes the latest revision of a created person (after sentinel moved it on) and says when it is gone', async () => {
      const person = await client.createPerson({ name: 'Temp', type: 'person', place: seed.CLINIC_ID });
      assert.equal(await client.deleteDoc(person.id), true);
      await assert.rejects(client.getDoc(person.id), (error: IntegrationError) => error.code === 'not-found');
      assert.equal(await client.deleteDoc(person.id), false);
    });
  });
});

describe('cht api: updates with _rev conflicts', () => {
  it('merges the changed fields onto the latest revision, keeping everyone else\'s', () => {
    const latest: ChtDoc = { _id: 'd', _rev: '3-c', type: 'person', name: 'Mary', phone: '1', nested: { a: 1 } };
    assert.deepEqual(mergeChanges(latest, { phone: '2', _rev: '1-old', _id: 'other', nested: { b: 2 } }), { _id: 'd', _rev: '3-c', type: 'person', name: 'Mary', phone: '2', nested: { b: 2 } });
    const before = beforeOf(latest, { phone: '2', external_id: 'X' });
    assert.deepEqual(before, { values: { phone: '1' }, absent: ['external_id'] });
    assert.deepEqual(restoreBefore({ ...latest, _rev: '5-e', phone: '2', external_id: 'X', other: 'kept' }, before), { _id: 'd', _rev: '5-e', type: 'person', name: 'Mary', phone: '1', nested: { a: 1 }, other: 'kept' });
  });

  it('re-reads, merges again and retries when the write conflicts', async () => {
    const stored: ChtDoc = { _id: 'd', _rev: '1-a', name: 'Mary', phone: '1' };
    let writes = 0;
    const access = {
      read: async () => ({ ...stored }),
      write: async (doc: ChtDoc) => {
        writes += 1;
        if (writes === 1) {
          // Someone else writes between our read and our write.
          Object.assign(stored, { _rev: '2-b', sex: 'female' });
          throw conflict();
        }
        assert.equal(doc._rev, stored._rev);
        Object.assign(stored, doc, { _rev: '3-c' });
        return { ok: true, id: 'd', rev: '3-c' };
      },
    };
    const outcome = await updateDoc(access, 'd', { phone: '2' });
    assert.equal(outcome.attempts, 2);
    assert.equal(outcome.rev, '3-c');
    assert.deepEqual(stored, { _id: 'd', _rev: '3-c', name: 'Mary', phone: '2', sex: 'female' });
    assert.deepEqual(outcome.before, { values: { phone: '1' }, absent: [] });
  });

  it('gives up as a retryable conflict after the allowed attempts, and passes other errors through', async () => {
    let reads = 0;
    const busy = { read: async () => { reads += 1; return { _id: 'd', _rev: `${reads}-x` }; }, write: async () => { throw conflict(); } };
    await assert.rejects(updateDoc(busy, 'd', { a: 1 }, 3), (error: IntegrationError) => error.code === 'conflict' && error.retryable && /3 writes/.test(error.message));
    assert.equal(reads, 3);
    const missing = { read: async () => { throw new IntegrationError('404', { code: 'not-found', status: 404 }); }, write: async () => ({ id: 'd', rev: '1' }) };
    await assert.rejects(updateDoc(missing, 'd', { a: 1 }), (error: IntegrationError) => error.code === 'not-found');
  });
});

describe('cht api: loop marker', () => {
  it('recognises marked reports and contacts, and an update only at the revision it wrote', () => {
    assert.equal(isOwnWrite({ _id: 'r', type: 'data_record', fields: { chis_origin: 'chis-node-red' } }), true);
    assert.equal(isOwnWrite({ _id: 'r', type: 'data_record', sms_message: { form: 'REF', chis_origin: 'chis-node-red' } }), true);
    assert.equal(isOwnWrite({ _id: 'p', _rev: '2-a', type: 'person', chis_origin: 'chis-node-red' }), true);
    assert.equal(isOwnWrite({ _id: 'p', _rev: '4-a', type: 'person', chis_origin: 'chis-node-red', chis_rev_gen: 4 }), true);
    assert.equal(isOwnWrite({ _id: 'p', _rev: '5-a', type: 'person', chis_origin: 'chis-node-red', chis_rev_gen: 4 }), false);
    assert.equal(isOwnWrite({ _id: 'p', type: 'person' }), false);
  });

  it('puts the fields at top level and the marker both there and in _meta', () => {
    assert.deepEqual(recordBody({ form: 'REF', from: '+1', reported_date: 5, fields: { patient_id: '1' } }), {
      patient_id: '1', chis_origin: 'chis-node-red', _meta: { form: 'REF', from: '+1', reported_date: 5, chis_origin: 'chis-node-red' },
    });
    assert.deepEqual(recordBody({ form: 'REF' }, false), { _meta: { form: 'REF' } });
  });

  it('finds the ids of parents created with a contact at the same depth of its lineage', () => {
    assert.deepEqual(newParentIds({ name: 'A', parent: { name: 'B' } }, { _id: 'a', parent: { _id: 'b' } }), ['a', 'b']);
    assert.deepEqual(newParentIds({ name: 'A', parent: 'existing' }, { _id: 'a', parent: { _id: 'existing' } }), ['a']);
    assert.deepEqual(newParentIds('existing', { _id: 'existing' }), []);
  });
});

describe('cht api: changes feed', () => {
  const row = (seq: number, doc: Partial<ChtDoc> & { _id: string }): ChangeRow => ({ seq, id: doc._id, doc: doc as ChtDoc });

  it('filters by type (type or contact_type) and form, leaving out design docs, deletions and own writes', () => {
    const filter = { types: ['data_record', 'patient'], forms: ['pregnancy'], ignoreOwnWrites: true };
    assert.equal(wanted(row(1, { _id: 'r1', type: 'data_record', form: 'pregnancy' }), filter), true);
    assert.equal(wanted(row(1, { _id: 'r2', type: 'data_record', form: 'delivery' }), filter), false);
    assert.equal(wanted(row(1, { _id: 'c1', type: 'contact', contact_type: 'patient' }), filter), true);
    assert.equal(wanted(row(1, { _id: 'c2', type: 'clinic' }), filter), false);
    assert.equal(wanted(row(1, { _id: '_design/x' }), {}), false);
    assert.equal(wanted({ seq: 1, id: 'gone', deleted: true, doc: { _id: 'gone', _deleted: true } }, {}), false);
    assert.equal(wanted(row(1, { _id: 'r3', type: 'data_record', form: 'pregnancy', fields: { chis_origin: 'chis-node-red' } }), filter), false);
  });

  it('moves the checkpoint past each emitted change and then past the answer', async () => {
    const saved: Seq[] = [];
    const emitted: string[] = [];
    const rows = [row(4, { _id: 'a', type: 'person' }), row(5, { _id: 'b', type: 'clinic' }), row(6, { _id: 'c', type: 'person' }), row(7, { _id: 'd', type: 'clinic' })];
    const next = await processPage(rows, 8, {
      client: { getDocs: async () => new Map() } as never,
      checkpoint: { load: () => undefined, save: (seq) => saved.push(seq) },
      filter: { types: ['person'] },
      emit: (change) => {
        // The checkpoint of a change is written only after it was handed on.
        assert.equal(saved.includes(change.seq), false);
        emitted.push(change.id);
      },
      signal: new AbortController().signal,
    });
    assert.deepEqual(emitted, ['a', 'c']);
    assert.deepEqual(saved, [4, 6, 8]);
    assert.equal(next, 8);
  });

  it('emits nothing and keeps the checkpoint when hydration fails', async () => {
    const saved: Seq[] = [];
    await assert.rejects(processPage([row(4, { _id: 'a', type: 'person', parent: { _id: 'p' } })], 4, {
      client: { getDocs: async () => { throw new Error('down'); } } as never,
      checkpoint: { load: () => undefined, save: (seq) => saved.push(seq) },
      hydrate: true,
      emit: () => assert.fail('emitted'),
      signal: new AbortController().signal,
    }), /down/);
    assert.deepEqual(saved, []);
  });

  it('reconnects with backoff after a dropped request and resumes from the last emitted change', async () => {
    const feed = [row(1, { _id: 'a', type: 'person' }), row(2, { _id: 'b', type: 'person' }), row(3, { _id: 'c', type: 'person' })];
    const controller = new AbortController();
    let checkpoint: Seq | undefined;
    let calls = 0;
    const emitted: string[] = [];
    const states: FollowerState[] = [];
    const sinces: Seq[] = [];
    await followChanges({
      client: {
        currentSeq: async () => 0,
        getDocs: async () => new Map(),
        changes: async ({ since, limit }) => {
          calls += 1;
          sinces.push(since);
          if (calls === 2) throw new IntegrationError('socket hang up', { code: 'unreachable' });
          const results = feed.filter((change) => Number(change.seq) > Number(since)).slice(0, limit);
          if (results.length === 0) controller.abort();
          return { results, last_seq: results.length ? results[results.length - 1].seq : since };
        },
      },
      checkpoint: { load: () => checkpoint, save: (seq) => { checkpoint = seq; } },
      startAt: 'beginning',
      batchSize: 1,
      emit: (change) => emitted.push(change.id),
      onState: (state) => states.push(state),
      signal: controller.signal,
      sleep: async () => undefined,
    });
    assert.deepEqual(emitted, ['a', 'b', 'c']);
    assert.deepEqual(sinces, [0, 1, 1, 2, 3]);
    assert.equal(checkpoint, 3);
    const reconnect = states.find((state) => state.kind === 'reconnecting');
    assert.ok(reconnect && reconnect.kind === 'reconnecting' && reconnect.delayMs > 0);
  });

  it('starts "from now" at the current sequence and saves it at once', async () => {
    let checkpoint: Seq | undefined;
    const controller = new AbortController();
    await followChanges({
      client: { currentSeq: async () => '42-abc', getDocs: async () => new Map(), changes: async ({ since }) => { controller.abort(); return { results: [], last_seq: since }; } },
      checkpoint: { load: () => checkpoint, save: (seq) => { checkpoint = seq; } },
      startAt: 'now',
      emit: () => undefined,
      signal: controller.signal,
    });
    assert.equal(checkpoint, '42-abc');
  });

  it('hydrates parent and contact lineages from one bulk read', () => {
    const report: ChtDoc = { _id: 'r', type: 'data_record', contact: { _id: 'chw', parent: { _id: 'hc', parent: { _id: 'dh' } } } };
    const person: ChtDoc = { _id: 'p', type: 'person', parent: { _id: 'hc', parent: { _id: 'dh' } } };
    assert.deepEqual(idsToHydrate([report, person]).sort(), ['chw', 'dh', 'hc']);
    const docs = new Map<string, ChtDoc>([
      ['chw', { _id: 'chw', name: 'Grace', parent: { _id: 'hc', parent: { _id: 'dh' } } }],
      ['hc', { _id: 'hc', name: 'HC', parent: { _id: 'dh' } }],
    ]);
    const hydrated = hydrateDoc(report, docs);
    assert.deepEqual(hydrated.contact, { _id: 'chw', name: 'Grace', parent: { _id: 'hc', name: 'HC', parent: { _id: 'dh' } } });
    assert.equal((hydrateDoc(person, docs).parent as ChtDoc).name, 'HC');
  });
});

describe('cht api: outbound payloads', () => {
  it('hashes payloads independently of key order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 1 }], c: null } }), '{"a":{"c":null,"d":[1,{"e":1,"f":2}]},"b":1}');
    assert.equal(payloadHash({ a: 1, b: 2 }), payloadHash({ b: 2, a: 1 }));
    assert.notEqual(payloadHash({ a: 1 }), payloadHash({ a: 2 }));
    assert.match(payloadHash({}), /^[0-9a-f]{64}$/);
  });

  it('finds the doc id by configured properties, first found wins', function () {
    assert.deepEqual(parseIdProperties(''), ['id', '_id']);
    assert.equal(findDocId({ _id: 'x' }, parseIdProperties(undefined)), 'x');
    assert.equal(findDocId({ identifier: { value: 'y' } }, ['id', 'identifier.value']), 'y');
    assert.equal(findDocId({ name: 'n' }, ['id']), undefined);
  });

  it('treats an identical re-send as a duplicate, a changed payload (even back to an old one) as an update', () => {
    const versions = new Map<string, { version: number; hash: string }>();
    const accept = (payload: unknown) => {
      const delivery = classifyDelivery(payload, 'doc1', versions);
      versions.set('doc1', { version: delivery.version as number, hash: delivery.payloadHash });
      return delivery;
    };
    const first = accept({ a: 1 });
    assert.equal(first.resend, false);
    const same = classifyDelivery({ a: 1 }, 'doc1', versions);
    assert.equal(same.dedupeId, first.dedupeId);
    const changed = accept({ a: 2 });
    assert.equal(changed.resend, true);
    assert.notEqual(changed.dedupeId, first.dedupeId);
    const back = classifyDelivery({ a: 1 }, 'doc1', versions);
    assert.notEqual(back.dedupeId, first.dedupeId);
    assert.equal(back.resend, true);
    assert.equal(classifyDelivery({ a: 1 }, undefined, versions).dedupeId, `#${payloadHash({ a: 1 })}`);
  });

  it('remembers the last accepted payload per doc across restarts', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cht-versions-'));
    try {
      const file = path.join(dir, 'v.versions');
      const versions = new PayloadVersions(file);
      versions.set('a', { version: 1, hash: 'h1' });
      versions.set('a', { version: 2, hash: 'h2' });
      versions.set('b', { version: 1, hash: 'h3' });
      fs.appendFileSync(file, '["c",1,"h');
      const reloaded = new PayloadVersions(file);
      assert.deepEqual(reloaded.get('a'), { version: 2, hash: 'h2' });
      assert.deepEqual(reloaded.get('b'), { version: 1, hash: 'h3' });
      assert.equal(reloaded.get('c'), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
