import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unpackLayer } from '../src/images/unpack-layer.js';
import { run } from '../src/run-command.js';
import { nsHelperMissing } from '../src/userns.js';
import { useTempStore } from './helpers/image-store.js';
import { busyboxRoot, writeOciImage } from './helpers/oci-layout.js';
import { skipOutsideCi } from './helpers.js';

const skip = skipOutsideCi(process.getuid?.() !== 0 ? 'needs root' : nsHelperMissing());

async function xattr(file: string, name: string): Promise<string> {
  const res = await run(['getfattr', '--absolute-names', '--only-values', '-n', name, file], { allowFailure: true });
  return res.code === 0 ? res.stdout : '';
}

describe.skipIf(skip)(`image layers${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTempStore();

  it('imports an OCI layout: whiteouts, opaque directories, owners, modes and links as overlay layers', async () => {
    const base = t.scratch('base');
    await busyboxRoot(base);
    await mkdir(path.join(base, 'data/old'), { recursive: true });
    await writeFile(path.join(base, 'data/old/a'), 'a');
    await writeFile(path.join(base, 'etc/doomed'), 'x');
    await writeFile(path.join(base, 'bin/suid'), 'x', { mode: 0o4755 });
    await run(['chown', '1000:1000', path.join(base, 'data/old/a')]);
    const layout = t.scratch('layout');
    const img = await writeOciImage(
      layout,
      'example.com/test/unpack:1',
      [
        { dir: base },
        {
          entries: [
            { path: 'etc/.wh.doomed' },
            { path: 'data/', type: 'dir' },
            { path: 'data/old/', type: 'dir' },
            { path: 'data/old/.wh..wh..opq' },
            { path: 'data/old/b', data: 'b' },
            { path: 'hello', data: 'hi\n', mode: 0o640, uid: 1000, gid: 1001 },
            { path: 'hello-link', type: 'link', linkPath: 'hello' },
            { path: 'abs-link', type: 'symlink', linkPath: '/etc/passwd' },
            { path: 'dev/null', type: 'char' },
            { path: 'fifo', type: 'fifo', mode: 0o600 },
          ],
        },
      ],
      { Env: ['A=1'], WorkingDir: '/data', User: 'app' },
    );
    const [summary] = await t.store.import(layout);
    expect(summary).toMatchObject({
      id: img.config,
      name: 'example.com/test/unpack:1',
      references: ['example.com/test/unpack:1'],
      digest: img.manifest,
      source: 'imported',
      layers: 2,
      config: { env: ['A=1'], workingDir: '/data', user: 'app', entrypoint: null, cmd: null },
    });
    const info = await t.store.ensure(summary!.id);
    expect(info.layers).toEqual(img.diffIds.map((d) => path.join(t.dir, 'layers', d.slice(7))).reverse());
    const [top, bottom] = info.layers as [string, string];
    // The whiteout: a 0/0 character device named for the deleted file.
    const wh = lstatSync(path.join(top, 'etc/doomed'));
    expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
    expect(existsSync(path.join(top, 'etc/.wh.doomed'))).toBe(false);
    expect(await xattr(path.join(top, 'data/old'), 'trusted.overlay.opaque')).toBe('y');
    expect(await readdir(path.join(top, 'data/old'))).toEqual(['b']);
    const hello = lstatSync(path.join(top, 'hello'));
    expect([hello.mode & 0o7777, hello.uid, hello.gid, hello.nlink]).toEqual([0o640, 1000, 1001, 2]);
    expect(lstatSync(path.join(top, 'hello-link')).ino).toBe(hello.ino);
    expect(lstatSync(path.join(top, 'abs-link')).isSymbolicLink()).toBe(true);
    expect(existsSync(path.join(top, 'dev/null'))).toBe(false);
    expect(lstatSync(path.join(top, 'fifo')).isFIFO()).toBe(true);
    expect(lstatSync(path.join(bottom, 'bin/suid')).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(path.join(bottom, 'data/old/a')).uid).toBe(1000);
    expect(readFileSync(path.join(bottom, 'bin/busybox')).equals(readFileSync('/usr/bin/busybox'))).toBe(true);
  });

  it('refuses hostile layers with a clear error and writes nothing outside the layer', async () => {
    const victim = t.scratch('victim');
    await mkdir(victim, { recursive: true });
    const cases: Array<{ name: string; entries: Parameters<typeof writeOciImage>[2][number]; why: RegExp }> = [
      { name: 'dotdot', entries: { entries: [{ path: '../../../../victim/escaped', data: 'x' }] }, why: /leaves the layer/ },
      { name: 'nested-dotdot', entries: { entries: [{ path: 'a/../../victim/escaped', data: 'x' }] }, why: /leaves the layer/ },
      {
        name: 'through-symlink',
        entries: {
          entries: [
            { path: 'esc', type: 'symlink', linkPath: victim },
            { path: 'esc/escaped', data: 'x' },
          ],
        },
        why: /goes through 'esc', which is not a directory/,
      },
      {
        name: 'symlink-then-file',
        // A file entry over a symlink replaces the link: it never writes through it.
        entries: {
          entries: [
            { path: 'f', type: 'symlink', linkPath: `${victim}/escaped` },
            { path: 'f', data: 'x' },
          ],
        },
        why: /^$/,
      },
      {
        name: 'hardlink-out',
        entries: { entries: [{ path: 'h', type: 'link', linkPath: '../../../../etc/passwd' }] },
        why: /leaves the layer/,
      },
      {
        name: 'hardlink-through-symlink',
        entries: {
          entries: [
            { path: 'd', type: 'symlink', linkPath: '/etc' },
            { path: 'h', type: 'link', linkPath: 'd/passwd' },
          ],
        },
        why: /goes through 'd'/,
      },
      { name: 'whiteout-dotdot', entries: { entries: [{ path: '.wh...' }] }, why: /invalid whiteout/ },
    ];
    for (const c of cases) {
      const layout = t.scratch(`hostile-${c.name}`);
      await writeOciImage(layout, `example.com/hostile/${c.name}:1`, [c.entries]);
      const result = await t.store.import(layout).then(
        () => '',
        (err: Error & { code?: string }) => `${err.code}: ${err.message}`,
      );
      if (c.why.source === '^$') expect(result, c.name).toBe('');
      else {
        expect(result, c.name).toMatch(/^bad_request: /);
        expect(result, c.name).toMatch(c.why);
      }
    }
    expect(await readdir(victim)).toEqual([]);
    expect(readFileSync('/etc/passwd', 'utf8')).toContain('root:');
    // Refused layers leave no image, no layer directory and no work directory behind.
    expect((await t.store.list()).map((i) => i.name).filter((n) => n.includes('hostile'))).toEqual([
      'example.com/hostile/symlink-then-file:1',
    ]);
    expect(existsSync(path.join(t.dir, 'tmp')) ? await readdir(path.join(t.dir, 'tmp')) : []).toEqual([]);
  });

  it('a large compressed layer refused at its first entry is refused at once, not left waiting', async () => {
    // Far more than the decompressor's buffers hold: the refusal must stop it, not wait for a reader.
    const src = t.scratch('big-src');
    await mkdir(src, { recursive: true });
    await writeFile(
      path.join(src, 'data'),
      Buffer.alloc(8 << 20).map((_, i) => (i * 2654435761) >>> 24),
    );
    for (const [name, flag] of [
      ['gz', '--gzip'],
      ['zst', '--zstd'],
    ] as const) {
      const file = t.scratch(`big.tar.${name}`);
      execFileSync('tar', ['--create', `--file=${file}`, flag, '-P', '--transform=s,^,../,', '--directory', src, 'data']);
      const dest = t.scratch(`big-dest-${name}`);
      await mkdir(dest);
      await expect(unpackLayer(file, dest)).rejects.toThrow(/leaves the layer/);
    }
  });

  it('a layer whose content does not match the config’s diff id is refused', async () => {
    const layout = t.scratch('lying');
    const img = await writeOciImage(layout, 'example.com/test/lying:1', [{ entries: [{ path: 'a', data: 'a' }] }]);
    // Rewrite the config to claim another diff id (and the manifest to point at it).
    const blobs = path.join(layout, 'blobs/sha256');
    const config = JSON.parse(readFileSync(path.join(blobs, img.config.slice(7)), 'utf8'));
    config.rootfs.diff_ids = [`sha256:${'0'.repeat(64)}`];
    const other = t.scratch('lying2');
    await writeOciImage(other, 'example.com/test/lying:1', [{ entries: [{ path: 'a', data: 'a' }] }]);
    const { createHash } = await import('node:crypto');
    const text = JSON.stringify(config);
    const digest = createHash('sha256').update(text).digest('hex');
    await writeFile(path.join(blobs, digest), text);
    const manifest = JSON.parse(readFileSync(path.join(blobs, img.manifest.slice(7)), 'utf8'));
    manifest.config = { ...manifest.config, digest: `sha256:${digest}`, size: text.length };
    const mtext = JSON.stringify(manifest);
    const mdigest = createHash('sha256').update(mtext).digest('hex');
    await writeFile(path.join(blobs, mdigest), mtext);
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
    index.manifests[0] = { ...index.manifests[0], digest: `sha256:${mdigest}`, size: mtext.length };
    await writeFile(path.join(layout, 'index.json'), JSON.stringify(index));
    await expect(t.store.import(layout)).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/unpacks to sha256:[0-9a-f]{64}, the config says sha256:0{64}/),
    });
  });
});
