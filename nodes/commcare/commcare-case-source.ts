/**
 * chis-commcare-case-source: polls CommCare for cases changed since a durable checkpoint
 * (indexed_on), by case type and owner, following `next` pages. The checkpoint moves after each
 * page is sent, so a restart neither skips nor re-sends. Any input message polls at once.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CheckpointStore } from '../core/checkpoint';
import { registerNodeType } from '../core/node-kit';
import { checkpointSettings, runPollingSource } from '../core/poller';
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
  checkpointAfter?: 'emit' | 'confirm';
  /** Seconds to wait for every message of a page to be confirmed (checkpointAfter 'confirm'). */
  confirmTimeout?: number | string;
}

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
    let ignored = 0;

    runPollingSource(this, {
      label: 'CommCare case',
      intervalMs,
      ...checkpointSettings(def),
      statusParts: () => (ignored ? [`ignored ${ignored} (own writes)`] : []),
      poll: async ({ send, signal }) => {
        const emit = (cases: CommcareCase[]): Promise<void> =>
          def.output === 'batch'
            ? send([{ payload: cases, topic: def.caseType || 'commcare/cases' } as NodeMessage], cases.length)
            : send(cases.map((record) => ({ payload: record, topic: record.case_type, case_id: record.case_id, correlationId: record.case_id }) as NodeMessage));
        const result = await pollCases(
          {
            client: server.api(),
            store: { load: () => checkpoints.load<CaseCheckpoint>(key), save: (value) => checkpoints.save(key, value) },
            emit,
            signal,
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
      },
    });
  }
  registerNodeType(RED, 'chis-commcare-case-source', CaseSource);
}
