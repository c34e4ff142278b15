import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 4;
const skip = skipReason();

describe.skipIf(skip)(`sandbox limits${skip ? ` (skipped: ${skip})` : ''}`, () => {
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

  it('writes the limits to the cgroup (v1 here: memory, CPU quota, pids)', async () => {
    const res = await execIn(t.driver, ws.id, 'cat /proc/self/cgroup');
    expect(res.code).toBe(0);
    const cg = (controller: string, file: string) => path.join('/sys/fs/cgroup', controller, `cove-test${SLOT}`, ws.id, file);
    const { readFile } = await import('node:fs/promises');
    const read = async (c: string, f: string) => (await readFile(cg(c, f), 'utf8').catch(() => '')).trim();
    const v1 = (await read('memory', 'memory.limit_in_bytes')) !== '';
    if (v1) {
      expect(await read('memory', 'memory.limit_in_bytes')).toBe(String(160 * 1024 * 1024));
      expect(await read('cpu', 'cpu.cfs_quota_us')).toBe('50000');
      expect(await read('pids', 'pids.max')).toBe('4096');
    } else {
      expect(await read('unified', 'memory.max')).toBe(String(160 * 1024 * 1024));
    }
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
