// New disks cloned from an empty one of their size made once in the disk pool (disk-template.ts): each is a
// file system of its own size, its root owned by its workspace's root, its blocks its own once written.
import { existsSync } from 'node:fs';
import { readdir, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipReason, spec, useTestDriver } from './helpers.js';

const skip = skipReason();
const SLOT = 25;

describe.skipIf(skip)('disks cloned from a template', () => {
  const t = useTestDriver(SLOT);

  const mountPoint = (id: string) => path.join(t.dataDir, 'workspaces', t.driver.slotOf(id) as string, 'disk');

  it('gives each new workspace a disk of its own size, owned by its root, from one template per size', async () => {
    const a = spec({ diskMb: 64 });
    const b = spec({ diskMb: 64 });
    const c = spec({ diskMb: 96 });
    for (const s of [a, b, c]) await t.driver.create(s);
    const templates = await readdir(path.join(t.dataDir, 'disks', 'templates'));
    expect(templates.sort()).toEqual(['ext4-v1-64.ext4', 'ext4-v1-96.ext4']);
    for (const [s, mb] of [
      [a, 64],
      [b, 64],
      [c, 96],
    ] as const) {
      const fs = await statfs(mountPoint(s.id));
      const bytes = fs.blocks * fs.bsize;
      // The image is the size asked for; the file system fills it (but for ext4's own journal and tables).
      const image = path.join(t.dataDir, 'workspaces', t.driver.slotOf(s.id) as string, 'disk.ext4');
      expect((await stat(image)).size).toBe(mb * 1024 * 1024);
      expect(bytes).toBeGreaterThan(0.85 * mb * 1024 * 1024);
      expect(bytes).toBeLessThanOrEqual(mb * 1024 * 1024);
      const base = t.driver.idRangeOf(s.id)?.base;
      expect((await stat(mountPoint(s.id))).uid).toBe(base);
      expect((await stat(path.join(mountPoint(s.id), 'upper'))).uid).toBe(base);
    }
    // Two clones of one template are two file systems: what one writes the other does not see.
    await writeFile(path.join(mountPoint(a.id), 'upper', 'only-a'), 'a');
    expect(existsSync(path.join(mountPoint(b.id), 'upper', 'only-a'))).toBe(false);
    for (const s of [a, b, c]) await t.driver.destroy(s.id);
  }, 120_000);
});
