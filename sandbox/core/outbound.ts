/**
 * Outbound deliveries for sandboxes that act as clients (CommCare data forwarding, CHT outbound
 * push, RapidPro webhooks, OpenHIM routing). Retries follow the sender's own policy so that
 * receivers are tested against realistic re-sends.
 */
import http from 'node:http';
import type { ClientConfig } from './app';

export interface DeliveryAttempt {
  url: string;
  status: number;
  error?: string;
  time: string;
  body?: string;
}

export interface DeliveryOptions {
  method?: string;
  contentType?: string;
  /** Total attempts including the first one. */
  attempts?: number;
  /** Wait before retry n (1-based). Real senders wait minutes to hours; sandboxes compress that. */
  backoffMs?: (attempt: number) => number;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export function authHeaders(config: ClientConfig): Record<string, string> {
  const auth = config.auth;
  if (!auth || auth.type === 'none') return {};
  if (auth.type === 'basic') {
    return { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  }
  return { [auth.name]: auth.value };
}

/** Sends once; resolves with the status (0 for network errors), never rejects. */
export function sendOnce(url: string, body: string, options: DeliveryOptions, extraHeaders: Record<string, string>): Promise<DeliveryAttempt> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const req = http.request(target, {
      method: options.method ?? 'POST',
      headers: {
        'Content-Type': options.contentType ?? 'application/json',
        'Content-Length': Buffer.byteLength(body),
        ...extraHeaders,
        ...options.headers,
      },
      timeout: options.timeoutMs ?? 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ url, status: res.statusCode ?? 0, time: new Date().toISOString(), body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ url, status: 0, error: error.message, time: new Date().toISOString() }));
    req.end(body);
  });
}

/** Delivers with retries until a 2xx or the attempts run out. Returns every attempt made. */
export async function deliver(config: ClientConfig, body: string, options: DeliveryOptions = {}): Promise<DeliveryAttempt[]> {
  if (!config.url) throw new Error(`client ${config.name} has no url`);
  const attempts: DeliveryAttempt[] = [];
  const total = options.attempts ?? 3;
  for (let attempt = 1; attempt <= total; attempt += 1) {
    const result = await sendOnce(config.url, body, options, authHeaders(config));
    attempts.push(result);
    if (result.status >= 200 && result.status < 300) break;
    if (attempt < total) await new Promise((resolve) => setTimeout(resolve, options.backoffMs?.(attempt) ?? 200 * attempt));
  }
  return attempts;
}
