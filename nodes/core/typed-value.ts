/**
 * Settings an implementer can take from the message: a Node-RED TypedInput (`str`, `msg`, `flow`,
 * `global`, `env`, `jsonata`) evaluated per message. A setting saved before it had a `...Type`
 * companion is plain text, so older flows keep working unchanged.
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import { badInput } from './errors';

/** The types the edit dialogs offer for a per-message setting. */
export const TYPED_SETTING_TYPES = ['str', 'msg', 'flow', 'global', 'env', 'jsonata'] as const;
export type TypedSettingType = (typeof TYPED_SETTING_TYPES)[number];

export interface TypedSetting {
  /** The value of the setting for this message, as text; undefined when it comes out empty. */
  text(msg: NodeMessage): Promise<string | undefined>;
  /** The raw value for this message (objects from msg/flow/JSONata are kept as they are). */
  value(msg: NodeMessage): Promise<unknown>;
  /** True when the setting is fixed text (type `str`): callers may use it before any message. */
  readonly fixed: boolean;
  /** How the setting reads in errors: `msg.location`, `str`, ... */
  readonly source: string;
}

/**
 * Prepares one typed setting of a node. `field` names the setting in errors (bad-input).
 * Unknown types fall back to plain text, as Node-RED's own nodes do.
 */
export function typedSetting(RED: NodeAPI, node: Node, field: string, value: string | undefined, type: string | undefined): TypedSetting {
  const kind: TypedSettingType = TYPED_SETTING_TYPES.includes(type as TypedSettingType) ? (type as TypedSettingType) : 'str';
  const expression = value ?? '';
  const source = kind === 'str' ? field : `${kind}.${expression}`;
  let prepared: ReturnType<NodeAPI['util']['prepareJSONataExpression']> | undefined;
  if (kind === 'jsonata' && expression.trim()) {
    try {
      prepared = RED.util.prepareJSONataExpression(expression, node);
    } catch (error) {
      // Deploy still succeeds; each message then fails with a clear bad-input error.
      return failing(`${field}: invalid JSONata expression (${(error as Error).message})`, field, source);
    }
  }

  const value$ = (msg: NodeMessage): Promise<unknown> => {
    if (kind === 'str') return Promise.resolve(expression);
    if (!expression.trim()) return Promise.resolve(undefined);
    if (prepared) {
      const expr = prepared;
      return new Promise((resolve, reject) => {
        RED.util.evaluateJSONataExpression(expr, msg, (error, result) =>
          error ? reject(badInput(`${field}: JSONata expression failed (${error.message})`, field)) : resolve(result),
        );
      });
    }
    return new Promise((resolve, reject) => {
      try {
        // flow/global context may be asynchronous stores: the callback form covers both.
        RED.util.evaluateNodeProperty(expression, kind, node, msg, (error: Error | null, result: unknown) =>
          error ? reject(badInput(`${field}: could not read ${source} (${error.message})`, field)) : resolve(result),
        );
      } catch (error) {
        reject(badInput(`${field}: could not read ${source} (${(error as Error).message})`, field));
      }
    });
  };

  return {
    fixed: kind === 'str',
    source,
    value: value$,
    async text(msg) {
      const result = await value$(msg);
      if (result === undefined || result === null || result === '') return undefined;
      if (typeof result === 'string') return result.trim() || undefined;
      if (typeof result === 'number' || typeof result === 'boolean') return String(result);
      throw badInput(`${field} must be text (got ${Array.isArray(result) ? 'a list' : typeof result} from ${source})`, field);
    },
  };
}

function failing(message: string, field: string, source: string): TypedSetting {
  const reject = (): Promise<never> => Promise.reject(badInput(message, field));
  return { fixed: false, source, value: reject, text: reject };
}
