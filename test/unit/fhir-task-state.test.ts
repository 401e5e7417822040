import assert from 'node:assert/strict';
import { IntegrationError } from '../../nodes/core/errors';
import { TASK_STATUSES, TaskStateMachine, type TaskStatus, parseTransitions } from '../../nodes/fhir/api/task-state';

/** The arrows of the FHIR R4 Task state machine diagram (hl7.org/fhir/R4/task.html#statemachine). */
const ALLOWED: Array<[TaskStatus, TaskStatus]> = [
  ['draft', 'requested'], ['draft', 'ready'], ['draft', 'cancelled'],
  ['requested', 'received'], ['requested', 'accepted'], ['requested', 'rejected'], ['requested', 'cancelled'],
  ['received', 'accepted'], ['received', 'rejected'], ['received', 'cancelled'],
  ['accepted', 'in-progress'], ['accepted', 'cancelled'],
  ['ready', 'in-progress'], ['ready', 'cancelled'],
  ['in-progress', 'on-hold'], ['in-progress', 'completed'], ['in-progress', 'failed'],
  ['on-hold', 'in-progress'],
];
const TERMINAL: TaskStatus[] = ['rejected', 'cancelled', 'completed', 'failed', 'entered-in-error'];

describe('FHIR Task state machine', () => {
  const machine = new TaskStateMachine();

  it('allows every move of the R4 diagram', () => {
    for (const [from, to] of ALLOWED) assert.ok(machine.canMove(from, to), `${from} -> ${to}`);
  });

  it('allows marking any Task entered-in-error, and nothing after it', () => {
    for (const from of TASK_STATUSES.filter((status) => status !== 'entered-in-error')) assert.ok(machine.canMove(from, 'entered-in-error'), from);
    assert.deepEqual(machine.targets('entered-in-error'), []);
  });

  it('refuses every other move', () => {
    const allowed = new Set(ALLOWED.map(([from, to]) => `${from}>${to}`));
    let refused = 0;
    for (const from of TASK_STATUSES) {
      for (const to of TASK_STATUSES) {
        if (from === to || to === 'entered-in-error' || allowed.has(`${from}>${to}`)) continue;
        assert.equal(machine.canMove(from, to), false, `${from} -> ${to}`);
        refused += 1;
      }
    }
    // 12 statuses: 132 ordered pairs, minus 18 diagram arrows and 11 moves to entered-in-error.
    assert.equal(refused, 132 - 18 - 11);
  });

  it('treats rejected, cancelled, completed, failed and entered-in-error as final', () => {
    for (const status of TERMINAL) assert.deepEqual(machine.targets(status).filter((to) => to !== 'entered-in-error'), [], status);
  });

  it('explains a refused move with a bad-input error naming the Task', () => {
    assert.throws(() => machine.assertMove('abc', 'completed', 'requested'), (error: IntegrationError) => {
      assert.equal(error.code, 'bad-input');
      assert.equal(error.field, 'status');
      assert.equal(error.message, 'Task abc: cannot move from completed to requested (completed is final)');
      return true;
    });
    assert.throws(() => machine.assertMove('abc', 'requested', 'in-progress'), /from requested it can move to received, accepted, rejected, cancelled\)/);
    assert.throws(() => machine.assertMove('abc', 'bogus', 'ready'), /not a FHIR R4 Task status/);
  });

  it('lets a status stay as it is (a business status change only)', () => {
    assert.doesNotThrow(() => machine.assertMove('abc', 'in-progress', 'in-progress'));
  });

  it('adds explicit workflow transitions, e.g. OpenSRP fhircore requested -> ready', () => {
    const opensrp = new TaskStateMachine(parseTransitions('requested>ready, failed -> ready\nin-progress>cancelled'));
    assert.ok(opensrp.canMove('requested', 'ready'));
    assert.ok(opensrp.canMove('failed', 'ready'));
    assert.ok(opensrp.canMove('in-progress', 'cancelled'));
    assert.equal(machine.canMove('requested', 'ready'), false, 'the default machine is unchanged');
    assert.throws(() => parseTransitions('requested>done'), (error: IntegrationError) => error.code === 'bad-input' && error.field === 'extraTransitions');
    assert.deepEqual(parseTransitions('  '), []);
  });
});
