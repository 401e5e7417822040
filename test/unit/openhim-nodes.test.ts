import assert from 'node:assert/strict';
import { mediatorAnswer, type ResponseMsg } from '../../nodes/openhim/openhim-response';
import { receiverPath } from '../../nodes/openhim/openhim-mediator-in';

describe('openhim node logic', () => {
  const auto = { status: 'auto' as const, includeOrchestrations: true };

  it('answers with the flow status, msg.openhim.status or an explicit status', () => {
    const msg: ResponseMsg = { _msgid: '1', payload: { ok: true }, statusCode: 201, openhim: { urn: 'urn:x' }, properties: { n: 2 } };
    const answer = mediatorAnswer(msg, auto);
    assert.equal(answer['x-mediator-urn'], 'urn:x');
    assert.equal(answer.status, 'Successful');
    assert.equal(answer.response.status, 201);
    assert.deepEqual(answer.properties, { n: '2' });
    assert.equal(mediatorAnswer({ ...msg, openhim: { urn: 'urn:x', status: 'Completed with error(s)' } }, auto).status, 'Completed with error(s)');
    assert.equal(mediatorAnswer({ ...msg, openhim: { urn: 'urn:x', status: 'bogus' } }, auto).status, 'Successful');
    assert.equal(mediatorAnswer(msg, { status: 'Processing', includeOrchestrations: true }).status, 'Processing');
    assert.equal(mediatorAnswer({ ...msg, statusCode: 'abc' }, auto).response.status, 200);
  });

  it('answers Failed after a Catch with the summary, and leaves orchestrations out when asked', () => {
    const msg: ResponseMsg = {
      _msgid: '1', openhim: { urn: 'urn:x' }, error: { message: 'Error: dhis2 GET /api/me failed: HTTP 401', code: 'auth' },
      orchestrations: [{ name: 'me', request: { method: 'GET', path: '/api/me' } }],
    };
    const failed = mediatorAnswer(msg, auto);
    assert.equal(failed.status, 'Failed');
    assert.deepEqual(JSON.parse(failed.response.body), { error: 'dhis2 GET /api/me failed: HTTP 401', code: 'auth' });
    assert.equal(failed.orchestrations.length, 1);
    assert.deepEqual(mediatorAnswer(msg, { ...auto, includeOrchestrations: false }).orchestrations, []);
  });

  it('listens on the endpoint URL path relative to httpNodeRoot', () => {
    assert.equal(receiverPath('http://nodered:1880/openhim/dhis2-sync', '/'), '/openhim/dhis2-sync');
    assert.equal(receiverPath('http://nodered:1880/api/openhim/dhis2-sync', '/api/'), '/openhim/dhis2-sync');
    assert.equal(receiverPath('http://nodered:1880/openhim/x', '/api'), '/openhim/x');
    assert.equal(receiverPath('not a url', '/'), '/');
  });
});
