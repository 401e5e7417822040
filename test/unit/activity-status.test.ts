import assert from 'node:assert/strict';
import type { NodeStatus } from 'node-red';
import { ActivityStatus } from '../../nodes/core/node-kit';

function fakeNode(): { shown: NodeStatus[]; status(status: NodeStatus): void } {
  const shown: NodeStatus[] = [];
  return { shown, status: (status) => shown.push(status) };
}

describe('ActivityStatus', () => {
  it('says "ready" from the deploy on, before any message', () => {
    const node = fakeNode();
    new ActivityStatus(node);
    assert.deepEqual(node.shown, [{ fill: 'green', shape: 'dot', text: 'ready' }]);
  });

  it('lets a settings problem shown right after the start stand', () => {
    const node = fakeNode();
    const status = new ActivityStatus(node);
    status.show({ fill: 'red', shape: 'ring', text: 'invalid mapping' });
    assert.equal(node.shown.at(-1)?.text, 'invalid mapping');
  });

  it('counts what was sent and the last failure, at most a few updates a second', async () => {
    const node = fakeNode();
    const status = new ActivityStatus(node, 'imported');
    status.begin();
    status.succeed(3);
    status.begin();
    status.fail(Object.assign(new Error('down'), { code: 'unreachable' }));
    assert.deepEqual(node.shown.map((shown) => shown.text), ['ready', 'sending'], 'the first message shows at once; the updates within 250 ms of it wait');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(node.shown.at(-1), { fill: 'red', shape: 'ring', text: 'imported 3 · failed 1 (last: unreachable)' });
  });
});
