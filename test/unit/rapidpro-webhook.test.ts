import assert from 'node:assert/strict';
import { readWebhookPayload, webhookPayloadId } from '../../nodes/rapidpro/api/webhook';
import { requireSamples, sampleJson } from '../support/samples';

const defaultBody = {
  contact: { uuid: 'f1e7c5b6-8a9d-4cae-9f20-4b5c6d7e8f95', name: 'Claudine Mukamana', urn: 'tel:+250788200001' },
  flow: { uuid: 'd9c5a3f4-6e7b-4a8c-9d0e-2f3a4b5c6d73', name: 'Pregnancy reminders' },
  results: { anc_visit: { value: 'yes', category: 'Yes' }, danger_signs: { value: 'none', category: 'None' } },
};

describe('rapidpro webhook payloads', () => {
  it('reads the flow editor default body', () => {
    const reading = readWebhookPayload(defaultBody);
    assert.ok(reading.ok);
    assert.deepEqual(reading.payload, { ...defaultBody, shape: 'default' });
  });

  it('reads the legacy resthook body (goflow sample) into the same shape', function () {
    requireSamples(this);
    const sample = sampleJson('rapidpro/resthook-webhook-payload.json');
    const reading = readWebhookPayload(sample);
    assert.ok(reading.ok);
    const payload = reading.payload;
    assert.equal(payload.shape, 'resthook');
    assert.deepEqual(payload.contact, { uuid: sample.contact.uuid, name: sample.contact.name, urn: sample.contact.urn });
    assert.deepEqual(payload.flow, { uuid: sample.flow.uuid, name: sample.flow.name });
    assert.deepEqual(payload.results.favorite_color, { value: 'red', category: 'Red', name: 'Favorite Color' });
    assert.deepEqual(Object.keys(payload.results).sort(), Object.keys(sample.results).sort());
    assert.deepEqual(payload.run, { uuid: sample.run.uuid, created_on: sample.run.created_on });
    assert.equal(payload.input?.text, 'Hi there');
    assert.deepEqual(payload.channel, sample.channel);
    assert.equal(webhookPayloadId(payload), `run:${sample.run.uuid}`);
  });

  it('says what is missing from bodies a flow would not send', () => {
    const noContact = readWebhookPayload({ flow: defaultBody.flow, results: {} });
    assert.ok(!noContact.ok && /contact\.uuid/.test(noContact.error));
    const noFlow = readWebhookPayload({ contact: defaultBody.contact });
    assert.ok(!noFlow.ok && /flow\.uuid/.test(noFlow.error));
    const badResults = readWebhookPayload({ ...defaultBody, results: ['yes'] });
    assert.ok(!badResults.ok && /results/.test(badResults.error));
    assert.ok(!readWebhookPayload('contact=1').ok);
  });

  it('keeps bare result values and an added run and urns from custom bodies', () => {
    const reading = readWebhookPayload({
      ...defaultBody,
      contact: { ...defaultBody.contact, urns: ['tel:+250788200001', 'whatsapp:250788200001'] },
      results: { weight: 3.2 },
      run: { uuid: '0a1b2c3d-0000-4000-8000-000000000001' },
    });
    assert.ok(reading.ok);
    assert.deepEqual(reading.payload.results.weight, { value: '3.2', category: null });
    assert.deepEqual(reading.payload.contact.urns, ['tel:+250788200001', 'whatsapp:250788200001']);
    assert.equal(webhookPayloadId(reading.payload), 'run:0a1b2c3d-0000-4000-8000-000000000001');
  });

  it('identifies default bodies by a hash of contact, flow and results, whatever the key order', () => {
    const first = readWebhookPayload(defaultBody);
    const reordered = readWebhookPayload({
      results: { danger_signs: { category: 'None', value: 'none' }, anc_visit: { category: 'Yes', value: 'yes' } },
      flow: defaultBody.flow,
      contact: defaultBody.contact,
    });
    const changed = readWebhookPayload({ ...defaultBody, results: { ...defaultBody.results, anc_visit: { value: 'no', category: 'No' } } });
    assert.ok(first.ok && reordered.ok && changed.ok);
    assert.match(webhookPayloadId(first.payload), /^hash:[0-9a-f]{64}$/);
    assert.equal(webhookPayloadId(first.payload), webhookPayloadId(reordered.payload));
    assert.notEqual(webhookPayloadId(first.payload), webhookPayloadId(changed.payload));
  });
});
