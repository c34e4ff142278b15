// Terminal output throughput: `cat` of a large text file in a terminal, received over `/ws` by a
// client that consumes every frame, against the same file `cat` through `ssh -tt` (a PTY on the
// server, the bytes to this process through a pipe) to a loopback OpenSSH server, same run,
// alternating. Both count time from the first output byte to the last (ssh's handshake is done
// once by a ControlMaster connection and not counted). Target: ours ≥ 1.5x ssh.
// Rounds run in pairs, alternating which goes first; each pair's ratio is recorded with their spread.
//
// Both PTYs must be in the same modes. ssh run from a pipe (no local terminal to copy modes from)
// gets a fully raw PTY (-opost): the kernel then moves cat's writes in big blocks, while a cooked
// PTY (opost onlcr, what our terminals and any ssh from a real terminal have) turns every line into
// separate writes into the PTY — 1.5–2.5x slower for the writer whatever reads the other end. The
// ssh side therefore runs `stty sane -echo` first, as ours runs `stty -echo`, and both must receive
// the \r\n-expanded byte count. CPU time of the agent and of sshd is recorded per round.
//
// Each round also reads the same `cat` with bare node-pty in this process (no agent, no WebSocket,
// no client): what any reader of such a PTY reaches on this machine at that moment. A PTY hands out
// at most ~4 KiB per read, so that ceiling is set by the kernel (bench/results/exec-terminal-profile.md).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { spawn as spawnBarePty } from 'node-pty';
import { spawnAgent } from '../lib/agent.mjs';
import { roundFigures } from '../lib/spread.mjs';
import { startSshd } from '../lib/sshd.mjs';
import { median, ratio } from '../lib/stats.mjs';
import { closeTerminal, createTerminal, openWs } from '../lib/terminal-client.mjs';

const MiB = 1024 * 1024;
/** The file's line: 100 characters with its newline, like a big log. */
const LINE = `${'0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3).slice(0, 99)}\n`;

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
  } catch {
    return 0;
  }
}

/** CPU seconds used so far by every sshd process (listener, ControlMaster session). */
async function sshdCpuSeconds() {
  let total = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'sshd' || comm.trim() === 'sshd-session') total += cpuSeconds(pid);
  }
  return total;
}

/** A text file of `size` bytes (a whole number of MiB) made of `LINE`s. */
async function makeFile(file, size) {
  const block = Buffer.from(LINE.repeat(Math.ceil(MiB / LINE.length)).slice(0, MiB));
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
  const cpu0 = cpuSeconds(agent.pid);
  ws.send(Buffer.from([id, 0x0d]));
  const end = await finished;
  const cpu = cpuSeconds(agent.pid) - cpu0;
  ws.close();
  await closeTerminal(agent.url, agent.token, id);
  return { bytes, ms: end - first, cpu };
}

/** One run of `ssh -tt`; `sshCommand(command)` is its argv. */
async function runSsh(sshCommand, file) {
  const cpu0 = await sshdCpuSeconds();
  const run = await new Promise((resolve, reject) => {
    // The same PTY modes as our terminal (see the top of this file).
    const [program, ...args] = sshCommand(`stty sane -echo; exec cat '${file}'`);
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'inherit'] });
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
  return { ...run, cpu: (await sshdCpuSeconds()) - cpu0 };
}

/** The same output read by bare node-pty here; resolves to bytes received and ms from first to last. */
function runBare(file) {
  return new Promise((resolve) => {
    const pty = spawnBarePty('/bin/sh', ['-c', `stty -echo; exec cat '${file}'`], { encoding: null, cols: 80, rows: 24 });
    let bytes = 0;
    let first = 0;
    let last = 0;
    pty.onData((chunk) => {
      last = performance.now();
      if (bytes === 0) first = last;
      bytes += chunk.length;
    });
    pty.onExit(() => resolve({ bytes, ms: last - first }));
  });
}

export default {
  name: 'terminal-throughput',
  description: 'cat of a large file in a terminal, received over /ws, vs the same through ssh -tt to loopback sshd',
  requires: { sshd: 'openssh-server', ssh: 'openssh-client' },
  async run({ smoke, tmp, log }) {
    const size = smoke ? 4 * MiB : 256 * MiB;
    const rounds = smoke ? 1 : 9;
    const file = path.join(tmp, 'big.txt');
    await makeFile(file, size);
    const agent = await spawnAgent({ workdir: tmp });
    const sshd = await startSshd(tmp);
    const ours = [];
    const peer = [];
    const oursCpu = [];
    const peerCpu = [];
    const ratios = [];
    const bare = [];
    const sshCommand = (command) => ['ssh', '-tt', ...sshd.sshArgs(command)];
    // ONLCR turns each \n into \r\n on both PTYs: a run that received fewer bytes was not cooked.
    const expected = size + Math.floor(MiB / LINE.length) * (size / MiB);
    let rssMax = 0;
    let peerSetup = '';
    try {
      peerSetup = sshd.describe(sshCommand(`stty sane -echo; exec cat '${file}'`));
      for (let i = 0; i < rounds; i++) {
        const sampler = setInterval(() => {
          rssMax = Math.max(rssMax, agent.rssBytes());
        }, 50);
        // Alternating which goes first, so both see the same (shared, noisy) machine.
        const b0 = i % 2 === 1 ? await runSsh(sshCommand, file) : undefined;
        const a = await runOurs(agent, file);
        clearInterval(sampler);
        const b = b0 ?? (await runSsh(sshCommand, file));
        for (const [name, r] of [
          ['ours', a],
          ['ssh', b],
        ]) {
          if (r.bytes < expected) throw new Error(`${name} received ${r.bytes} of ${expected} bytes`);
        }
        ours.push((size / MiB / a.ms) * 1000);
        peer.push((size / MiB / b.ms) * 1000);
        oursCpu.push(a.cpu);
        peerCpu.push(b.cpu);
        ratios.push(ours.at(-1) / peer.at(-1));
        // Bare node-pty may miss the last few KiB at exit (see drainAtEnd in the agent): its rate is of what it got.
        const c = await runBare(file);
        bare.push(((c.bytes / expected) * (size / MiB) * 1000) / c.ms);
        log(
          `round ${i + 1}/${rounds}: ours ${ours.at(-1).toFixed(1)} MiB/s (agent CPU ${a.cpu.toFixed(2)} s), ` +
            `ssh -tt ${peer.at(-1).toFixed(1)} MiB/s (sshd CPU ${b.cpu.toFixed(2)} s), ratio ${ratios.at(-1).toFixed(2)}; ` +
            `bare node-pty ${bare.at(-1).toFixed(1)} MiB/s`,
        );
      }
    } finally {
      await sshd.close();
      await agent.close();
    }
    const oursMiBs = median(ours);
    const sshMiBs = median(peer);
    const fixed = (x, d = 3) => +x.toFixed(d);
    return {
      figures: {
        file_mib: size / MiB,
        rounds,
        ours_mib_s: +oursMiBs.toFixed(1),
        ssh_tt_mib_s: +sshMiBs.toFixed(1),
        agent_cpu_s: +median(oursCpu).toFixed(2),
        sshd_cpu_s: +median(peerCpu).toFixed(2),
        agent_rss_max_mib: +(rssMax / MiB).toFixed(1),
        ours_mib_s_rounds: roundFigures(ours, 1),
        ssh_tt_mib_s_rounds: roundFigures(peer, 1),
        ratio_rounds: roundFigures(ratios),
        bare_node_pty_mib_s_rounds: roundFigures(bare, 1),
        bare_node_pty_vs_ssh_tt: fixed(median(bare) / sshMiBs),
        agent_cpu_s_rounds: roundFigures(oursCpu, 2),
        sshd_cpu_s_rounds: roundFigures(peerCpu, 2),
      },
      ratios: { throughput_vs_ssh_tt: ratio(oursMiBs / sshMiBs, 1.5, 'at_least') },
      notes:
        'MiB of the file per second from the first output byte to the last (ours: to the exit notice). Ours: ' +
        '`sh -c "stty -echo; read _; exec cat FILE"` in a terminal, every binary frame of /ws counted here. Peer: ' +
        `${peerSetup}; stdout read through a pipe here. Both PTYs cooked (opost onlcr), both must deliver the \\r\\n-expanded ` +
        "count. The ratio is of the medians; ratio_rounds gives each pair's ratio and their spread ((max - min) / median). " +
        'bare_node_pty_*: the same cat read by bare node-pty in the benchmark process, no agent or WebSocket (the ceiling of a reader here).',
    };
  },
};
