// Workloads do not depend on the control plane: one that crashes (no shutdown) and comes back finds them running
// with the same processes; and a workload's `vm_on_exit: stop` stops its workspace when it ends.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { SandboxDriver } from '@cove/sandbox';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { IMAGES_DIR } from '../../sandbox/test/helpers.js';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';
import { driverVariants } from './helpers/driver-stack.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field and assert on them
type Body = Record<string, any>;

const SLOT = 91;
const cleanups: Array<() => Promise<void>> = [];
// Each test's workspaces go before the next test opens a driver on the same subnet and table.
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
}, 120_000);

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last).slice(0, 500)}`);
    await delay(100);
    last = await read();
  }
  return last;
}

/** A driver of `kind` on `dataDir`: a second one on the same directory is the driver of a restarted control plane. */
function openDriver(kind: 'process' | 'sandbox', dataDir: string): Promise<SandboxDriver> | undefined {
  if (kind === 'process') return undefined;
  return SandboxDriver.open({
    dataDir: path.join(dataDir, 'sandbox'),
    imagesDir: IMAGES_DIR,
    subnet: `10.85.${SLOT}.0/24`,
    nftTable: `cove_stack${SLOT}`,
    cgroupParent: `cove-stack${SLOT}`,
    stopTimeoutMs: 2000,
    log: pino({ level: 'silent' }),
    ephemeralNetwork: true,
  });
}

/** What a crash leaves: the control plane stops answering, nothing stops the workspaces. */
async function crash(t: TestControlPlane): Promise<void> {
  t.cp.lifecycle.close();
  await t.cp.app.close();
}

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`workloads and the control plane (${variant.title})`, () => {
    it('a control plane that crashes and restarts finds its workloads running, the same processes', async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cove-wl-crash-'));
      const first = await openDriver(variant.kind, dataDir);
      let t = await startTestControlPlane({ dataDir, keepDataDir: true, ...(first ? { driver: first } : {}) });
      const id = await t.createWorkspace(variant.workspace);
      const created = await t.json('POST', `/workspace/${id}/workloads`, {
        body: { name: 'server', cmd: ['sh', '-c', 'while :; do echo tick; sleep 0.2; done'], restart_policy: 'always' },
      });
      expect(created.status).toBe(201);
      const wid = created.body.workload.id as string;
      const before = (await t.json('GET', `/workspace/${id}/workloads/${wid}/status`)).body;
      expect(before.status).toBe('running');

      await crash(t);
      const second = await openDriver(variant.kind, dataDir);
      t = await startTestControlPlane({ dataDir, keepDataDir: true, ...(second ? { driver: second } : {}) });
      cleanups.push(async () => {
        await t.close();
        await second?.destroyAll();
        await first?.destroyAll();
        await rm(dataDir, { recursive: true, force: true });
      });
      const after = (await t.json('GET', `/workspace/${id}/workloads/${wid}/status`)).body;
      expect(after).toMatchObject({ status: 'running', pid: before.pid, started_at: before.started_at, restart_count: 0 });
      // And it is still supervised: its output goes on.
      const lines = async () =>
        ((await t.json('GET', `/workspace/${id}/workloads/${wid}/logs?tail_lines=10000`)).body.logs as Body[]).length;
      const now = await lines();
      await until(lines, (n) => n > now, 'more output');
    }, 180_000);

    it('`vm_on_exit: stop` stops the workspace once the workload has ended', async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cove-wl-exit-'));
      const driver = await openDriver(variant.kind, dataDir);
      const t = await startTestControlPlane({ dataDir, keepDataDir: true, ...(driver ? { driver } : {}) });
      cleanups.push(async () => {
        await t.close();
        await driver?.destroyAll();
        await rm(dataDir, { recursive: true, force: true });
      });
      const id = await t.createWorkspace(variant.workspace);
      const created = await t.json('POST', `/workspace/${id}/workloads`, {
        body: { name: 'job', cmd: ['sh', '-c', 'sleep 0.5; exit 0'], vm_on_exit: 'stop' },
      });
      expect(created.body.workload).toMatchObject({ vm_on_exit: 'stop', status: 'running' });
      const statusOf = async () => (await t.json('GET', `/workspace/${id}`)).body.workspace?.status as string;
      expect(await statusOf()).toBe('running');
      await until(statusOf, (s) => s === 'stopped', 'the workspace to stop');
    }, 120_000);
  });
}
