import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { NodeAPI } from 'node-red';
import { prepareReceivers, registerReceiver } from '../../nodes/core/receiver';

type Middleware = (req: { method: string; url: string; headers: Record<string, string> }, res: FakeResponse, next: () => void) => void;

class FakeResponse {
  status = 0;
  headers: Record<string, unknown> = {};
  body = '';
  headersSent = false;
  writeHead(status: number, headers: Record<string, unknown>): void {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
  }
  end(body: string): void {
    this.body = body;
  }
}

function fakeRuntime(): { RED: NodeAPI; events: EventEmitter; request(method: string, url: string): { res: FakeResponse; passedOn: boolean } } {
  const middlewares: Middleware[] = [];
  const events = new EventEmitter();
  const RED = { httpNode: { use: (middleware: Middleware) => middlewares.push(middleware) }, events } as unknown as NodeAPI;
  return {
    RED,
    events,
    request(method, url) {
      const res = new FakeResponse();
      let passedOn = false;
      middlewares[0]({ method, url, headers: {} }, res, () => {
        passedOn = true;
      });
      return { res, passedOn };
    },
  };
}

describe('receivers while the flows start', () => {
  it('answers a POST to a path no receiver serves yet with 503 and Retry-After until the flows have started', () => {
    const runtime = fakeRuntime();
    prepareReceivers(runtime.RED);
    const early = runtime.request('POST', '/commcare/forms');
    assert.equal(early.passedOn, false);
    assert.equal(early.res.status, 503);
    assert.equal(early.res.headers['Retry-After'], '5');
    assert.match(early.res.body, /starting/);
    assert.equal(runtime.request('GET', '/some/page').passedOn, true, 'other methods are left to Node-RED');

    runtime.events.emit('flows:started', { type: 'full' });
    assert.equal(runtime.request('POST', '/commcare/forms').passedOn, true, 'after start an unknown path is a normal 404');

    runtime.events.emit('flows:stopped', { type: 'nodes' });
    assert.equal(runtime.request('POST', '/commcare/forms').passedOn, true, 'a partial redeploy keeps the other receivers up');
    runtime.events.emit('flows:stopped', { type: 'full' });
    assert.equal(runtime.request('POST', '/commcare/forms').res.status, 503, 'a full redeploy restarts every receiver');
  });

  it('serves a registered receiver even before the flows have started', () => {
    const runtime = fakeRuntime();
    prepareReceivers(runtime.RED);
    let handled = false;
    registerReceiver(runtime.RED, {
      method: 'post',
      path: '/ready',
      formats: ['json'],
      auth: { settings: { mode: 'none' }, secrets: {} },
      handle: async () => {
        handled = true;
        return { status: 200 };
      },
    });
    const answer = runtime.request('GET', '/ready');
    assert.equal(answer.passedOn, true);
    assert.equal(handled, false);
    const served = runtime.request('POST', '/ready');
    assert.equal(served.passedOn, false, 'the receiver, not the start-up guard, takes it');
    assert.notEqual(served.res.status, 503);
  });
});
