import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn, leftovers, loopsUnder, network, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 6;
const skip = skipReason();

describe.skipIf(skip)(`sandbox warm pool${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestDriver;
  beforeAll(async () => {
    t = await openTestDriver(SLOT, { warmPool: { size: 1, image: 'host', diskMb: 64 } });
    await t.driver.poolReady();
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  }, 120_000);

  it("a matching create adopts a ready workspace: its limits and token become the workspace's", async () => {
    const s = spec({ memoryMb: 200, cpus: 0.5 });
    await t.driver.create(s);
    const slot = t.driver.slotOf(s.id) ?? '';
    expect(slot).toMatch(/^wp_[0-9a-f]{12}$/);
    // Adopted, but the agent serves nobody until startAgent gives it the workspace's token.
    expect(t.driver.agentRunning(s.id)).toBe(false);
    const { ip } = await t.driver.start(s);
    const token = 'p'.repeat(64);
    expect(await t.driver.startAgent(s.id, token)).toEqual({ ip, port: 9990 });
    expect(t.driver.agentRunning(s.id)).toBe(true);
    await t.driver.applyNetwork(s.id, network({ publicAccess: true }));
    // The pool ran a command in the agent to warm it (pool-warmup.ts): the workspace finds no trace of it.
    const auth = { authorization: `Bearer ${token}` };
    const tasks = (await (await fetch(`http://${ip}:9990/exec`, { headers: auth })).json()) as { tasks: unknown[] };
    expect(tasks.tasks).toEqual([]);
    const cmdLog = (await (await fetch(`http://${ip}:9990/logs/cmd`, { headers: auth })).json()) as { logs: unknown[] };
    expect(cmdLog.logs).toEqual([]);
    const res = await fetch(`http://${ip}:9990/exec`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        cmd: ['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; pwd'],
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { stdout: string };
    expect(body.stdout).toBe(`${200 * 1024 * 1024}\n/root\n`);
    const files = await execIn(t.driver, s.id, 'echo adopted > /root/f && cat /root/f');
    expect(files).toEqual({ code: 0, stdout: 'adopted\n', stderr: '' });
    // A create that does not match the pool (another disk size) is made cold under its own id.
    const cold = spec({ diskMb: 32 });
    await t.driver.create(cold);
    expect(t.driver.slotOf(cold.id)).toBe(cold.id);
    await t.driver.destroy(cold.id);
    await t.driver.destroy(s.id);
    expect(leftovers(t.driver, t.dataDir, slot, `cove-test${SLOT}`)).toEqual([]);
    expect(await loopsUnder(`${t.dataDir}/workspaces/${slot}/`)).toEqual([]);
  }, 180_000);

  it('the pool refills, and closing the driver removes pooled workspaces too', async () => {
    await t.driver.poolReady();
    const slots = (await t.driver.runtime.list()).map((c) => c.id);
    expect(slots.length).toBe(1);
    expect(slots[0]).toMatch(/^wp_/);
    await t.driver.destroyAll();
    expect(await t.driver.runtime.list()).toEqual([]);
    expect(leftovers(t.driver, t.dataDir, slots[0] ?? '', `cove-test${SLOT}`)).toEqual([]);
  }, 180_000);
});
