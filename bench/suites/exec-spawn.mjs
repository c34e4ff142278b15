// Spawning is the exec hot path. Round trip of `POST /exec {"cmd":["true"]}` on a kept-alive
// connection to the built agent, against, in the same run and interleaved:
//  - a bare Node `child_process.spawn('true')` in this process, waited to exit (target: ours ≤ 1.3x);
//  - `ssh … true` to a loopback OpenSSH server through a ControlMaster connection (target: ≤ 0.5x).
import { spawn } from 'node:child_process';
import http from 'node:http';
import { spawnAgent } from '../lib/agent.mjs';
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
      const rounds = smoke ? 2 : 10;
      const perRound = smoke ? 10 : 60;
      const ours = [];
      const bare = [];
      const ssh = [];
      // Warm-up: JIT in the agent and here, page cache for ssh.
      for (let i = 0; i < (smoke ? 5 : 50); i++) {
        await client.run();
        await bareSpawn();
      }
      await sshRun(sshArgs);
      // Interleaved rounds, so all three see the same machine load (the machine is shared).
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < perRound; i++) ours.push(await timeMs(client.run));
        for (let i = 0; i < perRound; i++) bare.push(await timeMs(bareSpawn));
        for (let i = 0; i < Math.ceil(perRound / 3); i++) ssh.push(await timeMs(() => sshRun(sshArgs)));
        log(
          `round ${r + 1}/${rounds}: ours p50 ${median(ours).toFixed(3)} ms, bare spawn ${median(bare).toFixed(3)} ms, ssh ${median(ssh).toFixed(3)} ms`,
        );
      }
      return {
        figures: { agent_exec: summary(ours), bare_node_spawn: summary(bare), ssh_controlmaster: summary(ssh) },
        ratios: {
          p50_vs_bare_spawn: ratio(median(ours) / median(bare), 1.3, 'at_most'),
          p50_vs_ssh_controlmaster: ratio(median(ours) / median(ssh), 0.5, 'at_most'),
        },
        notes:
          'Each sample is one command run to exit: POST /exec on one kept-alive HTTP/1.1 connection (answer checked for exit_code 0); ' +
          "child_process.spawn('true') in the benchmark process, waited to exit; `ssh -o ControlMaster=no -o ControlPath=… true` " +
          'through an already-authenticated master connection to sshd on 127.0.0.1 (new ssh client process per sample).',
      };
    } finally {
      client.close();
      await sshd.close();
      await agent.close();
    }
  },
};
