/**
 * Throughput of the OpenMRS sandbox for GET /patient/<uuid> (default representation) over
 * keep-alive connections: 32 concurrent clients for about 5 s or 30,000 requests, whichever first.
 * Run with `node dist/bench/sandbox-openmrs.js`; the issue asks for >= 3,000 requests/s.
 */
import http from 'node:http';
import { create, PATIENTS } from '../sandbox/openmrs';

const CONCURRENCY = 32;
const MAX_REQUESTS = 30_000;
const MAX_MILLIS = 5_000;
const AUTHORIZATION = `Basic ${Buffer.from('admin:Admin123').toString('base64')}`;

function getOnce(agent: http.Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: { Authorization: AUTHORIZATION } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

async function main(): Promise<void> {
  const app = create();
  const port = await app.listen(0);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const path = `/openmrs/ws/rest/v1/patient/${PATIENTS.amina}`;
  let sent = 0;
  let failed = 0;
  const started = process.hrtime.bigint();
  const elapsedMs = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  const worker = async (): Promise<void> => {
    while (sent < MAX_REQUESTS && elapsedMs() < MAX_MILLIS) {
      sent += 1;
      if ((await getOnce(agent, port, path)) !== 200) failed += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = elapsedMs() / 1000;
  agent.destroy();
  await app.close();
  console.log(`openmrs GET patient/<uuid>: ${sent} requests in ${seconds.toFixed(2)} s = ${Math.round(sent / seconds)} req/s (${failed} failed, concurrency ${CONCURRENCY})`);
  if (failed > 0) process.exitCode = 1;
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
