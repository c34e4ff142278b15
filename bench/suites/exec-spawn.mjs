// Spawning is the exec hot path. Round trip of `POST /exec {"cmd":["true"]}` on a kept-alive
// connection to the built agent, against, in the same run and interleaved (in shuffled order):
//  - a bare Node `child_process.spawn('true')` in this process, waited to exit (target: ours ≤ 1.3x);
//  - `ssh … true` to a loopback OpenSSH server through a ControlMaster connection (target: ≤ 0.5x).
// The ssh peer runs without the machine's login set-up (see bench/lib/sshd.mjs: root's ~/.bashrc
// made it 288 ms); each round's ratios are recorded, and their spread, so a ratio that moves
// between rounds shows it.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { spawnAgent } from '../lib/agent.mjs';
import { roundFigures } from '../lib/spread.mjs';
import { startSshd } from '../lib/sshd.mjs';
import { median, percentile, ratio, timeMs } from '../lib/stats.mjs';

function bareSpawn() {
  return new Promise((resolve, reject) => {
    const child = spawn('true');
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`true exited ${code}`))));
  });
}

function sshRun(args) {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh exited ${code}`))));
  });
}

/** POST /exec over one kept-alive connection; checks the answer. */
function execClient(url, token) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({ cmd: ['true'] });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  return {
    run: () =>
      new Promise((resolve, reject) => {
        const req = http.request({ agent, hostname, port, path: '/exec', method: 'POST', headers }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200 || !text.includes('"exit_code":0')) reject(new Error(`unexpected answer ${res.statusCode} ${text}`));
            else resolve();
          });
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** A copy of `items` in random order (Fisher-Yates). */
function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const summary = (xs) => ({ p50_ms: +median(xs).toFixed(3), p90_ms: +percentile(xs, 90).toFixed(3), runs: xs.length });

export default {
  name: 'exec-spawn',
  description: 'POST /exec {"cmd":["true"]} round trip (kept-alive) vs bare Node spawn(true) and vs ssh ControlMaster on loopback',
  requires: { sshd: 'openssh-server', ssh: 'openssh-client' },
  async run({ smoke, tmp, log }) {
    const agent = await spawnAgent({ workdir: tmp });
    const sshd = await startSshd(tmp);
    const client = execClient(agent.url, agent.token);
    const sshArgs = sshd.sshArgs('true');
    try {
      const rounds = smoke ? 2 : 15;
      const perRound = smoke ? 10 : 30;
      const ours = [];
      const bare = [];
      const ssh = [];
      const vsBare = [];
      const vsSsh = [];
      const sshP50 = [];
      // Warm-up: JIT in the agent and here, page cache for ssh. The agent's request path (HTTP, routing,
      // validation, the exec domain, the spawn helper's IPC) is a lot of code that V8 is still optimizing
      // after hundreds of requests; after 50 of them, the first rounds measured that warm-up
      // (exec-terminal-profile.md). The hot path is what this suite is about.
      for (let i = 0; i < (smoke ? 5 : 500); i++) {
        await client.run();
        await bareSpawn();
      }
      await sshRun(sshArgs);
      // Interleaved, so all three see the same machine load (the machine is shared).
      for (let r = 0; r < rounds; r++) {
        const round = { ours: [], bare: [], ssh: [] };
        // One sample of each in turn, so a burst of load from elsewhere hits all three alike. The order is
        // shuffled each time: with a fixed order, the work a sample leaves behind (ssh's session teardown,
        // the agent's command log, a collection in this process) always landed on the same next peer.
        const samplers = [
          () => timeMs(client.run).then((ms) => round.ours.push(ms)),
          () => timeMs(bareSpawn).then((ms) => round.bare.push(ms)),
          () => timeMs(() => sshRun(sshArgs)).then((ms) => round.ssh.push(ms)),
        ];
        for (let i = 0; i < perRound; i++) {
          for (const sampler of shuffled(samplers)) await sampler();
        }
        ours.push(...round.ours);
        bare.push(...round.bare);
        ssh.push(...round.ssh);
        vsBare.push(median(round.ours) / median(round.bare));
        vsSsh.push(median(round.ours) / median(round.ssh));
        sshP50.push(median(round.ssh));
        log(
          `round ${r + 1}/${rounds}: ours p50 ${median(round.ours).toFixed(3)} ms, bare spawn ${median(round.bare).toFixed(3)} ms, ` +
            `ssh ${median(round.ssh).toFixed(3)} ms (ours/bare ${vsBare.at(-1).toFixed(2)}, ours/ssh ${vsSsh.at(-1).toFixed(3)})`,
        );
      }
      return {
        figures: {
          agent_exec: summary(ours),
          bare_node_spawn: summary(bare),
          ssh_controlmaster: summary(ssh),
          rounds,
          ssh_p50_ms_rounds: roundFigures(sshP50),
          ratio_vs_bare_spawn_rounds: roundFigures(vsBare),
          ratio_vs_ssh_rounds: roundFigures(vsSsh),
        },
        ratios: {
          p50_vs_bare_spawn: ratio(median(ours) / median(bare), 1.3, 'at_most'),
          p50_vs_ssh_controlmaster: ratio(median(ours) / median(ssh), 0.5, 'at_most'),
        },
        notes:
          'Each sample is one command run to exit: POST /exec on one kept-alive HTTP/1.1 connection (answer checked for exit_code 0); ' +
          "child_process.spawn('true') in the benchmark process, waited to exit; one new ssh client process per sample through the " +
          `already-authenticated master connection (the session runs \`$SHELL -c true\`, as sshd always does). Peer: ${sshd.describe(['ssh', ...sshArgs])}. ` +
          'The three are sampled one after another in an order shuffled for every triple. ' +
          "Ratios are of the medians of all samples; *_rounds give each round's ratio and their spread ((max - min) / median).",
      };
    } finally {
      client.close();
      await sshd.close();
      await agent.close();
    }
  },
};
