import assert from 'node:assert/strict';
import type { NodeDef } from 'node-red';
import { CONFIG_VERSION_FIELD, applyStep, configVersionOf, currentConfigVersion, migrateConfig, registerMigrations, withMigrations } from '../../nodes/core/migrate';

const TYPE = 'test-migrate-writer';

describe('node config migrations', () => {
  before(() => {
    registerMigrations(TYPE, [
      { to: 1, why: 'url became path', rename: { url: 'path' } },
      { to: 2, why: 'TLS verification became an explicit setting', defaults: { allowSelfSigned: false } },
      { to: 3, why: 'mode names', values: { mode: { insert: 'create', upsert: 'createOrUpdate' } } },
      { to: 4, why: 'timeout in ms', apply: (config) => ({ ...config, timeoutMs: Number(config.timeoutSeconds ?? 30) * 1000, timeoutSeconds: undefined }) },
    ]);
  });

  it('brings a config saved before migrations existed to the current version, in order', () => {
    const saved = { id: 'n1', type: TYPE, url: '/api/results', mode: 'upsert', timeoutSeconds: 5 };
    const result = migrateConfig(TYPE, saved);
    assert.equal(result.from, 0);
    assert.equal(result.to, 4);
    assert.deepEqual(result.applied, ['url became path', 'TLS verification became an explicit setting', 'mode names', 'timeout in ms']);
    assert.deepEqual({ ...result.config, timeoutSeconds: undefined }, {
      id: 'n1', type: TYPE, path: '/api/results', mode: 'createOrUpdate', allowSelfSigned: false, timeoutMs: 5000, timeoutSeconds: undefined, [CONFIG_VERSION_FIELD]: 4,
    });
    assert.equal('url' in result.config, false);
    assert.deepEqual(saved, { id: 'n1', type: TYPE, url: '/api/results', mode: 'upsert', timeoutSeconds: 5 }, 'the saved config is not changed');
  });

  it('applies only the steps after the saved version', () => {
    const result = migrateConfig(TYPE, { [CONFIG_VERSION_FIELD]: 2, path: '/x', url: 'kept: already past step 1', mode: 'insert' });
    assert.deepEqual(result.applied, ['mode names', 'timeout in ms']);
    assert.equal(result.config.url, 'kept: already past step 1');
    assert.equal(result.config.mode, 'create');
  });

  it('leaves a current config alone and flags one from a newer release', () => {
    const current = { [CONFIG_VERSION_FIELD]: 4, path: '/x' };
    assert.equal(migrateConfig(TYPE, current).config, current);
    const newer = migrateConfig(TYPE, { [CONFIG_VERSION_FIELD]: 9 });
    assert.equal(newer.newerThanKnown, true);
    assert.deepEqual(newer.applied, []);
  });

  it('keeps values the user already set', () => {
    assert.deepEqual(applyStep({ url: 'old', path: 'new' }, { to: 1, why: '', rename: { url: 'path' } }), { path: 'new' });
    assert.deepEqual(applyStep({ allowSelfSigned: true }, { to: 1, why: '', defaults: { allowSelfSigned: false } }), { allowSelfSigned: true });
    assert.deepEqual(applyStep({ mode: 'other' }, { to: 1, why: '', values: { mode: { insert: 'create' } } }), { mode: 'other' });
  });

  it('reads versions defensively and rejects misnumbered steps', () => {
    assert.equal(configVersionOf({}), 0);
    assert.equal(configVersionOf({ [CONFIG_VERSION_FIELD]: '3' }), 3);
    assert.equal(configVersionOf({ [CONFIG_VERSION_FIELD]: -1 }), 0);
    assert.equal(currentConfigVersion('never-registered'), 0);
    assert.throws(() => registerMigrations('bad', [{ to: 2, why: 'skips 1' }]), /number steps 1, 2, 3/);
  });

  it('keeps the hidden properties Node-RED passes with a config (_flow, _module)', () => {
    const saved = { id: 'n3', url: '/b' };
    const flow = { handleStatus() {} };
    Object.defineProperty(saved, '_flow', { value: flow, enumerable: false });
    const migrated = migrateConfig(TYPE, saved).config as unknown as { _flow: unknown; path: string };
    assert.equal(migrated._flow, flow);
    assert.equal(migrated.path, '/b');
    assert.equal(Object.keys(migrated).includes('_flow'), false);
  });

  it('hands a wrapped constructor the migrated config and reports what it did', () => {
    const seen: NodeDef[] = [];
    const reports: string[][] = [];
    const constructor = withMigrations(TYPE, function (this: unknown, def: NodeDef) { seen.push(def); }, (result) => reports.push(result.applied));
    constructor.call({}, { id: 'n2', type: TYPE, name: '', z: '', url: '/a' } as NodeDef);
    assert.equal((seen[0] as unknown as { path: string }).path, '/a');
    assert.equal(reports[0].length, 4);
  });
});
