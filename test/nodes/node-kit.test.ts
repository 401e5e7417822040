import assert from 'node:assert/strict';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { handleInput } from '../../nodes/core/node-kit';
import { currentCorrelationId } from '../../nodes/core/request-context';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

interface ProbeDef extends NodeDef {
  remoteCalls?: boolean;
}

/** Reports the correlation id in scope; on `msg.hang` it waits for its signal, as a remote call would. */
const aborted: string[] = [];
function probe(RED: NodeAPI): void {
  function Probe(this: Node, def: ProbeDef): void {
    RED.nodes.createNode(this, def);
    handleInput(this, async (msg: NodeMessage & { hang?: boolean; seenCorrelationId?: string }, send, context) => {
      if (msg.hang) {
        const { signal } = context;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => {
          aborted.push(String((signal.reason as Error).message));
          resolve();
        }));
        return;
      }
      msg.seenCorrelationId = currentCorrelationId();
      send(msg);
    }, { remoteCalls: def.remoteCalls });
  }
  RED.nodes.registerType('test-kit-probe', Probe);
}

const flow = (remoteCalls?: boolean): object[] => [
  { id: 't', type: 'tab' },
  { id: 'p', type: 'test-kit-probe', z: 't', remoteCalls, wires: [['out']] },
  { id: 'out', type: 'helper', z: 't' },
];

function roundTrip(msg: Record<string, unknown>): Promise<any> {
  return new Promise((resolve) => {
    helper.getNode('out').once('input', resolve);
    helper.getNode('p').receive(msg);
  });
}

describe('node kit (nodes/core/node-kit handleInput) in a Node-RED runtime', function () {
  this.timeout(10_000);
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  it('runs a handler with the message correlation id in scope, for the request log', async () => {
    await loadFlow([probe], flow());
    const out = await roundTrip({ payload: 1, correlationId: 'form-42' });
    assert.equal(out.seenCorrelationId, 'form-42');
  });

  it('skips the request-log scope for a node that makes no remote calls', async () => {
    await loadFlow([probe], flow(false));
    const out = await roundTrip({ payload: 1, correlationId: 'form-42' });
    assert.equal(out.seenCorrelationId, undefined);
  });

  it('aborts the signal of work still in flight when the node closes', async () => {
    aborted.length = 0;
    await loadFlow([probe], flow());
    helper.getNode('p').receive({ hang: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await unloadFlow();
    assert.deepEqual(aborted, ['node closed']);
  });
});
