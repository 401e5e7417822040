/**
 * Reproduction (not part of `npm test`): a flow pass that outlives the outbox's confirm timeout.
 * chis-outbox-out then counts the attempt as failed and sends the message again while the first
 * pass is still running; both passes look up the encounter before either has created it, and
 * OpenMRS gets two encounters for one form.
 *
 *   node dist/test/chaos/overlap.js [--forms 5] [--confirm-ms 3000] [--latency-ms 4000]
 *
 * Exits 1 when a form has more than one encounter.
 */
import { randomUUID } from 'node:crypto';
import { startHarness } from '../support/flow-harness';
import { chaosFlow, createPatients, encountersByKeyOf, followUpForm } from './chaos';

const RECEIVER_AUTH = { Authorization: `Basic ${Buffer.from('demo:demo-secret').toString('base64')}` };

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

async function main(): Promise<void> {
  const forms = option('forms', 5);
  const confirmTimeoutMs = option('confirm-ms', 3_000);
  const latencyMs = option('latency-ms', 4_000);
  const harness = await startHarness({ name: 'chaos-overlap', systems: ['openmrs', 'commcare'] });
  try {
    const patients = await createPatients(harness, 1);
    await harness.runtime.deploy(chaosFlow(harness, 20_000, (node) => (node.type === 'chis-outbox-out' ? { ...node, confirmTimeoutMs } : node)));
    // OpenMRS is slow to create encounters: slower than the confirm timeout, faster than the request timeout.
    await fetch(`${harness.sandboxUrl('openmrs')}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: '^/openmrs/ws/rest/v1/encounter$', method: 'POST', latencyMs }),
    });
    const ids: string[] = [];
    for (let index = 0; index < forms; index += 1) {
      const id = randomUUID();
      ids.push(id);
      const response = await fetch(`${harness.runtime.url}/commcare/forms`, {
        method: 'POST',
        headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify(followUpForm(id, patients[0].caseId, { visit_date: '2026-11-20', weight_kg: String(60 + index), temperature_c: '37', danger_signs: 'no' })),
      });
      if (!response.ok) throw new Error(`form ${index} not accepted: ${response.status}`);
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const queue = (await harness.runtime.api<{ queues: Array<{ queue: string; depth: number }> }>('GET', '/chis/outbox')).queues.find((view) => view.queue === 'openmrs-encounters');
      if (queue?.depth === 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await new Promise((resolve) => setTimeout(resolve, latencyMs + 1_000));
    const counts = await encountersByKeyOf(harness, patients);
    const doubled = ids.filter((id) => (counts.get(id) ?? 0) > 1);
    for (const id of ids) console.log(`form ${id}: ${counts.get(id) ?? 0} encounter(s)`);
    console.log(`overlap: ${forms} forms, ${doubled.length} with more than one encounter (confirm timeout ${confirmTimeoutMs} ms, OpenMRS create latency ${latencyMs} ms)`);
    process.exitCode = doubled.length ? 1 : 0;
  } finally {
    await harness.stop();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exitCode = 1;
});
