/**
 * The loop every polling source shares: poll at start and then every interval, one poll at a
 * time (a "poll now" during a poll runs right after it), exponential backoff after a failure,
 * stop on close. Any failure inside a poll, building the client included, becomes a state with
 * its error and a retry, never an exception that escapes into the runtime.
 *
 * `runPollingSource` wires a Poller to a Node-RED node (input = poll now, close = stop, status)
 * and gives the poll a `send` that, with checkpointAfter 'confirm', resolves only once every
 * message of the page was settled as accepted downstream (chis-outbox-in, chis-receipt). The
 * system's poll function saves its checkpoint after `send` resolves, so a rejected or
 * unconfirmed page leaves the checkpoint where it was and is polled again after backoff.
 */
import type { Node, NodeMessage } from 'node-red';
import { cancelReceipts, openReceipt } from './receipts';

export const MAX_BACKOFF_MS = 5 * 60_000;
export const DEFAULT_CONFIRM_TIMEOUT_MS = 30_000;

export interface PollFailure {
  code: string;
  message: string;
}

export type PollerState =
  | { kind: 'polling' }
  /** `error` is set when the poll that just ended failed; `nextPollMs` is the wait before the next one. */
  | { kind: 'idle'; failures: number; error?: PollFailure; nextPollMs: number };

export interface PollerOptions {
  intervalMs: number;
  maxBackoffMs?: number;
  /** One poll. The signal aborts when the poller stops. */
  poll(signal: AbortSignal): Promise<unknown> | unknown;
  onState?(state: PollerState): void;
}

export function describeFailure(error: unknown): PollFailure {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return { code: typeof code === 'string' && code ? code : 'error', message: typeof message === 'string' ? message : String(error) };
}

export class Poller {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private failures = 0;

  constructor(private readonly options: PollerOptions) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The wait after `failures` failed polls in a row. */
  delayAfter(failures: number): number {
    const { intervalMs, maxBackoffMs = MAX_BACKOFF_MS } = this.options;
    return failures ? Math.min(maxBackoffMs, intervalMs * 2 ** failures) : intervalMs;
  }

  start(delayMs = 0): void {
    this.schedule(delayMs);
  }

  /** Polls now; during a poll, right after it (never two at once on one checkpoint). */
  pollNow(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    if (this.signal.aborted) return Promise.resolve();
    clearTimeout(this.timer);
    this.options.onState?.({ kind: 'polling' });
    let error: PollFailure | undefined;
    // Inside `then`, so a synchronous throw (a client that cannot be built) is a failed poll too.
    this.running = Promise.resolve()
      .then(() => this.options.poll(this.signal))
      .then(
        () => {
          this.failures = 0;
        },
        (failure: unknown) => {
          if (this.signal.aborted) return;
          this.failures += 1;
          error = describeFailure(failure);
        },
      )
      .finally(() => {
        this.running = undefined;
        if (this.signal.aborted) return;
        const nextPollMs = this.again ? 0 : this.delayAfter(this.failures);
        this.again = false;
        this.schedule(nextPollMs);
        this.options.onState?.({ kind: 'idle', failures: this.failures, error, nextPollMs });
      });
    return this.running;
  }

  /** Stops polling; resolves once a running poll has ended. */
  async stop(reason: Error = new Error('poller stopped')): Promise<void> {
    this.controller.abort(reason);
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (!this.signal.aborted) this.timer = setTimeout(() => void this.pollNow(), delayMs);
  }
}

export type CheckpointAfter = 'emit' | 'confirm';

/** A page's messages were not all confirmed: the checkpoint stays and the page is read again. */
export class UnconfirmedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnconfirmedError';
  }
}

export interface ConfirmingSender {
  /** Sends the messages; with 'confirm', resolves once all are accepted and rejects otherwise. */
  send(messages: NodeMessage[]): Promise<void>;
  /** Settles every receipt still open as not accepted (the node is closing). */
  cancel(): void;
}

export function confirmingSender(send: (msg: NodeMessage) => void, mode: CheckpointAfter, timeoutMs = DEFAULT_CONFIRM_TIMEOUT_MS): ConfirmingSender {
  const open = new Set<string>();
  return {
    async send(messages) {
      if (mode !== 'confirm') {
        for (const msg of messages) send(msg);
        return;
      }
      const receipts = messages.map((msg) => {
        const receipt = openReceipt(timeoutMs);
        open.add(receipt.id);
        (msg as NodeMessage & { _receipt?: string })._receipt = receipt.id;
        return receipt;
      });
      for (const msg of messages) send(msg);
      const outcomes = await Promise.all(receipts.map(async (receipt) => {
        const outcome = await receipt.outcome;
        open.delete(receipt.id);
        return outcome;
      }));
      const refused = outcomes.filter((outcome) => !outcome.accepted);
      const first = refused[0];
      if (first && !first.accepted) {
        throw new UnconfirmedError(first.code === 'no-receipt' ? 'unconfirmed' : first.code, `${refused.length} of ${messages.length} messages not confirmed: ${first.message}`);
      }
    },
    cancel() {
      cancelReceipts([...open]);
      open.clear();
    },
  };
}

export interface PollingSourceOptions {
  /** The system's name in warnings, e.g. "OpenMRS". */
  label: string;
  intervalMs: number;
  checkpointAfter?: CheckpointAfter;
  confirmTimeoutMs?: number;
  /**
   * One poll. `send` hands messages on (`count`: how many items they carry, for the status) and,
   * after confirmation, resolves once they are safe; save the checkpoint only after it resolves.
   */
  poll(run: { send(messages: NodeMessage[], count?: number): Promise<void>; signal: AbortSignal }): Promise<unknown>;
  /** Extra status parts after "sent N", e.g. "ignored 3 (own writes)". */
  statusParts?(): string[];
}

const STATUS_MESSAGE_LIMIT = 60;

/** Runs a polling source on a node: first poll at once, input polls now, close stops. */
export function runPollingSource(node: Node, options: PollingSourceOptions): Poller {
  let sent = 0;
  let lastError: PollFailure | undefined;
  const sender = confirmingSender((msg) => node.send(msg), options.checkpointAfter ?? 'emit', options.confirmTimeoutMs);

  const show = (polling: boolean): void => {
    const parts = [polling ? 'polling' : `sent ${sent}`];
    if (polling && sent) parts.push(`sent ${sent}`);
    parts.push(...(options.statusParts?.() ?? []));
    if (lastError) {
      const why = lastError.message.length > STATUS_MESSAGE_LIMIT ? `${lastError.message.slice(0, STATUS_MESSAGE_LIMIT - 1)}…` : lastError.message;
      parts.push(`last error: ${lastError.code} (${why})`);
    }
    node.status({ fill: lastError ? 'red' : polling ? 'blue' : 'green', shape: lastError ? 'ring' : 'dot', text: parts.join(' · ') });
  };

  const poller = new Poller({
    intervalMs: options.intervalMs,
    poll: (signal) =>
      options.poll({
        signal,
        send: async (messages, count = messages.length) => {
          await sender.send(messages);
          sent += count;
        },
      }),
    onState: (state) => {
      if (state.kind === 'idle') {
        lastError = state.error;
        if (state.error) node.warn(`${options.label} poll failed: ${state.error.message}`);
      }
      show(state.kind === 'polling');
    },
  });

  node.on('input', (_msg: NodeMessage, _send: unknown, done: () => void) => {
    void poller.pollNow();
    done();
  });
  node.on('close', (_removed: boolean, done: () => void) => {
    const stopping = poller.stop(new Error('node closed'));
    sender.cancel();
    void stopping.finally(() => done());
  });
  show(false);
  poller.start();
  return poller;
}

/** The editor's "move checkpoint" settings of a source node. */
export function checkpointSettings(def: { checkpointAfter?: string; confirmTimeout?: number | string }): { checkpointAfter: CheckpointAfter; confirmTimeoutMs: number } {
  const seconds = Number(def.confirmTimeout);
  return {
    checkpointAfter: def.checkpointAfter === 'confirm' ? 'confirm' : 'emit',
    confirmTimeoutMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_CONFIRM_TIMEOUT_MS,
  };
}
