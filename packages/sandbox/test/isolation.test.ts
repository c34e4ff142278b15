import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 3;
const skip = skipReason();

describe.skipIf(skip)(`sandbox isolation${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestDriver;
  let hostDir = '';
  const a = spec();
  const b = spec();
  beforeAll(async () => {
    t = await openTestDriver(SLOT);
    hostDir = await mkdtemp(path.join(os.homedir(), '.cove-isolation-'));
    await writeFile(path.join(hostDir, 'host-secret'), 'host');
    for (const s of [a, b]) {
      await t.driver.create(s);
      await t.driver.start(s);
      await t.driver.startAgent(s.id, 's'.repeat(64));
    }
    expect((await execIn(t.driver, b.id, 'echo b > /root/b-secret; sleep 1000 >/dev/null 2>&1 & echo started')).code).toBe(0);
  }, 300_000);
  afterAll(async () => {
    await t?.close();
    if (hostDir) await rm(hostDir, { recursive: true, force: true });
  }, 120_000);

  it("sees only its own processes: not the host's, not another workspace's", async () => {
    const res = await execIn(t.driver, a.id, 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done');
    expect(res.code).toBe(0);
    const commands = res.stdout.split('\n').filter((l) => l.trim() !== '');
    // tini, the agent, and this shell (and its tr): nothing else.
    expect(commands.some((c) => c.startsWith('/opt/cove/bin/tini'))).toBe(true);
    expect(commands.some((c) => c.includes('sleep 1000'))).toBe(false);
    expect(commands.some((c) => c.includes('vitest') || c.includes('process_api'))).toBe(false);
    expect(commands.length).toBeLessThanOrEqual(5);
    const pid1 = await execIn(t.driver, a.id, 'cat /proc/1/cmdline | tr "\\0" " "');
    expect(pid1.stdout.startsWith('/opt/cove/bin/tini')).toBe(true);
  });

  it("sees neither the host's files nor another workspace's", async () => {
    const res = await execIn(t.driver, a.id, `ls ${hostDir} 2>&1; ls /root/b-secret 2>&1; ls /work 2>&1; grep -c . /etc/passwd; hostname`);
    expect(res.stdout).toContain(`ls: cannot access '${hostDir}': No such file or directory`);
    expect(res.stdout).toContain("ls: cannot access '/root/b-secret': No such file or directory");
    expect(res.stdout).toContain("ls: cannot access '/work': No such file or directory");
    // Its own accounts (root, nobody), not the host's.
    expect(res.stdout).toContain('\n2\n');
    expect(res.stdout.trim().endsWith(a.id.replace(/_/g, '-'))).toBe(true);
  });

  it('cannot remount or write the host directories it shares read-only', async () => {
    const res = await execIn(t.driver, a.id, 'touch /usr/cove-x 2>&1; mount -o remount,rw /usr 2>&1; echo end');
    expect(res.stdout).toContain('Read-only file system');
    expect(res.stdout).toMatch(/permission denied|must be superuser|Operation not permitted/i);
  });

  it('cannot open the kernel interfaces that reach past it (seccomp)', async () => {
    const res = await execIn(
      t.driver,
      a.id,
      // A user namespace needs no capability, only the seccomp filter stops it; ordinary forks still work.
      'grep Seccomp: /proc/self/status; unshare -U true 2>&1; echo "unshare=$?"; sh -c "echo child-ok"',
    );
    expect(res.stdout).toContain('Seccomp:\t2');
    expect(res.stdout).toMatch(/unshare=[1-9]/);
    expect(res.stdout).toContain('child-ok');
  });
});
