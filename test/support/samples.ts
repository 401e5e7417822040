/**
 * The real upstream payloads live outside the project in ../shared/upstream-samples (never copied
 * in). Tests that need them skip with a clear message when the folder is absent.
 */
import fs from 'node:fs';
import path from 'node:path';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

export const SAMPLES_DIR = process.env.UPSTREAM_SAMPLES_DIR ?? path.resolve(PROJECT_ROOT, '..', 'shared', 'upstream-samples');

export function samplesAvailable(): boolean {
  return fs.existsSync(path.join(SAMPLES_DIR, 'SOURCES.md'));
}

/** Call from a mocha `before`/`it` (with `function`, not an arrow) to skip when samples are absent. */
export function requireSamples(context: Mocha.Context): void {
  if (!samplesAvailable()) {
    console.warn(`      skipped: upstream samples not found at ${SAMPLES_DIR} (set UPSTREAM_SAMPLES_DIR)`);
    context.skip();
  }
}

export function sampleText(relativePath: string): string {
  return fs.readFileSync(path.join(SAMPLES_DIR, relativePath), 'utf8');
}

export function sampleJson<T = any>(relativePath: string): T {
  return JSON.parse(sampleText(relativePath)) as T;
}

/** Every sample file of one system folder, e.g. "dhis2". */
export function sampleFiles(system: string): string[] {
  const dir = path.join(SAMPLES_DIR, system);
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((file) => `${system}/${file}`) : [];
}
