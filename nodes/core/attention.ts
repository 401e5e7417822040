/**
 * "Needs attention": rollbacks that could not be completed. Each is written durably (one JSON
 * file per case under chis-state/attention) before anyone is told, so a restart or a crash
 * cannot lose the fact that a record was left behind in a remote system.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { JournalEntry, UndoReport } from './journal';
import { redactDeep } from './redact';

export interface AttentionRecord {
  id: string;
  createdAt: string;
  /** The node that gave up, e.g. a rollback or transaction node. */
  nodeId: string;
  reason: string;
  /** What is still in the remote systems and could not be undone. */
  journal: JournalEntry[];
  reports: UndoReport[];
  /** A correlation id for the source message (form id, case id), never its content. */
  correlationId?: string;
}

export class AttentionStore {
  constructor(private readonly dir: string) {}

  static inUserDir(userDir: string | undefined): AttentionStore {
    return new AttentionStore(path.join(userDir ?? process.cwd(), 'chis-state', 'attention'));
  }

  record(entry: Omit<AttentionRecord, 'id' | 'createdAt'>): AttentionRecord {
    const record: AttentionRecord = redactDeep({ id: randomUUID(), createdAt: new Date().toISOString(), ...entry }) as AttentionRecord;
    fs.mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, `${record.id}.json`);
    const handle = fs.openSync(`${file}.tmp`, 'w');
    try {
      fs.writeSync(handle, JSON.stringify(record, null, 2));
      fs.fsyncSync(handle);
    } finally {
      fs.closeSync(handle);
    }
    fs.renameSync(`${file}.tmp`, file);
    return record;
  }

  list(): AttentionRecord[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs.readdirSync(this.dir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => JSON.parse(fs.readFileSync(path.join(this.dir, file), 'utf8')) as AttentionRecord)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get(id: string): AttentionRecord | undefined {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const file = path.join(this.dir, `${id}.json`);
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as AttentionRecord) : undefined;
  }

  /** Marks a case as handled (someone cleaned up by hand, or a retried rollback succeeded). */
  resolve(id: string): boolean {
    if (!/^[0-9a-f-]{36}$/.test(id)) return false;
    const file = path.join(this.dir, `${id}.json`);
    if (!fs.existsSync(file)) return false;
    fs.rmSync(file);
    return true;
  }

  countFor(nodeId: string): number {
    return this.list().filter((record) => record.nodeId === nodeId).length;
  }
}
