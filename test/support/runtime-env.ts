/**
 * Which Node-RED the node and flow tests run against. `npm test` runs them twice: on the
 * project's node-red 4.x with this Node.js, and on node-red 5.x under Node 22 from .tools/nr5
 * (scripts/test-all sets CHIS_NODE_RED_DIR for that pass).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_RED_JS } from '../../scripts/runtime';

const customDir = process.env.CHIS_NODE_RED_DIR;

/** For node-red-node-test-helper's init(). */
export function nodeRedMain(): string {
  return customDir ? path.join(customDir, 'lib', 'red.js') : require.resolve('node-red');
}

/** For starting a Node-RED child process. */
export function nodeRedScript(): string {
  return customDir ? path.join(customDir, 'red.js') : DEFAULT_RED_JS;
}

export function nodeRedVersion(): string {
  const packageJson = path.join(customDir ?? path.dirname(DEFAULT_RED_JS), 'package.json');
  return (JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { version: string }).version;
}
