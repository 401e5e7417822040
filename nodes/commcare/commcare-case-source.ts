/**
 * chis-commcare-case-source: polls CommCare for cases changed since a durable checkpoint
 * (indexed_on), by case type and owner, following `next` pages. The checkpoint moves after each
 * page is sent, so a restart neither skips nor re-sends. Any input message polls at once.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { registerNodeType } from '../core/node-kit';
import { type CaseCheckpoint, pollCases } from './api/case-changes';
import type { CommcareCase } from './api/types';
import type { CommcareConfigNode } from './commcare-config';

interface CaseSourceDef extends NodeDef {
  server: string;
  caseType?: string;
  ownerId?: string;
  includeClosed?: boolean;
  startAt?: 'beginning' | 'now';
  pageSize?: number | string;
  interval?: number | string;
  output?: 'single' | 'batch';
  ignoreOwnWrites?: boolean;
}

const MAX_BACKOFF_MS = 5 * 60_000;

export default function register(RED: NodeAPI): void {
  function CaseSource(this: Node, def: CaseSourceDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as CommcareConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no CommCare server configured' });
      return;
    }
    const intervalMs = Math.max(1, Number(def.interval) || 300) * 1000;
    const checkpoints = CheckpointStore.inUserDir(RED.settings.userDir as string | undefined);
    // The filters are part of the key: changing them starts a new position rather than reusing one.
    const key = `commcare-case-source-${this.id}-${def.caseType ?? ''}-${def.ownerId ?? ''}`;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let again = false;
    let failures = 0;
    let sent = 0;
    let ignored = 0;
    let lastError: string | undefined;

    const show = (polling: boolean): void => {
      const parts = [polling ? 'polling' : `sent ${sent}`];
      if (polling && sent) parts.push(`sent ${sent}`);
      if (ignored) parts.push(`ignored ${ignored} (own writes)`);
      if (lastError) parts.push(`last error: ${lastError}`);
      this.status({ fill: lastError ? 'red' : polling ? 'blue' : 'green', shape: lastError ? 'ring' : 'dot', text: parts.join(' · ') });
    };

    const emit = (cases: CommcareCase[]): void => {
      if (def.output === 'batch') this.send({ payload: cases, topic: def.caseType || 'commcare/cases' } as NodeMessage);
      else for (const record of cases) this.send({ payload: record, topic: record.case_type, case_id: record.case_id, correlationId: record.case_id } as NodeMessage);
      sent += cases.length;
    };

    const pollOnce = async (): Promise<void> => {
      const result = await pollCases(
        {
          client: server.api(),
          store: { load: () => checkpoints.load<CaseCheckpoint>(key), save: (value) => checkpoints.save(key, value) },
          emit,
          signal: controller.signal,
        },
        {
          caseType: def.caseType?.trim() || undefined,
          ownerId: def.ownerId?.trim() || undefined,
          includeClosed: def.includeClosed !== false,
          pageSize: Number(def.pageSize) || 100,
          ignoreOwnWrites: def.ignoreOwnWrites !== false,
          startAt: def.startAt === 'now' ? 'now' : 'beginning',
        },
      );
      ignored += result.ignored;
    };

    const schedule = (delayMs: number): void => {
      clearTimeout(timer);
      if (!controller.signal.aborted) timer = setTimeout(() => void poll(), delayMs);
    };

    const poll = (): Promise<void> => {
      // One poll at a time per checkpoint; a request during a poll runs right after it.
      if (running) {
        again = true;
        return running;
      }
      clearTimeout(timer);
      show(true);
      running = pollOnce()
        .then(() => {
          failures = 0;
          lastError = undefined;
        })
        .catch((error: { code?: string; message?: string }) => {
          if (controller.signal.aborted) return;
          failures += 1;
          lastError = error.code ?? 'error';
          this.warn(`CommCare case poll failed: ${error.message ?? String(error)}`);
        })
        .finally(() => {
          running = undefined;
          if (controller.signal.aborted) return;
          show(false);
          if (again) {
            again = false;
            schedule(0);
          } else {
            schedule(failures ? Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** failures) : intervalMs);
          }
        });
      return running;
    };

    this.on('input', (_msg: NodeMessage, _send: unknown, done: () => void) => {
      void poll();
      done();
    });
    this.on('close', (_removed: boolean, done: () => void) => {
      controller.abort(new Error('node closed'));
      clearTimeout(timer);
      void Promise.resolve(running).finally(() => done());
    });
    show(false);
    schedule(0);
  }
  registerNodeType(RED, 'chis-commcare-case-source', CaseSource);
}
