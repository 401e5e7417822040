/**
 * Helpers for teams that add a writer for another system on the shared layer: one call defines a
 * server config node (connection settings, credentials, one HttpClient per node) and one call a
 * writer node that validates msg.payload, sends through that client, shows its activity, records
 * what it wrote in msg.journal and fails through done(err) with an error code. Config migrations
 * (nodes/core/migrate.ts) and a rollback compensation can be declared alongside.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { AuthProvider } from './auth';
import { badInput } from './errors';
import { HttpClient } from './http-client';
import { type JournalEntry, recordInJournal, registerCompensator } from './journal';
import { type MigrationStep, registerMigrations, withMigrations } from './migrate';
import { ActivityStatus, type CredentialFields, handleInput, registerNodeType } from './node-kit';
import { type Schema, compileValidator } from './schema';
import { type ConnectionDef, connectionOptions, lazyClient } from './server-config';

export interface ServerConfigNode<TCredentials extends object = Record<string, string | undefined>> extends Node<TCredentials> {
  /** Names the system in errors and journal entries, e.g. 'openelis'. */
  system: string;
  /** The node's client, created on first use with the deployed credentials. */
  http(): HttpClient;
}

export interface ServerConfigDefinition<TCredentials extends object, TDef extends ConnectionDef> {
  type: string;
  system: string;
  credentials?: CredentialFields;
  /** How credentials become request headers (basicAuth, bearerAuth, headerAuth from the API). */
  auth?: (credentials: Partial<TCredentials>, def: TDef) => AuthProvider | undefined;
  headers?: Record<string, string>;
  migrations?: readonly MigrationStep[];
}

/** Registers a config node for one server of `system`, using the shared connection settings. */
export function defineServerConfig<TCredentials extends object = Record<string, string | undefined>, TDef extends ConnectionDef = ConnectionDef>(
  RED: NodeAPI,
  definition: ServerConfigDefinition<TCredentials, TDef>,
): void {
  function ServerConfig(this: ServerConfigNode<TCredentials>, def: TDef): void {
    RED.nodes.createNode(this, def);
    this.system = definition.system;
    this.http = lazyClient(this, () => {
      if (!def.baseUrl) throw badInput(`the ${definition.system} server has no base URL`, 'baseUrl');
      const credentials = (this.credentials ?? {}) as Partial<TCredentials>;
      return {
        ...connectionOptions(def, definition.system),
        auth: definition.auth?.(credentials, def),
        headers: definition.headers,
      };
    });
  }
  registerNodeType(RED, definition.type, migrating(definition.type, definition.migrations, ServerConfig), { credentials: definition.credentials });
}

export interface WriterDef extends NodeDef {
  /** Id of the server config node. */
  server: string;
}

export type JournalRecord = Omit<JournalEntry, 'system' | 'configId'>;

export interface WriteContext<TInput, TDef extends WriterDef, TServer extends ServerConfigNode<any>> {
  input: TInput;
  msg: NodeMessage;
  def: TDef;
  server: TServer;
  http: HttpClient;
  /** Aborted when the node closes: pass it to every request. */
  signal: AbortSignal;
  /** Records one thing written, for a rollback node; system and server are filled in. */
  journal(entry: JournalRecord): void;
}

export interface WriterDefinition<TInput, TDef extends WriterDef, TServer extends ServerConfigNode<any>> {
  type: string;
  /** JSON schema of msg.payload; invalid input fails with code `bad-input` naming the fields. */
  inputSchema?: Schema<TInput>;
  /** Word for the status count: "written 12". */
  statusVerb?: string;
  migrations?: readonly MigrationStep[];
  /** Does the write; its result becomes msg.payload. Throw IntegrationErrors (the client does). */
  write(context: WriteContext<TInput, TDef, TServer>): Promise<unknown>;
  /**
   * Undoes one journal entry of this writer's system, so chis-rollback and transactions can
   * compensate it. Resolve 'already-gone' when the record no longer exists.
   */
  undo?(server: TServer, entry: JournalEntry, signal?: AbortSignal): Promise<'undone' | 'already-gone'>;
}

/** Registers a writer node that sends msg.payload to the server chosen in its `server` property. */
export function defineWriter<TInput = unknown, TDef extends WriterDef = WriterDef, TServer extends ServerConfigNode<any> = ServerConfigNode>(
  RED: NodeAPI,
  definition: WriterDefinition<TInput, TDef, TServer>,
): void {
  const validate = definition.inputSchema ? compileValidator<TInput>(definition.inputSchema) : (value: unknown) => value as TInput;
  const compensatorsFor = new Set<string>();

  function Writer(this: Node, def: TDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as TServer | null;
    if (!server || typeof server.http !== 'function') {
      this.status({ fill: 'red', shape: 'ring', text: 'no server configured' });
      return;
    }
    const undo = definition.undo;
    if (undo && !compensatorsFor.has(server.system)) {
      compensatorsFor.add(server.system);
      registerCompensator(server.system, { undo: (config, entry, signal) => undo(config as TServer, entry, signal) });
    }
    const status = new ActivityStatus(this, definition.statusVerb ?? 'written');
    status.show({ fill: 'grey', shape: 'dot', text: 'ready' });
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());

    handleInput<NodeMessage & { journal?: JournalEntry[] }>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const input = validate(msg.payload);
        const http = server.http();
        unsubscribe ??= http.onStats((stats) => status.setQueued(stats.queued));
        const journal = (entry: JournalRecord): void => {
          recordInJournal(msg, { ...entry, system: server.system, configId: server.id });
        };
        msg.payload = await definition.write({ input, msg, def, server, http, signal, journal });
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, definition.type, migrating(definition.type, definition.migrations, Writer));
}

function migrating<TThis, TDef extends NodeDef>(type: string, steps: readonly MigrationStep[] | undefined, constructor: (this: TThis, def: TDef) => void): (this: TThis, def: TDef) => void {
  if (!steps || steps.length === 0) return constructor;
  registerMigrations(type, steps);
  return withMigrations(type, constructor);
}
