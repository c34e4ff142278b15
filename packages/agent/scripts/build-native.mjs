#!/usr/bin/env node
// Builds the agent's native helpers at install time: the spawn helper (native/spawn-helper.c), exec-as
// (native/exec-as.c), the listing walker (native/list-walker.c) and the terminal output reader
// (native/pty-reader.c). Each is linked statically when the C
// library allows it (it then runs in any image, with no loader to find), else dynamically (the sandbox
// driver then ships it with its libraries; see packages/sandbox/src/agent-runtime.ts). Without a C compiler
// the agent still works: it then spawns tasks itself, more slowly, switches users with Node's own (narrower)
// support and walks listings in JavaScript.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.platform !== 'linux') process.exit(0);
mkdirSync(`${root}/native/build`, { recursive: true });

for (const [name, note] of [
  ['spawn-helper', 'tasks will be spawned by the agent itself'],
  ['exec-as', 'commands will switch users through Node and terminals close inherited descriptors through bash'],
  ['list-walker', 'directory listings will be walked in JavaScript only'],
  ['pty-reader', 'terminal output will be read by the agent itself'],
]) {
  const out = `${root}/native/build/${name}`;
  const source = `${root}/native/${name}.c`;
  const attempts = [
    ['-O2', '-Wall', '-static', '-o', `${out}.tmp`, source],
    ['-O2', '-Wall', '-o', `${out}.tmp`, source],
  ];
  let built = false;
  let lastError;
  for (const args of attempts) {
    try {
      execFileSync('cc', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(`${out}.tmp`, out);
      built = true;
      break;
    } catch (err) {
      lastError = err;
      rmSync(`${out}.tmp`, { force: true });
    }
  }
  if (!built) process.stderr.write(`cove agent: ${name} not built (${lastError?.message?.split('\n')[0]}); ${note}\n`);
}
