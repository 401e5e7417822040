/**
 * What every system's config node shares: connection settings (timeout, retries, concurrency,
 * TLS) turned into one HttpClient per config node, created on first use and closed with the node.
 */
import type { Node, NodeDef } from 'node-red';
import { HttpClient, type HttpClientOptions } from './http-client';

/** The connection fields every config node's editor offers (see resources/chis-editor.js). */
export interface ConnectionDef extends NodeDef {
  baseUrl: string;
  timeoutMs?: number | string;
  maxAttempts?: number | string;
  maxConcurrent?: number | string;
  /** Verification is on unless this is exactly true. */
  allowSelfSigned?: boolean;
}

const positive = (value: number | string | undefined, fallback: number): number => {
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
};

export function connectionOptions(def: ConnectionDef, system: string): HttpClientOptions {
  return {
    baseUrl: String(def.baseUrl ?? '').trim().replace(/\/+$/, ''),
    system,
    timeoutMs: positive(def.timeoutMs, 30_000),
    retry: { maxAttempts: positive(def.maxAttempts, 4) },
    maxConcurrent: positive(def.maxConcurrent, 8),
    rejectUnauthorized: def.allowSelfSigned !== true,
  };
}

/**
 * A lazily created resource bound to a node's lifetime: built on first use (so credentials
 * changed by a deploy are read then), disposed when the node closes.
 */
export function lazyResource<T>(node: Node, create: () => T, dispose: (resource: T) => void): () => T {
  let resource: T | undefined;
  node.on('close', (_removed: boolean, done: () => void) => {
    if (resource !== undefined) dispose(resource);
    resource = undefined;
    done();
  });
  return () => {
    resource ??= create();
    return resource;
  };
}

export function lazyClient(node: Node, options: () => HttpClientOptions): () => HttpClient {
  return lazyResource(node, () => new HttpClient(options()), (client) => client.close());
}
