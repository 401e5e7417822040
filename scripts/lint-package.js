#!/usr/bin/env node
/**
 * Package-level lint, run after the build: every declared node set has its built .js beside its
 * .html, English help and labels; node types carry the package prefix; example flows are valid,
 * use only known types and hold no credentials.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const PREFIX = 'chis-';
const DEMO_SECRETS = ['Admin123', 'district', 'demo-api-key', 'demo-rapidpro-token', 'openhim-password', 'demo-fhir-token', 'demo-secret'];
const problems = [];

const declaredTypes = new Set();
for (const [setName, file] of Object.entries(pkg['node-red'].nodes)) {
  const js = path.join(root, file);
  const base = path.basename(file, '.js');
  const dir = path.dirname(js);
  if (!setName.startsWith(PREFIX)) problems.push(`node set ${setName}: name must start with ${PREFIX}`);
  if (!fs.existsSync(js)) { problems.push(`${setName}: ${file} was not built`); continue; }
  if (!fs.existsSync(path.join(dir, `${base}.html`))) problems.push(`${setName}: ${base}.html is not beside ${file}`);
  if (!fs.existsSync(path.join(dir, 'locales', 'en-US', `${base}.html`))) problems.push(`${setName}: no locales/en-US/${base}.html help`);
  if (!fs.existsSync(path.join(dir, 'locales', 'en-US', `${base}.json`))) problems.push(`${setName}: no locales/en-US/${base}.json labels`);
  const source = fs.readFileSync(js, 'utf8');
  // Compiled TypeScript calls the shared helper as `(0, node_kit_1.registerNodeType)(RED, 'type', ...)`.
  for (const match of source.matchAll(/(?:registerType\(|registerNodeType\)?\(\s*RED,)\s*['"]([^'"]+)['"]/g)) {
    if (!match[1].startsWith(PREFIX)) problems.push(`${setName}: node type ${match[1]} must start with ${PREFIX}`);
    declaredTypes.add(match[1]);
  }
  const html = fs.readFileSync(path.join(dir, `${base}.html`), 'utf8');
  for (const match of html.matchAll(/registerType\(\s*['"]([^'"]+)['"]/g)) {
    if (!declaredTypes.has(match[1])) problems.push(`${setName}: editor registers ${match[1]} but the runtime does not`);
  }
}

const CORE_TYPES = new Set(['tab', 'group', 'comment', 'inject', 'debug', 'catch', 'status', 'complete', 'link in', 'link out', 'link call', 'function', 'change', 'switch', 'template', 'delay', 'trigger', 'split', 'join', 'batch', 'http in', 'http response', 'http request', 'junction', 'json', 'xml', 'rbe', 'filter', 'range', 'sort']);
const flowsDir = path.join(root, 'flows');
for (const file of fs.existsSync(flowsDir) ? fs.readdirSync(flowsDir).filter((f) => f.endsWith('.json')) : []) {
  const text = fs.readFileSync(path.join(flowsDir, file), 'utf8');
  let nodes;
  try { nodes = JSON.parse(text); } catch (error) { problems.push(`flows/${file}: invalid JSON (${error.message})`); continue; }
  if (!Array.isArray(nodes)) { problems.push(`flows/${file}: must be an array of nodes`); continue; }
  if (!nodes.some((node) => node.type === 'tab')) problems.push(`flows/${file}: has no tab`);
  for (const node of nodes) {
    if (node.credentials) problems.push(`flows/${file}: node ${node.id} carries credentials`);
    if (!CORE_TYPES.has(node.type) && !declaredTypes.has(node.type)) problems.push(`flows/${file}: unknown node type ${node.type}`);
  }
  for (const secret of DEMO_SECRETS) {
    if (text.includes(secret)) problems.push(`flows/${file}: contains the secret "${secret}"`);
  }
}

if (problems.length) {
  console.error(`package lint: ${problems.length} problem(s)`);
  for (const problem of problems) console.error(`  - ${problem}`);
  process.exit(1);
}
console.log(`package lint: ${Object.keys(pkg['node-red'].nodes).length} node sets, ${declaredTypes.size} types, flows ok`);
