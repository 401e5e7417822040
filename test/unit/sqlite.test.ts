import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireDatabase, openDatabase } from '../../nodes/core/sqlite';

describe('sqlite store', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chis-sqlite-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('opens a WAL database and keeps committed rows across a reopen', () => {
    const file = path.join(dir, 'nested', 'a.db');
    const db = openDatabase(file);
    assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    db.prepare('INSERT INTO t (v) VALUES (?)').run('kept');
    db.close();
    const again = openDatabase(file);
    assert.deepEqual(again.prepare('SELECT v FROM t').all().map((row) => row.v), ['kept']);
    again.close();
  });

  it('rolls a transaction back when its work throws', () => {
    const db = openDatabase(path.join(dir, 'b.db'));
    db.exec('CREATE TABLE t (v TEXT UNIQUE)');
    assert.throws(() => db.transaction(() => {
      db.prepare('INSERT INTO t VALUES (?)').run('one');
      db.prepare('INSERT INTO t VALUES (?)').run('one');
    }));
    assert.equal(db.prepare('SELECT count(*) AS n FROM t').get()?.n, 0);
    db.close();
  });

  it('shares one connection per file and closes it with the last user', () => {
    const first = acquireDatabase(dir, 'shared');
    const second = acquireDatabase(dir, 'shared');
    assert.equal(first.db, second.db);
    first.release();
    first.db.exec('SELECT 1');
    second.release();
    assert.throws(() => second.db.exec('SELECT 1'));
    assert.ok(fs.existsSync(path.join(dir, 'chis-state', 'shared.db')));
  });
});
