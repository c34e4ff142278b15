import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '@cove/protocol';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageStore } from '../src/images/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cove-images-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ImageStore', () => {
  it('a builtin image that cannot be built is 503 service_unavailable for the client, and leaves nothing behind', async () => {
    const store = new ImageStore({ dir, debianMirror: 'http://mirror.invalid/debian', log: pino({ level: 'silent' }) });
    const err = await store.ensure('debian-12').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(503);
    expect((err as AppError).toBody()).toEqual({
      success: false,
      code: 'service_unavailable',
      error: "image 'debian:12' is not available: building it failed (see the server log)",
    });
    expect(store.isReady('debian-12')).toBe(false);
    // Only the (released) lock directory: no image, no half-built root.
    expect(await readdir(dir)).toEqual(['locks']);
    expect(await readdir(path.join(dir, 'locks'))).toEqual([]);
  }, 120_000);

  it('an image the store does not have is not_found; a malformed reference bad_request; builtin names resolve as written', async () => {
    const store = new ImageStore({ dir, log: pino({ level: 'silent' }) });
    await expect(store.ensure(`sha256:${'0'.repeat(64)}`)).rejects.toMatchObject({ code: 'not_found' });
    expect(() => store.lookup('python:3.12')).toThrow(
      expect.objectContaining({ code: 'not_found', message: "image 'python:3.12' is not in the image store (pull or import it first)" }),
    );
    expect(() => store.lookup('Bad Name')).toThrow(expect.objectContaining({ code: 'bad_request' }));
    expect(['host', 'debian:12', 'debian:bookworm', 'debian', 'debian-12'].map((r) => store.resolve(r))).toEqual([
      'host',
      'debian-12',
      'debian-12',
      'debian-12',
      'debian-12',
    ]);
    expect(await store.get('nope')).toBeUndefined();
    expect((await store.list()).map((i) => [i.id, i.name, i.source])).toEqual([
      ['host', 'host', 'builtin'],
      ['debian-12', 'debian:12', 'builtin'],
    ]);
    // A workspace of the host image mounts one layer, the builtin root, with the host's /usr bound in.
    const info = await store.ensure('host');
    expect(info).toMatchObject({
      name: 'host',
      layers: [path.join(dir, 'host/rootfs')],
      hostBinds: [{ source: '/usr', destination: '/usr' }],
      config: { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], workingDir: null, user: null },
    });
    expect(existsSync(path.join(dir, 'host/ready'))).toBe(true);
  }, 60_000);
});
