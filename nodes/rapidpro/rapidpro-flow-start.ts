/**
 * chis-rapidpro-flow-start: starts a RapidPro flow for the contacts, URNs or groups a message
 * names, with parameters from a message property. The flow is the one chosen in the node, or
 * msg.flow when the node leaves it empty.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { badInput } from '../core/errors';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { typedSetting } from '../core/typed-value';
import { flowStartTargets, startFlow } from './api/flow-starts';
import { registerRapidproSchemas } from './api/schemas';
import type { RapidproConfigNode } from './rapidpro-config';

interface FlowStartDef extends NodeDef {
  server: string;
  flow?: string;
  flowType?: string;
  paramsProperty?: string;
  restartParticipants?: boolean;
  excludeActive?: boolean;
}

type StartMsg = NodeMessage & { flow?: unknown };

export default function register(RED: NodeAPI): void {
  registerRapidproSchemas();

  function FlowStartNode(this: Node, def: FlowStartDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as RapidproConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no RapidPro server configured' });
      return;
    }
    const status = new ActivityStatus(this, 'started');
    const paramsProperty = def.paramsProperty?.trim() || 'params';
    const flowSetting = typedSetting(RED, this, 'flow', def.flow, def.flowType);
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());

    handleInput<StartMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const flow = (await flowSetting.text(msg)) || (typeof msg.flow === 'string' ? msg.flow : typeof (msg.flow as { uuid?: unknown })?.uuid === 'string' ? (msg.flow as { uuid: string }).uuid : '');
        if (!flow) throw badInput('no flow to start: choose one in the node or set msg.flow to a flow UUID', 'msg.flow');
        const targets = flowStartTargets(msg.payload, server.defaultCountryCode);
        const params = RED.util.getMessageProperty(msg, paramsProperty) as Record<string, unknown> | undefined;
        const client = server.api();
        unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
        msg.payload = await startFlow(client, flow, targets, params, {
          restartParticipants: def.restartParticipants !== false,
          excludeActive: def.excludeActive === true,
          signal,
        });
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-rapidpro-flow-start', FlowStartNode);
}
