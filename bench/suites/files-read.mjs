// GET /files/read of a 1 KiB file at 32 connections (wrk) against a bare node:http server that
// answers the same request with fs.readFile and the same JSON fields, measured in the same run.
// Target: at least the bare server's requests per second (ratio >= 1.0), judged on the median of
// per-round ratios; every round runs both servers back to back (order alternating), so each ratio
// compares the two under the same machine load, and the spread of those ratios is recorded.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnAgent } from '../lib/agent.mjs';
import { roundRatios, spread } from '../lib/spread.mjs';
import { median, ratio } from '../lib/stats.mjs';
import { wrk } from '../lib/wrk.mjs';

// The peer: the least a server can do for this request in Node (auth check included, no framework).
const PEER = `
const http = require('node:http');
const fs = require('node:fs');
const token = 'Bearer ' + process.env.PEER_TOKEN;
const server = http.createServer((req, res) => {
  if (req.headers.authorization !== token) { res.writeHead(401); return res.end(); }
  const file = new URL(req.url, 'http://x').searchParams.get('path');
  fs.readFile(file, (err, buf) => {
    if (err) { res.writeHead(404); return res.end(); }
    const content = buf.toString('utf8');
    const body = JSON.stringify({ success: true, path: file, content, size: buf.length, lines: content.split('\\n').length, extension: '.txt' });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write('listening ' + server.address().port + '\\n'));
`;
const CONNECTIONS = 32;
const THREADS = 2;

/** CPU time (user + system) a process has used so far, in microseconds (clock ticks of 10 ms). */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function startPeer(token) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', PEER], {
      env: { ...process.env, PEER_TOKEN: token },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (d) => {
      const m = /listening (\d+)/.exec(String(d));
      if (!m) return;
      const close = () =>
        new Promise((done) => {
          child.once('exit', done);
          child.kill('SIGTERM');
        });
      resolve({ url: `http://127.0.0.1:${m[1]}`, pid: child.pid, close });
    });
    child.on('error', reject);
  });
}

export default {
  name: 'files-read',
  description: 'GET /files/read of a 1 KiB file, 32 connections (wrk), vs bare node:http + fs.readFile',
  requires: { wrk: 'wrk' },
  async run({ smoke, tmp, log }) {
    const file = path.join(tmp, 'small.txt');
    await writeFile(file, `${'0123456789abcdef'.repeat(3)}\n`.repeat(21).slice(0, 1024));
    const agent = await spawnAgent({ workdir: tmp });
    const peer = await startPeer(agent.token);
    try {
      const query = `/files/read?path=${encodeURIComponent(file)}`;
      const check = await fetch(agent.url + query, { headers: { authorization: `Bearer ${agent.token}` } });
      const body = await check.json();
      if (check.status !== 200 || body.size !== 1024) throw new Error(`unexpected answer ${check.status} ${JSON.stringify(body)}`);
      const seconds = smoke ? 1 : 3;
      const rounds = smoke ? 2 : 11;
      const headers = [`Authorization: Bearer ${agent.token}`];
      const servers = {
        cove: { url: agent.url + query, pid: agent.pid, rps: [], cpu: [] },
        peer: { url: peer.url + query, pid: peer.pid, rps: [], cpu: [] },
      };
      const load = (url, s) => wrk({ url, connections: CONNECTIONS, threads: THREADS, seconds: s, headers });
      // Warm-up (JIT, connections) for both.
      for (const s of Object.values(servers)) await load(s.url, smoke ? 1 : 2);
      for (let i = 0; i < rounds; i++) {
        // Back to back within a round, the order alternating between rounds.
        const order = i % 2 === 0 ? ['cove', 'peer'] : ['peer', 'cove'];
        for (const name of order) {
          const s = servers[name];
          const before = cpuMicros(s.pid);
          const r = await load(s.url, seconds);
          if (r.errors > 0) throw new Error(`${r.errors} errors or non-2xx answers from ${name}`);
          s.rps.push(r.rps);
          s.cpu.push((cpuMicros(s.pid) - before) / (r.rps * seconds));
        }
        log(
          `round ${i + 1}: cove ${Math.round(servers.cove.rps[i])} req/s, peer ${Math.round(servers.peer.rps[i])} req/s (${(servers.cove.rps[i] / servers.peer.rps[i]).toFixed(2)}x)`,
        );
      }
      const perRound = roundRatios(servers.cove.rps, servers.peer.rps);
      const steady = spread(perRound);
      const cove = median(servers.cove.rps);
      const bare = median(servers.peer.rps);
      log(
        `cove ${cove.toFixed(0)} req/s, bare node:http ${bare.toFixed(0)} req/s; per-round ratio median ${steady.median}, half-IQR ${steady.half_iqr_pct}%`,
      );
      return {
        figures: {
          cove_rps_median: Math.round(cove),
          peer_rps_median: Math.round(bare),
          cove_rps_runs: servers.cove.rps.map(Math.round),
          peer_rps_runs: servers.peer.rps.map(Math.round),
          // Server CPU (user + system) per request, median over rounds (10 ms ticks over the round).
          cove_cpu_us_per_request: Number(median(servers.cove.cpu).toFixed(1)),
          peer_cpu_us_per_request: Number(median(servers.peer.cpu).toFixed(1)),
          ratio_rounds: perRound,
          ratio_spread: steady,
          file_bytes: 1024,
          connections: CONNECTIONS,
          seconds_per_round: seconds,
        },
        ratios: { cove_vs_bare_node_rps: ratio(steady.median, 1.0, 'at_least') },
        peer: {
          server: '`node -e PEER` (the PEER source above: node:http, bearer check, fs.readFile, the same JSON fields)',
          load: `wrk -t${THREADS} -c${CONNECTIONS} -d${seconds}s --latency -H 'Authorization: Bearer <token>' 'http://127.0.0.1:<port>${query}'`,
        },
        notes: `${rounds} rounds; in each, wrk runs against the agent and the peer back to back (order alternating). The ratio is the median of the per-round ratios (ratio_rounds, spread in ratio_spread).`,
      };
    } finally {
      await peer.close();
      await agent.close();
    }
  },
};
