// GET /files/read of a 1 KiB file at 32 connections (wrk) against a bare node:http server that
// answers the same request with fs.readFile and the same JSON fields, measured in the same run.
// Target: at least 0.6x the bare server's requests per second.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnAgent } from '../lib/agent.mjs';
import { median, ratio } from '../lib/stats.mjs';

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
      resolve({ url: `http://127.0.0.1:${m[1]}`, close });
    });
    child.on('error', reject);
  });
}

/** Runs wrk and returns requests per second (and non-2xx count, which must be 0). */
function wrk(url, token, seconds) {
  return new Promise((resolve, reject) => {
    const args = ['-t2', '-c32', `-d${seconds}s`, '-H', `Authorization: Bearer ${token}`, url];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const bad = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      if (!Number.isFinite(rps)) return reject(new Error(`cannot parse wrk output: ${out}`));
      if (bad > 0) return reject(new Error(`${bad} non-2xx responses from ${url}`));
      resolve(rps);
    });
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
      const seconds = smoke ? 1 : 5;
      const rounds = smoke ? 1 : 5;
      const ours = [];
      const theirs = [];
      // Warm-up (JIT) for both, then interleaved rounds so both see the same machine load.
      await wrk(agent.url + query, agent.token, 1);
      await wrk(peer.url + query, agent.token, 1);
      for (let i = 0; i < rounds; i++) {
        ours.push(await wrk(agent.url + query, agent.token, seconds));
        theirs.push(await wrk(peer.url + query, agent.token, seconds));
      }
      const cove = median(ours);
      const bare = median(theirs);
      log(`cove ${cove.toFixed(0)} req/s, bare node:http ${bare.toFixed(0)} req/s`);
      return {
        figures: {
          cove_rps_median: Math.round(cove),
          peer_rps_median: Math.round(bare),
          cove_rps_runs: ours.map(Math.round),
          peer_rps_runs: theirs.map(Math.round),
          file_bytes: 1024,
          connections: 32,
        },
        ratios: { cove_vs_bare_node_rps: ratio(cove / bare, 0.6, 'at_least') },
        notes: 'wrk -t2 -c32 on loopback; the peer checks the bearer header and answers the same JSON fields.',
      };
    } finally {
      await peer.close();
      await agent.close();
    }
  },
};
