/**
 * The Task lifecycle of a referral loop (OpenSRP, CHT LTFU): create the referral Task, then move
 * it through the FHIR Task state machine. Moves are version-aware: the Task is read, the move is
 * checked against its current status, and the write carries If-Match with the version read; a
 * 412 (someone else moved it meanwhile) re-reads and re-checks, a bounded number of times, so
 * no update is lost and no forbidden move slips in between.
 */
import { IntegrationError, badInput, isIntegrationError } from '../../core/errors';
import type { JournalEntry } from '../../core/journal';
import type { Schema } from '../../core/schema';
import { type FhirClient, type FhirResource, type StoredResource, parseReference } from './client';
import { TASK_STATUSES, type TaskStateMachine, type TaskStatus, isTaskStatus } from './task-state';

export const TASK_INTENTS = ['unknown', 'proposal', 'plan', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option'] as const;

export interface TaskResource extends FhirResource {
  resourceType: 'Task';
  status: TaskStatus;
  intent: string;
  businessStatus?: CodeableConcept;
  executionPeriod?: { start?: string; end?: string };
  lastModified?: string;
}

interface CodeableConcept {
  text?: string;
  coding?: Array<{ system?: string; code?: string; display?: string }>;
}

type ReferenceInput = string | { reference: string; display?: string; type?: string };

/** msg.payload of "create referral": Task elements with references given as "Type/id" or {reference}. */
export interface ReferralInput {
  status?: TaskStatus;
  intent?: string;
  for: ReferenceInput;
  owner?: ReferenceInput;
  requester?: ReferenceInput;
  focus?: ReferenceInput;
  basedOn?: ReferenceInput | ReferenceInput[];
  businessStatus?: string | CodeableConcept;
  executionPeriod?: { start?: string; end?: string };
  identifier?: Record<string, unknown> | Array<Record<string, unknown>>;
  [element: string]: unknown;
}

const REFERENCE = {
  oneOf: [
    { type: 'string', minLength: 3, pattern: '/' },
    { type: 'object', required: ['reference'], properties: { reference: { type: 'string', minLength: 3 } } },
  ],
};

const CONCEPT_OR_TEXT = { oneOf: [{ type: 'string', minLength: 1 }, { type: 'object' }] };

export const REFERRAL_SCHEMA: Schema<ReferralInput> = {
  type: 'object',
  required: ['for'],
  properties: {
    status: { type: 'string', enum: [...TASK_STATUSES], default: 'requested' },
    intent: { type: 'string', enum: [...TASK_INTENTS], default: 'order' },
    for: REFERENCE,
    owner: REFERENCE,
    requester: REFERENCE,
    focus: REFERENCE,
    basedOn: { oneOf: [REFERENCE, { type: 'array', items: REFERENCE }] },
    businessStatus: CONCEPT_OR_TEXT,
    executionPeriod: { type: 'object', properties: { start: { type: 'string' }, end: { type: 'string' } } },
    identifier: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] },
  },
};

/** msg.payload of "transition": which Task, and optionally the target and business status. */
export interface TransitionInput {
  id: string;
  status?: TaskStatus;
  businessStatus?: string | CodeableConcept;
  statusReason?: string | CodeableConcept;
}

export const TRANSITION_SCHEMA: Schema<TransitionInput> = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string', minLength: 1 },
    status: { type: 'string', enum: [...TASK_STATUSES] },
    businessStatus: CONCEPT_OR_TEXT,
    statusReason: CONCEPT_OR_TEXT,
  },
};

const reference = (value: ReferenceInput): { reference: string; display?: string; type?: string } => (typeof value === 'string' ? { reference: value } : value);

const concept = (value: string | CodeableConcept): CodeableConcept => (typeof value === 'string' ? { text: value } : value);

/** The referral Task for an input (references normalised, authoredOn set when absent). */
export function buildReferralTask(input: ReferralInput, now: Date = new Date()): TaskResource {
  const { status, intent, for: subject, owner, requester, focus, basedOn, businessStatus, identifier, ...rest } = input;
  const task: TaskResource = {
    ...rest,
    resourceType: 'Task',
    status: status ?? 'requested',
    intent: intent ?? 'order',
    for: reference(subject),
  };
  if (identifier !== undefined) task.identifier = Array.isArray(identifier) ? identifier : [identifier];
  if (owner !== undefined) task.owner = reference(owner);
  if (requester !== undefined) task.requester = reference(requester);
  if (focus !== undefined) task.focus = reference(focus);
  if (basedOn !== undefined) task.basedOn = (Array.isArray(basedOn) ? basedOn : [basedOn]).map(reference);
  if (businessStatus !== undefined) task.businessStatus = concept(businessStatus);
  task.authoredOn ??= now.toISOString();
  return task;
}

export interface TaskWriteSettings {
  configId: string;
  validate?: boolean;
  signal?: AbortSignal;
}

export interface TaskResult {
  task: TaskResource;
  versionId?: string;
  /** created: a new Task; matched: one with the same identifier existed; moved; unchanged: already there. */
  outcome: 'created' | 'matched' | 'moved' | 'unchanged';
  journal: JournalEntry[];
  /** Reads and writes that lost a race (412) before the move went through. */
  conflicts: number;
}

/**
 * Creates the referral. With an identifier, the create is conditional on it, so a re-sent
 * referral finds the Task it already made instead of making a second one.
 */
export async function createReferral(client: FhirClient, input: ReferralInput, settings: TaskWriteSettings): Promise<TaskResult> {
  const task = buildReferralTask(input);
  const first = (task.identifier as Array<{ system?: unknown; value?: unknown }> | undefined)?.[0];
  const ifNoneExist = typeof first?.value === 'string' && first.value
    ? `identifier=${typeof first.system === 'string' && first.system ? `${encodeURIComponent(first.system)}|` : ''}${encodeURIComponent(first.value)}`
    : undefined;
  const stored = await client.create(task, { ifNoneExist, validate: settings.validate, signal: settings.signal });
  const created = stored.status === 201;
  return {
    task: stored.resource,
    versionId: stored.versionId,
    outcome: created ? 'created' : 'matched',
    journal: created ? [{ system: 'fhir', resource: 'Task', id: stored.id, action: 'created', configId: settings.configId }] : [],
    conflicts: 0,
  };
}

export function taskId(value: unknown): string {
  const found = parseReference(value, 'Task');
  if (!found || found.resourceType !== 'Task') throw badInput(`"${String(value)}" does not name a Task (an id or "Task/<id>")`, 'msg.payload.id');
  return found.id;
}

export interface MoveRequest {
  id: string;
  status: TaskStatus;
  businessStatus?: string | CodeableConcept;
  statusReason?: string | CodeableConcept;
}

export interface MoveSettings extends TaskWriteSettings {
  machine: TaskStateMachine;
  /** Reads + writes tried when others keep changing the Task (412). Default 3. */
  maxAttempts?: number;
  now?: () => Date;
}

function sameConcept(a: CodeableConcept | undefined, b: CodeableConcept | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The Task after the move: status, business status, reason, lastModified and execution period. */
export function movedTask(task: TaskResource, request: MoveRequest, now: Date): TaskResource {
  const moved: TaskResource = { ...task, status: request.status, lastModified: now.toISOString() };
  if (request.businessStatus !== undefined) moved.businessStatus = concept(request.businessStatus);
  if (request.statusReason !== undefined) moved.statusReason = concept(request.statusReason);
  const stamp = now.toISOString();
  // executionPeriod: when action was first taken, and when the final action was taken.
  if (request.status === 'in-progress' && !task.executionPeriod?.start) moved.executionPeriod = { ...task.executionPeriod, start: stamp };
  if ((request.status === 'completed' || request.status === 'failed') && !task.executionPeriod?.end) moved.executionPeriod = { ...moved.executionPeriod, end: stamp };
  return moved;
}

export async function moveTask(client: FhirClient, request: MoveRequest, settings: MoveSettings): Promise<TaskResult> {
  if (!isTaskStatus(request.status)) throw badInput(`"${String(request.status)}" is not a FHIR R4 Task status`, 'status');
  const maxAttempts = Math.max(1, Math.floor(settings.maxAttempts ?? 3));
  const now = settings.now ?? (() => new Date());
  let conflicts = 0;
  for (;;) {
    const current: StoredResource<TaskResource> = await client.read<TaskResource>('Task', request.id, { signal: settings.signal });
    const task = current.resource;
    const keepsBusinessStatus = request.businessStatus === undefined || sameConcept(task.businessStatus, concept(request.businessStatus));
    // Asked for what is already there (a re-sent message, or a race another message won the same way).
    if (task.status === request.status && keepsBusinessStatus && request.statusReason === undefined) {
      return { task, versionId: current.versionId, outcome: 'unchanged', journal: [], conflicts };
    }
    settings.machine.assertMove(request.id, task.status, request.status);
    try {
      const stored = await client.update(movedTask(task, request, now()), { ifMatch: current.versionId, validate: settings.validate, signal: settings.signal });
      return {
        task: stored.resource,
        versionId: stored.versionId,
        outcome: 'moved',
        journal: [{ system: 'fhir', resource: 'Task', id: request.id, action: 'updated', configId: settings.configId, before: task }],
        conflicts,
      };
    } catch (error) {
      if (!isIntegrationError(error) || error.status !== 412) throw error;
      conflicts += 1;
      if (conflicts >= maxAttempts) {
        throw new IntegrationError(`Task ${request.id}: still being changed by others after ${conflicts} attempts to move it to ${request.status}`, {
          code: 'conflict',
          retryable: true,
          status: 412,
          system: 'fhir',
          remote: error.remote,
          request: error.request,
          cause: error,
        });
      }
    }
  }
}
