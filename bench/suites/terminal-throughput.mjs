// Terminal output throughput: `cat` of a large text file in a terminal, received over `/ws` by a
// client that consumes every frame, against the same file `cat` through `ssh -tt` (a PTY on the
// server, the bytes to this process through a pipe) to a loopback OpenSSH server, same run,
// interleaved. Both count time from the first output byte to the last (ssh's handshake is done
// once by a ControlMaster connection and not counted). Target: ours ≥ 1.5x ssh.
//
// The agent reads a terminal's PTY through its native reader (packages/agent/native/pty-reader.c) when
// it has one. Each round runs, in an order that rotates from round to round: ours; ours with the reader
// switched off (a second agent, COVE_PTY_READER pointing nowhere: the agent reads the PTY itself); ssh;
// and bare node-pty reading the same `cat` in this process (no agent, no WebSocket, no client: the
// ceiling of a JavaScript reader here). The judgement is the median of the per-round ratios ours/ssh,
// with their spread (bench/lib/spread.mjs): on this shared machine single rates move 2x from one moment
// to the next, and a pair measured seconds apart moves less. CPU per MiB of both sides is recorded per
// round too (the agent plus its reader; every sshd process), which load disturbs less than rates.
//
// Both PTYs must be in the same modes. ssh run from a pipe (no local terminal to copy modes from)
// gets a fully raw PTY (-opost): the kernel then moves cat's writes in big blocks, while a cooked
// PTY (opost onlcr, what our terminals and any ssh from a real terminal have) turns every line into
// separate writes into the PTY — 1.5–2.5x slower for the writer whatever reads the other end. The
// ssh side therefore runs `stty sane -echo` first, as ours runs `stty -echo`, and both must receive
// the \r\n-expanded byte count.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { spawn as spawnBarePty } from 'node-pty';
import { spawnAgent } from '../lib/agent.mjs';
import { roundFigures, roundRatios, spread } from '../lib/spread.mjs';
import { startSshd } from '../lib/sshd.mjs';
import { median, ratio } from '../lib/stats.mjs';
import { closeTerminal, createTerminal, openWs } from '../lib/terminal-client.mjs';

const MiB = 1024 * 1024;
/** The file's line: 100 characters with its newline, like a big log. */
const LINE = `${'0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3).slice(0, 99)}\n`;

/**
 * CPU seconds a process has used so far, all its threads: the scheduler's nanosecond run time of each
 * (/proc/PID/task/TID/schedstat), steadier over a short run than the 10 ms ticks of /proc/PID/stat; 0 once
 * it is gone.
 */
function cpuSeconds(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) || 0;
    }
    return ns / 1e9;
  } catch {
    return 0;
  }
}

/** The agent's pty-reader (its child), once the terminal exists; undefined when it has none. */
async function readerOf(agentPid) {
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (stat.includes('(pty-reader)') && Number(fields[1]) === agentPid) return Number(pid);
  }
  return undefined;
}

/**
 * CPU seconds used so far by each process of this suite's sshd (the listener started with a config under
 * `scratch`, and its children: the ControlMaster session reads the PTY), by pid. Other sshd servers on the
 * machine are not counted.
 */
async function sshdCpu(scratch) {
  const procs = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (comm !== 'sshd' && comm !== 'sshd-session') continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    procs.push({ pid: Number(pid), ppid, ours: cmdline.includes(scratch) });
  }
  const listeners = new Set(procs.filter((p) => p.ours).map((p) => p.pid));
  const cpu = new Map();
  for (const p of procs) if (listeners.has(p.pid) || listeners.has(p.ppid)) cpu.set(p.pid, cpuSeconds(p.pid));
  return cpu;
}

/** CPU seconds spent between two `sshdCpu` snapshots by the processes alive at the second. */
function cpuSince(before, after) {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}

/** A text file of `size` bytes (a whole number of MiB) made of `LINE`s. */
async function makeFile(file, size) {
  const block = Buffer.from(LINE.repeat(Math.ceil(MiB / LINE.length)).slice(0, MiB));
  const fh = await open(file, 'w');
  for (let written = 0; written < size; written += MiB) await fh.write(block, 0, Math.min(MiB, size - written));
  await fh.close();
}

/**
 * One run over /ws: bytes of output received, ms from first byte to the exit notice, and CPU seconds of the
 * agent and of its reader for this terminal (sampled while it runs: it exits with the program). With
 * `requests`, another client asks `GET /terminals` of the agent one request after another while the output
 * flows (an agent serving its API during a flood); their latencies (ms) come back too.
 */
async function runOurs(agent, file, { requests = false } = {}) {
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
  const reader = await readerOf(agent.pid);
  let readerCpu = 0;
  const sampler = reader
    ? setInterval(() => {
        readerCpu = Math.max(readerCpu, cpuSeconds(reader));
      }, 10)
    : undefined;
  const cpu0 = cpuSeconds(agent.pid);
  ws.send(Buffer.from([id, 0x0d]));
  const latencies = [];
  let flowing = requests;
  const asking = (async () => {
    while (flowing) {
      const t = performance.now();
      const res = await fetch(`${agent.url}/terminals`, { headers: { authorization: `Bearer ${agent.token}` } });
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
    }
  })();
  const end = await finished;
  flowing = false;
  await asking;
  const cpu = cpuSeconds(agent.pid) - cpu0;
  clearInterval(sampler);
  ws.close();
  await closeTerminal(agent.url, agent.token, id);
  return { bytes, ms: end - first, cpu: cpu + readerCpu, readerCpu, reader: reader !== undefined, latencies };
}

/** One run of `ssh -tt`; `sshCommand(command)` is its argv, `scratch` the directory its sshd was started in. */
async function runSsh(sshCommand, file, scratch) {
  const cpu0 = await sshdCpu(scratch);
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
  return { ...run, cpu: cpuSince(cpu0, await sshdCpu(scratch)) };
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
    const size = smoke ? 4 * MiB : 64 * MiB;
    const rounds = smoke ? 1 : 21;
    const file = path.join(tmp, 'big.txt');
    await makeFile(file, size);
    const agent = await spawnAgent({ workdir: tmp });
    // The same agent with its native reader switched off: the agent reads each PTY itself.
    const direct = await spawnAgent({ workdir: tmp, env: { COVE_PTY_READER: path.join(tmp, 'no-pty-reader') } });
    const sshd = await startSshd(tmp);
    const sides = ['ours', 'direct', 'ssh', 'bare'];
    /** Per side: MiB/s and CPU seconds per MiB, one entry per round. */
    const rate = Object.fromEntries(sides.map((k) => [k, []]));
    const cpuPerMiB = Object.fromEntries(sides.map((k) => [k, []]));
    const readerCpuPerMiB = [];
    const mixedRounds = smoke ? 1 : 8;
    const mixed = { ours: { rate: [], p50: [] }, direct: { rate: [], p50: [] } };
    const sshCommand = (command) => ['ssh', '-tt', ...sshd.sshArgs(command)];
    // ONLCR turns each \n into \r\n on both PTYs: a run that received fewer bytes was not cooked.
    const expected = size + Math.floor(MiB / LINE.length) * (size / MiB);
    let rssMax = 0;
    let peerSetup = '';
    let readerUsed = true;
    try {
      peerSetup = sshd.describe(sshCommand(`stty sane -echo; exec cat '${file}'`));
      const runs = {
        ours: () => runOurs(agent, file),
        direct: () => runOurs(direct, file),
        ssh: () => runSsh(sshCommand, file, tmp),
        // Bare node-pty may miss the last few KiB at exit (see drainAtEnd in the agent): its rate is of what it got.
        bare: async () => {
          const c = await runBare(file);
          return { ...c, bytes: expected, ms: (c.ms * expected) / c.bytes, cpu: Number.NaN };
        },
      };
      for (let i = 0; i < rounds; i++) {
        const sampler = setInterval(() => {
          rssMax = Math.max(rssMax, agent.rssBytes());
        }, 50);
        // Each round starts with a different side, so none is always first after a pause (or last).
        const order = sides.map((_, k) => sides[(i + k) % sides.length]);
        const got = {};
        try {
          for (const side of order) got[side] = await runs[side]();
        } finally {
          clearInterval(sampler);
        }
        for (const side of sides) {
          const r = got[side];
          if (side !== 'bare' && r.bytes < expected) throw new Error(`${side} received ${r.bytes} of ${expected} bytes`);
          rate[side].push((size / MiB / r.ms) * 1000);
          if (side !== 'bare') cpuPerMiB[side].push(r.cpu / (size / MiB));
        }
        readerUsed &&= got.ours.reader && !got.direct.reader;
        readerCpuPerMiB.push(got.ours.readerCpu / (size / MiB));
        const f = (side) => `${rate[side].at(-1).toFixed(1)} MiB/s`;
        const ms = (side) => `${(cpuPerMiB[side].at(-1) * 1000).toFixed(1)} ms/MiB`;
        log(
          `round ${i + 1}/${rounds}: ours ${f('ours')} (${ms('ours')}), without reader ${f('direct')} (${ms('direct')}), ` +
            `ssh -tt ${f('ssh')} (sshd ${ms('ssh')}), ratio ${(rate.ours.at(-1) / rate.ssh.at(-1)).toFixed(2)}; bare node-pty ${f('bare')}`,
        );
      }
      // The same output while the agent also serves its API: with and without the reader, alternating.
      for (let i = 0; i < mixedRounds; i++) {
        for (const side of i % 2 === 0 ? ['ours', 'direct'] : ['direct', 'ours']) {
          const r = await runOurs(side === 'ours' ? agent : direct, file, { requests: true });
          if (r.bytes < expected) throw new Error(`${side} with requests received ${r.bytes} of ${expected} bytes`);
          mixed[side].rate.push((size / MiB / r.ms) * 1000);
          mixed[side].p50.push(median(r.latencies));
        }
        log(
          `with API requests ${i + 1}/${mixedRounds}: ours ${mixed.ours.rate.at(-1).toFixed(1)} MiB/s (request p50 ` +
            `${mixed.ours.p50.at(-1).toFixed(2)} ms), without reader ${mixed.direct.rate.at(-1).toFixed(1)} MiB/s ` +
            `(${mixed.direct.p50.at(-1).toFixed(2)} ms)`,
        );
      }
    } finally {
      await sshd.close();
      await agent.close();
      await direct.close();
    }
    if (!readerUsed) throw new Error('the agent did not read its terminals through pty-reader (or the switched-off one did)');
    const perRound = roundRatios(rate.ours, rate.ssh);
    const steady = spread(perRound);
    const cpuRatios = roundRatios(cpuPerMiB.ours, cpuPerMiB.ssh);
    const readerGain = spread(roundRatios(rate.ours, rate.direct));
    log(
      `per-round ratio ours/ssh: median ${steady.median} (${steady.min}–${steady.max}, half-IQR ${steady.half_iqr_pct}%); ` +
        `CPU per MiB ours/sshd median ${spread(cpuRatios).median}; reader on/off ${readerGain.median}, ` +
        `with API requests ${spread(roundRatios(mixed.ours.rate, mixed.direct.rate)).median}`,
    );
    const fixed = (x, d = 3) => +x.toFixed(d);
    const msPerMiB = (values) =>
      roundFigures(
        values.map((v) => v * 1000),
        2,
      );
    return {
      figures: {
        file_mib: size / MiB,
        rounds,
        ours_mib_s: fixed(median(rate.ours), 1),
        ssh_tt_mib_s: fixed(median(rate.ssh), 1),
        ratio_median_of_rounds: steady.median,
        ratio_spread: steady,
        ours_mib_s_rounds: roundFigures(rate.ours, 1),
        ssh_tt_mib_s_rounds: roundFigures(rate.ssh, 1),
        ratio_rounds: roundFigures(perRound),
        agent_cpu_ms_per_mib: msPerMiB(cpuPerMiB.ours),
        agent_reader_cpu_ms_per_mib: msPerMiB(readerCpuPerMiB),
        sshd_cpu_ms_per_mib: msPerMiB(cpuPerMiB.ssh),
        cpu_per_mib_ours_vs_sshd: spread(cpuRatios),
        without_reader_mib_s_rounds: roundFigures(rate.direct, 1),
        without_reader_agent_cpu_ms_per_mib: msPerMiB(cpuPerMiB.direct),
        with_vs_without_reader: readerGain,
        without_reader_vs_ssh_tt: spread(roundRatios(rate.direct, rate.ssh)),
        bare_node_pty_mib_s_rounds: roundFigures(rate.bare, 1),
        bare_node_pty_vs_ssh_tt: spread(roundRatios(rate.bare, rate.ssh)),
        with_requests_mib_s_rounds: roundFigures(mixed.ours.rate, 1),
        with_requests_without_reader_mib_s_rounds: roundFigures(mixed.direct.rate, 1),
        with_requests_with_vs_without_reader: spread(roundRatios(mixed.ours.rate, mixed.direct.rate)),
        with_requests_request_p50_ms_rounds: roundFigures(mixed.ours.p50, 2),
        with_requests_without_reader_request_p50_ms_rounds: roundFigures(mixed.direct.p50, 2),
        agent_rss_max_mib: fixed(rssMax / MiB, 1),
      },
      ratios: { throughput_vs_ssh_tt: ratio(steady.median, 1.5, 'at_least') },
      notes:
        'MiB of the file per second from the first output byte to the last (ours: to the exit notice). Ours: ' +
        '`sh -c "stty -echo; read _; exec cat FILE"` in a terminal, every binary frame of /ws counted here. Peer: ' +
        `${peerSetup}; stdout read through a pipe here. Both PTYs cooked (opost onlcr), both must deliver the \\r\\n-expanded ` +
        'count. Each round runs ours, ours without the native reader (a second agent with COVE_PTY_READER pointing nowhere), ' +
        'ssh and bare node-pty, starting from a different one each round. The ratio is the median of the per-round ratios ' +
        "ours/ssh (ratio_spread: quartiles and half-IQR). *_cpu_ms_per_mib: CPU time per MiB of output (the scheduler's " +
        'run time of every thread): ours the agent plus its pty-reader (agent_reader_*: the reader alone, sampled every ' +
        "10 ms while it runs), the peer this suite's sshd (listener and session); cpu_per_mib_ours_vs_sshd: per-round " +
        'ratios (below 1: ours costs less). with_requests_*: after the rounds, the same output (ours and without the ' +
        'reader, alternating) while another client sends GET /terminals one after another; the rate, and the p50 of ' +
        'those requests. bare_node_pty_*: the same cat ' +
        'read by bare node-pty in the benchmark process, no agent or WebSocket.',
    };
  },
};
