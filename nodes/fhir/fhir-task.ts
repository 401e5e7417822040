/**
 * chis-fhir-task: the Task of a referral loop. Creates the referral Task from a mapped message,
 * moves a Task through the FHIR R4 Task state machine (refusing moves FHIR does not allow, with
 * version-aware writes so concurrent moves never overwrite each other), or reads a Task.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { badInput } from '../core/errors';
import { type JournalEntry, recordInJournal } from '../core/journal';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { compileValidator } from '../core/schema';
import { REFERRAL_SCHEMA, type ReferralInput, TRANSITION_SCHEMA, type TaskResult, type TransitionInput, createReferral, moveTask, taskId } from './api/task';
import { TaskStateMachine, type TaskStatus, isTaskStatus, parseTransitions } from './api/task-state';
import type { FhirConfigNode } from './fhir-config';

export type TaskOperation = 'create' | 'transition' | 'read';

interface TaskDef extends NodeDef {
  server: string;
  operation: TaskOperation;
  /** Target status of a transition; empty = msg.payload.status. */
  status?: string;
  /** Business status set with the transition; msg.payload.businessStatus wins. */
  businessStatus?: string;
  /** 'str': businessStatus is the text; 'msg': it names a message property holding the text. */
  businessStatusType?: 'str' | 'msg';
  /** Moves this workflow allows beyond the FHIR diagram, e.g. "requested>ready". */
  extraTransitions?: string;
  maxAttempts?: number | string;
  validate?: boolean;
}

type TaskMsg = NodeMessage & { journal?: JournalEntry[]; fhir?: unknown };

export default function register(RED: NodeAPI): void {
  const referral = compileValidator<ReferralInput>(REFERRAL_SCHEMA);
  const transition = compileValidator<TransitionInput>(TRANSITION_SCHEMA);

  function FhirTask(this: Node, def: TaskDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as FhirConfigNode | null;
    const operation: TaskOperation = def.operation === 'transition' || def.operation === 'read' ? def.operation : 'create';
    const status = new ActivityStatus(this, operation === 'read' ? 'read' : 'written');
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no FHIR server configured' });
      return;
    }
    let machine: TaskStateMachine;
    try {
      machine = new TaskStateMachine(parseTransitions(def.extraTransitions));
      if (def.status && !isTaskStatus(def.status)) throw badInput(`"${def.status}" is not a FHIR Task status`, 'status');
    } catch (error) {
      this.status({ fill: 'red', shape: 'ring', text: (error as Error).message });
      this.error((error as Error).message);
      return;
    }
    const validate = def.validate !== false;
    let unsubscribe: (() => void) | undefined;
    this.on('close', () => unsubscribe?.());

    const configuredBusinessStatus = (msg: TaskMsg): string | undefined => {
      if (!def.businessStatus) return undefined;
      if (def.businessStatusType !== 'msg') return def.businessStatus;
      const value: unknown = RED.util.getMessageProperty(msg, def.businessStatus);
      if (value === undefined || value === null || value === '') return undefined;
      if (typeof value !== 'string') throw badInput(`msg.${def.businessStatus} must be text (the Task's business status)`, `msg.${def.businessStatus}`);
      return value;
    };

    const run = async (msg: TaskMsg, signal: AbortSignal): Promise<TaskResult | undefined> => {
      const client = server.api();
      unsubscribe ??= client.http.onStats((stats) => status.setQueued(stats.queued));
      if (operation === 'create') return createReferral(client, referral(msg.payload), { configId: server.id, validate, signal });
      const payload = typeof msg.payload === 'string' ? { id: msg.payload } : msg.payload;
      if (operation === 'read') {
        const id = taskId((payload as { id?: unknown } | undefined)?.id);
        const stored = await client.read('Task', id, { signal });
        msg.payload = stored.resource;
        msg.fhir = { resourceType: 'Task', id, versionId: stored.versionId, outcome: 'read' };
        return undefined;
      }
      const input = transition(payload);
      const target = def.status || input.status;
      if (!target) throw badInput('no target status: set it in the node or in msg.payload.status', 'msg.payload.status');
      return moveTask(client, {
        id: taskId(input.id),
        status: target as TaskStatus,
        businessStatus: input.businessStatus ?? configuredBusinessStatus(msg),
        statusReason: input.statusReason,
      }, { configId: server.id, validate, signal, machine, maxAttempts: Number(def.maxAttempts) || 3 });
    };

    handleInput<TaskMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const result = await run(msg, signal);
        if (result) {
          msg.payload = result.task;
          msg.fhir = { resourceType: 'Task', id: result.task.id, versionId: result.versionId, outcome: result.outcome, conflicts: result.conflicts };
          if (result.journal.length) recordInJournal(msg, ...result.journal);
        }
        status.succeed();
        send(msg);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-fhir-task', FhirTask);
}
