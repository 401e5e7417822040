/**
 * Durable memory of message ids already accepted (form ids, doc ids), so a re-sent message is
 * acknowledged without being processed twice. An append-only file, fsynced before an id counts
 * as recorded: a crash right after the acknowledgement cannot forget it. `addDurably` commits
 * the ids added together with one write and one fsync off the event loop, and resolves once they
 * are on disk, so a receiver under load answers safely and cheaply.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Ids waiting for the same write and fsync. */
interface Commit {
  ids: string[];
  durable: Promise<void>;
}

export class SeenIds {
  private readonly ids = new Set<string>();
  private readonly file: string;
  /** The commit ids added in this tick join. */
  private gathering?: Commit;
  /** Id -> its commit, until that commit is on disk. */
  private readonly unsynced = new Map<string, Promise<void>>();
  /** Commits are written one after the other, in order. */
  private lastCommit: Promise<void> = Promise.resolve();

  constructor(dir: string, name: string, private readonly capacity = 200_000) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.ids`);
    if (fs.existsSync(this.file)) {
      for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) if (line) this.ids.add(line);
      if (this.ids.size > this.capacity) this.compact();
    }
  }

  static inUserDir(userDir: string | undefined, name: string): SeenIds {
    return new SeenIds(path.join(userDir ?? process.cwd(), 'chis-state', 'seen'), name);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /**
   * Records `id` and resolves once it is on disk. Ids added in the same tick share one append and
   * one fsync. Asking again for an id whose commit is still pending waits for that commit.
   */
  addDurably(id: string): Promise<void> {
    if (id.includes('\n')) return Promise.resolve();
    const pending = this.unsynced.get(id);
    if (pending) return pending;
    if (this.ids.has(id)) return Promise.resolve();
    this.ids.add(id);
    let commit = this.gathering;
    if (!commit) {
      const ids: string[] = [];
      const previous = this.lastCommit;
      // setImmediate: every id added by the callbacks of this turn of the event loop joins; and
      // while the previous commit is still writing, every id added meanwhile joins too, so a
      // burst spread over many turns costs one fsync per commit in flight, not one per turn.
      const durable = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => previous.catch(() => undefined))
        .then(() => {
          this.gathering = undefined;
          return this.append(ids);
        })
        .finally(() => {
          for (const written of ids) this.unsynced.delete(written);
          if (this.ids.size > this.capacity * 1.2) this.compact();
        });
      commit = { ids, durable };
      this.gathering = commit;
      this.lastCommit = durable;
    }
    commit.ids.push(id);
    this.unsynced.set(id, commit.durable);
    return commit.durable;
  }

  private async append(ids: string[]): Promise<void> {
    const handle = await fs.promises.open(this.file, 'a');
    try {
      await handle.write(ids.map((id) => `${id}\n`).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  get size(): number {
    return this.ids.size;
  }

  /** Keeps the newest `capacity` ids (a Set iterates in insertion order). */
  private compact(): void {
    const keep = [...this.ids].slice(-this.capacity);
    this.ids.clear();
    for (const id of keep) this.ids.add(id);
    const temp = `${this.file}.tmp`;
    const handle = fs.openSync(temp, 'w');
    try {
      fs.writeSync(handle, keep.map((id) => `${id}\n`).join(''));
      // The rename must not reach the disk before the content it points to.
      fs.fsyncSync(handle);
    } finally {
      fs.closeSync(handle);
    }
    fs.renameSync(temp, this.file);
  }
}
