// Resizing a sandbox workspace (resize.ts): memory and CPU change live on the running container (no restart),
// memory is never taken below what the workspace holds, and the disk grows (online where the host allows it,
// else at the next start) and never shrinks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLimits } from '../src/index.js';
import { CGROUPS, execIn, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 44;
const skip = skipReason();
const MiB = 1024 * 1024;

/** The size of the workspace's root file system as `df` inside shows it, in MiB. */
async function dfMb(t: TestDriver, id: string): Promise<number> {
  const res = await execIn(t.driver, id, 'df -m / | tail -1');
  expect(res.code).toBe(0);
  return Number(res.stdout.trim().split(/\s+/)[1]);
}

describe.skipIf(skip)(`sandbox resize (${CGROUPS})${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestDriver;
  const ws = spec({ memoryMb: 128, diskMb: 64, cpus: 1 });
  const cgroup = () => `cove-test${SLOT}/${t.driver.slotOf(ws.id)}`;
  /** The host pid of the container's first process: unchanged means the workspace was not restarted. */
  const initPid = async () => (await t.driver.runtime.state(t.driver.slotOf(ws.id) ?? ws.id))?.pid;

  beforeAll(async () => {
    t = await openTestDriver(SLOT);
    await t.driver.create(ws);
    await t.driver.start(ws);
    await t.driver.startAgent(ws.id, 'r'.repeat(64));
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  }, 120_000);

  it('memory up, live: a process the old limit OOM-killed then succeeds, without a restart', async () => {
    const hog = 'head -c 200m /dev/zero | tail > /dev/null; echo "exit=$?"';
    expect((await execIn(t.driver, ws.id, hog)).stdout).toContain('exit=137');
    const pid = await initPid();
    const result = await t.driver.resize(ws.id, { cpus: 1, memoryMb: 128, diskMb: 64 }, { memoryMb: 512 });
    expect(result).toEqual({ memoryMb: { applied: true, appliesOn: 'now' } });
    expect((await readLimits(cgroup())).memory).toBe(String(512 * MiB));
    expect((await execIn(t.driver, ws.id, hog)).stdout).toContain('exit=0');
    expect(await initPid()).toBe(pid);
    expect(t.driver.agentRunning(ws.id)).toBe(true);
    ws.memoryMb = 512;
  }, 120_000);

  it('CPUs, live: the new quota is in the cgroup', async () => {
    expect((await readLimits(cgroup())).cpu).toBe('100000 100000');
    const result = await t.driver.resize(ws.id, { cpus: 1, memoryMb: 512, diskMb: 64 }, { cpus: 2 });
    expect(result).toEqual({ cpus: { applied: true, appliesOn: 'now' } });
    expect(await readLimits(cgroup())).toMatchObject({ cpu: '200000 100000', memory: String(512 * MiB), swap: '0' });
    ws.cpus = 2;
  });

  it('memory down below what the workspace holds is refused (409), within it the kernel reclaims', async () => {
    // 120 MiB in tmpfs (shared memory, not cache the kernel may drop) besides the agent.
    const fill = await execIn(t.driver, ws.id, 'head -c 60m /dev/zero > /dev/shm/a && head -c 60m /dev/zero > /run/b && echo ok');
    expect(fill.stdout).toBe('ok\n');
    await expect(t.driver.resize(ws.id, { cpus: 2, memoryMb: 512, diskMb: 64 }, { memoryMb: 128 })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/holds \d+ MiB of memory it cannot give back/),
    });
    expect((await readLimits(cgroup())).memory).toBe(String(512 * MiB));
    await execIn(t.driver, ws.id, 'rm -f /dev/shm/a /run/b');
    expect(await t.driver.resize(ws.id, { cpus: 2, memoryMb: 512, diskMb: 64 }, { memoryMb: 256 })).toEqual({
      memoryMb: { applied: true, appliesOn: 'now' },
    });
    expect((await readLimits(cgroup())).memory).toBe(String(256 * MiB));
    ws.memoryMb = 256;
  }, 60_000);

  it('the disk grows, seen with df inside (online, or after the restart the answer names); it never shrinks', async () => {
    const before = await dfMb(t, ws.id);
    expect(before).toBeLessThan(64);
    await expect(t.driver.resize(ws.id, { cpus: 2, memoryMb: 256, diskMb: 64 }, { diskMb: 32 })).rejects.toMatchObject({
      code: 'conflict',
    });
    await execIn(t.driver, ws.id, 'echo kept > /root/kept');
    const result = await t.driver.resize(ws.id, { cpus: 2, memoryMb: 256, diskMb: 64 }, { diskMb: 160 });
    const disk = result.diskMb;
    if (disk?.applied) expect(disk).toEqual({ applied: true, appliesOn: 'now' });
    else expect(disk).toMatchObject({ applied: false, appliesOn: 'restart', reason: expect.stringContaining('next start') });
    ws.diskMb = 160;
    // Online or not, it is there after a restart; and the limits the control plane recorded come back with it.
    await t.driver.stop(ws.id);
    await t.driver.start(ws);
    await t.driver.startAgent(ws.id, 'r'.repeat(64));
    const after = await dfMb(t, ws.id);
    expect(after).toBeGreaterThan(140);
    expect((await execIn(t.driver, ws.id, 'cat /root/kept')).stdout).toBe('kept\n');
    expect(await readLimits(cgroup())).toMatchObject({ cpu: '200000 100000', memory: String(256 * MiB) });
    // Bigger than before: a file larger than the old disk fits.
    const big = await execIn(t.driver, ws.id, 'dd if=/dev/zero of=/root/big bs=1M count=100 2>&1; echo "exit=$?"; rm -f /root/big');
    expect(big.stdout).toContain('exit=0');
  }, 180_000);

  it('a stopped workspace: its disk grows at once (offline), CPU and memory wait for its start', async () => {
    await t.driver.stop(ws.id);
    const result = await t.driver.resize(ws.id, { cpus: 2, memoryMb: 256, diskMb: 160 }, { diskMb: 224, cpus: 1 });
    expect(result).toEqual({
      cpus: { applied: false, appliesOn: 'start', reason: 'the workspace is stopped' },
      diskMb: { applied: true, appliesOn: 'now' },
    });
    Object.assign(ws, { diskMb: 224, cpus: 1 });
    await t.driver.start(ws);
    await t.driver.startAgent(ws.id, 'r'.repeat(64));
    expect(await dfMb(t, ws.id)).toBeGreaterThan(200);
    expect((await readLimits(cgroup())).cpu).toBe('100000 100000');
    await expect(t.driver.resize(ws.id, { cpus: 1, memoryMb: 256, diskMb: 224 }, { diskMb: 200 })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('never shrinks'),
    });
  }, 180_000);
});
