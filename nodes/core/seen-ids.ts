/**
 * Durable memory of message ids already accepted (form ids, doc ids), so a re-sent message is
 * acknowledged without being processed twice. An append-only file with fsync on each id: a
 * crash right after the acknowledgement cannot forget it.
 */
import fs from 'node:fs';
import path from 'node:path';

export class SeenIds {
  private readonly ids = new Set<string>();
  private readonly file: string;

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

  add(id: string): void {
    if (this.ids.has(id) || id.includes('\n')) return;
    this.ids.add(id);
    const handle = fs.openSync(this.file, 'a');
    try {
      fs.writeSync(handle, `${id}\n`);
      fs.fsyncSync(handle);
    } finally {
      fs.closeSync(handle);
    }
    if (this.ids.size > this.capacity * 1.2) this.compact();
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
    fs.writeFileSync(temp, keep.map((id) => `${id}\n`).join(''));
    fs.renameSync(temp, this.file);
  }
}
