/**
 * The FHIR R4 Task state machine (hl7.org/fhir/R4/task.html#statemachine, the "typical" state
 * machine diagram), as the set of status changes a Task node may make.
 *
 * The diagram's arrows:
 *   draft -> requested | ready | cancelled
 *   requested -> received | accepted | rejected | cancelled
 *   received -> accepted | rejected | cancelled
 *   accepted -> in-progress | cancelled
 *   ready -> in-progress | cancelled
 *   in-progress -> on-hold | completed | failed
 *   on-hold -> in-progress
 *   rejected, cancelled, completed, failed: terminal
 * The diagram also draws the waiting states (ready, requested, received, accepted) inside one box
 * with an arrow to cancelled; rejected sits in that box too but is terminal (its own arrow goes to
 * the end state), so it is not cancellable here.
 *
 * entered-in-error is not drawn: as for every FHIR workflow resource it marks a record that should
 * never have existed, so any status may move to it and nothing moves out of it.
 *
 * The spec says workflows may allow more (e.g. OpenSRP fhircore moves requested -> ready when a
 * Task falls due, and a failed Task may be retried): such additions are explicit, per node.
 */
import { badInput } from '../../core/errors';

export const TASK_STATUSES = [
  'draft', 'requested', 'received', 'accepted', 'rejected', 'ready', 'cancelled',
  'in-progress', 'on-hold', 'failed', 'completed', 'entered-in-error',
] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];

const DIAGRAM: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  draft: ['requested', 'ready', 'cancelled'],
  requested: ['received', 'accepted', 'rejected', 'cancelled'],
  received: ['accepted', 'rejected', 'cancelled'],
  accepted: ['in-progress', 'cancelled'],
  ready: ['in-progress', 'cancelled'],
  'in-progress': ['on-hold', 'completed', 'failed'],
  'on-hold': ['in-progress'],
  rejected: [],
  cancelled: [],
  completed: [],
  failed: [],
  'entered-in-error': [],
};

export type Transition = readonly [from: TaskStatus, to: TaskStatus];

export function isTaskStatus(value: unknown): value is TaskStatus {
  return typeof value === 'string' && (TASK_STATUSES as readonly string[]).includes(value);
}

export class TaskStateMachine {
  private readonly allowed = new Map<TaskStatus, Set<TaskStatus>>();

  constructor(extra: readonly Transition[] = []) {
    for (const status of TASK_STATUSES) {
      const targets = new Set<TaskStatus>(DIAGRAM[status]);
      if (status !== 'entered-in-error') targets.add('entered-in-error');
      this.allowed.set(status, targets);
    }
    for (const [from, to] of extra) this.allowed.get(from)?.add(to);
  }

  canMove(from: TaskStatus, to: TaskStatus): boolean {
    return this.allowed.get(from)?.has(to) ?? false;
  }

  /** The statuses a Task in `from` may move to, in the spec's order. */
  targets(from: TaskStatus): TaskStatus[] {
    const targets = this.allowed.get(from) ?? new Set();
    return TASK_STATUSES.filter((status) => targets.has(status));
  }

  /** Throws bad-input when FHIR does not allow the change (a status kept as it is always passes). */
  assertMove(taskId: string, from: unknown, to: TaskStatus): void {
    if (from === to) return;
    if (!isTaskStatus(from)) throw badInput(`Task ${taskId}: its current status "${String(from)}" is not a FHIR R4 Task status`, 'status');
    if (this.canMove(from, to)) return;
    // entered-in-error is always possible, so it is left out of the hint.
    const targets = this.targets(from).filter((status) => status !== 'entered-in-error');
    const hint = targets.length ? ` (from ${from} it can move to ${targets.join(', ')})` : ` (${from} is final)`;
    throw badInput(`Task ${taskId}: cannot move from ${from} to ${to}${hint}`, 'status');
  }
}

/**
 * Extra transitions written as "from>to" pairs separated by commas or new lines, e.g.
 * "requested>ready, failed>ready".
 */
export function parseTransitions(text: string | undefined): Transition[] {
  if (!text?.trim()) return [];
  return text.split(/[\n,;]+/).map((part) => part.trim()).filter(Boolean).map((part) => {
    const [from, to, ...rest] = part.split(/\s*(?:->|>)\s*/);
    if (rest.length || !isTaskStatus(from) || !isTaskStatus(to)) {
      throw badInput(`extra Task transition "${part}" must be "from>to" with FHIR Task statuses (${TASK_STATUSES.join(', ')})`, 'extraTransitions');
    }
    return [from, to] as const;
  });
}
