// Streaming throughput: `cat` of a 1 GiB file through `POST /exec/stream` (SSE, base64 frames,
// decoded by the client) against the same `cat` through `ssh` to a loopback OpenSSH server
// (ControlMaster connection), both read by this process. Target: ours ≥ 1.5x ssh's bytes/s.
// Rounds run in pairs (alternating which goes first); each pair's ratio is recorded with the
// spread of those ratios, and the CPU time the agent and the ssh processes spent per pair.
// A second agent, started with `--no-expose-wasm`, builds its frames the copying way (Node's
// base64 string, copied into a Buffer) instead of in the WebAssembly encoder's slots
// (packages/agent/src/exec/frames): it runs in each round too, and a micro-benchmark of the two
// frame builders, in this process, is recorded beside.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { spawnAgent } from '../lib/agent.mjs';
import { cpuRatio, roundFigures } from '../lib/spread.mjs';
import { startSshd } from '../lib/sshd.mjs';
import { median, ratio } from '../lib/stats.mjs';

async function makeFile(file, bytes) {
  const block = randomBytes(1024 * 1024);
  const fh = await open(file, 'w');
  try {
    for (let written = 0; written < bytes; written += block.length) await fh.write(block, 0, Math.min(block.length, bytes - written));
  } finally {
    await fh.close();
  }
}

const HEAD = Buffer.from('event: stdout\ndata: {"data":"');
const EMPTY = Buffer.alloc(0);

/**
 * Counts the stdout bytes of an SSE stream the way a careful client reads it: every stdout
 * frame's base64 is decoded, on the bytes as they arrive. A frame's data is decoded piece by
 * piece (whole groups of 4 characters; the rest carried to the next piece), so the stream is
 * never concatenated; only a frame start cut by a read boundary is gathered.
 */
class StdoutCounter {
  bytes = 0;
  frames = 0;
  exit = '';
  #inData = false;
  #carry = '';
  /** Bytes of the frame tail (`"}\n\n`) still to skip. */
  #skip = 0;
  /** The start of a frame not yet recognised. */
  #head = EMPTY;

  /** @param {Buffer} chunk */
  push(chunk) {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - pos);
        this.#skip -= n;
        pos += n;
      } else if (this.#inData) {
        // base64 has no '"': the first one ends the data.
        const quote = chunk.indexOf(0x22, pos);
        const stop = quote < 0 ? chunk.length : quote;
        this.#decode(chunk.toString('latin1', pos, stop));
        if (quote < 0) return;
        if (this.#carry !== '') throw new Error('a stdout frame whose base64 is cut');
        this.#inData = false;
        this.#skip = 4;
        pos = quote;
      } else pos = this.#frameStart(chunk, pos);
    }
  }

  #decode(text) {
    const all = this.#carry === '' ? text : this.#carry + text;
    const whole = all.length - (all.length % 4);
    this.bytes += Buffer.from(whole === all.length ? all : all.slice(0, whole), 'base64').length;
    this.#carry = all.slice(whole);
  }

  /** At a frame's start: a stdout head opens its data; any other frame is read whole. Returns the new position. */
  #frameStart(chunk, pos) {
    const held = this.#head.length;
    const acc = held > 0 ? Buffer.concat([this.#head, chunk.subarray(pos)]) : chunk.subarray(pos);
    this.#head = EMPTY;
    let used;
    if (acc.length >= HEAD.length && acc.compare(HEAD, 0, HEAD.length, 0, HEAD.length) === 0) {
      this.#inData = true;
      this.frames++;
      used = HEAD.length;
    } else {
      const end = acc.indexOf('\n\n');
      if (end < 0) {
        this.#head = Buffer.from(acc); // a frame start cut by the read: wait for the rest
        return chunk.length;
      }
      if (acc.toString('latin1', 0, 11) === 'event: exit') this.exit = acc.toString('latin1', 0, end);
      used = end + 2;
    }
    return pos + used - held;
  }
}

/** Stdout frames of the last SSE run: how big the agent's pipe reads were. */
let lastFrames = 0;

/** Streams `cat file` over SSE; resolves to the decoded byte count. */
function viaSse(url, token, file) {
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({ cmd: ['cat', file] });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname,
        port,
        path: '/exec/stream',
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
        const counter = new StdoutCounter();
        res.on('data', (chunk) => counter.push(chunk));
        res.on('end', () => {
          lastFrames = counter.frames;
          if (counter.exit.includes('"exit_code":0')) resolve(counter.bytes);
          else reject(new Error(`no clean exit: ${counter.exit}`));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds used so far by the ssh side: every sshd and ssh process (server session, master). */
async function sshCpuSeconds() {
  let total = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
    if (comm === 'sshd' || comm === 'sshd-session' || comm === 'ssh') total += cpuSeconds(pid);
  }
  return total;
}

const fixed = (x, d = 3) => +x.toFixed(d);

/** The agent's own node flags (bin/node-flags.json), plus `extra`. */
const agentFlags = (extra) => [
  ...JSON.parse(readFileSync(new URL('../../packages/agent/bin/node-flags.json', import.meta.url), 'utf8')),
  ...extra,
];

/**
 * Milliseconds per GiB to build stdout frames of 64 KiB chunks: `outputFrame` (Node's base64 string
 * copied into a fresh Buffer) against the WebAssembly encoder (chunk copied into its memory, encoded
 * into a slot, released as a socket write would). Several rounds, each both ways.
 */
async function frameBuilders(rounds, bytes) {
  // The built agent's modules, loaded only when the suite runs (listing the suites needs no build).
  const { FrameSlots } = await import('../../packages/agent/dist/exec/frames/frame-slots.js');
  const { outputFrame } = await import('../../packages/agent/dist/exec/sse.js');
  const slots = FrameSlots.create();
  if (slots === undefined) throw new Error('no WebAssembly SIMD in this node');
  const head = Buffer.from('event: stdout\ndata: {"data":"');
  const tail = Buffer.from('"}\n\n');
  const chunks = Array.from({ length: 64 }, () => randomBytes(64 * 1024));
  const perGiB = (ms) => (ms * 1024 * 1024 * 1024) / bytes;
  const time = (build) => {
    const start = process.hrtime.bigint();
    let sink = 0;
    for (let done = 0, i = 0; done < bytes; done += 64 * 1024, i++) sink += build(chunks[i & 63]).length;
    if (sink === 0) throw new Error('no frames');
    return perGiB(Number(process.hrtime.bigint() - start) / 1e6);
  };
  const copying = [];
  const wasm = [];
  for (let r = 0; r < rounds; r++) {
    copying.push(time((chunk) => outputFrame(1, chunk)));
    wasm.push(
      time((chunk) => {
        const frame = slots.frame(head, tail, chunk);
        slots.release(frame);
        return frame;
      }),
    );
  }
  return { copying, wasm };
}

/** Runs `ssh … cat file`; resolves to the byte count read from its stdout. */
function viaSsh(args) {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    child.stdout.on('data', (d) => {
      bytes += d.length;
    });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`ssh exited ${code}`))));
  });
}

async function throughput(fn, expected) {
  const start = process.hrtime.bigint();
  const bytes = await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (bytes !== expected) throw new Error(`got ${bytes} bytes, expected ${expected}`);
  return bytes / seconds / (1024 * 1024);
}

export default {
  name: 'exec-stream',
  description: 'cat of a 1 GiB file through POST /exec/stream (SSE, base64) vs the same cat through ssh on loopback',
  requires: { sshd: 'openssh-server', ssh: 'openssh-client' },
  async run({ smoke, tmp, log }) {
    const size = smoke ? 4 * 1024 * 1024 : 1024 * 1024 * 1024;
    const file = path.join(tmp, 'big.bin');
    await makeFile(file, size);
    const agent = await spawnAgent({ workdir: tmp });
    // The same agent without the WebAssembly API: every frame takes the copying path.
    const copyAgent = await spawnAgent({ workdir: tmp, nodeArgs: agentFlags(['--no-expose-wasm']) });
    const sshd = await startSshd(tmp);
    try {
      const sshArgs = sshd.sshArgs('cat', file);
      const rounds = smoke ? 1 : 10;
      const ours = [];
      const ssh = [];
      const ratios = [];
      const agentCpu = [];
      const sshCpu = [];
      const cpuRatios = [];
      const frameKiB = [];
      const copyOurs = [];
      const copyCpu = [];
      const wasmVsCopy = [];
      const wasmCpuVsCopyCpu = [];
      // Warm-up: page cache, JIT.
      await viaSse(agent.url, agent.token, file);
      await viaSse(copyAgent.url, copyAgent.token, file);
      await viaSsh(sshArgs);
      // Interleaved, alternating which goes first, so both see the same (shared, noisy) machine.
      for (let r = 0; r < rounds; r++) {
        const runOurs = async () => {
          const cpu0 = cpuSeconds(agent.pid);
          ours.push(await throughput(() => viaSse(agent.url, agent.token, file), size));
          agentCpu.push(cpuSeconds(agent.pid) - cpu0);
          frameKiB.push(size / lastFrames / 1024);
        };
        const runSsh = async () => {
          const cpu0 = await sshCpuSeconds();
          ssh.push(await throughput(() => viaSsh(sshArgs), size));
          sshCpu.push((await sshCpuSeconds()) - cpu0);
        };
        const runCopy = async () => {
          const cpu0 = cpuSeconds(copyAgent.pid);
          copyOurs.push(await throughput(() => viaSse(copyAgent.url, copyAgent.token, file), size));
          copyCpu.push(cpuSeconds(copyAgent.pid) - cpu0);
        };
        // The three take turns going first.
        const order = [runOurs, runSsh, runCopy];
        for (let k = 0; k < 3; k++) await order[(r + k) % 3]();
        ratios.push(ours.at(-1) / ssh.at(-1));
        cpuRatios.push(cpuRatio(agentCpu.at(-1), sshCpu.at(-1)));
        wasmVsCopy.push(ours.at(-1) / copyOurs.at(-1));
        wasmCpuVsCopyCpu.push(cpuRatio(agentCpu.at(-1), copyCpu.at(-1)));
        log(
          `round ${r + 1}/${rounds}: ours ${ours.at(-1).toFixed(0)} MiB/s (agent CPU ${agentCpu.at(-1).toFixed(2)} s, ` +
            `${frameKiB.at(-1).toFixed(0)} KiB per frame), ` +
            `ssh ${ssh.at(-1).toFixed(0)} MiB/s (ssh+sshd CPU ${sshCpu.at(-1).toFixed(2)} s), ratio ${ratios.at(-1).toFixed(2)}; ` +
            `copying frames ${copyOurs.at(-1).toFixed(0)} MiB/s (agent CPU ${copyCpu.at(-1).toFixed(2)} s)`,
        );
      }
      const builders = await frameBuilders(smoke ? 1 : 5, smoke ? 64 * 1024 * 1024 : 1024 * 1024 * 1024);
      log(
        `frame builders, ms per GiB: copying ${builders.copying.map((x) => x.toFixed(0))}, WebAssembly ${builders.wasm.map((x) => x.toFixed(0))}`,
      );
      return {
        figures: {
          file_bytes: size,
          rounds,
          agent_sse_mib_per_s: { median: fixed(median(ours), 1), runs: ours.map((x) => fixed(x, 1)) },
          ssh_mib_per_s: { median: fixed(median(ssh), 1), runs: ssh.map((x) => fixed(x, 1)) },
          ratio_rounds: roundFigures(ratios),
          agent_cpu_s_per_run: roundFigures(agentCpu, 2),
          ssh_cpu_s_per_run: roundFigures(sshCpu, 2),
          // CPU per run moves less with the machine's load than wall-clock rates do.
          agent_cpu_vs_ssh_cpu_rounds: roundFigures(cpuRatios),
          // One frame per pipe read: small frames mean the agent outran cat (more CPU per byte).
          kib_per_frame_rounds: roundFigures(frameKiB, 1),
          agent_rss_after_bytes: agent.rssBytes(),
          // The same agent building frames the copying way (`--no-expose-wasm`), in the same rounds.
          copying_frames: {
            agent_sse_mib_per_s: { median: fixed(median(copyOurs), 1), runs: copyOurs.map((x) => fixed(x, 1)) },
            agent_cpu_s_per_run: roundFigures(copyCpu, 2),
            wasm_vs_copying_rounds: roundFigures(wasmVsCopy),
            wasm_cpu_vs_copying_cpu_rounds: roundFigures(wasmCpuVsCopyCpu),
            agent_rss_after_bytes: copyAgent.rssBytes(),
          },
          // In this process: building stdout frames of 64 KiB chunks, per GiB of output.
          frame_build_ms_per_gib: {
            copying: roundFigures(builders.copying, 1),
            wasm_slots: roundFigures(builders.wasm, 1),
          },
        },
        ratios: { throughput_vs_ssh: ratio(median(ours) / median(ssh), 1.5, 'at_least') },
        notes:
          'Bytes delivered to the client per second, from the request (or the ssh start) to the last byte. SSE: one HTTP/1.1 ' +
          'request, every stdout frame base64-decoded here as it arrives (StdoutCounter). ssh: its default cipher, stdout read ' +
          `through a pipe here. Peer: ${sshd.describe(['ssh', ...sshArgs])}. The ratio is of the medians; ratio_rounds gives each pair's ` +
          'ratio and their spread ((max - min) / median); *_cpu_s_per_run is the CPU time the agent, or every ssh/sshd process, ' +
          'used per run (the sshd session and the ssh master that decrypts; the reader in this process is not counted on either ' +
          "side: ours decodes base64, ssh's only reads a pipe). copying_frames: a second agent started with --no-expose-wasm " +
          "(no WebAssembly: each frame is Node's base64 string copied into a Buffer), run in the same rounds (the three take " +
          'turns going first); wasm_vs_copying_rounds is the per-round throughput ratio of the two agents. frame_build_ms_per_gib: ' +
          'the two frame builders alone, 64 KiB chunks, in the benchmark process.',
      };
    } finally {
      await sshd.close();
      await agent.close();
      await copyAgent.close();
    }
  },
};
