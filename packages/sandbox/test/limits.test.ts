import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLimits } from '../src/index.js';
import { CGROUPS, execIn, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 4;
const skip = skipReason();

describe.skipIf(skip)(`sandbox limits (${CGROUPS})${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestDriver;
  const ws = spec({ memoryMb: 160, diskMb: 48, cpus: 0.5 });
  beforeAll(async () => {
    t = await openTestDriver(SLOT);
    await t.driver.create(ws);
    await t.driver.start(ws);
    await t.driver.startAgent(ws.id, 'l'.repeat(64));
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  }, 120_000);

  it(`writes the limits to the workspace's cgroup (${CGROUPS}): memory without swap, CPU quota, pids`, async () => {
    // The files are read from the host, where runc wrote them (v1: one hierarchy per controller; v2: one directory).
    expect(await readLimits(`cove-test${SLOT}/${ws.id}`)).toMatchObject({
      memory: String(160 * 1024 * 1024),
      swap: '0',
      cpu: '50000 100000',
      pids: '4096',
    });
    // The workspace sees its own cgroup (a cgroup namespace): the root of its view.
    const res = await execIn(t.driver, ws.id, 'cat /proc/self/cgroup');
    expect(res.code).toBe(0);
    for (const line of res.stdout.trim().split('\n')) expect(line).toMatch(/:\/$/);
  });

  it('exceeding memory kills the hog inside the workspace; the agent and the host live on', async () => {
    const hog = await execIn(t.driver, ws.id, '/opt/cove/bin/node -e "const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))"; echo "exit=$?"');
    // Killed by the cgroup's OOM killer (SIGKILL: 128 + 9).
    expect(hog.stdout).toContain('exit=137');
    expect(t.driver.agentRunning(ws.id)).toBe(true);
    const after = await execIn(t.driver, ws.id, 'echo alive');
    expect(after.stdout).toBe('alive\n');
  }, 120_000);

  it('filling the disk gives ENOSPC inside and takes at most the disk size on the host', async () => {
    const fill = await execIn(t.driver, ws.id, 'dd if=/dev/zero of=/root/fill bs=1M count=100 2>&1; echo "exit=$?"; df -m / | tail -1');
    expect(fill.stdout).toContain('No space left on device');
    expect(fill.stdout).toContain('exit=1');
    const image = await stat(path.join(t.dataDir, 'workspaces', ws.id, 'disk.ext4'));
    // Allocated blocks of the image (sparse), never more than its size.
    expect(image.blocks * 512).toBeLessThanOrEqual(48 * 1024 * 1024);
    // Freeing space inside works again.
    const freed = await execIn(t.driver, ws.id, 'rm /root/fill && echo ok > /root/after && cat /root/after');
    expect(freed.stdout).toBe('ok\n');
  }, 120_000);
});
