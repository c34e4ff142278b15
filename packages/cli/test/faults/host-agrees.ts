// What every crash test checks after `cove up` came back: the store and the host agree, nothing is half made,
// the firewall holds every listed workspace, and no lock file outlives the process that took it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ID_RANGES_DIR } from '@cove/sandbox';
import { expect } from 'vitest';
import { processAlive } from '../../../sandbox/src/process-alive.js';
import { run } from '../../../sandbox/src/run-command.js';
import { hostView, type Json, sandboxDir, slotOfPath, type Up } from './cove-up.js';

/** Where the host keeps its lock files: the id-range claims and the instance networks (shared by every instance). */
const HOST_LOCK_DIRS = [ID_RANGES_DIR, '/var/lib/cove/instances'];

/** Every listed workspace runs and has its slot; no other slot, mark, mount or container; the firewall holds each. */
export async function expectConsistent(u: Up, slot: number): Promise<Json[]> {
  const list = await u.api('GET', '/workspace?limit=100');
  expect(list.status).toBe(200);
  const items: Json[] = list.body.workspaces;
  for (const ws of items) expect(ws.status, `${ws.id} is ${ws.status}`).toBe('running');
  const ids = new Set(items.map((w) => w.id));
  const host = await hostView(u.dataDir);
  expect(host.marked).toEqual([]);
  expect(host.slots.sort()).toEqual([...ids].sort());
  for (const m of host.mounts) expect(ids.has(slotOfPath(m) ?? ''), m).toBe(true);
  for (const c of host.containers) expect(ids.has(c), c).toBe(true);
  // Nothing is left mounted from a clone being worked on (an archive's), and no loop device backs one.
  const work = path.join(sandboxDir(u.dataDir), 'disks', 'tmp');
  expect((await run(['findmnt', '-rn', '-o', 'TARGET'])).stdout.split('\n').filter((m) => m.startsWith(work))).toEqual([]);
  expect((await run(['losetup', '-l', '-n', '-O', 'BACK-FILE'])).stdout.split('\n').filter((f) => f.trim().startsWith(work))).toEqual([]);
  const table = (await run(['nft', 'list', 'table', 'inet', `cove_test${slot}`])).stdout;
  for (const ws of items) {
    const details = await u.api('GET', `/workspace/${ws.id}/network`);
    if (details.body.ip) expect(table).toContain(details.body.ip);
  }
  return items;
}

/**
 * Lock files under `dirs` (and the host's) whose holder is dead: none may be left. A lock file names its holder's
 * pid; one held by a live process (another instance, another test) is someone's current work.
 */
export function staleLocks(dirs: string[]): string[] {
  const stale: string[] = [];
  for (const dir of [...dirs, ...HOST_LOCK_DIRS]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.lock')) continue;
      const file = path.join(dir, name);
      let holder = 0;
      try {
        holder = Number(readFileSync(file, 'utf8'));
      } catch {
        continue;
      }
      if (!(holder > 0 && processAlive(holder))) stale.push(`${file} (holder ${holder || 'unknown'})`);
    }
  }
  return stale;
}
