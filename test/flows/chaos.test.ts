/**
 * The short chaos run of issue 9, in `npm test`: 2,000 forwarded CommCare forms through the
 * example flow "CommCare → OpenMRS encounter" in a started Node-RED, under 20% 5xx, 429 with
 * Retry-After, dropped connections, hung requests, writes that commit but lose their answer, and
 * two kill -9 of Node-RED. The long run is `npm run test:chaos` (test/chaos/run.ts).
 */
import assert from 'node:assert/strict';
import { finalLine, runChaos, summaryTable, type ChaosResult } from '../chaos/chaos';
import { nodeRedVersion } from '../support/runtime-env';

const MESSAGES = Number(process.env.CHIS_CHAOS_MESSAGES ?? 2_000);

describe(`chaos: ${MESSAGES} forms under faults and kill -9, in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(420_000);
  let result: ChaosResult;

  before(async () => {
    result = await runChaos({ messages: MESSAGES, kills: 2, drainTimeoutMs: 180_000, log: (line) => console.log(`      ${line}`) });
    console.log(`\n${summaryTable(result)}\n${finalLine(result)}\n`);
    if (result.problems.length) console.log(`problems:\n${result.problems.slice(0, 20).map((problem) => `- ${problem}`).join('\n')}`);
  });

  it('accepts every form (the receiver answers 2xx once a form is stored) and drains the outbox', () => {
    assert.equal(result.accepted, MESSAGES);
    assert.equal(result.rejected, 0);
    assert.ok(result.drained, 'the outbox drained before the deadline');
    assert.equal(result.restarts, 2, 'Node-RED was killed and restarted twice');
  });

  it('writes exactly one encounter per accepted good form: none lost, none doubled', () => {
    assert.equal(result.lost, 0);
    assert.equal(result.duplicates, 0);
    assert.equal(result.delivered, result.accepted - result.bad);
    assert.ok((result.faultsHit['committed, then connection dropped'] ?? 0) > 0, 'some writes were committed without an answer');
  });

  it('keeps every deliberately bad form, and only those, as a dead letter with its reason', () => {
    assert.equal(result.badWritten, 0);
    assert.equal(result.goodDeadLettered, 0);
    assert.equal(result.badDeadLettered, result.bad);
    assert.equal(result.deadLettered, result.bad);
  });
});
