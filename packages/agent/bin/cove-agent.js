#!/usr/bin/env node
// The agent's executable: what `cove agent` and the drivers run. The program is built by `npm ci` / `npm run
// build`: tsc writes ../dist, then scripts/bundle.mjs bundles it into ../dist/bundle/agent.cjs with V8's code
// cache, which starts several times faster (bench/results/agent-start.md).
import { mkdirSync, statSync } from 'node:fs';
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

// Armed (a warm pool's workspace kept for a fork): node is up and the program loaded, but the agent waits for
// SIGUSR2 before it starts. Meanwhile the sandbox driver may give the container another root file system (the
// fork's disk: packages/sandbox, ns-helper switch-root), so nothing is read from the file system before it:
// the token, the environment file, the working directory and the agent's state (saved workloads) are then the
// fork's, exactly as in an agent started cold on that disk.
if (process.env.COVE_AGENT_ARMED === '1') {
  delete process.env.COVE_AGENT_ARMED;
  await armed();
}

const code = await main(process.argv.slice(2));
// A failed start exits at once, whatever it left open; a clean stop has closed everything and exits by itself.
if (code !== 0) process.exit(code);

/** Says it is armed (a line the driver waits for), waits for SIGUSR2, then enters the working directory. */
function armed() {
  return new Promise((resolve) => {
    // A signal handler alone does not keep node running.
    const keep = setInterval(() => {}, 1 << 30);
    process.once('SIGUSR2', () => {
      clearInterval(keep);
      // The container was started in `/` (which a root switch carries along); the working directory is entered
      // by its path in the root the agent runs in now, made when missing as the runtime would have made it.
      const at = process.argv.indexOf('--workdir');
      const workdir = at > 0 ? process.argv[at + 1] : undefined;
      if (workdir) {
        try {
          mkdirSync(workdir, { recursive: true });
          process.chdir(workdir);
        } catch {
          // The agent itself refuses a working directory it cannot use, with its own message.
        }
      }
      resolve();
    });
    process.stdout.write('{"type":"armed"}\n');
  });
}
