// Terminal output throughput: `cat` of a large text file in a terminal, received over `/ws` by a
// client that consumes every frame, against the same file `cat` through `ssh -tt` (a PTY on the
// server, the bytes to this process through a pipe) to a loopback OpenSSH server, same run,
// alternating. Both count time from the first output byte to the last (ssh's handshake is done
// once by a ControlMaster connection and not counted). Target: ours ≥ 1.0x ssh.
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { spawnAgent } from '../lib/agent.mjs';
import { startSshd } from '../lib/sshd.mjs';
import { median, ratio } from '../lib/stats.mjs';
import { closeTerminal, createTerminal, openWs } from '../lib/terminal-client.mjs';

const MiB = 1024 * 1024;

/** A text file of `size` bytes: 100-character lines, like a big log. */
async function makeFile(file, size) {
  const line = `${'0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3).slice(0, 99)}\n`;
  const block = Buffer.from(line.repeat(Math.ceil(MiB / line.length)).slice(0, MiB));
  const fh = await open(file, 'w');
  for (let written = 0; written < size; written += MiB) await fh.write(block, 0, Math.min(MiB, size - written));
  await fh.close();
}

/** One run over /ws: bytes of output received, and ms from first byte to the exit notice. */
async function runOurs(agent, file) {
  let id = -1;
  let bytes = 0;
  let first = 0;
  let done;
  const finished = new Promise((r) => {
    done = r;
  });
  const ws = await openWs(agent.url, agent.token, {
    onBinary: (frameId, frame) => {
      if (frameId !== id) return;
      if (bytes === 0) first = performance.now();
      bytes += frame.length - 1;
    },
    onText: (msg) => {
      if (msg.type === 'exit' && Number(msg.id) === id) done(performance.now());
    },
  });
  // The program waits for a keystroke so that no output is produced before the client listens.
  id = await createTerminal(agent.url, agent.token, { cmd: ['sh', '-c', `stty -echo; read _; exec cat '${file}'`] });
  ws.send(Buffer.from([id, 0x0d]));
  const end = await finished;
  ws.close();
  await closeTerminal(agent.url, agent.token, id);
  return { bytes, ms: end - first };
}

function runSsh(sshd, file) {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-tt', ...sshd.sshArgs('cat', file)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let bytes = 0;
    let first = 0;
    let last = 0;
    child.stdout.on('data', (chunk) => {
      last = performance.now();
      if (bytes === 0) first = last;
      bytes += chunk.length;
    });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve({ bytes, ms: last - first }) : reject(new Error(`ssh exited ${code}`))));
  });
}

export default {
  name: 'terminal-throughput',
  description: 'cat of a large file in a terminal, received over /ws, vs the same through ssh -tt to loopback sshd',
  requires: { sshd: 'openssh-server', ssh: 'openssh-client' },
  async run({ smoke, tmp, log }) {
    const size = smoke ? 4 * MiB : 512 * MiB;
    const rounds = smoke ? 1 : 3;
    const file = path.join(tmp, 'big.txt');
    await makeFile(file, size);
    const agent = await spawnAgent({ workdir: tmp });
    const sshd = await startSshd(tmp);
    const ours = [];
    const peer = [];
    let rssMax = 0;
    try {
      for (let i = 0; i < rounds; i++) {
        const sampler = setInterval(() => {
          rssMax = Math.max(rssMax, agent.rssBytes());
        }, 50);
        const a = await runOurs(agent, file);
        clearInterval(sampler);
        const b = await runSsh(sshd, file);
        for (const [name, r] of [
          ['ours', a],
          ['ssh', b],
        ]) {
          // ONLCR turns each \n into \r\n, so both receive the same number of bytes.
          if (r.bytes < size) throw new Error(`${name} received ${r.bytes} of ${size} bytes`);
        }
        ours.push((size / MiB / a.ms) * 1000);
        peer.push((size / MiB / b.ms) * 1000);
        log(`round ${i + 1}: ours ${ours.at(-1).toFixed(1)} MiB/s, ssh -tt ${peer.at(-1).toFixed(1)} MiB/s`);
      }
    } finally {
      await sshd.close();
      await agent.close();
    }
    const oursMiBs = median(ours);
    const sshMiBs = median(peer);
    return {
      figures: {
        file_mib: size / MiB,
        rounds,
        ours_mib_s: +oursMiBs.toFixed(1),
        ssh_tt_mib_s: +sshMiBs.toFixed(1),
        agent_rss_max_mib: +(rssMax / MiB).toFixed(1),
      },
      ratios: { throughput_vs_ssh_tt: ratio(oursMiBs / sshMiBs, 1.0, 'at_least') },
    };
  },
};
