import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '@cove/protocol';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageStore } from '../src/images.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cove-images-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ImageStore', () => {
  it('an image that cannot be built is 503 service_unavailable for the client, and leaves nothing behind', async () => {
    const store = new ImageStore({ dir, debianMirror: 'http://mirror.invalid/debian', log: pino({ level: 'silent' }) });
    const err = await store.ensure('no-such-builder').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(503);
    expect((err as AppError).toBody()).toEqual({
      success: false,
      code: 'service_unavailable',
      error: "image 'no-such-builder' is not available: building it failed (see the server log)",
    });
    expect(store.isReady('no-such-builder')).toBe(false);
    expect(existsSync(dir) ? await readdir(dir) : []).toEqual([]);
  });
});
