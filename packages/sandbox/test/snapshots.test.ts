// Snapshots, restore and forks on the sandbox driver, with real runc, disks, idmapped mounts and the disk pool:
// what a workspace's file system holds survives a fork or a restore exactly (files, modes, owners, symlinks,
// hard links, deletions of the image's files, empty directories, sparse files), a fork taken while a process
// writes is one instant, parent and children are independent, and deletion leaves nothing.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkspaceSpec } from '@cove/protocol';
import { describe, expect, it } from 'vitest';
import { idRangeClaims } from '../src/index.js';
import { execIn, leftovers, loopsUnder, skipReason, spec, useTestDriver } from './helpers.js';

const SLOT = 21;
const skip = skipReason();

/** What the test writes: every kind of entry a file system round trip must keep. */
const FILL = [
  'mkdir -p /root/data/empty /root/data/sub',
  'printf hello > /root/data/file && chmod 0640 /root/data/file && chown 1000:1001 /root/data/file',
  'printf setuid > /root/data/suid && chmod 4755 /root/data/suid',
  'ln -s ../data/file /root/data/link',
  'printf linked > /root/data/hard1 && ln /root/data/hard1 /root/data/sub/hard2',
  'truncate -s 1G /root/data/sparse && printf end >> /root/data/sparse',
  'mkfifo /root/data/fifo',
  'chown -h 1000:1000 /root/data/link && chown 1002:1002 /root/data/sub',
  // A file of the image deleted: a whiteout in the upper layer.
  'rm /etc/os-release',
].join(' && ');

/** The listing compared across a round trip: path, type, mode, owner, link target, size, allocated KiB; and hard links. */
const LIST = [
  "find /root/data -printf '%p %y %m %U:%G %l %s\\n' | sort",
  'echo sparse-kib $(du -k /root/data/sparse | cut -f1 | awk \'{print ($1 < 1024) ? "small" : $1}\')',
  'echo hardlinked $( [ "$(stat -c %i /root/data/hard1)" = "$(stat -c %i /root/data/sub/hard2)" ] && echo yes || echo no)',
  'echo os-release $( [ -e /etc/os-release ] && echo present || echo gone)',
  'cat /root/data/file /root/data/link; echo; tail -c 3 /root/data/sparse; echo',
].join('; ');

describe.skipIf(skip)(`sandbox snapshots and forks${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTestDriver(SLOT);

  async function running(s: WorkspaceSpec = spec()): Promise<WorkspaceSpec> {
    await t.driver.create(s);
    await t.driver.start(s);
    return s;
  }

  async function sh(id: string, script: string): Promise<string> {
    const res = await execIn(t.driver, id, script);
    if (res.code !== 0) throw new Error(`exit ${res.code}: ${res.stderr}`);
    return res.stdout;
  }

  async function expectGone(id: string, range: { base: number }): Promise<void> {
    expect(leftovers(t.driver, t.dataDir, id, `cove-test${SLOT}`)).toEqual([]);
    expect(await loopsUnder(`${t.dataDir}/workspaces/${id}/`)).toEqual([]);
    expect(existsSync(path.join(t.dataDir, 'disks', 'workspaces', `${id}.ext4`))).toBe(false);
    expect(existsSync(path.join(t.dataDir, 'disks', 'snapshots', id))).toBe(false);
    expect((await idRangeClaims()).some((c) => c.base === range.base)).toBe(false);
  }

  it('the disk pool clones in constant time (reflink)', () => {
    expect(t.driver.snapshots.constantTimeFork).toBe(true);
  });

  it('a fork keeps every kind of entry, with the owners as seen inside, in its own id range', async () => {
    const parent = await running();
    await sh(parent.id, FILL);
    const before = await sh(parent.id, LIST);
    expect(before).toContain('sparse-kib small');
    expect(before).toContain('hardlinked yes');
    expect(before).toContain('os-release gone');
    expect(before).toContain('/root/data/file f 640 1000:1001');
    const child = spec();
    await t.driver.snapshots.fork(parent.id, [child]);
    await t.driver.start(child);
    expect(await sh(child.id, LIST)).toBe(before);
    // On the host the child's files are its own range's, not its parent's.
    const parentRange = t.driver.idRangeOf(parent.id);
    const childRange = t.driver.idRangeOf(child.id);
    expect(childRange?.base).not.toBe(parentRange?.base);
    const { stat } = await import('node:fs/promises');
    const seen = await stat(path.join(t.driver.rootfsOf(child.id) ?? '', 'root/data/file'));
    expect(seen.uid).toBe((childRange?.base ?? 0) + 1000);
    // Root inside the child owns what its parent's root did, and can write and chown it.
    await sh(child.id, 'echo more >> /root/data/file && chown 1003 /root/data/file && touch /root/new');
    expect(await sh(child.id, "stat -c '%U %u' /root/new; stat -c %u /root/data/file")).toBe('root 0\n1003\n');
    await t.driver.destroy(parent.id);
    await t.driver.destroy(child.id);
  });

  it('parent and child diverge; deleting the parent leaves the child whole, across its restarts', async () => {
    const parent = await running();
    await sh(
      parent.id,
      'echo base > /root/shared && dd if=/dev/urandom of=/root/blob bs=1M count=8 status=none && md5sum /root/blob > /root/blob.md5',
    );
    const child = spec();
    await t.driver.snapshots.fork(parent.id, [child]);
    await t.driver.start(child);
    await sh(parent.id, 'echo parent > /root/shared && echo p > /root/only-parent');
    await sh(child.id, 'echo child > /root/shared && echo c > /root/only-child && rm /root/blob.md5.x 2>/dev/null; true');
    expect(await sh(parent.id, 'cat /root/shared; ls /root')).toBe('parent\nblob\nblob.md5\nonly-parent\nshared\n');
    expect(await sh(child.id, 'cat /root/shared; ls /root')).toBe('child\nblob\nblob.md5\nonly-child\nshared\n');
    const parentRange = t.driver.idRangeOf(parent.id);
    await t.driver.destroy(parent.id);
    if (parentRange) await expectGone(parent.id, parentRange);
    expect(await sh(child.id, 'md5sum -c /root/blob.md5 && cat /root/shared')).toBe('/root/blob: OK\nchild\n');
    await t.driver.stop(child.id);
    await t.driver.start(child);
    expect(await sh(child.id, 'md5sum -c /root/blob.md5 && cat /root/shared')).toBe('/root/blob: OK\nchild\n');
    const childRange = t.driver.idRangeOf(child.id);
    await t.driver.destroy(child.id);
    if (childRange) await expectGone(child.id, childRange);
  });

  it('a fork taken while a process writes is one instant', async () => {
    const parent = await running();
    // Each round writes the counter to `a`, then to `b`: at any instant a is b or b + 1, never torn lines.
    const loop = 'i=0; while :; do i=$((i+1)); echo "line $i" >> /root/a; echo "line $i" >> /root/b; done';
    await sh(parent.id, `nohup sh -c '${loop}' >/dev/null 2>&1 &`);
    await sh(parent.id, 'while [ "$(wc -l < /root/b)" -lt 500 ]; do sleep 0.01; done');
    const child = spec();
    await t.driver.snapshots.fork(parent.id, [child]);
    await t.driver.start(child);
    const a = (await sh(child.id, 'cat /root/a')).split('\n').filter(Boolean);
    const b = (await sh(child.id, 'cat /root/b')).split('\n').filter(Boolean);
    expect(a).toEqual(a.map((_, i) => `line ${i + 1}`));
    expect(b).toEqual(b.map((_, i) => `line ${i + 1}`));
    expect(a.length - b.length === 0 || a.length - b.length === 1).toBe(true);
    // The parent ran on: its writer is still writing.
    const n = Number((await sh(parent.id, 'wc -l < /root/b')).trim());
    await sh(parent.id, `while [ "$(wc -l < /root/b)" -le ${n} ]; do sleep 0.01; done`);
    await t.driver.destroy(parent.id);
    await t.driver.destroy(child.id);
  });

  it('restore brings back the latest snapshot; the processes do not survive it', async () => {
    const s = await running();
    expect(await t.driver.snapshots.latestSnapshot(s.id)).toBeNull();
    await expect(t.driver.snapshots.restore(s.id)).rejects.toMatchObject({ code: 'conflict' });
    await sh(s.id, `${FILL} && echo one > /root/version`);
    const listed = await sh(s.id, LIST);
    const first = await t.driver.snapshots.snapshot(s.id);
    expect(first.workspaceId).toBe(s.id);
    expect(first.sizeBytes).toBeGreaterThan(0);
    // The workspace ran on through the snapshot.
    await sh(s.id, 'echo two > /root/version && rm -r /root/data && echo x > /etc/os-release && mkdir /root/later');
    await t.driver.stop(s.id);
    const restored = await t.driver.snapshots.restore(s.id);
    expect(restored.createdAt).toBe(first.createdAt);
    await t.driver.start(s);
    expect(await sh(s.id, 'cat /root/version; ls /root')).toBe('one\ndata\nversion\n');
    expect(await sh(s.id, LIST)).toBe(listed);
    // A second snapshot replaces the first.
    await sh(s.id, 'echo three > /root/version');
    await t.driver.snapshots.snapshot(s.id);
    await sh(s.id, 'echo four > /root/version');
    await t.driver.stop(s.id);
    await t.driver.snapshots.restore(s.id);
    await t.driver.start(s);
    expect(await sh(s.id, 'cat /root/version')).toBe('three\n');
    const range = t.driver.idRangeOf(s.id);
    await t.driver.destroy(s.id);
    if (range) await expectGone(s.id, range);
  });

  it("a fork of a fork, and a restore of a fork's snapshot, keep the owners as seen inside", async () => {
    const a = await running();
    await sh(a.id, 'echo a > /root/f && chown 1000:1000 /root/f');
    const b = spec();
    await t.driver.snapshots.fork(a.id, [b]);
    await t.driver.start(b);
    await sh(b.id, 'echo b >> /root/f && touch /root/g && chown 1001 /root/g');
    await t.driver.snapshots.snapshot(b.id);
    const c = spec();
    await t.driver.snapshots.fork(b.id, [c]);
    await t.driver.start(c);
    expect(await sh(c.id, "cat /root/f; stat -c '%n %u:%g' /root/f /root/g")).toBe('a\nb\n/root/f 1000:1000\n/root/g 1001:0\n');
    await sh(b.id, 'rm /root/g');
    await t.driver.stop(b.id);
    await t.driver.snapshots.restore(b.id);
    await t.driver.start(b);
    expect(await sh(b.id, "stat -c '%n %u' /root/f /root/g")).toBe('/root/f 1000\n/root/g 1001\n');
    for (const s of [a, b, c]) await t.driver.destroy(s.id);
  });

  it("ten forks at once: each its own address, range and disk; each within its parent's quota", async () => {
    const parent = await running(spec({ diskMb: 256 }));
    await sh(parent.id, 'dd if=/dev/zero of=/root/fill bs=1M count=150 status=none && echo parent > /root/who');
    const children = Array.from({ length: 10 }, () => spec({ diskMb: 256 }));
    await t.driver.snapshots.fork(parent.id, children);
    await Promise.all(children.map((c) => t.driver.start(c)));
    const ips = new Set(children.map((c) => t.driver.addressOf(c.id)));
    const bases = new Set(children.map((c) => t.driver.idRangeOf(c.id)?.base));
    expect(ips.size).toBe(10);
    expect(bases.size).toBe(10);
    for (const c of children)
      expect(await sh(c.id, `cat /root/who && echo ${c.id} > /root/who && cat /root/who`)).toBe(`parent\n${c.id}\n`);
    expect(await sh(parent.id, 'cat /root/who')).toBe('parent\n');
    // The parent's 150 MiB count in each child's 256 MiB disk: ENOSPC comes before another 150 MiB fit.
    const full = await execIn(t.driver, children[0]?.id ?? '', 'dd if=/dev/zero of=/root/more bs=1M count=150 status=none');
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/No space left on device/);
    expect(await sh(children[1]?.id ?? '', 'dd if=/dev/zero of=/root/more bs=1M count=50 status=none && echo ok')).toBe('ok\n');
    const ranges = children.map((c) => ({ id: c.id, range: t.driver.idRangeOf(c.id) }));
    await Promise.all([parent, ...children].map((s) => t.driver.destroy(s.id)));
    for (const { id, range } of ranges) if (range) await expectGone(id, range);
  });

  it('a fork of a stopped workspace, and of one never started', async () => {
    const stopped = await running();
    await sh(stopped.id, 'echo kept > /root/kept');
    await t.driver.stop(stopped.id);
    const child = spec();
    await t.driver.snapshots.fork(stopped.id, [child]);
    await t.driver.start(child);
    expect(await sh(child.id, 'cat /root/kept')).toBe('kept\n');
    const fresh = spec();
    await t.driver.create(fresh);
    const child2 = spec();
    await t.driver.snapshots.fork(fresh.id, [child2]);
    await t.driver.start(child2);
    expect(await sh(child2.id, 'ls /root | wc -l')).toBe('0\n');
    for (const s of [stopped, child, fresh, child2]) await t.driver.destroy(s.id);
  });

  it('a fork into an existing id is refused and makes nothing', async () => {
    const parent = await running();
    await expect(t.driver.snapshots.fork(parent.id, [spec(), parent])).rejects.toMatchObject({ code: 'conflict' });
    await expect(t.driver.snapshots.fork('ws_nope00000000', [spec()])).rejects.toMatchObject({ code: 'not_found' });
    const tmp = await readFile('/proc/self/mountinfo', 'utf8');
    expect(tmp).not.toContain(`${t.dataDir}/disks/tmp`);
    await t.driver.destroy(parent.id);
  });
});
