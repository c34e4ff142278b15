// The agent's start: a new process to its first `/health` answer (target: under 150 ms), against a bare
// `node:http` server started the same way, interleaved round by round. The agent is started as the sandbox
// driver starts it (packages/sandbox/src/agent-files.ts): node with the agent's V8 flags (bin/node-flags.json,
// under which the bundle's code cache is made), bin/cove-agent.js (the bundle and its cache), a token file,
// a state directory, an environment file, the environment the driver gives it. Each start is measured from
// spawn to the first 200 on `/health`, polled every millisecond; its CPU is the process's own, summed over its
// threads (`/proc/<pid>/task/*/schedstat`, nanoseconds) when that answer arrives.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { roundRatios, spread } from '../lib/spread.mjs';
import { median, percentile, ratio } from '../lib/stats.mjs';

const agentDir = fileURLToPath(new URL('../../packages/agent/', import.meta.url));
const agentBin = path.join(agentDir, 'bin/cove-agent.js');
const bundle = path.join(agentDir, 'dist/bundle/agent.cjs');
/** The target for spawn → first `/health`, in ms. */
const TARGET_MS = 150;
/**
 * The same target against the peer, so that a loaded machine, which slows both, does not decide it alone: 150 ms
 * over the bare server's p50 on a quiet machine (41 ms, plain `node -e`, this suite's method: agent-start.md).
 */
const TARGET_VS_BARE = 150 / 41;

/** The bare peer: Node's own floor for "a process that answers HTTP". */
const BARE_SERVER = `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end('{"status":"ok"}'); }).listen(Number(process.argv[1]), '127.0.0.1');`;

/** A free loopback port (the agent's `--listen` and the peer take it; the poll needs to know it beforehand). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One GET /health; resolves true on a 200, false when nothing answers yet. */
function healthOnce(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
  });
}

/** CPU time of a process, in ms: every thread's run time (schedstat's first field, ns), exited threads excluded. */
async function cpuMs(pid) {
  let ns = 0;
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const text = await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8').catch(() => '0');
    ns += Number(text.split(' ')[0]);
  }
  return ns / 1e6;
}

/** Starts `node args`, polls `/health` on `port` until it answers, and stops the process: { wallMs, cpuMs }. */
async function startOnce(args, port, env) {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  let early;
  exited.then((code) => {
    early = code;
  });
  try {
    for (;;) {
      if (early !== undefined) throw new Error(`node ${args.at(-1)} exited (${early}) before answering: ${stderr}`);
      if (await healthOnce(port)) break;
      if (Number(process.hrtime.bigint() - t0) > 30e9) throw new Error(`no /health answer within 30 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    return { wallMs, cpuMs: await cpuMs(child.pid) };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  }
}

/**
 * The bundle must be what bin/cove-agent.js runs (it falls back to the plain tsc build when the bundle is older
 * than one) and V8 must accept its code cache under the agent's flags; a start measured otherwise measures
 * something no workspace runs.
 */
async function checkBundle(flags) {
  const built = (await stat(bundle).catch(() => undefined))?.mtimeMs;
  if (built === undefined) throw new Error('the agent is not bundled: node packages/agent/scripts/bundle.mjs');
  for (const f of [
    'tsconfig.tsbuildinfo',
    '../protocol/tsconfig.tsbuildinfo',
    '../http/tsconfig.tsbuildinfo',
    '../wire/tsconfig.tsbuildinfo',
  ]) {
    const t = (await stat(path.join(agentDir, f)).catch(() => undefined))?.mtimeMs ?? 0;
    if (t > built) throw new Error(`the agent's bundle is older than ${f}: node packages/agent/scripts/bundle.mjs`);
  }
  const loader = JSON.stringify(path.join(agentDir, 'bin/bundle-loader.js'));
  const script = `import(${loader}).then(({ loadBundle }) => process.stdout.write(String(loadBundle(${JSON.stringify(bundle)}).cacheRejected)))`;
  const out = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
    });
    child.once('error', reject);
    child.once('exit', () => resolve(text));
  });
  if (out !== 'false') throw new Error(`V8 refuses the agent's code cache under ${flags.join(' ')} (cacheRejected: ${out})`);
}

const ms = (x) => Number(x.toFixed(1));
const summary = (xs) => ({ p50_ms: ms(median(xs)), p90_ms: ms(percentile(xs, 90)), min_ms: ms(Math.min(...xs)), runs: xs.length });

export default {
  name: 'agent-start',
  description: 'agent process start to its first /health answer (as the sandbox starts it) vs a bare node:http server',
  async run({ smoke, tmp, log }) {
    const flags = JSON.parse(await readFile(path.join(agentDir, 'bin/node-flags.json'), 'utf8'));
    await checkBundle(flags);
    const tokenFile = path.join(tmp, 'token');
    await writeFile(tokenFile, 's'.repeat(64), { mode: 0o600 });
    const envFile = path.join(tmp, 'env.json');
    await writeFile(envFile, JSON.stringify(['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8', 'TERM=xterm-256color']));
    const workdir = path.join(tmp, 'work');
    await mkdir(workdir);
    // The driver's environment for the agent (agent-files.ts agentEnv), nothing from the caller's.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root', LANG: 'C.UTF-8' };

    let starts = 0;
    const agent = async () => {
      const port = await freePort();
      // A fresh state directory per start: a new workspace's agent finds none.
      const stateDir = path.join(tmp, `state-${starts++}`);
      const args = [...flags, agentBin, '--listen', `127.0.0.1:${port}`, '--workdir', workdir, '--token-file', tokenFile];
      return startOnce([...args, '--state-dir', stateDir, '--env-file', envFile], port, env);
    };
    const bare = async () => {
      const port = await freePort();
      // Plain node: Node's own floor (the agent's flags would only slow it, see agent-start.md).
      return startOnce(['-e', BARE_SERVER, String(port)], port, env);
    };

    const loadAverage = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).map(Number);
    const loadAtStart = await loadAverage();
    // Warm-up: the page cache holds node, the bundle and its cache, as it does on a host that runs workspaces.
    await agent();
    await bare();
    const rounds = smoke ? 2 : 40;
    const runs = { agent: { wall: [], cpu: [] }, bare: { wall: [], cpu: [] } };
    for (let r = 0; r < rounds; r++) {
      // Alternating which goes first, so that neither always follows the other's exit.
      const order = r % 2 === 0 ? ['agent', 'bare'] : ['bare', 'agent'];
      for (const name of order) {
        const { wallMs, cpuMs: cpu } = await (name === 'agent' ? agent() : bare());
        runs[name].wall.push(wallMs);
        runs[name].cpu.push(cpu);
      }
      if ((r + 1) % 10 === 0)
        log(
          `round ${r + 1}/${rounds}: agent p50 ${median(runs.agent.wall).toFixed(1)} ms, bare p50 ${median(runs.bare.wall).toFixed(1)} ms`,
        );
    }
    const wallRatios = roundRatios(runs.agent.wall, runs.bare.wall);
    const cpuRatios = roundRatios(runs.agent.cpu, runs.bare.cpu);
    const agentP50 = median(runs.agent.wall);
    return {
      figures: {
        agent: { wall: summary(runs.agent.wall), cpu: summary(runs.agent.cpu) },
        bare_node_http: { wall: summary(runs.bare.wall), cpu: summary(runs.bare.cpu) },
        wall_ratio_per_round: spread(wallRatios),
        cpu_ratio_per_round: spread(cpuRatios),
        target_ms: TARGET_MS,
        // Wall times stretch with the machine's load (CPU times much less): the 1/5/15-minute load averages.
        load_average: { start: loadAtStart, end: await loadAverage() },
      },
      ratios: {
        p50_vs_150ms: ratio(agentP50 / TARGET_MS, 1, 'at_most'),
        p50_vs_bare_node_http: ratio(median(wallRatios), Number(TARGET_VS_BARE.toFixed(2)), 'at_most'),
      },
      notes:
        'Spawn to the first 200 on GET /health (polled every ms), one process at a time, the agent and the bare server alternating ' +
        `(${rounds} rounds). The agent: node ${flags.join(' ')} packages/agent/bin/cove-agent.js --listen 127.0.0.1:PORT --workdir ` +
        "--token-file --state-dir (fresh) --env-file, the sandbox driver's environment; its bundle's code cache checked accepted. " +
        'The peer: node -e "http.createServer(...).listen(PORT)". CPU: the process\'s threads\' run time at that answer. ' +
        `p50_vs_bare_node_http is the median of per-round ratios; its target is the 150 ms target over the peer's quiet p50 (41 ms). ` +
        "Absolute times depend on the machine's load (see history.md for the load of each run).",
    };
  },
};
