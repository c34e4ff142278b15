// Wake on traffic: the same request through the gateway to a paused workspace (answered once it resumed) and to
// a running one, in the same run, interleaved. Control plane and gateway in one process as `cove up` runs them.
import http from 'node:http';
import path from 'node:path';
import pino from 'pino';
import { createControlPlane, createCredential, openStore, sqliteFile } from '../../packages/api/dist/index.js';
import { createGateway } from '../../packages/gateway/dist/index.js';
import { ProcessDriver } from '../../packages/process-driver/dist/index.js';
import { agentBin } from '../lib/cove-process.mjs';
import { openDriver, sandboxSkipReason } from '../lib/sandbox.mjs';
import { median, percentile, ratio, timeMs } from '../lib/stats.mjs';

function get(url, authorization, agent) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization }, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${url} answered ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Interleaved rounds on one driver: a request while running, pause, a request that wakes it. */
async function measure({ driver, tmp, runs, create }) {
  const silent = pino({ level: 'silent' });
  const store = await openStore({ kind: 'sqlite', file: sqliteFile(tmp) });
  const cp = await createControlPlane({ store, driver, logger: silent });
  const api = await cp.listen('127.0.0.1', 0);
  const gateway = createGateway({ routes: cp.routes, secret: cp.context.jwtSecret, logger: silent });
  const gatewayUrl = await gateway.listen('127.0.0.1', 0);
  const cred = await createCredential(store, 'bench', 'bench');
  const headers = { 'x-client-id': cred.clientId, 'x-client-secret': cred.clientSecret, 'content-type': 'application/json' };
  const call = async (method, p, body) => {
    const res = await fetch(api + p, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  try {
    const { workspace } = await call('POST', '/workspace', { name: 'wake', ...create });
    const id = workspace.id;
    await call('POST', `/workspace/${id}/runtime-api-access/enable`);
    await call('POST', `/workspace/${id}/network`, { public_access: true });
    const { token } = await call('GET', `/workspace/${id}/runtime-api-access/token`);
    const authorization = `Bearer ${token}`;
    const url = `${gatewayUrl}/runtime`;
    // One kept-alive connection, as a client that used the workspace before it slept.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 5; i++) await get(url, authorization, agent);
    const running = [];
    const woken = [];
    for (let i = 0; i < runs; i++) {
      running.push(await timeMs(() => get(url, authorization, agent)));
      await call('POST', `/workspace/${id}/pause`);
      // Longer than the gateway's route cache (500 ms): a workspace sleeps long after its last request.
      await sleep(600);
      woken.push(await timeMs(() => get(url, authorization, agent)));
      const { status } = (await call('GET', `/workspace/${id}`)).workspace;
      if (status !== 'running') throw new Error(`after the woken request the workspace is ${status}`);
    }
    agent.destroy();
    await call('DELETE', `/workspace/${id}`);
    return { running, woken };
  } finally {
    await gateway.close();
    await cp.close();
    await store.close();
  }
}

const figuresOf = (name, { running, woken }) => ({
  [`${name}_running_p50_ms`]: Number(median(running).toFixed(2)),
  [`${name}_paused_p50_ms`]: Number(median(woken).toFixed(2)),
  [`${name}_paused_p90_ms`]: Number(percentile(woken, 90).toFixed(2)),
  [`${name}_added_p50_ms`]: Number((median(woken) - median(running)).toFixed(2)),
});

export default {
  name: 'wake',
  description: 'a gateway request to a paused workspace (resumed, then answered) vs the same request to a running one',
  async run({ smoke, tmp, log }) {
    const runs = smoke ? 3 : 30;
    const silent = pino({ level: 'silent' });
    const processDriver = new ProcessDriver({
      root: path.join(tmp, 'p', 'workspaces'),
      agentCommand: [process.execPath, agentBin],
      log: silent,
    });
    const proc = await measure({ driver: processDriver, tmp: path.join(tmp, 'p'), runs, create: {} });
    log(`process: running p50 ${median(proc.running).toFixed(2)} ms, paused→answered p50 ${median(proc.woken).toFixed(2)} ms`);
    const figures = { ...figuresOf('process', proc), runs };
    const notes = [
      'GET /runtime through the gateway with a session JWT; each round: one request while running, pause, 600 ms, one request that wakes it',
      'control plane and gateway in one process as `cove up` runs them (SQLite store); the woken request includes the route look-up, the control plane resuming the workspace (driver resume, store writes), a fresh route, then the relay',
      "process driver: pause = SIGSTOP of the agent tree, resume = SIGCONT, the tree found by scanning /proc (its cost grows with the host's process count)",
    ];
    let target = median(proc.woken) - median(proc.running);
    const skip = await sandboxSkipReason();
    if (skip) {
      notes.push(`sandbox driver not measured: ${skip}`);
    } else {
      const sandboxDir = path.join(tmp, 's');
      const driver = await openDriver({ tmp: sandboxDir, slot: 3 });
      try {
        const sb = await measure({ driver, tmp: sandboxDir, runs, create: { image: 'host', memory_mb: 512, disk_size_mb: 256 } });
        log(`sandbox: running p50 ${median(sb.running).toFixed(2)} ms, paused→answered p50 ${median(sb.woken).toFixed(2)} ms`);
        Object.assign(figures, figuresOf('sandbox', sb));
        target = median(sb.woken) - median(sb.running);
        notes.push('sandbox driver: pause = `runc pause` (cgroup freezer), resume = `runc resume`; image `host`, 1 CPU, 512 MiB');
      } finally {
        await driver.destroyAll();
      }
    }
    return {
      figures,
      ratios: {
        // The goal: under 50 ms added by the wake, on the sandbox (a cgroup thaw) where it runs.
        wake_added_ms: ratio(target, 50, 'at_most'),
      },
      notes,
    };
  },
};
