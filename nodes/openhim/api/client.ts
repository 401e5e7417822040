/**
 * A typed client for the OpenHIM core API: mediator registration, heartbeats, mediator config,
 * default-channel installation, channels and transactions. Basic auth for cores 7.2.1 and
 * later, or the legacy token scheme for older cores. Core answers most writes with a short
 * plain-text body ("Created"), so those are read as text.
 */
import { basicAuth } from '../../core/auth';
import { IntegrationError, badInput } from '../../core/errors';
import { HttpClient, type HttpClientOptions } from '../../core/http-client';
import { legacyTokenAuth } from './legacy-auth';
import type { ChannelDef, MediatorRegistration } from './types';

export type OpenhimAuthScheme = 'basic' | 'token';

export interface OpenhimCredentials {
  username?: string;
  password?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface HeartbeatBody {
  /** Seconds the mediator has been up (core shows it in the console). */
  uptime: number;
  /** true asks core to answer with the current config even if it did not change. */
  config?: boolean;
}

export type MediatorConfig = Record<string, unknown>;

export interface StoredChannel extends ChannelDef {
  _id: string;
  status?: string;
}

const urnPath = (urn: string): string => `mediators/${encodeURIComponent(urn)}`;

/**
 * Core answers a heartbeat with an empty 200 when nothing changed, and with the mediator's
 * config (JSON) when it changed or was asked for; some proxies turn the empty body into "OK".
 */
export function parseHeartbeatAnswer(text: string): MediatorConfig | undefined {
  const trimmed = text.trim();
  if (!trimmed || trimmed === 'OK') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new IntegrationError('openhim: heartbeat answered with a body that is not JSON config', { code: 'remote-error', retryable: false, system: 'openhim' });
  }
  return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as MediatorConfig) : undefined;
}

export interface ClientSummary {
  clientID?: string;
  name?: string;
  roles?: string[];
}

export class OpenhimClient {
  constructor(readonly http: HttpClient, private readonly release: () => void = () => undefined) {}

  /** Builds the HTTP client with the chosen auth scheme; `connection` comes from connectionOptions(). */
  static create(connection: HttpClientOptions, scheme: OpenhimAuthScheme, credentials: OpenhimCredentials): OpenhimClient {
    if (!credentials.username || !credentials.password) throw badInput('the OpenHIM core API needs a username and a password', 'credentials');
    if (scheme === 'token') {
      const auth = legacyTokenAuth(connection, credentials.username, credentials.password);
      return new OpenhimClient(new HttpClient({ ...connection, auth }), () => auth.close());
    }
    return new OpenhimClient(new HttpClient({ ...connection, auth: basicAuth(credentials.username, credentials.password) }));
  }

  /** Creates the mediator, or updates it when the version is newer (core keeps admin-set config). */
  async registerMediator(registration: MediatorRegistration, options: CallOptions = {}): Promise<void> {
    // Core upserts by urn, so a repeated registration is harmless and may be retried.
    await this.http.post('mediators', { body: registration, responseType: 'text', idempotent: true, signal: options.signal });
  }

  /** Returns the mediator's config when core sends it (changed since the last heartbeat, or asked for). */
  async heartbeat(urn: string, body: HeartbeatBody, options: CallOptions = {}): Promise<MediatorConfig | undefined> {
    // No retries: the next heartbeat is the retry.
    const response = await this.http.post<string>(`${urnPath(urn)}/heartbeat`, { body, responseType: 'text', retry: false, signal: options.signal });
    return parseHeartbeatAnswer(response.data ?? '');
  }

  /** The mediator's current config (a heartbeat that asks for it, as mediator-utils' fetchConfig). */
  async fetchConfig(urn: string, uptime: number, options: CallOptions = {}): Promise<MediatorConfig> {
    return (await this.heartbeat(urn, { uptime, config: true }, options)) ?? {};
  }

  async getMediator(urn: string, options: CallOptions = {}): Promise<MediatorRegistration & Record<string, unknown>> {
    return (await this.http.get<MediatorRegistration & Record<string, unknown>>(urnPath(urn), { signal: options.signal })).data;
  }

  async setMediatorConfig(urn: string, config: MediatorConfig, options: CallOptions = {}): Promise<void> {
    await this.http.put(`${urnPath(urn)}/config`, { body: config, responseType: 'text', signal: options.signal });
  }

  async listChannels(options: CallOptions = {}): Promise<StoredChannel[]> {
    return (await this.http.get<StoredChannel[]>('channels', { signal: options.signal })).data ?? [];
  }

  /** Creates channels from the mediator's defaultChannelConfig; an empty list installs all of them. */
  async installChannels(urn: string, names: string[], options: CallOptions = {}): Promise<void> {
    await this.http.post(`${urnPath(urn)}/channels`, { body: names, responseType: 'text', signal: options.signal });
  }

  /**
   * Installs the named default channels that do not exist yet. Core creates a new channel on
   * every install call, so installing on each deploy would otherwise pile up copies.
   */
  async installMissingChannels(urn: string, names: string[], options: CallOptions = {}): Promise<string[]> {
    const existing = new Set((await this.listChannels(options)).filter((channel) => channel.status !== 'deleted').map((channel) => channel.name));
    const missing = names.filter((name) => !existing.has(name));
    if (missing.length) await this.installChannels(urn, missing, options);
    return missing;
  }

  async listClients(options: CallOptions = {}): Promise<ClientSummary[]> {
    return (await this.http.get<ClientSummary[]>('clients', { signal: options.signal })).data ?? [];
  }

  async getTransaction(id: string, options: CallOptions = {}): Promise<Record<string, unknown>> {
    return (await this.http.get<Record<string, unknown>>(`transactions/${encodeURIComponent(id)}`, { signal: options.signal })).data;
  }

  close(): void {
    this.http.close();
    this.release();
  }
}
