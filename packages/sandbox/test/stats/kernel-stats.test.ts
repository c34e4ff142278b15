// The stats readers over fixture directories laid out as the kernel lays out cgroup v1, cgroup v2 and
// /sys/class/net (this host has one layout; the fixtures hold the other, and an older kernel's v1).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cgroupMode } from '../../src/cgroups.js';
import { readCgroupStats } from '../../src/stats/cgroup-stats.js';
import { readDiskStats } from '../../src/stats/disk-stats.js';
import { readLinkStats } from '../../src/stats/link-stats.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const relative = 'cove/ws_fixture';

describe('cgroup stats', () => {
  it('reads cgroup v2: cpu.stat in µs, cpu.max, memory.peak, memory.events oom_kill, working set without inactive_file', () => {
    const root = path.join(FIXTURES, 'cgroup-v2');
    expect(cgroupMode(root)).toBe('v2');
    expect(readCgroupStats({ relative, root })).toEqual({
      mode: 'v2',
      cpu: {
        usageNs: 8_123_456_000,
        userNs: 6_000_000_000,
        systemNs: 2_123_456_000,
        limitCpus: 0.5,
        periods: 420,
        throttledPeriods: 37,
        throttledNs: 1_850_000_000,
      },
      memory: {
        currentBytes: 209_715_200,
        workingSetBytes: 209_715_200 - 31_457_280,
        limitBytes: 268_435_456,
        peakBytes: 268_431_360,
        oomKills: 2,
      },
      processes: { current: 7, limit: 512 },
    });
  });

  it('reads cgroup v1: one hierarchy per controller, cpuacct in ns, max_usage_in_bytes, oom_control oom_kill', () => {
    const root = path.join(FIXTURES, 'cgroup-v1');
    expect(cgroupMode(root)).toBe('v1');
    expect(readCgroupStats({ relative, root })).toEqual({
      mode: 'v1',
      cpu: {
        usageNs: 5_123_456_789,
        userNs: 4_000_000_000,
        systemNs: 1_123_456_789,
        limitCpus: 2,
        periods: 1000,
        throttledPeriods: 12,
        throttledNs: 340_000_000,
      },
      memory: {
        currentBytes: 104_857_600,
        workingSetBytes: 104_857_600 - 12_582_912,
        limitBytes: 134_217_728,
        peakBytes: 134_213_632,
        oomKills: 1,
      },
      processes: { current: 3, limit: null },
    });
  });

  it("on an older v1 kernel: user/system from cpuacct.stat's ticks; no quota, no limit, no OOM count are null, not 0", () => {
    const s = readCgroupStats({ relative, root: path.join(FIXTURES, 'cgroup-v1-old') });
    expect(s.cpu).toMatchObject({ usageNs: 3_000_000_000, userNs: 2_500_000_000, systemNs: 500_000_000, limitCpus: null });
    expect(s.memory).toMatchObject({ limitBytes: null, oomKills: null, peakBytes: 60_000_000, workingSetBytes: 52_428_800 });
    expect(s.processes).toEqual({ current: 1, limit: 64 });
  });

  it('answers 409 conflict for a cgroup that does not exist (a stopped workspace), on both layouts', () => {
    for (const layout of ['cgroup-v1', 'cgroup-v2']) {
      expect(() => readCgroupStats({ relative: 'cove/ws_gone', root: path.join(FIXTURES, layout) })).toThrow(
        expect.objectContaining({ code: 'conflict' }),
      );
    }
  });
});

describe('link stats', () => {
  it("swaps the host side's rx and tx: what the host receives the workspace sent", () => {
    expect(readLinkStats('cv0123456789', path.join(FIXTURES, 'net'))).toEqual({
      rxBytes: 500_000,
      txBytes: 1000,
      rxPackets: 400,
      txPackets: 20,
    });
  });

  it('is null where the link is gone', () => {
    expect(readLinkStats('cvgone', path.join(FIXTURES, 'net'))).toEqual({ rxBytes: null, txBytes: null, rxPackets: null, txPackets: null });
  });
});

describe('disk stats', () => {
  it("is null for a directory with nothing mounted on it (not the host file system's figures)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-disk-'));
    try {
      expect(readDiskStats(dir)).toEqual({ usedBytes: null, sizeBytes: null });
      expect(readDiskStats(path.join(dir, 'missing'))).toEqual({ usedBytes: null, sizeBytes: null });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a mounted file system with statfs', () => {
    // /proc is a mount point on every Linux host; its statfs reports 0 blocks.
    expect(readDiskStats('/proc')).toEqual({ usedBytes: 0, sizeBytes: 0 });
  });
});
