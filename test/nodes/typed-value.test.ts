import assert from 'node:assert/strict';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { handleInput } from '../../nodes/core/node-kit';
import { typedSetting } from '../../nodes/core/typed-value';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

interface ProbeDef extends NodeDef {
  setting?: string;
  settingType?: string;
}

/** A node that outputs its typed setting as text, evaluated per message, the way the writers do. */
function probe(RED: NodeAPI): void {
  function Probe(this: Node, def: ProbeDef): void {
    RED.nodes.createNode(this, def);
    const setting = typedSetting(RED, this, 'setting', def.setting, def.settingType);
    handleInput(this, async (msg: NodeMessage & { fixed?: boolean; raw?: unknown }, send) => {
      msg.raw = await setting.value(msg);
      msg.payload = await setting.text(msg);
      msg.fixed = setting.fixed;
      send(msg);
    });
  }
  RED.nodes.registerType('test-typed-probe', Probe);
}

function flow(setting: Record<string, unknown>): object[] {
  return [
    { id: 't', type: 'tab', env: [{ name: 'SITE', value: 'site-from-env', type: 'str' }] },
    { id: 'p', type: 'test-typed-probe', z: 't', wires: [['out']], ...setting },
    { id: 'out', type: 'helper', z: 't' },
    { id: 'c', type: 'catch', z: 't', scope: ['p'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't' },
  ];
}

function send(msg: Record<string, unknown>): Promise<{ ok: boolean; msg: any }> {
  return new Promise((resolve) => {
    helper.getNode('out').once('input', (out: any) => resolve({ ok: true, msg: out }));
    helper.getNode('caught').once('input', (out: any) => resolve({ ok: false, msg: out }));
    helper.getNode('p').receive(msg);
  });
}

describe('typed settings (nodes/core/typed-value) in a Node-RED runtime', function () {
  this.timeout(10_000);
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  it('reads a setting saved without a type (an older flow) as plain text, the same for every message', async () => {
    await loadFlow([probe], flow({ setting: ' Kigali HC ' }));
    const first = await send({ payload: 1, location: 'ignored' });
    assert.ok(first.ok);
    assert.equal(first.msg.payload, 'Kigali HC');
    assert.equal(first.msg.fixed, true);
  });

  it('reads msg, flow, global and env per message', async () => {
    await loadFlow([probe], flow({ setting: 'target.location', settingType: 'msg' }));
    assert.equal((await send({ target: { location: 'loc-1' } })).msg.payload, 'loc-1');
    assert.equal((await send({ target: { location: 'loc-2' } })).msg.payload, 'loc-2');
    assert.equal((await send({ target: {} })).msg.payload, undefined, 'a missing property is no value, not an error');
    await unloadFlow();

    await loadFlow([probe], flow({ setting: 'site', settingType: 'flow' }));
    helper.getNode('p').context().flow.set('site', 'site-from-flow');
    assert.equal((await send({})).msg.payload, 'site-from-flow');
    await unloadFlow();

    await loadFlow([probe], flow({ setting: 'site', settingType: 'global' }));
    helper.getNode('p').context().global.set('site', 42);
    assert.equal((await send({})).msg.payload, '42', 'numbers become text');
    await unloadFlow();

    await loadFlow([probe], flow({ setting: 'SITE', settingType: 'env' }));
    assert.equal((await send({})).msg.payload, 'site-from-env');
  });

  it('evaluates JSONata against the message, asynchronously', async () => {
    await loadFlow([probe], flow({ setting: '$uppercase(payload.form) & "_v" & $string(payload.version)', settingType: 'jsonata' }));
    const result = await send({ payload: { form: 'anc', version: 2 } });
    assert.ok(result.ok, result.msg.error?.message);
    assert.equal(result.msg.payload, 'ANC_v2');
    assert.equal(result.msg.fixed, false);
  });

  it('fails a message with bad-input when the value is not text or the expression is broken', async () => {
    await loadFlow([probe], flow({ setting: 'payload', settingType: 'msg' }));
    const object = await send({ payload: { not: 'text' } });
    assert.equal(object.ok, false);
    assert.equal(object.msg.error.code, 'bad-input');
    assert.match(object.msg.error.message, /setting must be text \(got object from msg\.payload\)/);
    await unloadFlow();

    await loadFlow([probe], flow({ setting: 'payload.(', settingType: 'jsonata' }));
    const broken = await send({ payload: {} });
    assert.equal(broken.ok, false);
    assert.equal(broken.msg.error.code, 'bad-input');
    assert.match(broken.msg.error.message, /setting: invalid JSONata expression/);
  });
});
