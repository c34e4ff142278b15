// The agent's /proxy against nginx as a reverse proxy in front of the same app, and the app reached directly,
// in the same run.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { spawnAgent } from '../lib/agent.mjs';
import { startNginx } from '../lib/nginx.mjs';
import { measureProxies } from '../lib/proxy-rounds.mjs';
import { ratio } from '../lib/stats.mjs';

/** The 1-minute load average: the run's figures depend on what else the machine does, so each run records it. */
const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

// The app: a bare node:http server answering a small JSON body, in its own process (as a workspace's app is).
const APP = `
const http = require('node:http');
const body = JSON.stringify({ users: [{ id: 1, name: 'ada' }, { id: 2, name: 'grace' }] });
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startApp() {
  const child = spawn(process.execPath, ['-e', APP], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`the app exited with ${code}`)));
  });
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export default {
  name: 'proxy',
  description: "the agent's /proxy vs nginx reverse proxy in front of one app: added p50 latency, 64-connection throughput",
  requires: { wrk: 'wrk', nginx: 'nginx' },
  async run({ smoke, tmp, log }) {
    const workdir = path.join(tmp, 'work');
    await mkdir(workdir);
    const app = await startApp();
    const agent = await spawnAgent({ workdir });
    const nginx = await startNginx({ dir: path.join(tmp, 'nginx'), upstreamPort: app.port, authorization: 'Bearer unused' });
    const path_ = '/api/users?limit=10';
    // The official SDK's request: Authorization for the agent, the app's port in X-Oblien-Proxy-Target.
    const targets = {
      direct: { url: `http://127.0.0.1:${app.port}${path_}`, headers: [], pids: [] },
      nginx: { url: nginx.url + path_, headers: [], pids: nginx.workerPids() },
      agent: {
        url: `${agent.url}/proxy${path_}`,
        headers: [`Authorization: Bearer ${agent.token}`, `X-Oblien-Proxy-Target: ${app.port}`],
        pids: [agent.pid],
      },
    };
    try {
      const loadBefore = loadAverage();
      const m = await measureProxies({ targets, smoke, log });
      const { p50, throughput } = m;
      const nginxAdded = m.added.nginx;
      const agentAdded = m.added.agent;
      return {
        figures: {
          load_average_1m_before: loadBefore,
          load_average_1m_after: loadAverage(),
          p50_us_direct: p50.direct,
          p50_us_nginx: p50.nginx,
          p50_us_agent_proxy: p50.agent,
          added_p50_us_nginx: Number(nginxAdded.toFixed(1)),
          added_p50_us_agent_proxy: Number(agentAdded.toFixed(1)),
          added_p50_us_iqr_nginx: m.addedSpread.nginx.map((v) => Number(v.toFixed(1))),
          added_p50_us_iqr_agent_proxy: m.addedSpread.agent.map((v) => Number(v.toFixed(1))),
          wrk_added_p50_us_nginx: Number(m.addedWrk.nginx.toFixed(1)),
          wrk_added_p50_us_agent_proxy: Number(m.addedWrk.agent.toFixed(1)),
          added_p50_us_nginx_per_round: m.addedPerRound.nginx,
          added_p50_us_agent_proxy_per_round: m.addedPerRound.agent,
          wrk_added_p50_vs_nginx: Number((Math.max(m.addedWrk.agent, 0) / Math.max(m.addedWrk.nginx, 1)).toFixed(3)),
          rps_64c_direct: Math.round(throughput.direct),
          rps_64c_nginx: Math.round(throughput.nginx),
          rps_64c_agent_proxy: Math.round(throughput.agent),
          proxy_cpu_us_per_request_64c_nginx: Number(m.cpu.nginx.toFixed(1)),
          proxy_cpu_us_per_request_64c_agent: Number(m.cpu.agent.toFixed(1)),
          agent_rss_mib_after: Number((agent.rssBytes() / 2 ** 20).toFixed(1)),
        },
        ratios: {
          // Below 1 us of nginx overhead a ratio is meaningless, so 1 us is the floor (as in the gateway suite).
          added_p50_latency_vs_nginx: ratio(Math.max(agentAdded, 0) / Math.max(nginxAdded, 1), 1.5, 'at_most'),
          // Within 1.5x of nginx: at least 1/1.5 of its requests per second.
          throughput_64c_vs_nginx: ratio(throughput.agent / throughput.nginx, 0.667, 'at_least'),
        },
        notes: [
          `GET ${path_}: a node:http app in its own process answering 61 bytes of JSON`,
          ...m.notes,
          'agent: the built agent (`cove-agent`), GET /proxy<path> with Authorization and X-Oblien-Proxy-Target, as the official SDK sends it',
          'nginx: 1 worker (the agent is one Node process), keepalive upstream, proxy_buffering and proxy_request_buffering off',
          'CPU per request: user+system time of the proxy process (nginx: its worker) over the 64-connection run, from /proc; the app and wrk share the machine',
        ],
      };
    } finally {
      await nginx.close();
      await agent.close();
      await app.close();
    }
  },
};
