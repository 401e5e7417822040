/**
 * Retries with exponential backoff and jitter, honouring a server's Retry-After. Waits are
 * abortable so a closing node never sits out a backoff.
 */
import { IntegrationError, abortReason, isIntegrationError } from './errors';

export interface RetryPolicy {
  /** Including the first attempt: 1 means no retries. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After this client sits out; a longer one fails at once as rate-limited. */
  maxRetryAfterMs: number;
  /** 0..1: each delay is varied by up to this fraction either way, so clients spread out. */
  jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
  jitter: 0.2,
};

/** The delay after failed attempt `attempt` (1-based): base * 2^(attempt-1), capped, with jitter. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const varied = exponential * (1 + jitter * (2 * random() - 1));
  return Math.round(Math.min(policy.maxDelayMs, Math.max(0, varied)));
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP-date; undefined if unusable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  // Bare numbers that are not delay-seconds (e.g. "-5") must not be read as dates.
  if (/^[-+]?[\d.]+$/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface RetryOptions {
  policy: RetryPolicy;
  shouldRetry: (error: unknown, attempt: number) => boolean;
  /** Overrides the wait; by default a Retry-After on the error, else backoffDelay. */
  delayFor?: (error: unknown, attempt: number) => number;
  signal?: AbortSignal;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The error for a server that asks to wait longer than the policy allows: waiting would hold
 * the message (and the node) hostage, so the caller gets rate-limited with the wait it asked for.
 */
function retryAfterTooLong(error: IntegrationError, retryAfterMs: number, policy: RetryPolicy): IntegrationError {
  return new IntegrationError(
    `${error.message} (server asks to retry after ${Math.ceil(retryAfterMs / 1000)} s, longer than the ${Math.ceil(policy.maxRetryAfterMs / 1000)} s this client waits)`,
    {
      code: 'rate-limited',
      retryable: true,
      status: error.status,
      system: error.system,
      remote: error.remote,
      request: error.request,
      retryAfterMs,
      cause: error,
    },
  );
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal } = options;
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.maxAttempts || signal?.aborted || !options.shouldRetry(error, attempt)) throw error;
      const retryAfterMs = isIntegrationError(error) ? error.retryAfterMs : undefined;
      if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) throw retryAfterTooLong(error as IntegrationError, retryAfterMs, policy);
      const delayMs = options.delayFor?.(error, attempt) ?? retryAfterMs ?? backoffDelay(attempt, policy);
      options.onRetry?.(error, attempt, delayMs);
      await wait(delayMs, signal);
    }
  }
}
