import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { ImageSummary } from '@cove/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/run-command.js';
import { useTempStore } from './helpers/image-store.js';
import { busyboxRoot, writeOciImage } from './helpers/oci-layout.js';
import { inOtherProcess } from './helpers/store-process.js';
import { execIn, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 62;
const skip = skipReason();

/** Bytes of disk the directory's files take (hard links counted once). */
async function diskUse(dir: string): Promise<number> {
  const out = await run(['du', '-s', '--block-size=1', dir]);
  return Number(out.stdout.split('\t')[0]);
}

describe.skipIf(skip)(`image layers shared and stacked${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTempStore();
  let d: TestDriver;
  let root: string;

  beforeAll(async () => {
    root = t.scratch('root');
    await busyboxRoot(root);
    // Some weight in the base, so its cost stands out: 8 MiB of random bytes (no compression can hide a copy).
    await run(['dd', 'if=/dev/urandom', `of=${path.join(root, 'weight')}`, 'bs=1M', 'count=8', 'status=none']);
    d = await openTestDriver(SLOT, { imagesDir: t.dir });
  }, 300_000);

  afterAll(async () => {
    await d?.close();
  }, 120_000);

  it('ten images built on one base cost the base once on disk', async () => {
    const layout = t.scratch('ten');
    for (let i = 0; i < 10; i++) {
      await writeOciImage(layout, `example.com/ten/img:${i}`, [{ dir: root }, { entries: [{ path: `only-${i}`, data: `${i}\n` }] }]);
    }
    const images = await t.store.import(layout);
    expect(images.map((i) => i.name)).toEqual(Array.from({ length: 10 }, (_, i) => `example.com/ten/img:${i}`));
    const sizes = await Promise.all((await readdir(path.join(t.dir, 'layers'))).map((l) => diskUse(path.join(t.dir, 'layers', l))));
    const base = Math.max(...sizes);
    const layers = await diskUse(path.join(t.dir, 'layers'));
    expect(base).toBeGreaterThan(8 * 1024 * 1024);
    // One base layer plus ten one-file layers (a few KiB each); a copy per image would be ten times the base.
    expect(layers).toBeLessThan(base + 10 * 64 * 1024);
    expect((await readdir(path.join(t.dir, 'layers'))).length).toBe(11);
    // The blob store too: one compressed base, ten small layers, ten configs and manifests.
    const blobs = await diskUse(path.join(t.dir, 'oci/blobs'));
    expect(blobs).toBeLessThan(base + 30 * 64 * 1024);
    // Two workspaces of two of them: each sees its own top layer over the shared base.
    const a = spec({ image: 'example.com/ten/img:3' });
    const b = spec({ image: 'example.com/ten/img:7' });
    for (const s of [a, b]) {
      await d.driver.create(s);
      await d.driver.start(s);
    }
    expect((await execIn(d.driver, a.id, 'ls / | grep only; wc -c < /weight')).stdout).toBe('only-3\n8388608\n');
    expect((await execIn(d.driver, b.id, 'ls / | grep only; wc -c < /weight')).stdout).toBe('only-7\n8388608\n');
    await d.driver.destroy(a.id);
    await d.driver.destroy(b.id);
    for (let i = 0; i < 10; i++) await t.store.remove(`example.com/ten/img:${i}`);
    expect(await readdir(path.join(t.dir, 'layers'))).toEqual([]);
  }, 300_000);

  it('an image of 100 layers mounts (the overlay gets its layers one by one, past mount(2)’s page of options)', async () => {
    const layout = t.scratch('hundred');
    const layers = [
      { dir: root },
      ...Array.from({ length: 99 }, (_, i) => ({
        entries: [
          { path: `layers/`, type: 'dir' as const },
          { path: `layers/${String(i + 1).padStart(3, '0')}`, data: `${i + 1}\n` },
          // Each layer replaces the one file all of them write: the top one wins.
          { path: 'top', data: `${i + 1}\n` },
        ],
      })),
    ];
    await writeOciImage(layout, 'example.com/many/layers:100', layers);
    const [summary] = await t.store.import(layout);
    expect(summary?.layers).toBe(100);
    const s = spec({ image: 'example.com/many/layers:100' });
    await d.driver.create(s);
    await d.driver.start(s);
    expect(await execIn(d.driver, s.id, 'ls /layers | wc -l; cat /top; cat /layers/001 /layers/099')).toEqual({
      code: 0,
      stdout: '99\n99\n1\n99\n',
      stderr: '',
    });
    await d.driver.destroy(s.id);
    await t.store.remove('example.com/many/layers:100');
  }, 300_000);

  it('several processes import into one images directory at once: every image whole, shared layers once', async () => {
    const layouts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const layout = t.scratch(`proc-${i}`);
      await writeOciImage(layout, `example.com/procs/img:${i}`, [{ dir: root }, { entries: [{ path: `p${i}`, data: `${i}` }] }]);
      layouts.push(layout);
    }
    // Three other processes and this one, at the same time.
    const results = (await Promise.all([
      ...layouts.slice(0, 3).map((l) => inOtherProcess(t.dir, 'import', l)),
      t.store.import(layouts[3]!),
    ])) as ImageSummary[][];
    expect(results.map((r) => r[0]?.name)).toEqual([0, 1, 2, 3].map((i) => `example.com/procs/img:${i}`));
    expect((await t.store.list()).filter((i) => i.name.includes('procs')).length).toBe(4);
    expect((await readdir(path.join(t.dir, 'layers'))).length).toBe(5);
    for (let i = 0; i < 4; i++) {
      const info = await t.store.ensure((await t.store.get(`example.com/procs/img:${i}`))!.id);
      expect(info.layers.length).toBe(2);
    }
    expect(await readdir(path.join(t.dir, 'tmp'))).toEqual([]);
    // A removal in another process is seen here.
    await inOtherProcess(t.dir, 'remove', 'example.com/procs/img:0');
    expect(await t.store.get('example.com/procs/img:0')).toBeUndefined();
  }, 300_000);
});
