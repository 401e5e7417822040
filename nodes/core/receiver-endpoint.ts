/**
 * The behaviour every receiver node shares: authenticate, parse, skip what the flow does not
 * want, de-duplicate re-sent messages, hand the message to the flow with a receipt, and answer
 * the sender only when the flow confirms (2xx) or fails (503 = retry later, 422 = give up).
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import { openReceipt, cancelReceipts, rejectionStatus, retryAfterSeconds, type ReceiptOutcome } from './receipts';
import { registerReceiver, type BodyFormat, type ReceivedRequest, type ReceiverAnswer } from './receiver';
import type { ReceiverAuthConfigNode } from './receiver-auth-config';
import { SeenIds } from './seen-ids';

export interface Classified {
  /** Stable id of the message for de-duplication (form id, doc id + hash), if it has one. */
  id?: string;
  /** Why the flow does not want it (acknowledged with 2xx and counted, never an error). */
  skip?: string;
  /** Why it can never be processed (answered 400 so the sender stops retrying). */
  invalid?: string;
}

export interface ReceiverEndpointOptions {
  path: string;
  method?: 'post' | 'put';
  formats: BodyFormat[];
  authNodeId?: string;
  /** How long the flow may take to confirm before the sender is told to retry. */
  receiptTimeoutMs: number;
  maxBodyBytes?: number;
  classify(request: ReceivedRequest): Classified;
  toMessage(request: ReceivedRequest, classified: Classified): NodeMessage;
  /** The body of a 2xx answer (e.g. an OpenRosa response); JSON `{status}` by default. */
  acceptedAnswer?(outcome: 'accepted' | 'duplicate' | 'skipped', classified: Classified): ReceiverAnswer;
}

interface Counts {
  received: number;
  accepted: number;
  duplicates: number;
  skipped: number;
  rejected: number;
}

export class ReceiverEndpoint {
  private readonly inFlight = new Map<string, string>();
  private readonly counts: Counts = { received: 0, accepted: 0, duplicates: 0, skipped: 0, rejected: 0 };
  private readonly seen: SeenIds;
  private readonly unregister: () => void;
  private anonymous = false;

  constructor(RED: NodeAPI, private readonly node: Node, private readonly options: ReceiverEndpointOptions) {
    this.seen = SeenIds.inUserDir(RED.settings.userDir as string | undefined, `receiver-${node.id}`);
    const authNode = options.authNodeId ? (RED.nodes.getNode(options.authNodeId) as ReceiverAuthConfigNode | null) : null;
    this.anonymous = authNode?.settings.mode === 'none';
    this.unregister = registerReceiver(RED, {
      method: options.method ?? 'post',
      path: options.path,
      formats: options.formats,
      maxBodyBytes: options.maxBodyBytes,
      auth: {
        settings: authNode?.settings,
        get secrets() { return authNode?.secrets() ?? {}; },
      },
      handle: (request) => this.handle(request),
      onRejected: (status, reason) => {
        this.counts.rejected += 1;
        this.render(`${status} ${reason}`);
      },
    });
    // A receiver that refuses everything must not look healthy: say why in red.
    const authProblem = authNode && !this.anonymous ? authNode.problem() : undefined;
    if (!authNode) node.status({ fill: 'red', shape: 'ring', text: 'no authentication configured: every request is refused' });
    else if (authProblem) node.status({ fill: 'red', shape: 'ring', text: authProblem });
    else this.render();
    node.on('close', (_removed: boolean, done: () => void) => {
      this.unregister();
      cancelReceipts(this.inFlight.values());
      this.inFlight.clear();
      done();
    });
  }

  private async handle(request: ReceivedRequest): Promise<ReceiverAnswer> {
    this.counts.received += 1;
    const classified = this.options.classify(request);
    if (classified.invalid) {
      this.counts.rejected += 1;
      this.render(classified.invalid);
      return { status: 400, body: { error: classified.invalid } };
    }
    if (classified.skip) {
      this.counts.skipped += 1;
      this.render();
      return this.answer('skipped', classified);
    }
    if (classified.id && this.seen.has(classified.id)) {
      this.counts.duplicates += 1;
      this.render();
      return this.answer('duplicate', classified);
    }
    if (classified.id && this.inFlight.has(classified.id)) {
      // The first delivery is still being processed: let the sender come back for the verdict.
      return { status: 503, headers: { 'Retry-After': '30' }, body: { error: 'the same message is being processed' } };
    }
    const receipt = openReceipt(this.options.receiptTimeoutMs);
    if (classified.id) this.inFlight.set(classified.id, receipt.id);
    const msg = this.options.toMessage(request, classified);
    (msg as NodeMessage & { _receipt: string })._receipt = receipt.id;
    this.node.send(msg);
    const outcome: ReceiptOutcome = await receipt.outcome;
    if (classified.id) this.inFlight.delete(classified.id);
    if (outcome.accepted) {
      if (classified.id) await this.seen.addDurably(classified.id);
      this.counts.accepted += 1;
      this.render();
      return this.answer('accepted', classified);
    }
    this.counts.rejected += 1;
    this.render(`${outcome.code}`);
    const status = rejectionStatus(outcome);
    return { status, headers: status === 503 ? { 'Retry-After': retryAfterSeconds(outcome) } : undefined, body: { error: outcome.message, code: outcome.code } };
  }

  private answer(outcome: 'accepted' | 'duplicate' | 'skipped', classified: Classified): ReceiverAnswer {
    return this.options.acceptedAnswer?.(outcome, classified) ?? { status: 200, body: { status: outcome, id: classified.id } };
  }

  private render(lastProblem?: string): void {
    const { accepted, duplicates, skipped, rejected } = this.counts;
    const parts = [`accepted ${accepted}`];
    if (duplicates) parts.push(`duplicates ${duplicates}`);
    if (skipped) parts.push(`ignored ${skipped}`);
    if (rejected) parts.push(`rejected ${rejected}${lastProblem ? ` (${lastProblem})` : ''}`);
    if (this.anonymous) parts.unshift('NO AUTH');
    const fill = this.anonymous ? 'yellow' : rejected && lastProblem ? 'red' : 'green';
    this.node.status({ fill, shape: this.anonymous ? 'ring' : 'dot', text: `${this.options.path}: ${parts.join(' · ')}` });
  }
}
