// The soak: a real control plane (`cove api`, process driver, SQLite) and gateway (`cove gateway` on the same
// store) held under load, with their memory followed from start to end.
//   1. 1,000 WebSockets through the gateway for 60 s: half drive terminals, half follow a file watcher.
//   2. 2,000 requests/s of mixed data-plane calls through the gateway for 5 minutes (open loop: requests are
//      sent on schedule whatever the answers do), p50/p99 and errors counted; RSS of both at the end of the
//      warm-up and at the end (growth under 10%).
//   3. Meanwhile, slow clients: slowloris connections that send a header byte now and then, a reader that takes
//      1 byte a second of a large file, and idle keep-alive connections; when each is closed is recorded (the
//      documented limits: a request head within 60 s, an idle connection 65 s).
// Not in the default run (`onDemand`): `npm run bench -- soak`. `--smoke` runs every part small, in seconds.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { spawnCove } from '../lib/cove-process.mjs';
import { percentile, ratio } from '../lib/stats.mjs';

const coveBin = fileURLToPath(new URL('../../packages/cli/bin/cove.js', import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes) => Number((bytes / 1024 / 1024).toFixed(1));
const round = (n) => Number(n.toFixed(2));

const SIZES = {
  full: { sockets: 1000, terminals: 10, wsSeconds: 60, rps: 2000, warmupSeconds: 30, loadSeconds: 300, slowloris: 50, bigFileMib: 16 },
  smoke: { sockets: 40, terminals: 2, wsSeconds: 2, rps: 100, warmupSeconds: 1, loadSeconds: 3, slowloris: 5, bigFileMib: 2 },
};

/** A control plane and a gateway on one data directory, one workspace, and a gateway JWT for it. */
async function startStack(tmp, log) {
  const dataDir = path.join(tmp, 'data');
  await mkdir(dataDir, { recursive: true });
  const creds = JSON.parse(
    execFileSync(process.execPath, [coveBin, 'api', 'credentials', 'create', '--data-dir', dataDir, '--json'], { encoding: 'utf8' }),
  );
  const api = await spawnCove({ args: ['api', '--data-dir', dataDir, '--driver', 'process', '--listen', '127.0.0.1:0'] });
  const gateway = await spawnCove({ args: ['gateway', '--data-dir', dataDir, '--listen', '127.0.0.1:0'] });
  const headers = { 'x-client-id': creds.client_id, 'x-client-secret': creds.client_secret, 'content-type': 'application/json' };
  const call = async (method, route, body) => {
    const res = await fetch(`${api.url}${route}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    const json = await res.json();
    if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const ws = await call('POST', '/workspace', { name: 'soak' });
  const id = ws.workspace.id;
  await call('POST', `/workspace/${id}/network`, { public_access: true });
  const { token } = await call('POST', `/workspace/${id}/internal-api-access/enable`);
  log(`stack up: api ${api.url}, gateway ${gateway.url}, workspace ${id}`);
  return { api, gateway, token, close: async () => Promise.all([gateway.close(), api.close()]) };
}

async function gw(stack, method, route, body) {
  const res = await fetch(`${stack.gateway.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Phase 1: `sockets` WebSockets on /ws through the gateway, half typing into terminals, half following a watcher. */
async function webSockets(stack, size, log) {
  const wsUrl = `${stack.gateway.url.replace('http', 'ws')}/ws`;
  // (An agent serves at most 10 live terminals: sockets share them.)
  const terminals = [];
  for (let i = 0; i < size.terminals; i++) {
    const t = await gw(stack, 'POST', '/terminals', { cmd: ['sh', '-c', 'stty raw -echo; exec cat'] });
    terminals.push(Number(t.id));
  }
  await gw(stack, 'POST', '/files/mkdir', { path: 'watched' }).catch(() => {});
  await gw(stack, 'POST', '/watchers', { path: 'watched' });
  const sockets = [];
  let opened = 0;
  let failed = 0;
  let closedEarly = 0;
  const received = new Array(size.sockets).fill(0);
  const openOne = (i) =>
    new Promise((resolve) => {
      const socket = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${stack.token}` }, perMessageDeflate: false });
      socket.on('message', () => {
        received[i]++;
      });
      socket.once('open', () => {
        opened++;
        sockets[i] = socket;
        socket.once('close', () => {
          if (!socket.finished) closedEarly++;
        });
        resolve();
      });
      socket.once('error', () => {
        failed++;
        resolve();
      });
    });
  // Opened 50 at a time: a thousand handshakes at once measures the accept queue, not the gateway.
  for (let i = 0; i < size.sockets; i += 50)
    await Promise.all(Array.from({ length: Math.min(50, size.sockets - i) }, (_, k) => openOne(i + k)));
  log(`${opened} WebSockets open (${failed} failed)`);
  const rssStart = { api: stack.api.rssBytes(), gateway: stack.gateway.rssBytes() };
  const until = Date.now() + size.wsSeconds * 1000;
  let round_ = 0;
  while (Date.now() < until) {
    // Terminal sockets type a line; watcher sockets see the write below as an event.
    sockets.forEach((s, i) => {
      if (s && i % 2 === 0 && s.readyState === WebSocket.OPEN) {
        const id = terminals[(i / 2) % terminals.length];
        s.send(Buffer.concat([Buffer.from([id]), Buffer.from(`${round_}\n`)]));
      }
    });
    await gw(stack, 'POST', '/files/write', { path: `watched/f${round_ % 10}.txt`, content: String(round_) }).catch(() => {});
    round_++;
    await sleep(1000);
  }
  const open = sockets.filter((s) => s && s.readyState === WebSocket.OPEN).length;
  const silent = received.filter((n, i) => sockets[i] && n === 0).length;
  const rssEnd = { api: stack.api.rssBytes(), gateway: stack.gateway.rssBytes() };
  for (const s of sockets) {
    if (!s) continue;
    s.finished = true;
    s.close();
  }
  for (const id of terminals)
    await fetch(`${stack.gateway.url}/terminals/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${stack.token}` } });
  return {
    requested: size.sockets,
    opened,
    failed,
    open_at_end: open,
    closed_early: closedEarly,
    silent_sockets: silent,
    messages: received.reduce((a, b) => a + b, 0),
    seconds: size.wsSeconds,
    rss_mib: {
      api_start: mib(rssStart.api),
      api_end: mib(rssEnd.api),
      gateway_start: mib(rssStart.gateway),
      gateway_end: mib(rssEnd.gateway),
    },
  };
}

/** A connection that sends a request head a byte every `everyMs`: resolves to the seconds until the gateway closed it. */
function slowloris(url, everyMs) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    const head = Buffer.from('GET /health HTTP/1.1\r\nHost: soak\r\nX-Slow: ');
    socket.write(head);
    const timer = setInterval(() => socket.write('a'), everyMs);
    socket.on('error', () => {});
    socket.once('close', () => {
      clearInterval(timer);
      resolve((Date.now() - started) / 1000);
    });
    socket.resume();
  });
}

/** A keep-alive connection that makes one request and then stays idle: seconds until the gateway closed it. */
function idleKeepAlive(url, token) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let answeredAt = 0;
    socket.write(`GET /files/stat?path=soak.txt HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    socket.on('data', () => {
      if (!answeredAt) answeredAt = Date.now();
    });
    socket.on('error', () => {});
    socket.once('close', () => resolve(answeredAt ? (Date.now() - answeredAt) / 1000 : -1));
  });
}

/** A reader of a large file that takes 1 byte a second: resolves to the bytes it got by `stop`. */
function slowReader(url, token, file, stopAt) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.write(`GET /files/read?path=${encodeURIComponent(file)} HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    socket.pause();
    let got = 0;
    const timer = setInterval(() => {
      const chunk = socket.read(1);
      if (chunk) got += chunk.length;
      if (Date.now() >= stopAt) {
        clearInterval(timer);
        socket.destroy();
        resolve(got);
      }
    }, 1000);
    socket.on('error', () => {});
  });
}

/** Phase 2 (with phase 3 alongside): the open-loop mixed load. */
async function load(stack, size, log) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const auth = `Bearer ${stack.token}`;
  const base = new URL(stack.gateway.url);
  await gw(stack, 'POST', '/files/write', { path: 'soak.txt', content: 'hello from the soak\n'.repeat(50) });
  // A large file for the slow reader (written in 1 MiB pieces through the agent).
  const piece = 'x'.repeat(1024 * 1024);
  await gw(stack, 'POST', '/files/write', { path: 'big.txt', content: '' });
  for (let i = 0; i < size.bigFileMib; i++) await gw(stack, 'POST', '/files/write', { path: 'big.txt', content: piece, append: true });
  const calls = [
    { weight: 50, method: 'GET', path: '/files/read?path=soak.txt' },
    { weight: 30, method: 'GET', path: '/files/stat?path=soak.txt' },
    { weight: 15, method: 'GET', path: '/runtime' },
    { weight: 4, method: 'POST', path: '/files/write', body: JSON.stringify({ path: 'w.txt', content: 'written' }) },
    { weight: 1, method: 'POST', path: '/exec', body: JSON.stringify({ cmd: ['true'] }) },
  ];
  const pick = [];
  for (const c of calls) for (let i = 0; i < c.weight; i++) pick.push(c);
  const latencies = [];
  let ok = 0;
  let errors = 0;
  const statuses = {};
  const one = (c) =>
    new Promise((resolve) => {
      const start = process.hrtime.bigint();
      const req = http.request(
        {
          host: base.hostname,
          port: base.port,
          method: c.method,
          path: c.path,
          agent,
          headers: { authorization: auth, ...(c.body ? { 'content-type': 'application/json' } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const ms = Number(process.hrtime.bigint() - start) / 1e6;
            if (res.statusCode < 300) {
              ok++;
              if (measuring) latencies.push(ms);
            } else {
              errors++;
              statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            }
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        errors++;
        statuses[err.code ?? 'error'] = (statuses[err.code ?? 'error'] ?? 0) + 1;
        resolve();
      });
      req.end(c.body);
    });

  let measuring = false;
  const inflight = new Set();
  const run = async (seconds) => {
    const started = performance.now();
    let sent = 0;
    while (performance.now() - started < seconds * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * size.rps);
      for (; sent < due; sent++) {
        const p = one(pick[sent % pick.length]);
        inflight.add(p);
        p.then(() => inflight.delete(p));
      }
      await sleep(5);
    }
    await Promise.all(inflight);
    return { sent, seconds: (performance.now() - started) / 1000 };
  };

  log(`warm-up: ${size.warmupSeconds} s at ${size.rps} req/s`);
  await run(size.warmupSeconds);
  ok = 0;
  errors = 0;
  measuring = true;
  const rssStart = { api: stack.api.rssBytes(), gateway: stack.gateway.rssBytes() };
  const series = [];
  const sampler = setInterval(() => series.push(mib(stack.gateway.rssBytes())), 10_000);
  // The slow clients, alongside.
  const stopAt = Date.now() + size.loadSeconds * 1000;
  const slow = Array.from({ length: size.slowloris }, () => slowloris(stack.gateway.url, 5000));
  // (The gateway's own /health closes its connection: the idle one asks the agent.)
  const idle = idleKeepAlive(stack.gateway.url, stack.token);
  const reader = slowReader(stack.gateway.url, stack.token, 'big.txt', stopAt);
  log(`load: ${size.loadSeconds} s at ${size.rps} req/s, with ${size.slowloris} slowloris connections, an idle one and a 1 byte/s reader`);
  const { sent, seconds } = await run(size.loadSeconds);
  clearInterval(sampler);
  const rssEnd = { api: stack.api.rssBytes(), gateway: stack.gateway.rssBytes() };
  const readerBytes = await reader;
  // Closed by the gateway's limits (full run) or still open when the load ended (smoke): either way bounded.
  const settle = (p) => Promise.race([p, sleep(size.loadSeconds >= 70 ? 1 : 0).then(() => -1)]);
  const slowClosed = (await Promise.all(slow.map(settle))).filter((s) => s >= 0);
  const idleClosed = await settle(idle);
  agent.destroy();
  return {
    figures: {
      rps_target: size.rps,
      sent,
      achieved_rps: round(sent / seconds),
      ok,
      errors,
      error_statuses: statuses,
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
      seconds: round(seconds),
      rss_mib: {
        api_start: mib(rssStart.api),
        api_end: mib(rssEnd.api),
        gateway_start: mib(rssStart.gateway),
        gateway_end: mib(rssEnd.gateway),
      },
      gateway_rss_series_mib: series,
      slow_reader_bytes: readerBytes,
      ...(slowClosed.length > 0
        ? { slowloris_closed_after_s: { min: round(Math.min(...slowClosed)), max: round(Math.max(...slowClosed)) } }
        : {}),
      ...(idleClosed >= 0 ? { idle_closed_after_s: round(idleClosed) } : {}),
      slowloris_closed: slowClosed.length,
    },
    rss: { start: rssStart, end: rssEnd },
  };
}

export default {
  name: 'soak',
  description:
    '1,000 WebSockets for 60 s, then 2,000 req/s of mixed calls for 5 min through the gateway with slow clients alongside: errors, p50/p99, RSS growth',
  onDemand: true,
  async run({ smoke, tmp, log }) {
    const size = smoke ? SIZES.smoke : SIZES.full;
    const stack = await startStack(tmp, log);
    try {
      const sockets = await webSockets(stack, size, log);
      const { figures: loadFigures, rss } = await load(stack, size, log);
      const growth = {
        api: rss.end.api / rss.start.api,
        gateway: rss.end.gateway / rss.start.gateway,
      };
      return {
        figures: { websockets: sockets, load: loadFigures, rss_growth: { api: round(growth.api), gateway: round(growth.gateway) } },
        ratios: {
          gateway_rss_growth: ratio(growth.gateway, 1.1, 'at_most'),
          api_rss_growth: ratio(growth.api, 1.1, 'at_most'),
          load_ok_fraction: ratio(loadFigures.ok / Math.max(1, loadFigures.ok + loadFigures.errors), 1, 'at_least'),
          websockets_kept: ratio(sockets.open_at_end / sockets.requested, 1, 'at_least'),
        },
        notes: smoke
          ? 'smoke size'
          : 'One machine runs the load generator, the gateway, the control plane and the agent (2 cores shared with other work): achieved_rps below the target means the machine, not the gateway, was the limit.',
      };
    } finally {
      await stack.close();
    }
  },
};
