// The gateway against nginx as a reverse proxy in front of the same agent, in the same run.

import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { spawnAgent } from '../lib/agent.mjs';
import { spawnGateway } from '../lib/gateway.mjs';
import { startNginx } from '../lib/nginx.mjs';
import { measureProxies } from '../lib/proxy-rounds.mjs';
import { median, ratio } from '../lib/stats.mjs';

/** The 1-minute load average: the run's figures depend on what else the machine does, so each run records it. */
const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** Milliseconds from sending `POST /exec/stream` to the first SSE event. */
function firstEventMs(url, authorization, agent) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ cmd: ['true'] });
    const start = process.hrtime.bigint();
    const req = http.request(`${url}/exec/stream`, {
      method: 'POST',
      agent,
      headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) return reject(new Error(`exec/stream answered ${res.statusCode}`));
      let first = true;
      res.on('data', (chunk) => {
        if (first && chunk.includes('event:')) {
          first = false;
          resolve(Number(process.hrtime.bigint() - start) / 1e6);
        }
      });
      res.on('end', () => first && reject(new Error('no event')));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export default {
  name: 'gateway',
  description: 'gateway vs nginx reverse proxy in front of one agent: added p50 latency, 64-connection throughput, SSE first event',
  requires: { wrk: 'wrk', nginx: 'nginx' },
  async run({ smoke, tmp, log }) {
    const workdir = path.join(tmp, 'work');
    await mkdir(workdir);
    await writeFile(path.join(workdir, 'small.txt'), 'hello from the benchmark\n'.repeat(8));
    const agent = await spawnAgent({ workdir });
    const agentPort = Number(new URL(agent.url).port);
    const gateway = await spawnGateway({
      dir: tmp,
      workspaces: [{ workspaceId: 'ws_bench', ip: '127.0.0.1', port: agentPort, rawToken: agent.token }],
    });
    const nginx = await startNginx({ dir: path.join(tmp, 'nginx'), upstreamPort: agentPort, authorization: `Bearer ${agent.token}` });
    const jwt = await gateway.mint('ws_bench');
    // CPU per request is counted for the proxy process only (nginx: its worker), so the load others put
    // on the machine moves it far less than wall-clock figures.
    const path_ = '/files/read?path=small.txt';
    const bases = {
      direct: { base: agent.url, auth: `Bearer ${agent.token}`, pids: [] },
      nginx: { base: nginx.url, auth: `Bearer ${agent.token}`, pids: nginx.workerPids() },
      gateway: { base: gateway.url, auth: `Bearer ${jwt}`, pids: [gateway.pid] },
    };
    const targets = Object.fromEntries(
      Object.entries(bases).map(([name, t]) => [name, { ...t, url: t.base + path_, headers: [`Authorization: ${t.auth}`] }]),
    );
    try {
      const loadBefore = loadAverage();
      const m = await measureProxies({ targets, smoke, log });
      const { p50, throughput } = m;

      // Direct and gateway samples alternate, so that load from elsewhere on the machine hits both alike.
      const sse = { direct: [], gateway: [], extra: [] };
      const samples = smoke ? 5 : 60;
      const pools = {
        direct: new http.Agent({ keepAlive: true, maxSockets: 1 }),
        gateway: new http.Agent({ keepAlive: true, maxSockets: 1 }),
      };
      for (const name of ['direct', 'gateway']) await firstEventMs(bases[name].base, bases[name].auth, pools[name]);
      for (let i = 0; i < samples; i++) {
        const d = await firstEventMs(bases.direct.base, bases.direct.auth, pools.direct);
        const g = await firstEventMs(bases.gateway.base, bases.gateway.auth, pools.gateway);
        sse.direct.push(d);
        sse.gateway.push(g);
        sse.extra.push(g - d);
      }
      pools.direct.destroy();
      pools.gateway.destroy();

      const nginxAdded = m.added.nginx;
      const gatewayAdded = m.added.gateway;
      const sseDirect = median(sse.direct);
      const sseGateway = median(sse.gateway);
      const sseExtra = median(sse.extra);
      return {
        figures: {
          load_average_1m_before: loadBefore,
          load_average_1m_after: loadAverage(),
          p50_us_direct: p50.direct,
          p50_us_nginx: p50.nginx,
          p50_us_gateway: p50.gateway,
          added_p50_us_nginx: Number(nginxAdded.toFixed(1)),
          added_p50_us_gateway: Number(gatewayAdded.toFixed(1)),
          added_p50_us_iqr_nginx: m.addedSpread.nginx.map((v) => Number(v.toFixed(1))),
          added_p50_us_iqr_gateway: m.addedSpread.gateway.map((v) => Number(v.toFixed(1))),
          wrk_added_p50_us_nginx: Number(m.addedWrk.nginx.toFixed(1)),
          wrk_added_p50_us_gateway: Number(m.addedWrk.gateway.toFixed(1)),
          added_p50_us_nginx_per_round: m.addedPerRound.nginx,
          added_p50_us_gateway_per_round: m.addedPerRound.gateway,
          wrk_added_p50_vs_nginx: Number((Math.max(m.addedWrk.gateway, 0) / Math.max(m.addedWrk.nginx, 1)).toFixed(3)),
          rps_64c_direct: Math.round(throughput.direct),
          rps_64c_nginx: Math.round(throughput.nginx),
          rps_64c_gateway: Math.round(throughput.gateway),
          sse_first_event_ms_direct: Number(sseDirect.toFixed(2)),
          sse_first_event_ms_gateway: Number(sseGateway.toFixed(2)),
          sse_first_event_extra_ms_median_of_pairs: Number(sseExtra.toFixed(2)),
          proxy_cpu_us_per_request_64c_nginx: Number(m.cpu.nginx.toFixed(1)),
          proxy_cpu_us_per_request_64c_gateway: Number(m.cpu.gateway.toFixed(1)),
          // No target in the issue: the proxy's own cost per relayed request, steadier than wall-clock figures here.
          proxy_cpu_per_request_gateway_vs_nginx: Number((m.cpu.gateway / m.cpu.nginx).toFixed(2)),
          gateway_rss_mib_after: Number((gateway.rssBytes() / 2 ** 20).toFixed(1)),
        },
        ratios: {
          // Issue #20's goals: the gateway adds no more latency than nginx does, and relays at least as many requests.
          // Added latencies of a few tens of microseconds: below 1 us of nginx overhead the ratio is meaningless, so 1 us is the floor.
          added_p50_latency_vs_nginx: ratio(Math.max(gatewayAdded, 0) / Math.max(nginxAdded, 1), 1.0, 'at_most'),
          throughput_64c_vs_nginx: ratio(throughput.gateway / throughput.nginx, 1.0, 'at_least'),
          sse_first_event_extra_ms: ratio(sseExtra, 5, 'at_most'),
        },
        notes: [
          `GET ${path_} (${'hello from the benchmark\n'.length * 8} bytes)`,
          ...m.notes,
          'nginx: 1 worker (the gateway is one Node process), keepalive upstream, proxy_buffering and proxy_request_buffering off, Authorization set by nginx',
          'gateway: `cove gateway --routes-file` (static routes), JWT minted with the same secret; agent, proxies and wrk share the machine',
          'CPU per request: user+system time of the proxy process (nginx: its worker) over the 64-connection run, from /proc, divided by requests served',
        ],
      };
    } finally {
      await nginx.close();
      await gateway.close();
      await agent.close();
    }
  },
};
