// Streaming throughput: `cat` of a 1 GiB file through `POST /exec/stream` (SSE, base64 frames,
// decoded by the client) against the same `cat` through `ssh` to a loopback OpenSSH server
// (ControlMaster connection), both read by this process. Target: ours ≥ 0.8x ssh's bytes/s.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { spawnAgent } from '../lib/agent.mjs';
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
        // Frames are found and decoded on the bytes, as a careful client would.
        const HEAD = Buffer.from('event: stdout\ndata: {"data":"');
        let pending = Buffer.alloc(0);
        let bytes = 0;
        let exit = '';
        res.on('data', (chunk) => {
          const buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
          let start = 0;
          let end = buf.indexOf('\n\n', start);
          while (end >= 0) {
            if (buf.compare(HEAD, 0, HEAD.length, start, start + HEAD.length) === 0) {
              bytes += Buffer.from(buf.toString('latin1', start + HEAD.length, end - 2), 'base64').length;
            } else if (buf.toString('latin1', start, start + 11) === 'event: exit') exit = buf.toString('latin1', start, end);
            start = end + 2;
            end = buf.indexOf('\n\n', start);
          }
          pending = buf.subarray(start);
        });
        res.on('end', () => (exit.includes('"exit_code":0') ? resolve(bytes) : reject(new Error(`no clean exit: ${exit}`))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
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
    const sshd = await startSshd(tmp);
    try {
      const sshArgs = sshd.sshArgs('cat', file);
      const rounds = smoke ? 1 : 5;
      const ours = [];
      const ssh = [];
      // Warm-up: page cache, JIT.
      await viaSse(agent.url, agent.token, file);
      await viaSsh(sshArgs);
      // Interleaved, alternating which goes first, so both see the same (shared, noisy) machine.
      for (let r = 0; r < rounds; r++) {
        const runOurs = async () => ours.push(await throughput(() => viaSse(agent.url, agent.token, file), size));
        const runSsh = async () => ssh.push(await throughput(() => viaSsh(sshArgs), size));
        if (r % 2 === 0) await runOurs().then(runSsh);
        else await runSsh().then(runOurs);
        log(`round ${r + 1}/${rounds}: ours ${ours.at(-1).toFixed(0)} MiB/s, ssh ${ssh.at(-1).toFixed(0)} MiB/s`);
      }
      return {
        figures: {
          file_bytes: size,
          agent_sse_mib_per_s: { median: +median(ours).toFixed(1), runs: ours.map((x) => +x.toFixed(1)) },
          ssh_mib_per_s: { median: +median(ssh).toFixed(1), runs: ssh.map((x) => +x.toFixed(1)) },
          agent_rss_after_bytes: agent.rssBytes(),
        },
        ratios: { throughput_vs_ssh: ratio(median(ours) / median(ssh), 0.8, 'at_least') },
        notes:
          'Bytes delivered to the client per second. SSE: one kept-alive HTTP/1.1 request, every stdout frame base64-decoded here; ' +
          'ssh: default cipher, ControlMaster connection to sshd on 127.0.0.1, stdout read through a pipe here.',
      };
    } finally {
      await sshd.close();
      await agent.close();
    }
  },
};
