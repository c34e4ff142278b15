// Address allocation of the slots, without runc: the disk, network, user namespace and id range steps are stubbed (they need root),
// the rest (directories, state.json, the address lock, the registration) is the real code path.
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AddressPlan } from '../src/addresses.js';
import { ensureNetwork } from '../src/netns.js';
import { KeyedSerial } from '../src/serial.js';
import { Slots } from '../src/slots.js';

// Directories are made synchronously, so that concurrent makes reach the address lock in the same turn and
// queue on it. (With libuv's mkdir each completion is its own callback, so they mostly arrive one by one
// and find the lock free, which hides a registration made after the lock is released.)
vi.mock('node:fs/promises', async (original) => ({
  ...(await original<typeof import('node:fs/promises')>()),
  mkdir: vi.fn(async (...args: Parameters<typeof mkdirSync>) => mkdirSync(...args)),
}));
vi.mock('../src/disk.js', async (original) => ({
  ...(await original<typeof import('../src/disk.js')>()),
  createDisk: vi.fn(async () => {}),
  mountRoot: vi.fn(async () => {}),
  removeDisk: vi.fn(async () => {}),
}));
vi.mock('../src/userns.js', async (original) => ({
  ...(await original<typeof import('../src/userns.js')>()),
  ensureUserns: vi.fn(async () => {}),
  removeUserns: vi.fn(async () => {}),
}));
// The id ranges are claimed in a host-wide index under /var/lib/cove (root only); each slot gets one here.
vi.mock('../src/id-ranges.js', async (original) => {
  let next = 2 ** 30;
  return {
    ...(await original<typeof import('../src/id-ranges.js')>()),
    claimIdRange: vi.fn(async () => {
      next += 65_536;
      return { base: next, size: 65_536 };
    }),
    releaseIdRange: vi.fn(async () => {}),
  };
});
vi.mock('../src/netns.js', async (original) => ({
  ...(await original<typeof import('../src/netns.js')>()),
  ensureNetwork: vi.fn(async () => {}),
  removeNetwork: vi.fn(async () => {}),
}));

describe('slot addresses', () => {
  let dir: string;
  let slots: Slots;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cove-slots-'));
    const images = {
      ensure: async () => ({ layers: ['/'] }),
      resolve: (image: string) => image,
      use: async () => {},
      release: async () => {},
    };
    slots = new Slots({
      dir,
      rootsDir: path.join(dir, 'roots'),
      images: images as never,
      plan: new AddressPlan('10.87.250.0/24'),
      global: new KeyedSerial(),
    });
  });
  afterEach(async () => {
    vi.mocked(ensureNetwork).mockReset();
    await rm(dir, { recursive: true, force: true });
  });

  it('concurrent creates and pool refills all get distinct addresses', async () => {
    const made = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? slots.make(`ws_${i}`, `ws_${i}`, 'host', 64) : slots.make(`wp_${i}`, '', 'host', 64),
      ),
    );
    const ips = made.map((s) => s.ip);
    expect(new Set(ips).size).toBe(40);
    expect(new Set([...slots.states.values(), ...slots.spare].map((s) => s.ip)).size).toBe(40);
  });

  it('a slot that could not be made gives its address back', async () => {
    const first = await slots.make('ws_a', 'ws_a', 'host', 64);
    vi.mocked(ensureNetwork).mockRejectedValueOnce(new Error('no link'));
    await expect(slots.make('ws_b', 'ws_b', 'host', 64)).rejects.toThrow('no link');
    expect(slots.states.has('ws_b')).toBe(false);
    expect(existsSync(slots.slotDir('ws_b'))).toBe(false);
    vi.mocked(ensureNetwork).mockRejectedValueOnce(new Error('no link'));
    await expect(slots.make('wp_c', '', 'host', 64)).rejects.toThrow('no link');
    expect(slots.spare.size).toBe(0);
    // The next slot gets the lowest free address: the one the failed slots had.
    const next = await slots.make('ws_d', 'ws_d', 'host', 64);
    expect([first.ip, next.ip]).toEqual(['10.87.250.2', '10.87.250.3']);
  });
});
