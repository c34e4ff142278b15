import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../src/run-command.js';
import { nsHelperMissing } from '../src/userns.js';
import { useTempStore } from './helpers/image-store.js';
import { busyboxRoot, writeOciImage } from './helpers/oci-layout.js';
import { skipOutsideCi } from './helpers.js';

const skip = skipOutsideCi(process.getuid?.() !== 0 ? 'needs root' : nsHelperMissing());

describe.skipIf(skip)(`image imports${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTempStore();

  async function layout(name: string, ref: string) {
    const root = t.scratch(`${name}-root`);
    await busyboxRoot(root);
    await writeFile(path.join(root, 'etc/motd'), `${name}\n`);
    const dir = t.scratch(name);
    const img = await writeOciImage(dir, ref, [{ dir: root }, { entries: [{ path: 'etc/extra', data: 'x' }] }], {
      Env: ['PATH=/bin'],
      WorkingDir: '/root',
      User: '0:0',
    });
    return { dir, img };
  }

  it('imports a docker save archive under its own name, or the name given', async () => {
    const { dir } = await layout('docker', 'docker');
    const archive = t.scratch('docker.tar');
    // skopeo writes the `docker save` format (manifest.json, RepoTags, uncompressed layers).
    await run(['skopeo', 'copy', '--quiet', `oci:${dir}:docker`, `docker-archive:${archive}:team/tool:2`]);
    const [summary] = await t.store.import(archive);
    // (The docker format's config is another blob, so another id.)
    expect(summary).toMatchObject({
      id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      name: 'docker.io/team/tool:2',
      source: 'imported',
      layers: 2,
      config: { env: ['PATH=/bin'], workingDir: '/root', user: '0:0' },
    });
    const [renamed] = await t.store.import(archive, { name: 'mine:1' });
    expect(renamed).toMatchObject({ id: summary?.id, references: ['docker.io/library/mine:1', 'docker.io/team/tool:2'] });
    expect((await t.store.get('mine:1'))?.id).toBe(summary?.id);
    expect((await t.store.get('docker.io/library/mine:1'))?.id).toBe(summary?.id);
  });

  it('imports an OCI archive and an OCI layout directory; a layout naming no image needs a name', async () => {
    const { dir, img } = await layout('oci', 'example.com/oci/image:3');
    const archive = t.scratch('oci.tar');
    await run(['skopeo', 'copy', '--quiet', `oci:${dir}:example.com/oci/image:3`, `oci-archive:${archive}:example.com/oci/archived:1`]);
    expect((await t.store.import(archive)).map((s) => [s.name, s.id])).toEqual([['example.com/oci/archived:1', img.config]]);
    expect((await t.store.import(dir)).map((s) => [s.name, s.id])).toEqual([['example.com/oci/image:3', img.config]]);
    const { dir: bare } = await layout('bare', 'latest');
    await expect(t.store.import(bare)).rejects.toMatchObject({
      code: 'bad_request',
      message: `the image in '${bare}' has no name: give it one (NAME:TAG)`,
    });
    expect((await t.store.import(bare, { name: 'localhost:5000/bare' }))[0]?.name).toBe('localhost:5000/bare:latest');
  });

  it('refuses what is not an image archive, with a clear error', async () => {
    const junk = t.scratch('junk.tar');
    await writeFile(junk, 'not a tar at all'.repeat(100));
    await expect(t.store.import(junk)).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining(`cannot import '${junk}'`),
    });
    const dir = t.scratch('empty-dir');
    await mkdir(dir, { recursive: true });
    await expect(t.store.import(dir)).rejects.toMatchObject({
      code: 'bad_request',
      message: `cannot import '${dir}': a directory must be an OCI layout (it has no oci-layout file)`,
    });
    await expect(t.store.import(t.scratch('missing'))).rejects.toMatchObject({ code: 'not_found' });
    expect(existsSync(path.join(t.dir, 'tmp')) ? await readdir(path.join(t.dir, 'tmp')) : []).toEqual([]);
  });

  it('normalises references as Docker does', async () => {
    const { parseReference } = await import('../src/images/reference.js');
    expect(parseReference('python').canonical).toBe('docker.io/library/python:latest');
    expect(parseReference('python:3.12-slim').canonical).toBe('docker.io/library/python:3.12-slim');
    expect(parseReference('org/app').canonical).toBe('docker.io/org/app:latest');
    expect(parseReference('index.docker.io/library/alpine:3').canonical).toBe('docker.io/library/alpine:3');
    expect(parseReference('ghcr.io/org/app:tag').canonical).toBe('ghcr.io/org/app:tag');
    expect(parseReference('localhost/app').canonical).toBe('localhost/app:latest');
    expect(parseReference('127.0.0.1:5000/team/base:1').registry).toBe('127.0.0.1:5000');
    expect(parseReference('[::1]:5000/x').registry).toBe('[::1]:5000');
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(`alpine@${d}`)).toMatchObject({ tag: null, digest: d, canonical: `docker.io/library/alpine@${d}` });
    for (const bad of ['', 'UPPER', 'a//b', 'x:bad tag', `x@sha256:${'a'.repeat(10)}`, 'a/../b'])
      expect(() => parseReference(bad), bad).toThrow(expect.objectContaining({ code: 'bad_request' }));
    const { isLoopbackRegistry } = await import('../src/images/reference.js');
    expect(['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', 'ghcr.io', '10.0.0.1:5000'].map(isLoopbackRegistry)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });
});
