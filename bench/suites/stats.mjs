// Reading workspace stats, on the sandbox driver with 50 workspaces running (smoke: 2), their agents started:
//  - one reading of all 50 through the control plane (50 concurrent `GET /workspace/:id/stats`), p50 of the total,
//    beside the same figures read by peers in the same run: `runc events --stats` per container (runc's own reading
//    of the cgroup files), and `cat` of the same cgroup files per workspace;
//  - the control plane's CPU per watched stream (`GET …/stats/stream`, 1 s interval, all 50 watched at once by a
//    client in another process), over the same window idle; beside `runc events --interval 1s` per container
//    (runc's own stream), whose processes' CPU is read from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { cpuMicros } from '../lib/proxy-rounds.mjs';
import { openDriver, sandboxSkipReason } from '../lib/sandbox.mjs';
import { percentile, ratio, timeMs } from '../lib/stats.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const SLOT = 5;
const PARENT = `cove-bench${SLOT}`;
const summary = (xs) => ({ p50_ms: +percentile(xs, 50).toFixed(2), p90_ms: +percentile(xs, 90).toFixed(2), runs: xs.length });

/** The cgroup files a reading takes, on this host's layout (what `cat` reads for the peer). */
function cgroupFiles(slot) {
  const v2 = spawnSync('test', ['-e', '/sys/fs/cgroup/cgroup.controllers']).status === 0;
  const rel = `${PARENT}/${slot}`;
  if (v2) {
    return [
      'cpu.stat',
      'cpu.max',
      'memory.current',
      'memory.max',
      'memory.peak',
      'memory.events',
      'memory.stat',
      'pids.current',
      'pids.max',
    ].map((f) => `/sys/fs/cgroup/${rel}/${f}`);
  }
  return [
    `cpuacct/${rel}/cpuacct.usage`,
    `cpuacct/${rel}/cpuacct.usage_user`,
    `cpuacct/${rel}/cpuacct.usage_sys`,
    `cpu/${rel}/cpu.stat`,
    `cpu/${rel}/cpu.cfs_quota_us`,
    `cpu/${rel}/cpu.cfs_period_us`,
    `memory/${rel}/memory.usage_in_bytes`,
    `memory/${rel}/memory.limit_in_bytes`,
    `memory/${rel}/memory.max_usage_in_bytes`,
    `memory/${rel}/memory.oom_control`,
    `memory/${rel}/memory.stat`,
    `pids/${rel}/pids.current`,
    `pids/${rel}/pids.max`,
  ].map((f) => `/sys/fs/cgroup/${f}`);
}

/** Runs a command to its end; resolves to its exit code. */
function runProcess(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

/** The stream client, in its own process so that its parsing is not counted as the control plane's CPU. */
const WATCHER = `
const [base, id, secret, ...ids] = process.argv.slice(1);
let events = 0;
const controllers = ids.map(() => new AbortController());
process.on('message', () => { for (const c of controllers) c.abort(); setTimeout(() => { process.send({ events }); process.exit(0); }, 50); });
ids.forEach(async (ws, i) => {
  try {
    const res = await fetch(base + '/workspace/' + ws + '/stats/stream?interval_ms=1000', { headers: { 'x-client-id': id, 'x-client-secret': secret }, signal: controllers[i].signal });
    const dec = new TextDecoder();
    for await (const chunk of res.body) events += (dec.decode(chunk, { stream: true }).match(/event: stats/g) ?? []).length;
  } catch {}
});
process.send({ ready: true });
`;

export default {
  name: 'stats',
  description: 'workspace stats: one reading of 50 running sandbox workspaces, and the control plane CPU per 1 s stats stream',
  requires: { runc: 'runc' },
  async run({ smoke, tmp, log }) {
    const skip = await sandboxSkipReason();
    if (skip) return { figures: { skipped: skip }, ratios: {}, notes: `skipped: ${skip}` };
    const count = smoke ? 2 : 50;
    const rounds = smoke ? 3 : 30;
    const windowS = smoke ? 2 : 10;
    const api = await import(pathToFileURL(path.join(root, 'packages/api/dist/index.js')).href);
    const driver = await openDriver({ tmp: path.join(tmp, 'd'), slot: SLOT });
    await mkdir(path.join(tmp, 'store'), { recursive: true });
    const store = await api.openStore({ kind: 'sqlite', file: path.join(tmp, 'store', 'cove.db') });
    const cp = await api.createControlPlane({
      store,
      driver,
      logger: api.createApiLogger('silent'),
      recover: false,
      limits: { maxWorkspaces: 1000 },
    });
    const runcPids = [];
    try {
      const base = await cp.listen('127.0.0.1', 0);
      const cred = await api.createCredential(store, 'bench', 'bench');
      const headers = { 'x-client-id': cred.clientId, 'x-client-secret': cred.clientSecret, 'content-type': 'application/json' };
      const call = async (method, p, body) => {
        const res = await fetch(base + p, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
        const json = await res.json();
        if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
        return json;
      };
      const ids = [];
      // Two at a time: an agent's cold start is CPU-bound and this machine has few cores.
      for (let i = 0; i < count; i += 2) {
        const made = await Promise.all(
          [i, i + 1]
            .filter((k) => k < count)
            .map(async (k) => {
              const { workspace } = await call('POST', '/workspace', {
                name: `stats-${k}`,
                image: 'host',
                cpus: 1,
                memory_mb: 256,
                disk_size_mb: 256,
              });
              await call('POST', `/workspace/${workspace.id}/runtime-api-access/enable`);
              return workspace.id;
            }),
        );
        ids.push(...made);
        if ((i + 2) % 10 === 0) log(`${Math.min(i + 2, count)}/${count} running`);
      }
      const slots = ids.map((id) => driver.slotOf(id));
      // node:http with keep-alive: the client shares this process, and fetch would cost it twice the server's CPU.
      const agent = new http.Agent({ keepAlive: true, maxSockets: count });
      const get = (p) =>
        new Promise((resolve, reject) => {
          http
            .get(base + p, { agent, headers }, (res) => {
              let body = '';
              res.setEncoding('utf8').on('data', (d) => {
                body += d;
              });
              res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${p}: ${res.statusCode} ${body}`))));
            })
            .on('error', reject);
        });
      const readAll = () => Promise.all(ids.map((id) => get(`/workspace/${id}/stats`)));
      await readAll(); // the first reading of each opens its CPU window
      await delay(300);

      // One reading of all, three ways, interleaved round by round so that the machine's load falls on each alike.
      const ours = [];
      const oursDriver = [];
      const scrape = [];
      const runcEvents = [];
      const catFiles = [];
      for (let r = 0; r < rounds; r++) {
        ours.push(await timeMs(readAll));
        oursDriver.push(await timeMs(() => Promise.all(ids.map((id) => driver.stats(id)))));
        scrape.push(await timeMs(() => get('/metrics')));
        runcEvents.push(
          await timeMs(() => Promise.all(slots.map((s) => runProcess('runc', ['--root', driver.runtime.root, 'events', '--stats', s])))),
        );
        catFiles.push(await timeMs(() => Promise.all(slots.map((s) => runProcess('cat', cgroupFiles(s))))));
        await delay(100);
      }
      log(`one reading of ${count}: cove ${percentile(ours, 50).toFixed(1)} ms, runc events ${percentile(runcEvents, 50).toFixed(1)} ms`);

      // The control plane's CPU: idle, then with every workspace's stream watched; then runc's own streams.
      const self = [process.pid];
      const idleBefore = cpuMicros(self);
      await delay(windowS * 1000);
      const idleMicros = cpuMicros(self) - idleBefore;
      const watcher = spawn(process.execPath, ['-e', WATCHER, base, cred.clientId, cred.clientSecret, ...ids], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await new Promise((resolve) => watcher.once('message', resolve));
      await delay(2000); // every stream's first reading (and its short CPU window) done
      const watchBefore = cpuMicros(self);
      await delay(windowS * 1000);
      const watchMicros = cpuMicros(self) - watchBefore;
      const events = await new Promise((resolve) => {
        watcher.once('message', (m) => resolve(m.events));
        watcher.send('stop');
      });
      const perStreamPct = (100 * Math.max(0, watchMicros - idleMicros)) / (windowS * 1e6) / count;

      for (const s of slots) {
        const child = spawn('runc', ['--root', driver.runtime.root, 'events', '--interval', '1s', s], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        runcPids.push(child);
      }
      await delay(2000);
      const pids = runcPids.map((c) => c.pid);
      const runcBefore = cpuMicros(pids);
      await delay(windowS * 1000);
      const runcPerStreamPct = (100 * (cpuMicros(pids) - runcBefore)) / (windowS * 1e6) / count;
      log(`CPU per watched stream: cove ${perStreamPct.toFixed(3)}%, runc events ${runcPerStreamPct.toFixed(3)}% (${events} events)`);

      agent.destroy();
      const p50 = percentile(ours, 50);
      return {
        figures: {
          workspaces: count,
          read_all_http: summary(ours),
          read_all_driver: summary(oursDriver),
          prometheus_scrape: summary(scrape),
          read_all_runc_events_stats: summary(runcEvents),
          read_all_cat_cgroup_files: summary(catFiles),
          stream_window_s: windowS,
          stream_events_received: events,
          control_plane_cpu_idle_pct: +((100 * idleMicros) / (windowS * 1e6)).toFixed(3),
          control_plane_cpu_per_stream_pct: +perStreamPct.toFixed(4),
          runc_events_cpu_per_stream_pct: +runcPerStreamPct.toFixed(4),
        },
        ratios: {
          read_all_p50_vs_50ms: ratio(p50 / 50, 1, 'at_most'),
          read_all_vs_runc_events: ratio(p50 / percentile(runcEvents, 50), 1, 'at_most'),
          read_all_vs_cat: ratio(p50 / percentile(catFiles, 50), 1, 'at_most'),
          scrape_p50_vs_50ms: ratio(percentile(scrape, 50) / 50, 1, 'at_most'),
          stream_cpu_per_ws_vs_1pct: ratio(perStreamPct / 1, 1, 'at_most'),
          // A smoke run's short window may see no tick of runc's CPU at all: no ratio then.
          ...(runcPerStreamPct > 0 ? { stream_cpu_vs_runc_events: ratio(perStreamPct / runcPerStreamPct, 1, 'at_most') } : {}),
        },
        notes:
          'Image `host`, agents started and idle. Ours: 50 concurrent GET /workspace/:id/stats over keep-alive HTTP (node:http client in the same process) (credentials checked, store read, cgroup + statfs + veth counters read per workspace); runc events --stats and cat spawn one process per workspace (their cost is mostly the spawn); prometheus_scrape is one GET /metrics reading all of them. Stream CPU: the control plane process (this one) over a window with all streams watched by a client in another process, less the same window idle; runc: the CPU of one `runc events --interval 1s` process per container.',
      };
    } finally {
      for (const c of runcPids) c.kill('SIGKILL');
      await cp.close();
      await store.close();
      await driver.destroyAll();
    }
  },
};
