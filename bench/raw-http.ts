/**
 * The raw limit: a minimal node:http client over keep-alive connections, no retries, no
 * mapping, no Node-RED. Whatever our nodes add on top of this is our overhead.
 */
import http from 'node:http';

export interface RawRequest {
  method: string;
  /** Path with query string. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RawResponse {
  status: number;
  body: string;
}

export class RawClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(origin: string, maxSockets: number) {
    this.url = new URL(origin);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  send(request: RawRequest): Promise<RawResponse> {
    const body = request.body === undefined ? undefined : Buffer.from(typeof request.body === 'string' ? request.body : JSON.stringify(request.body));
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: this.url.hostname,
        port: this.url.port,
        method: request.method,
        path: request.path,
        agent: this.agent,
        headers: {
          Accept: 'application/json',
          ...(body ? { 'Content-Type': 'application/json', 'Content-Length': String(body.length) } : {}),
          ...request.headers,
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async json<T>(request: RawRequest): Promise<T> {
    const response = await this.send(request);
    if (response.status >= 300) throw new Error(`${request.method} ${request.path} -> ${response.status}: ${response.body.slice(0, 300)}`);
    return (response.body ? JSON.parse(response.body) : undefined) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}
