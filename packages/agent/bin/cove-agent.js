#!/usr/bin/env node
// The agent's executable: what `cove agent` and the drivers run. The program is built by `npm ci` / `npm run
// build`: tsc writes ../dist, then scripts/bundle.mjs bundles it into ../dist/bundle/agent.cjs with V8's code
// cache, which starts several times faster (bench/results/agent-start.md). CommonJS (bin/package.json): an
// ES module entry would have node load and compile its ES module loader at every start, for nothing.
const { mkdirSync, statSync } = require('node:fs');
const path = require('node:path');

const mtime = (relative) => {
  try {
    return statSync(path.join(__dirname, relative)).mtimeMs;
  } catch {
    return -1;
  }
};

/** The agent's `main`: from the bundle, or from the plain tsc build when the bundle is stale or missing. */
async function loadMain() {
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
  if (fresh) return require('./bundle-loader.js').loadBundle(path.join(__dirname, '../dist/bundle/agent.cjs')).exports.main;
  require('./bundle-loader.js').settleHeapFlags();
  return (await import('../dist/main.js')).main;
}

async function run() {
  const main = await loadMain();
  // Armed (a warm pool's workspace kept for a fork): node is up and the program loaded, but the agent waits for
  // SIGUSR2 before it starts. Meanwhile the sandbox driver may give the container another root file system (the
  // fork's disk: packages/sandbox, ns-helper switch-root), so nothing is read from the file system before it:
  // the token, the environment file, the working directory and the agent's state (saved workloads) are then the
  // fork's, exactly as in an agent started cold on that disk.
  if (process.env.COVE_AGENT_ARMED === '1') {
    delete process.env.COVE_AGENT_ARMED;
    await armed();
  }
  return main(process.argv.slice(2));
}

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

run().then((code) => {
  // A failed start exits at once, whatever it left open; a clean stop has closed everything and exits by itself.
  if (code !== 0) process.exit(code);
});
