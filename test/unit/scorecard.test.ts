/**
 * The Flow Library scorecard (`node-red-dev validate`, catalogue stubbed offline) passes every
 * check. It asks the npm registry about node-red and this package's dependencies (P06, P07, D02, D03).
 */
import assert from 'node:assert/strict';
import { runScorecard, SCORECARD_CHECKS } from '../../scripts/scorecard';

describe('Flow Library scorecard', function () {
  this.timeout(120_000);

  it('scores every check as passed', () => {
    const { scorecard, failures, log } = runScorecard();
    for (const check of SCORECARD_CHECKS) assert.ok(check in scorecard, `${check} was not scored:\n${log}`);
    assert.deepEqual(failures, [], `failed checks:\n${JSON.stringify(failures, null, 2)}\n${log}`);
  });
});
