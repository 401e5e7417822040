/**
 * chis-mapper: builds a target document from a message with a reviewed, plain-JSON mapping
 * (see mapping.ts). The editor previews a mapping live through an admin endpoint that runs the
 * same engine in the runtime, so what the implementer sees is what the flow will do.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { Request, Response } from 'express';
import { badInput, isIntegrationError } from './errors';
import { compileMapping, MAPPING_VERSION, summariseFieldErrors, type CompiledMapping, type Mapping } from './mapping';
import { ActivityStatus, handleInput } from './node-kit';
import { listTargetSchemas } from './target-schemas';

export interface MapperDef extends NodeDef {
  /** The mapping as JSON text (the editor stores JSON.stringify of a Mapping). */
  mapping: string;
  sourceProperty?: string;
  outputProperty?: string;
  /** Overrides the mapping's own targetSchema when set. */
  targetSchema?: string;
}

/** Reads the node property; a targetSchema chosen in the node wins over the one in the JSON. */
export function mappingFromConfig(text: string | undefined, targetSchema?: string): Mapping {
  let mapping: Mapping;
  try {
    mapping = text && text.trim() ? (JSON.parse(text) as Mapping) : { version: MAPPING_VERSION, fields: [] };
  } catch (error) {
    throw badInput(`the mapping is not valid JSON: ${(error as Error).message}`, 'mapping');
  }
  return targetSchema ? { ...mapping, targetSchema } : mapping;
}

type AdminApp = NodeAPI['httpAdmin'];
const endpointsRegistered = new WeakSet<object>();

/** Once per runtime: the editor's live preview and the target schema drop-down. */
function registerAdminEndpoints(RED: NodeAPI): void {
  const app: AdminApp = RED.httpAdmin;
  if (endpointsRegistered.has(app)) return;
  endpointsRegistered.add(app);

  app.get('/chis/mapper/targets', RED.auth.needsPermission('flows.read'), (_req: Request, res: Response) => {
    res.json(listTargetSchemas());
  });

  app.post('/chis/mapper/preview', RED.auth.needsPermission('flows.write'), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { mapping?: Mapping; sample?: unknown; targetSchema?: string; sourceProperty?: string; wholeMessage?: boolean };
    let compiled: CompiledMapping;
    try {
      const mapping = body.targetSchema ? { ...body.mapping, targetSchema: body.targetSchema } : body.mapping;
      compiled = compileMapping(mapping as Mapping);
    } catch (error) {
      res.status(400).json({ message: (error as Error).message, field: isIntegrationError(error) ? error.field : undefined });
      return;
    }
    const sourceProperty = body.sourceProperty || 'payload';
    // The sample is msg.<sourceProperty>, or the whole msg when rows also read $msg elsewhere (e.g. $msg.case).
    let msg: NodeMessage = {};
    let source: unknown;
    try {
      if (body.wholeMessage) {
        if (body.sample === null || typeof body.sample !== 'object' || Array.isArray(body.sample)) throw new Error('the whole msg must be a JSON object, e.g. {"payload": {...}}');
        msg = body.sample as NodeMessage;
        source = RED.util.getMessageProperty(msg, sourceProperty);
      } else {
        RED.util.setMessageProperty(msg, sourceProperty, body.sample, true);
        source = body.sample;
      }
    } catch (error) {
      res.status(400).json({ message: `sample: ${(error as Error).message}`, field: 'sample' });
      return;
    }
    // No $env in the preview: environment values belong to the flow, not to the editor session.
    compiled.apply(source, { msg }).then(
      (result) => res.json(result),
      (error: unknown) => res.status(500).json({ message: (error as Error).message }),
    );
  });
}

export default function register(RED: NodeAPI): void {
  registerAdminEndpoints(RED);

  function Mapper(this: Node, def: MapperDef): void {
    RED.nodes.createNode(this, def);
    const sourceProperty = def.sourceProperty || 'payload';
    const outputProperty = def.outputProperty || 'payload';
    const status = new ActivityStatus(this, 'mapped');
    let compiled: CompiledMapping | undefined;
    let configError: Error | undefined;
    try {
      compiled = compileMapping(mappingFromConfig(def.mapping, def.targetSchema));
    } catch (error) {
      // Every message then fails with the reason, so a Catch node sees it too.
      configError = error as Error;
      this.error(configError.message);
      status.show({ fill: 'red', shape: 'ring', text: 'invalid mapping' });
    }

    handleInput(this, async (msg, send) => {
      try {
        if (!compiled) throw configError;
        const source = RED.util.getMessageProperty(msg, sourceProperty);
        const env = (name: string): string | undefined => RED.util.getSetting(this, name);
        const { output, errors } = await compiled.apply(source, { msg, env });
        if (errors.length) throw badInput(summariseFieldErrors(errors), errors[0].target);
        RED.util.setMessageProperty(msg, outputProperty, output, true);
        send(msg);
        status.succeed();
      } catch (error) {
        status.fail(error);
        throw error;
      }
    }, { remoteCalls: false });
  }

  RED.nodes.registerType('chis-mapper', Mapper);
}
