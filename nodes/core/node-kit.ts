/**
 * Node conventions shared by every node: the `(msg, send, done)` input contract with failures
 * through `done(err)`, cancellation of in-flight work on close, and a status that tells an
 * implementer what the node is doing.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from 'node-red';
import { IntegrationError, isIntegrationError } from './errors';
import { redactDeep } from './redact';
import { recordingFor, runForMessage } from './request-context';
import { prepareReceivers } from './receiver';
import { ensureRequestLog } from './request-log';

const STATUS_INTERVAL_MS = 250;

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;

export interface InputContext {
  /** Aborted when the node closes (redeploy, shutdown): pass it to every remote call. */
  signal: AbortSignal;
}

export type InputHandler<TMsg extends NodeMessage> = (msg: TMsg, send: Send, context: InputContext) => Promise<void>;

/**
 * The error handed to `done()`. Node-RED copies only `message`, `code`, `stack` and `cause`
 * into the Catch node's `msg.error`, so the structured, redacted details travel in `cause`.
 */
export function toNodeError(error: unknown): Error {
  const integration = isIntegrationError(error)
    ? error
    : new IntegrationError((error as Error)?.message ?? String(error), { code: 'bad-input', retryable: false });
  const nodeError = new Error(integration.message) as Error & { code: string };
  nodeError.code = integration.code;
  nodeError.cause = redactDeep(integration.toJSON());
  nodeError.stack = undefined;
  return nodeError;
}

/**
 * What ties the remote calls made for a message to its source record in the request log:
 * `msg.correlationId` (sources and receivers set the form, case or doc id), else the message id.
 */
export function correlationIdOf(msg: NodeMessage): string | undefined {
  const { correlationId, _msgid } = msg as { correlationId?: unknown; _msgid?: unknown };
  if ((typeof correlationId === 'string' && correlationId) || typeof correlationId === 'number') return String(correlationId);
  return typeof _msgid === 'string' && _msgid ? _msgid : undefined;
}

export interface HandleInputOptions {
  /**
   * false for nodes that make no remote calls (the mapper): their messages then skip the
   * request-log scope, a measurable share of a synchronous node's time per message.
   */
  remoteCalls?: boolean;
}

/**
 * Registers an async input handler under Node-RED's (msg, send, done) contract. The handler
 * runs with the message's correlation id (and request recording, if any) in scope, so every
 * call the shared HTTP client makes for it is tagged without the node passing anything.
 */
export function handleInput<TMsg extends NodeMessage = NodeMessage>(node: Node, handler: InputHandler<TMsg>, options: HandleInputOptions = {}): void {
  const inFlight = new Set<AbortController>();
  node.on('input', (msg: NodeMessage, send: Send, done: (error?: Error) => void) => {
    // Created on first use: most messages of a synchronous node never need one.
    let controller: AbortController | undefined;
    const context: InputContext = {
      get signal() {
        if (!controller) {
          controller = new AbortController();
          inFlight.add(controller);
        }
        return controller.signal;
      },
    };
    const work = (): Promise<void> => handler(msg as TMsg, send, context);
    let run: Promise<void>;
    if (options.remoteCalls === false) {
      run = work();
    } else {
      const recordingId = (msg as { _recordRequests?: unknown })._recordRequests;
      const exchanges = typeof recordingId === 'string' && recordingId ? recordingFor(recordingId) : undefined;
      run = runForMessage({ correlationId: correlationIdOf(msg), exchanges }, work);
    }
    run.then(
      () => done(),
      (error: unknown) => done(toNodeError(error)),
    ).finally(() => {
      if (controller) inFlight.delete(controller);
    });
  });
  node.on('close', (_removed: boolean, done: () => void) => {
    for (const controller of inFlight) controller.abort(new Error('node closed'));
    inFlight.clear();
    done();
  });
}

/**
 * What the node shows under itself: "sending", "3 queued", "sent 12", "failed: timeout".
 * Counts accumulate until redeploy so an implementer sees progress at a glance.
 */
export class ActivityStatus {
  private sent = 0;
  private failed = 0;
  private active = 0;
  private queued = 0;
  private lastError?: string;
  private lastRender = 0;
  private pending?: NodeJS.Timeout;

  private closed = false;

  constructor(private readonly node: Pick<Node, 'status'> & Partial<Pick<Node, 'on'>>, private readonly verb = 'sent') {
    // A status update deferred past a redeploy would land on a node that no longer exists.
    node.on?.('close', () => {
      this.closed = true;
      clearTimeout(this.pending);
    });
    // "ready" from the deploy on, not a blank until the first message; a node that finds a
    // problem in its settings shows that right after, over this. Outside the rate limit, so
    // the first message's "sending" shows at once.
    this.node.status({ fill: 'green', shape: 'dot', text: 'ready' });
  }

  begin(): void {
    this.active += 1;
    this.render();
  }

  succeed(count = 1): void {
    this.active = Math.max(0, this.active - 1);
    this.sent += count;
    this.render();
  }

  fail(error: unknown): void {
    this.active = Math.max(0, this.active - 1);
    this.failed += 1;
    const code = (error as { code?: unknown } | undefined)?.code;
    this.lastError = typeof code === 'string' ? code : 'error';
    this.render();
  }

  /** Work waiting for a free connection (from the client's limiter) or in an outbox. */
  setQueued(queued: number): void {
    if (queued === this.queued) return;
    this.queued = queued;
    this.render();
  }

  show(status: NodeStatus): void {
    this.node.status(status);
  }

  /** At most a few updates a second: at thousands of messages a second the editor would drown. */
  private render(): void {
    if (this.closed) return;
    const wait = STATUS_INTERVAL_MS - (Date.now() - this.lastRender);
    if (wait > 0) {
      this.pending ??= setTimeout(() => {
        this.pending = undefined;
        this.render();
      }, wait).unref();
      return;
    }
    this.lastRender = Date.now();
    const parts: string[] = [];
    if (this.active) parts.push('sending');
    if (this.queued) parts.push(`${this.queued} queued`);
    if (this.sent) parts.push(`${this.verb} ${this.sent}`);
    if (this.failed) parts.push(`failed ${this.failed} (last: ${this.lastError})`);
    const fill = this.active || this.queued ? 'blue' : this.failed && this.lastError ? 'red' : 'green';
    this.node.status({ fill, shape: this.failed ? 'ring' : 'dot', text: parts.join(' · ') || 'ready' });
  }
}

export interface CredentialFields {
  [field: string]: { type: 'text' | 'password' };
}

/**
 * registerType with the node's own `this` type, after setting up what the runtime shares (the
 * request log). (@types/node-red's signature only accepts
 * constructors whose `this` is the bare Node, so the cast lives here, once.)
 */
export function registerNodeType<TNode extends Node, TDef extends NodeDef>(
  RED: NodeAPI,
  type: string,
  constructor: (this: TNode, def: TDef) => void,
  options: { credentials?: CredentialFields } = {},
): void {
  // Once per runtime (idempotent): the request log every node's remote calls go to, and the
  // receivers' dispatcher, which answers 503 instead of 404 while the flows start.
  ensureRequestLog(RED);
  prepareReceivers(RED);
  RED.nodes.registerType(type, constructor as unknown as Parameters<NodeAPI['nodes']['registerType']>[1], options as never);
}
