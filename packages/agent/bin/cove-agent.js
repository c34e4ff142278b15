#!/usr/bin/env node
// The agent's executable: what `cove agent` and the drivers run. The program is built by `npm ci` / `npm run
// build`: tsc writes ../dist, then scripts/bundle.mjs bundles it into ../dist/bundle/agent.cjs with V8's code
// cache, which starts several times faster (bench/results/agent-start.md).
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const mtime = (relative) => {
  try {
    return statSync(new URL(relative, import.meta.url)).mtimeMs;
  } catch {
    return -1;
  }
};
// A tsc build of the agent or of a package it bundles newer than the bundle (`tsc -b` without the bundling
// step) means the bundle is stale: the plain build runs instead.
const bundle = mtime('../dist/bundle/agent.cjs');
const fresh =
  bundle > 0 &&
  [
    '../tsconfig.tsbuildinfo',
    '../../protocol/tsconfig.tsbuildinfo',
    '../../http/tsconfig.tsbuildinfo',
    '../../wire/tsconfig.tsbuildinfo',
  ].every((f) => mtime(f) <= bundle);
let main;
if (fresh) {
  const { loadBundle } = await import('./bundle-loader.js');
  ({ main } = loadBundle(fileURLToPath(new URL('../dist/bundle/agent.cjs', import.meta.url))).exports);
} else {
  ({ main } = await import('../dist/main.js'));
}

const code = await main(process.argv.slice(2));
// A failed start exits at once, whatever it left open; a clean stop has closed everything and exits by itself.
if (code !== 0) process.exit(code);
