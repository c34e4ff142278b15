// How fast the `cove` command starts, as a ratio to a bare `node -e 0` on the same machine (target: ≤ 2.5x):
// `cove --help`, `cove --version`, and `cove exec <ws> -- true` against a real `cove up` (process driver), whose
// remote part (a workspace lookup, a gateway token, the exec stream) takes a few milliseconds.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, percentile, ratio, timeMs } from '../lib/stats.mjs';

const bin = fileURLToPath(new URL('../../packages/cli/bin/cove.js', import.meta.url));
const FLOOR = 2.5;

/** Runs `node ARGS…` to exit; rejects unless it exits 0. */
function run(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

/** `cove up` on ports 0 with the process driver, in `dataDir`; resolves once it has written its credentials. */
async function coveUp(dataDir, env) {
  const child = spawn(process.execPath, [bin, 'up'], {
    env: { ...env, COVE_API_LISTEN: '127.0.0.1:0', COVE_GATEWAY_LISTEN: '127.0.0.1:0', COVE_DRIVER: 'process' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/control plane http:\/\/\S+/.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`cove up exited with ${code}`)));
  });
  // The credentials file is written before the line is printed: the CLI runs below read it.
  await readFile(path.join(dataDir, 'credentials.json'), 'utf8');
  return {
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const summary = (xs) => ({ p50_ms: +median(xs).toFixed(3), p90_ms: +percentile(xs, 90).toFixed(3), runs: xs.length });

export default {
  name: 'cli-start',
  description: '`cove --help`, `cove --version` and `cove exec ws -- true` (against a real `cove up`) vs a bare `node -e 0`',
  async run({ smoke, tmp, log }) {
    const dataDir = path.join(tmp, 'data');
    // Only what the benchmark sets: no COVE_* or OBLIEN_* from the caller's environment.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COVE_') && !k.startsWith('OBLIEN_')));
    env.COVE_DATA_DIR = dataDir;
    env.COVE_LOG_LEVEL = 'warn';
    const server = await coveUp(dataDir, env);
    try {
      await run([bin, 'ws', 'create', '--name', 'bench', '--public-access'], env);
      const cases = {
        node_e0: ['-e', '0'],
        cove_help: [bin, '--help'],
        cove_version: [bin, '--version'],
        cove_exec: [bin, 'exec', 'bench', '--', 'true'],
      };
      const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
      // Warm-up: the page cache, the agent's first exec, the gateway's token cache.
      for (const args of Object.values(cases)) await run(args, env);
      const rounds = smoke ? 1 : 10;
      const perRound = smoke ? 3 : 10;
      // Interleaved rounds, so that every case sees the same machine load (the machine is shared).
      for (let r = 0; r < rounds; r++) {
        for (const [name, args] of Object.entries(cases)) {
          for (let i = 0; i < perRound; i++) times[name].push(await timeMs(() => run(args, env)));
        }
        log(
          `round ${r + 1}/${rounds}: ${Object.entries(times)
            .map(([name, xs]) => `${name} p50 ${median(xs).toFixed(1)} ms`)
            .join(', ')}`,
        );
      }
      const node = median(times.node_e0);
      return {
        figures: Object.fromEntries(Object.entries(times).map(([name, xs]) => [name, summary(xs)])),
        ratios: {
          help_p50_vs_node: ratio(median(times.cove_help) / node, FLOOR, 'at_most'),
          version_p50_vs_node: ratio(median(times.cove_version) / node, FLOOR, 'at_most'),
          exec_p50_vs_node: ratio(median(times.cove_exec) / node, FLOOR, 'at_most'),
        },
        notes:
          'Each sample is a new process run to exit (spawn to exit, stdout discarded): `node -e 0`; `node packages/cli/bin/cove.js --help`; ' +
          '`… --version`; `… exec bench -- true` against `cove up` (process driver, ports 0, its credentials.json) on this machine, ' +
          'the workspace named (so the CLI looks it up), a gateway token minted and the command streamed each time.',
      };
    } finally {
      await server.close();
    }
  },
};
