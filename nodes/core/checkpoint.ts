/**
 * Durable checkpoints for sources (feed page, `since` sequence, last-updated time): a restart
 * must neither skip nor re-send. One small JSON file per source, replaced atomically (write a
 * temp file, fsync, rename) so a crash mid-write leaves the previous checkpoint intact.
 */
import fs from 'node:fs';
import path from 'node:path';

export class CheckpointStore {
  constructor(private readonly dir: string) {}

  /** The store under a Node-RED userDir, shared by all of this package's sources. */
  static inUserDir(userDir: string | undefined): CheckpointStore {
    return new CheckpointStore(path.join(userDir ?? process.cwd(), 'chis-state', 'checkpoints'));
  }

  private file(key: string): string {
    return path.join(this.dir, `${key.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }

  load<T>(key: string): T | undefined {
    try {
      return (JSON.parse(fs.readFileSync(this.file(key), 'utf8')) as { value: T }).value;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  save<T>(key: string, value: T): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const target = this.file(key);
    const temp = `${target}.${process.pid}.tmp`;
    const handle = fs.openSync(temp, 'w');
    try {
      fs.writeSync(handle, JSON.stringify({ value, savedAt: new Date().toISOString() }));
      fs.fsyncSync(handle);
    } finally {
      fs.closeSync(handle);
    }
    fs.renameSync(temp, target);
  }

  clear(key: string): void {
    fs.rmSync(this.file(key), { force: true });
  }
}
