/**
 * A registered mediator's life: register (retrying with backoff until core answers), install
 * the default channels that are missing, fetch the config, then heartbeat every few seconds.
 * Config that core returns on a heartbeat (an admin changed it in the console) is handed to
 * onConfig. A heartbeat answered 404 means the mediator was deleted in the console: register
 * again.
 */
import { isIntegrationError, type ErrorCode } from '../../core/errors';
import { DEFAULT_RETRY, backoffDelay, sleep } from '../../core/retry';
import type { MediatorConfig, OpenhimClient } from './client';
import type { MediatorRegistration } from './types';

export type MediatorPhase = 'registering' | 'registered' | 'failing';

export interface MediatorState {
  phase: MediatorPhase;
  /** Whether core knows the mediator (registered at least once since start). */
  registered: boolean;
  lastHeartbeatAt?: number;
  /** Channels this session installed. */
  installedChannels: string[];
  error?: { code: ErrorCode | 'error'; message: string };
}

export interface MediatorSessionOptions {
  client: () => OpenhimClient;
  /** Built when first needed, so settings of other config nodes are read once they exist. */
  registration: () => MediatorRegistration;
  /** Default channels to install when missing (names from registration.defaultChannelConfig). */
  installChannels: string[];
  heartbeatMs: number;
  /** Seconds since start, sent with each heartbeat. */
  uptime?: () => number;
  onState?: (state: MediatorState) => void;
  onConfig?: (config: MediatorConfig) => void;
  /** Longest wait between registration attempts. */
  maxBackoffMs?: number;
}

export class MediatorSession {
  private readonly controller = new AbortController();
  private current: MediatorState = { phase: 'registering', registered: false, installedChannels: [] };
  private latestConfig?: MediatorConfig;
  private running?: Promise<void>;

  constructor(private readonly options: MediatorSessionOptions) {}

  get state(): MediatorState {
    return this.current;
  }

  /** The config core last sent (after registration, or a change), if any yet. */
  get config(): MediatorConfig | undefined {
    return this.latestConfig;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.controller.abort(new Error('mediator stopped'));
    await this.running;
  }

  private update(change: Partial<MediatorState>): void {
    this.current = { ...this.current, ...change };
    this.options.onState?.(this.current);
  }

  private emitConfig(config: MediatorConfig): void {
    this.latestConfig = config;
    this.options.onConfig?.(config);
  }

  private async run(): Promise<void> {
    const { signal } = this.controller;
    const uptime = this.options.uptime ?? (() => process.uptime());
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 1_000, maxDelayMs: this.options.maxBackoffMs ?? 60_000 };
    let needsRegistration = true;
    let failures = 0;
    while (!signal.aborted) {
      let wait = this.options.heartbeatMs;
      try {
        const client = this.options.client();
        const registration = this.options.registration();
        if (needsRegistration) {
          // Registering again is harmless (core upserts), so a failed channel install or config
          // fetch below repeats the whole setup.
          await client.registerMediator(registration, { signal });
          const installed = this.options.installChannels.length ? await client.installMissingChannels(registration.urn, this.options.installChannels, { signal }) : [];
          const config = await client.fetchConfig(registration.urn, uptime(), { signal });
          this.update({ phase: 'registered', registered: true, lastHeartbeatAt: Date.now(), error: undefined, installedChannels: [...this.current.installedChannels, ...installed] });
          needsRegistration = false;
          this.emitConfig(config);
        } else {
          const config = await client.heartbeat(registration.urn, { uptime: uptime() }, { signal });
          this.update({ phase: 'registered', lastHeartbeatAt: Date.now(), error: undefined });
          if (config) this.emitConfig(config);
        }
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        if (!needsRegistration && isIntegrationError(error) && error.code === 'not-found') {
          needsRegistration = true;
          continue;
        }
        failures += 1;
        const code = isIntegrationError(error) ? error.code : 'error';
        this.update({ phase: 'failing', error: { code, message: (error as Error).message } });
        if (needsRegistration) wait = backoffDelay(failures, policy);
      }
      try {
        await sleep(wait, signal);
      } catch {
        return;
      }
    }
  }
}
