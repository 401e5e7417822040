import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

/** The package root: above the compiled (dist/test/unit) or source (test/unit) file, else the working directory. */
function packageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { 'node-red'?: unknown })['node-red']) return dir;
    if (path.dirname(dir) === dir) return start === process.cwd() ? dir : packageRoot(process.cwd());
  }
}

const root = packageRoot(__dirname);
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };

/** Each registered node's source folder and file base name (dist/nodes/x/y.js -> nodes/x, y). */
const nodeFiles = Object.entries(manifest['node-red'].nodes).map(([type, file]) => {
  const source = file.replace(/^dist\//, '');
  return { type, folder: path.join(root, path.dirname(source)), base: path.basename(source, '.js') };
});

/** Every key path of a message catalog, e.g. `mapper.label.name`. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => keyPaths(child, prefix ? `${prefix}.${key}` : key));
}

function leaves(value: unknown): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [typeof value === 'string' ? value : JSON.stringify(value)];
  return Object.values(value as Record<string, unknown>).flatMap(leaves);
}

function count(html: string, tag: string): number {
  return (html.match(new RegExp(`<${tag}[\\s>]`, 'gi')) ?? []).length;
}

function helpNames(html: string): string[] {
  return [...html.matchAll(/data-help-name="([^"]+)"/g)].map((match) => match[1]);
}

function interpolations(text: string): string[] {
  return (text.match(/__[A-Za-z0-9_]+__/g) ?? []).sort();
}

describe('locales: French (fr) for every node with an English (en-US) locale', () => {
  const localized = nodeFiles.filter(({ folder, base }) => fs.existsSync(path.join(folder, 'locales', 'en-US', `${base}.json`)));

  it('finds the nodes to check', () => {
    assert.ok(localized.length >= 30, `only ${localized.length} nodes have an en-US locale`);
  });

  for (const { type, folder, base } of localized) {
    describe(type, () => {
      const file = (lang: string, ext: string): string => path.join(folder, 'locales', lang, `${base}.${ext}`);

      it('has fr labels with exactly the English keys, the same __placeholders__, translated', () => {
        assert.ok(fs.existsSync(file('fr', 'json')), `missing ${path.relative(root, file('fr', 'json'))}`);
        const english = JSON.parse(fs.readFileSync(file('en-US', 'json'), 'utf8')) as unknown;
        const french = JSON.parse(fs.readFileSync(file('fr', 'json'), 'utf8')) as unknown;
        assert.deepEqual(keyPaths(french).sort(), keyPaths(english).sort());
        const englishLeaves = leaves(english);
        const frenchLeaves = leaves(french);
        // Leaves are in key order, so the same index is the same key.
        const englishByKey = new Map(keyPaths(english).map((key, index) => [key, englishLeaves[index]]));
        keyPaths(french).forEach((key, index) => {
          assert.deepEqual(interpolations(frenchLeaves[index]), interpolations(englishByKey.get(key) ?? ''), `placeholders of ${key}`);
        });
        assert.notDeepEqual(frenchLeaves.sort(), englishLeaves.sort(), 'the French labels are the English ones');
      });

      it('has fr help with the same help name and structure as English, translated', () => {
        assert.ok(fs.existsSync(file('fr', 'html')), `missing ${path.relative(root, file('fr', 'html'))}`);
        const english = fs.readFileSync(file('en-US', 'html'), 'utf8');
        const french = fs.readFileSync(file('fr', 'html'), 'utf8');
        assert.deepEqual(helpNames(french), helpNames(english));
        assert.deepEqual(helpNames(french), [type]);
        for (const tag of ['h3', 'dl', 'pre']) assert.equal(count(french, tag), count(english, tag), `number of <${tag}>`);
        const englishTerms = count(english, 'dt');
        assert.ok(Math.abs(count(french, 'dt') - englishTerms) <= Math.max(1, englishTerms * 0.2), `number of <dt>: fr ${count(french, 'dt')}, en ${englishTerms}`);
        assert.notEqual(french.replace(/\s+/g, ' '), english.replace(/\s+/g, ' '));
      });
    });
  }
});
