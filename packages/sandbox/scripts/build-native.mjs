#!/usr/bin/env node
// Builds the sandbox driver's namespace helper (native/ns-helper.c) at install time: user namespaces,
// idmapped mounts and id shifts, which Node has no binding for. Without it (no C compiler) the sandbox
// driver refuses to open and says so; the process driver is unaffected.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.platform !== 'linux') process.exit(0);
mkdirSync(`${root}/native/build`, { recursive: true });
const out = `${root}/native/build/ns-helper`;
try {
  execFileSync('cc', ['-O2', '-Wall', '-o', `${out}.tmp`, `${root}/native/ns-helper.c`], { stdio: 'inherit' });
  renameSync(`${out}.tmp`, out);
} catch (err) {
  process.stderr.write(`cove sandbox: namespace helper not built (${err.message}); the sandbox driver cannot run without it\n`);
}
