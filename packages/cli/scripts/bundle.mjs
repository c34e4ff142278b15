#!/usr/bin/env node
// Bundles the built CLI (dist/main.js) with what the user commands load (the SDK, commander, tar, the
// protocol's schema-free entries) into dist/bundle/, one chunk per command: Node then reads a few files
// instead of a hundred small modules, and `cove exec` starts about three times sooner. The servers'
// packages stay outside (native addons, their own lazy loading): the server commands import them as usual.
// Run by `npm run build` after `tsc -b`; bin/cove.js falls back to dist/main.js when the bundle is older
// than a tsc build.
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(await readFile(`${root}package.json`, 'utf8'));
const inside = new Set(['@cove/sdk', '@cove/protocol', 'commander', 'tar']);
const external = Object.keys(pkg.dependencies ?? {}).filter((name) => !inside.has(name));
const outdir = `${root}dist/bundle`;

// Chunk names carry hashes: the previous build's would pile up.
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`${root}dist/main.js`],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // commander is CommonJS: its require() calls of Node's modules need a require in an ES module.
  banner: { js: "import { createRequire as __coveRequire } from 'node:module'; const require = __coveRequire(import.meta.url);" },
  // The bundle is one directory deeper than dist/: the version is written in rather than read from ../package.json.
  define: { COVE_CLI_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});
