// A store on a temporary images directory, removed after the test file (what a test imports or pulls stays
// out of the machine's shared images directory).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { ImageStore } from '../../src/images/index.js';

export interface TempStore {
  readonly store: ImageStore;
  readonly dir: string;
  /** A fresh directory for the test's own files (layouts, roots), removed with the store. */
  scratch(name: string): string;
}

export function useTempStore(): TempStore {
  let base: string | undefined;
  let store: ImageStore | undefined;
  beforeAll(async () => {
    // Under /var/tmp (the disk, not a tmpfs): layers need trusted.* xattrs and idmapped mounts.
    base = await mkdtemp(path.join('/var/tmp', 'cove-images-test-'));
    store = new ImageStore({ dir: path.join(base, 'images'), log: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });
  return {
    get store() {
      if (!store) throw new Error('the store is not open yet');
      return store;
    },
    get dir() {
      return path.join(base ?? '', 'images');
    },
    scratch(name: string) {
      return path.join(base ?? os.tmpdir(), name);
    },
  };
}
