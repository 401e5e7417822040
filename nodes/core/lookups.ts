/**
 * Editor look-ups: drop-downs in edit dialogs filled from the configured server (encounter
 * types, concepts, programs, case types...). Served by the runtime through RED.httpAdmin, so
 * credentials never reach the browser, and only to editor users with read permission.
 *
 *   GET /chis/lookup/<config type>/<config node id>/<list>?q=<search>
 *   -> 200 [{ value, label }]          the options
 *   -> 404 { error }                   config node not deployed yet
 *   -> 502 { error, code }             the server could not be asked (unreachable, auth...)
 */
import type { Node, NodeAPI } from 'node-red';
import { isIntegrationError } from './errors';

export interface LookupOption {
  value: string;
  label: string;
  /** Extra facts the editor may show or use, e.g. a concept's datatype. */
  detail?: Record<string, unknown>;
}

export type LookupResolver<TConfig extends Node> = (config: TConfig, query: { q?: string; [key: string]: string | undefined }) => Promise<LookupOption[]>;

type RouteHandler = (req: any, res: any, next?: () => void) => void;

/** The slice of Express that admin endpoints use (RED.httpAdmin is typed loosely upstream). */
export interface AdminRoutes {
  get(path: string, ...handlers: RouteHandler[]): void;
  post(path: string, ...handlers: RouteHandler[]): void;
  delete(path: string, ...handlers: RouteHandler[]): void;
}

export function adminRoutes(RED: NodeAPI): AdminRoutes {
  return RED.httpAdmin as unknown as AdminRoutes;
}

export function needsPermission(RED: NodeAPI, permission: string): RouteHandler {
  return RED.auth.needsPermission(permission) as unknown as RouteHandler;
}

export function registerLookups<TConfig extends Node>(RED: NodeAPI, configType: string, resolvers: Record<string, LookupResolver<TConfig>>): void {
  adminRoutes(RED).get(`/chis/lookup/${configType}/:id/:list`, needsPermission(RED, `${configType}.read`), (req: any, res: any) => {
    const resolve = Object.prototype.hasOwnProperty.call(resolvers, req.params.list) ? resolvers[req.params.list] : undefined;
    if (!resolve) {
      res.status(404).json({ error: `no look-up named ${req.params.list}` });
      return;
    }
    const config = RED.nodes.getNode(req.params.id) as TConfig | null;
    if (!config || config.type !== configType) {
      res.status(404).json({ error: 'Deploy the server configuration first: look-ups use the deployed settings and credentials.' });
      return;
    }
    resolve(config, req.query as Record<string, string>).then(
      (options) => res.json(options),
      (error: unknown) => {
        const code = isIntegrationError(error) ? error.code : 'remote-error';
        res.status(502).json({ error: `Could not reach the server: ${(error as Error).message}`, code });
      },
    );
  });
}
