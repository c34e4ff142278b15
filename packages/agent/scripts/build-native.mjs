#!/usr/bin/env node
// Builds the agent's native helper (native/spawn-helper.c) at install time.
// Without a C compiler the agent still works: it then spawns tasks itself, more slowly.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.platform !== 'linux') process.exit(0);
mkdirSync(`${root}/native/build`, { recursive: true });
const out = `${root}/native/build/spawn-helper`;
try {
  execFileSync('cc', ['-O2', '-Wall', '-o', `${out}.tmp`, `${root}/native/spawn-helper.c`], { stdio: 'inherit' });
  renameSync(`${out}.tmp`, out);
} catch (err) {
  process.stderr.write(`cove agent: spawn helper not built (${err.message}); tasks will be spawned by the agent itself\n`);
}
