// Workspace stats from the kernel, on both drivers: CPU rising under a busy loop, memory and an OOM kill, network
// counters, disk use, the SSE stream, info and config, the Prometheus page (parsed with a real parser), and
// hostile input (unknown ids, other owners, stopped workspaces, bad intervals, scrapers that may not read).
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createApiLogger, createControlPlane, openStore } from '@cove/api';
import { ProcessDriver } from '@cove/process-driver';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_COMMAND } from './helpers/control-plane.js';
import { driverVariants, startTestStack, type TestStack } from './helpers/driver-stack.js';

const SLOT = 60;
const MiB = 1024 * 1024;

interface Family {
  name: string;
  type: string;
  metrics: Array<{ value: string; labels?: Record<string, string> }>;
}

for (const variant of driverVariants()) {
  const sandbox = variant.kind === 'sandbox';
  describe.skipIf(variant.skip)(`workspace metrics (${variant.title})`, () => {
    let t: TestStack;
    let id: string;
    let jwt: string;

    /** Runs a command in the workspace through the gateway and resolves to its task (exit code, output). */
    const exec = async (cmd: string[], timeoutSeconds = 60) => {
      const res = await fetch(`${t.gatewayURL}/exec`, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
        body: JSON.stringify({ cmd, timeout_seconds: timeoutSeconds }),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { exit_code: number; stdout: string; stderr: string };
    };
    const stats = async (ws = id) => {
      const r = await t.json('GET', `/workspace/${ws}/stats`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    };
    const scrape = async (): Promise<Family[]> => {
      const res = await fetch(`${t.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      return parsePrometheusTextFormat(await res.text()) as Family[];
    };
    const sample = (families: Family[], name: string, ws = id) =>
      families.find((f) => f.name === name)?.metrics.find((m) => m.labels?.id === ws);

    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
      // A small memory limit, so that a memory hog meets the OOM killer soon.
      id = await t.createWorkspace({ name: 'metrics', ...variant.workspace, ...(sandbox ? { memory_mb: 256 } : {}) });
      jwt = (await t.json('POST', `/workspace/${id}/runtime-api-access/enable`)).body.token;
      expect((await t.json('PATCH', `/workspace/${id}/network`, { body: { public_access: true } })).status).toBe(200);
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    }, 120_000);

    it('stats: every figure from the kernel, nulls where the driver cannot read one', async () => {
      expect((await exec(['true'])).exit_code).toBe(0);
      const s = await stats();
      expect(s).toMatchObject({ success: true, workspace_id: id, status: 'running', driver: variant.kind });
      expect(Date.parse(s.timestamp)).not.toBeNaN();
      expect(s.cpu.usage_seconds).toBeGreaterThan(0);
      expect(s.cpu.window_ms).toBeGreaterThan(0);
      expect(s.memory.current_bytes).toBeGreaterThan(0);
      // The agent at least.
      expect(s.processes.current).toBeGreaterThanOrEqual(1);
      expect(s.network.rx).toBe(s.network.rx_bytes);
      if (sandbox) {
        expect(s.source).toMatch(/^cgroup-v[12]$/);
        expect(s.memory.limit_bytes).toBe(256 * MiB);
        expect(s.memory.peak_bytes).toBeGreaterThanOrEqual(s.memory.current_bytes);
        expect(s.memory.oom_kills).toBe(0);
        expect(s.cpu.limit_cpus).toBe(1);
        expect(s.processes.limit).toBeGreaterThan(0);
        // The disk is its own 256 MiB ext4 file system: statfs sees its size less the file system's own overhead.
        expect(s.disk.size_bytes).toBeGreaterThan(200 * MiB);
        expect(s.disk.size_bytes).toBeLessThanOrEqual(256 * MiB);
        expect(s.disk.used_bytes).toBeGreaterThan(0);
        expect(s.memory_usage).toBeCloseTo((100 * s.memory.current_bytes) / s.memory.limit_bytes, 1);
        // The gateway's requests reached the agent over the link; its answers went back.
        expect(s.network.rx_bytes).toBeGreaterThan(0);
        expect(s.network.tx_packets).toBeGreaterThan(0);
      } else {
        expect(s.source).toBe('proc');
        expect(s.memory).toMatchObject({ limit_bytes: null, peak_bytes: null, oom_kills: null, working_set_bytes: null });
        expect(s.cpu).toMatchObject({ limit_cpus: null, throttled_periods: null, throttled_seconds: null });
        expect(s.processes.limit).toBeNull();
        expect(s.disk.size_bytes).toBeNull();
        expect(s.disk.used_bytes).toBeGreaterThan(0);
        expect(s.network).toEqual({ rx: null, tx: null, rx_bytes: null, tx_bytes: null, rx_packets: null, tx_packets: null });
        expect(s.memory_usage).toBeNull();
        expect(s.disk_usage).toBeNull();
      }
    });

    it('a busy loop shows CPU rising: more CPU time and more cores than the same workspace idle', async () => {
      await stats();
      await delay(1000);
      const idle = await stats();
      const busy = exec(['timeout', '4', 'sh', '-c', 'while :; do :; done']);
      await delay(1500);
      await stats();
      await delay(1000);
      const during = await stats();
      const task = await busy;
      expect(task.exit_code).toBe(124);
      const after = await stats();
      expect(during.cpu.cores).toBeGreaterThan(idle.cpu.cores);
      expect(during.cpu_usage).toBeGreaterThan(idle.cpu_usage);
      // Four seconds of a loop that never sleeps: at the very least a good share of one of them on a CPU.
      expect(after.cpu.usage_seconds - idle.cpu.usage_seconds).toBeGreaterThan(0.5);
      if (sandbox) expect(after.cpu.user_seconds).toBeGreaterThan(idle.cpu.user_seconds);
    });

    it('memory: a process holding 96 MiB shows in current memory (and in the peak)', async () => {
      const before = await stats();
      const hold = exec(['node', '-e', 'const b = Buffer.alloc(96 * 1024 * 1024, 1); setTimeout(() => b.length, 3000)']);
      let seen = 0;
      for (let i = 0; i < 40 && seen < before.memory.current_bytes + 80 * MiB; i++) {
        await delay(100);
        seen = Math.max(seen, (await stats()).memory.current_bytes);
      }
      expect(seen).toBeGreaterThanOrEqual(before.memory.current_bytes + 80 * MiB);
      expect((await hold).exit_code).toBe(0);
      if (sandbox) expect((await stats()).memory.peak_bytes).toBeGreaterThanOrEqual(seen);
    });

    // Only a workspace with a memory limit and a link of its own has these (the process driver's are null: above).
    if (sandbox)
      it('a memory hog past the limit is OOM-killed: oom_kills counts it, the peak reaches the limit', async () => {
        const before = await stats();
        // tail keeps its last "line" (here all of it: no newline) in memory until the kernel stops it.
        const task = await exec(['sh', '-c', 'head -c 2000m /dev/zero | tail > /dev/null']);
        expect(task.exit_code).not.toBe(0);
        const after = await stats();
        expect(after.memory.oom_kills).toBeGreaterThan(before.memory.oom_kills);
        expect(after.memory.peak_bytes).toBeGreaterThan(200 * MiB);
        expect(after.memory.peak_bytes).toBeLessThanOrEqual(256 * MiB);
        // The agent survived: it answered the exec above and answers again.
        expect((await exec(['true'])).exit_code).toBe(0);
        const families = await scrape();
        expect(Number(sample(families, 'cove_workspace_oom_kills_total')?.value)).toBe(after.memory.oom_kills);
      });

    if (sandbox)
      it("bytes sent show in the network counters (to the host's address of the workspace's network)", async () => {
        const net = (await t.json('GET', `/workspace/${id}/network`)).body;
        const host = net.gateway as string;
        expect(host).toMatch(/^10\.85\.\d+\.1$/);
        const before = await stats();
        // 400 UDP datagrams of 1000 bytes to the discard port of the host side: counted by the link whatever the
        // firewall does with them afterwards.
        const script = `const s = require('dgram').createSocket('udp4'); const b = Buffer.alloc(1000, 7); let n = 0;
        const next = () => n++ < 400 ? s.send(b, 9, '${host}', next) : s.close(); next();`;
        expect((await exec(['node', '-e', script])).exit_code).toBe(0);
        // And 300 KB the other way: a file written through the gateway arrives over the link.
        const write = await fetch(`${t.gatewayURL}/files/write`, {
          method: 'POST',
          headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
          body: JSON.stringify({ path: '/tmp/received.txt', content: 'x'.repeat(300_000) }),
        });
        expect(write.status).toBe(201);
        const after = await stats();
        expect(after.network.tx_bytes - before.network.tx_bytes).toBeGreaterThanOrEqual(400 * 1000);
        expect(after.network.tx_packets - before.network.tx_packets).toBeGreaterThanOrEqual(400);
        expect(after.network.rx_bytes - before.network.rx_bytes).toBeGreaterThanOrEqual(300_000);
        const families = await scrape();
        expect(Number(sample(families, 'cove_workspace_network_transmit_bytes_total')?.value)).toBeGreaterThanOrEqual(
          after.network.tx_bytes,
        );
      });

    it('disk use grows by what a file takes', async () => {
      const before = await stats();
      const file = sandbox ? '/root/big.bin' : 'big.bin';
      expect((await exec(['sh', '-c', `head -c 20m /dev/urandom > ${file} && sync`])).exit_code).toBe(0);
      const after = await stats();
      expect(after.disk.used_bytes - before.disk.used_bytes).toBeGreaterThanOrEqual(19 * MiB);
      if (sandbox) expect(after.disk_usage).toBeGreaterThan(before.disk_usage);
      expect((await exec(['rm', file])).exit_code).toBe(0);
    });

    it('stats/stream: an `event: stats` SSE frame per interval, ending when the workspace stops', async () => {
      const other = await t.createWorkspace({ name: 'metrics-stream', ...variant.workspace });
      const res = await t.request('GET', `/workspace/${other}/stats/stream?interval_ms=250`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      expect(res.headers.get('x-request-id')).toBeTruthy();
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      const frames = () => text.split('\n\n').filter((f) => f.startsWith('event: stats\ndata: '));
      while (frames().length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const events = frames().map((f) => JSON.parse(f.slice('event: stats\ndata: '.length)));
      expect(events.length).toBeGreaterThanOrEqual(3);
      for (const e of events) expect(e).toMatchObject({ workspace_id: other, status: 'running', driver: variant.kind });
      expect(Date.parse(events[2].timestamp)).toBeGreaterThan(Date.parse(events[0].timestamp));
      // Stopping the workspace ends the stream.
      expect((await t.json('POST', `/workspace/${other}/stop`)).status).toBe(200);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      expect(text.endsWith('\n\n')).toBe(true);
      await t.json('DELETE', `/workspace/${other}`);
    });

    it('info and config: the host it runs on, the sizes asked for and the limits the kernel enforces', async () => {
      const info = await t.json('GET', `/workspace/${id}/info`);
      expect(info.status).toBe(200);
      expect(info.body).toMatchObject({
        success: true,
        workspace_id: id,
        name: 'metrics',
        status: 'running',
        driver: variant.kind,
        kernel: os.release(),
        arch: os.arch(),
        host_cpus: os.availableParallelism(),
        stats_source: sandbox ? expect.stringMatching(/^cgroup-v[12]$/) : 'proc',
        cgroup: sandbox ? expect.stringMatching(/^v[12]$/) : null,
      });
      const config = await t.json('GET', `/workspace/${id}/config`);
      expect(config.status).toBe(200);
      expect(config.body).toMatchObject({ success: true, workspace_id: id, status: 'running' });
      if (sandbox) {
        expect(config.body.config).toEqual({ cpus: 1, memory_mb: 256, disk_size_mb: 256 });
        expect(config.body.applied).toMatchObject({ cpus: 1, memory_bytes: 256 * MiB, pids: expect.any(Number) });
        expect(config.body.applied.disk_bytes).toBeLessThanOrEqual(256 * MiB);
      } else {
        expect(config.body.applied).toEqual({ cpus: null, memory_bytes: null, pids: null, disk_bytes: null });
      }
    });

    it('the Prometheus page parses: every workspace labelled, counters as counters, gauges as gauges', async () => {
      const stopped = await t.createWorkspace({ name: 'metrics "quoted"\\name', ...variant.workspace });
      await t.json('POST', `/workspace/${stopped}/stop`);
      const families = await scrape();
      const byName = new Map(families.map((f) => [f.name, f]));
      for (const f of families) {
        if (f.name.endsWith('_total')) expect(f.type, f.name).toBe('COUNTER');
        else expect(f.type, f.name).toBe('GAUGE');
      }
      const info = byName.get('cove_workspace_info')?.metrics ?? [];
      expect(info.find((m) => m.labels?.id === id)?.labels).toEqual({
        id,
        name: 'metrics',
        owner: 'alice',
        status: 'running',
        image: expect.any(String),
        driver: variant.kind,
      });
      // Label values are escaped: the parser gives the name back as it is.
      expect(info.find((m) => m.labels?.id === stopped)?.labels).toMatchObject({ name: 'metrics "quoted"\\name', status: 'stopped' });
      const s = await stats();
      expect(Number(sample(families, 'cove_workspace_cpu_usage_seconds_total')?.value)).toBeGreaterThan(0);
      expect(Number(sample(families, 'cove_workspace_cpu_usage_seconds_total')?.value)).toBeLessThanOrEqual(s.cpu.usage_seconds);
      expect(Number(sample(families, 'cove_workspace_processes')?.value)).toBeGreaterThanOrEqual(1);
      // A stopped workspace has its info line and no figures.
      expect(sample(families, 'cove_workspace_memory_usage_bytes', stopped)).toBeUndefined();
      if (sandbox) {
        expect(Number(sample(families, 'cove_workspace_memory_limit_bytes')?.value)).toBe(256 * MiB);
        expect(sample(families, 'cove_workspace_disk_size_bytes')).toBeDefined();
      } else {
        // What the process driver cannot read is absent, not 0.
        expect(sample(families, 'cove_workspace_memory_limit_bytes')).toBeUndefined();
        expect(sample(families, 'cove_workspace_network_receive_bytes_total')).toBeUndefined();
        expect(sample(families, 'cove_workspace_oom_kills_total')).toBeUndefined();
      }
      expect(byName.get('cove_metrics_scrape_errors')?.metrics[0]?.value).toBe('0');
      await t.json('DELETE', `/workspace/${stopped}`);
    });

    it('hostile input: unknown and malformed ids and other owners are 404, a stopped workspace 409, a bad interval 400', async () => {
      const mallory = await t.newClient('mallory');
      for (const suffix of ['stats', 'stats/stream', 'info', 'config']) {
        for (const ws of ['ws_doesnotexist0', 'nope', '..%2F..%2Fetc', 'ws_' + 'a'.repeat(120)]) {
          const r = await t.json('GET', `/workspace/${ws}/${suffix}`);
          expect(r.status, `${ws}/${suffix}`).toBe(404);
          expect(r.body).toMatchObject({ success: false, code: 'not_found' });
        }
        const theirs = await t.json('GET', `/workspace/${id}/${suffix}`, { auth: mallory });
        expect(theirs.status).toBe(404);
        expect(theirs.body).toMatchObject({ code: 'not_found', error: `workspace '${id}' not found` });
        expect((await t.json('GET', `/workspace/${id}/${suffix}`, { auth: null })).status).toBe(401);
      }
      for (const interval of ['10', '999999', 'abc', '-1']) {
        const r = await t.json('GET', `/workspace/${id}/stats/stream?interval_ms=${interval}`);
        expect(r.status, interval).toBe(400);
        expect(r.body.code).toBe('bad_request');
      }
      const stopped = await t.createWorkspace({ name: 'metrics-stopped', ...variant.workspace });
      await t.json('POST', `/workspace/${stopped}/stop`);
      for (const suffix of ['stats', 'stats/stream']) {
        const r = await t.json('GET', `/workspace/${stopped}/${suffix}`);
        expect(r.status).toBe(409);
        expect(r.body).toMatchObject({ code: 'conflict', error: `workspace '${stopped}' is stopped; start it to read its stats` });
      }
      expect((await t.json('GET', `/workspace/${stopped}/config`)).body).toMatchObject({ status: 'stopped', applied: null });
      expect((await t.json('GET', `/workspace/${stopped}/info`)).body).toMatchObject({ status: 'stopped', stats_source: null });
      await t.json('DELETE', `/workspace/${stopped}`);
      // The server keeps serving.
      expect((await stats()).workspace_id).toBe(id);
    });
  });
}

describe('who may scrape /metrics', () => {
  const nonLoopback = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

  it('with a metrics token: only a bearer of it (401 otherwise), from anywhere', async () => {
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join(os.tmpdir(), 'cove-metrics-')));
    const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cove.db') });
    const log = createApiLogger('silent');
    const driver = new ProcessDriver({ root: path.join(dir, 'workspaces'), agentCommand: AGENT_COMMAND, log });
    const cp = await createControlPlane({ store, driver, logger: log, metricsToken: 'scrape-me-0123456789' });
    const url = await cp.listen('127.0.0.1', 0);
    try {
      for (const authorization of [undefined, 'Bearer wrong', 'Bearer scrape-me-0123456789x', 'Basic c2NyYXBlLW1l']) {
        const res = await fetch(`${url}/metrics`, authorization ? { headers: { authorization } } : {});
        expect(res.status, authorization).toBe(401);
        expect(await res.json()).toMatchObject({ success: false, code: 'unauthorized' });
      }
      const ok = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer scrape-me-0123456789' } });
      expect(ok.status).toBe(200);
      const families = parsePrometheusTextFormat(await ok.text()) as Family[];
      expect(families.find((f) => f.name === 'cove_metrics_scrape_errors')?.metrics[0]?.value).toBe('0');
    } finally {
      await cp.close();
      await store.close();
      await import('node:fs/promises').then((fs) => fs.rm(dir, { recursive: true, force: true }));
    }
  });

  it('without one: loopback callers only (403 from another address of this machine)', async () => {
    expect(nonLoopback, 'this machine needs a non-loopback IPv4 address for this test').toBeDefined();
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join(os.tmpdir(), 'cove-metrics-')));
    const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cove.db') });
    const log = createApiLogger('silent');
    const driver = new ProcessDriver({ root: path.join(dir, 'workspaces'), agentCommand: AGENT_COMMAND, log });
    const cp = await createControlPlane({ store, driver, logger: log });
    await cp.listen('0.0.0.0', 0);
    const port = (cp.app.server.address() as { port: number }).port;
    try {
      const local = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(local.status).toBe(200);
      await local.body?.cancel();
      const remote = await fetch(`http://${nonLoopback}:${port}/metrics`);
      expect(remote.status).toBe(403);
      expect(await remote.json()).toMatchObject({ success: false, code: 'forbidden' });
    } finally {
      await cp.close();
      await store.close();
      await import('node:fs/promises').then((fs) => fs.rm(dir, { recursive: true, force: true }));
    }
  });
});
