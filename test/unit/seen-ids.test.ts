import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeenIds } from '../../nodes/core/seen-ids';

describe('seen ids', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-seen-ids-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const fileLines = (): string[] => fs.readFileSync(path.join(dir, 'receiver-x.ids'), 'utf8').split('\n').filter(Boolean);

  it('addDurably: records an id on disk before it resolves, once', async () => {
    const seen = new SeenIds(dir, 'receiver-x');
    await seen.addDurably('form-1');
    await seen.addDurably('form-1');
    assert.deepEqual(fileLines(), ['form-1']);
    assert.ok(new SeenIds(dir, 'receiver-x').has('form-1'));
  });

  it('addDurably: ids added in one tick share one append and one fsync, and are on disk when it resolves', async () => {
    const seen = new SeenIds(dir, 'receiver-x');
    const opened: string[] = [];
    const synced: number[] = [];
    const realOpen = fs.promises.open;
    fs.promises.open = (async (...args: Parameters<typeof realOpen>) => {
      opened.push(String(args[0]));
      const handle = await realOpen(...args);
      const realSync = handle.sync.bind(handle);
      handle.sync = async () => {
        synced.push(Date.now());
        return realSync();
      };
      return handle;
    }) as typeof realOpen;
    try {
      const ids = Array.from({ length: 50 }, (_, index) => `form-${index}`);
      await Promise.all(ids.map((id) => seen.addDurably(id)));
      assert.equal(opened.length, 1);
      assert.equal(synced.length, 1);
      assert.deepEqual(fileLines(), ids);
      // A later tick is a new commit.
      await seen.addDurably('form-late');
      assert.equal(synced.length, 2);
    } finally {
      fs.promises.open = realOpen;
    }
    const reloaded = new SeenIds(dir, 'receiver-x');
    assert.equal(reloaded.size, 51);
    assert.ok(reloaded.has('form-late'));
  });

  it('addDurably: ids added over many turns while a commit is writing share the next fsync', async () => {
    const seen = new SeenIds(dir, 'receiver-x');
    let syncs = 0;
    const realOpen = fs.promises.open;
    fs.promises.open = (async (...args: Parameters<typeof realOpen>) => {
      const handle = await realOpen(...args);
      const realSync = handle.sync.bind(handle);
      handle.sync = async () => {
        syncs += 1;
        // A slow disk: the next ids arrive while this commit is still writing.
        await new Promise((resolve) => setTimeout(resolve, 200));
        return realSync();
      };
      return handle;
    }) as typeof realOpen;
    try {
      const first = seen.addDurably('form-0');
      await new Promise((resolve) => setTimeout(resolve, 5));
      const later: Array<Promise<void>> = [];
      for (let turn = 1; turn <= 10; turn += 1) {
        later.push(seen.addDurably(`form-${turn}`));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all([first, ...later]);
      assert.equal(syncs, 2, 'the first commit, then one for the ten ids of ten turns');
      assert.deepEqual(fileLines(), Array.from({ length: 11 }, (_, index) => `form-${index}`));
    } finally {
      fs.promises.open = realOpen;
    }
  });

  it('addDurably: asking again for an id waits for its pending commit; a known id resolves at once', async () => {
    const seen = new SeenIds(dir, 'receiver-x');
    const first = seen.addDurably('form-1');
    assert.equal(seen.addDurably('form-1'), first);
    assert.ok(seen.has('form-1'));
    await first;
    assert.deepEqual(fileLines(), ['form-1']);
    await seen.addDurably('form-1');
    assert.deepEqual(fileLines(), ['form-1']);
  });

  it('addDurably: commits of consecutive ticks land in order, and compaction keeps the newest', async () => {
    const seen = new SeenIds(dir, 'receiver-x', 10);
    const commits: Array<Promise<void>> = [];
    for (let tick = 0; tick < 5; tick += 1) {
      commits.push(...Array.from({ length: 3 }, (_, index) => seen.addDurably(`form-${tick * 3 + index}`)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(commits);
    const reloaded = new SeenIds(dir, 'receiver-x', 10);
    assert.equal(reloaded.size, 10);
    assert.ok(reloaded.has('form-14'));
    assert.ok(!reloaded.has('form-0'));
  });
});
