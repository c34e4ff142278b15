// The host uid/gid ranges of the workspaces' user namespaces: 65,536 ids each (root inside is the range's
// base on the host), one per slot, never shared by two slots of any Cove instance on the host nor with a
// host user. Claimed in a host-wide index, `/var/lib/cove/id-ranges/<base>.json`, under a lock; a claim
// lasts while its slot's directory exists (deleting the slot releases it; a data directory deleted without
// that leaves claims the next allocation drops).
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withHostLock } from './host-lock.js';

export const ID_RANGES_DIR = '/var/lib/cove/id-ranges';
/** Ids per workspace: uid and gid 0–65535 inside, like a whole classic system. */
export const ID_RANGE_SIZE = 65_536;
/**
 * The region ranges are taken from, far above host users (1000–60000), systemd's dynamic users (61184–65519)
 * and the usual /etc/subuid ranges (100000 up): from 2^30 up to just below systemd's "foreign" range
 * (0x7ffe0000), so ids stay below 2^31 (some programs read them as signed 32-bit numbers). 16,382 ranges.
 */
export const ID_REGION_FIRST = 2 ** 30;
export const ID_REGION_END = 0x7ffe_0000;

export interface IdRange {
  /** The host uid and gid of root inside. */
  base: number;
  size: number;
}

/** A slot's claim in the host-wide index. */
export interface IdRangeClaim extends IdRange {
  dataDir: string;
  slot: string;
}

/**
 * The slot's range: the one it claimed already (a migration cut short, a retry), else the lowest free one
 * that overlaps neither another claim nor an id of the host's users, groups and subordinate ranges.
 */
export function claimIdRange(dataDir: string, slot: string): Promise<IdRange> {
  const owner = { dataDir: path.resolve(dataDir), slot };
  return withHostLock(ID_RANGES_DIR, async () => {
    const claims = await liveClaims();
    const own = claims.find((c) => c.dataDir === owner.dataDir && c.slot === slot);
    if (own) return { base: own.base, size: own.size };
    const taken = [...claims.map((c) => [c.base, c.base + c.size] as const), ...(await hostIds())];
    for (let base = ID_REGION_FIRST; base + ID_RANGE_SIZE <= ID_REGION_END; base += ID_RANGE_SIZE) {
      const end = base + ID_RANGE_SIZE;
      if (taken.some(([from, to]) => from < end && to > base)) continue;
      const claim: IdRangeClaim = { base, size: ID_RANGE_SIZE, ...owner };
      await writeFile(`${claimFile(base)}.tmp`, `${JSON.stringify(claim)}\n`, { mode: 0o600 });
      await rename(`${claimFile(base)}.tmp`, claimFile(base));
      return { base, size: ID_RANGE_SIZE };
    }
    throw new Error(`no free id range is left in ${ID_REGION_FIRST}–${ID_REGION_END} (every one is claimed in ${ID_RANGES_DIR})`);
  });
}

/** Gives the slot's range back (only a claim that is the slot's: a range is never freed for another). */
export async function releaseIdRange(range: IdRange, dataDir: string, slot: string): Promise<void> {
  await withHostLock(ID_RANGES_DIR, async () => {
    const claim = await readClaim(claimFile(range.base));
    if (claim?.dataDir === path.resolve(dataDir) && claim.slot === slot) await unlink(claimFile(range.base)).catch(() => {});
  });
}

/** The index's live claims (tests and tools). */
export function idRangeClaims(): Promise<IdRangeClaim[]> {
  return withHostLock(ID_RANGES_DIR, liveClaims);
}

function claimFile(base: number): string {
  return path.join(ID_RANGES_DIR, `${base}.json`);
}

async function readClaim(file: string): Promise<IdRangeClaim | undefined> {
  return readFile(file, 'utf8')
    .then((t) => JSON.parse(t) as IdRangeClaim)
    .catch(() => undefined);
}

/** The claims whose slot directory exists; the others are dropped (their slot is gone). Call under the lock. */
async function liveClaims(): Promise<IdRangeClaim[]> {
  const claims: IdRangeClaim[] = [];
  for (const name of await readdir(ID_RANGES_DIR)) {
    if (!/^\d+\.json$/.test(name)) continue;
    const file = path.join(ID_RANGES_DIR, name);
    const claim = await readClaim(file);
    if (claim && typeof claim.base === 'number' && existsSync(path.join(claim.dataDir, 'workspaces', claim.slot))) claims.push(claim);
    else await unlink(file).catch(() => {});
  }
  return claims;
}

/** The host's own ids, as [from, to) spans: users and groups, and the subordinate ranges of /etc/subuid and /etc/subgid. */
async function hostIds(): Promise<Array<readonly [number, number]>> {
  const spans: Array<readonly [number, number]> = [];
  const text = (file: string) => readFile(file, 'utf8').catch(() => '');
  for (const file of ['/etc/passwd', '/etc/group']) {
    for (const line of (await text(file)).split('\n')) {
      const id = Number(line.split(':')[2]);
      if (line && Number.isInteger(id)) spans.push([id, id + 1]);
    }
  }
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    for (const line of (await text(file)).split('\n')) {
      const [, start, count] = line.split(':').map(Number);
      if (Number.isInteger(start) && Number.isInteger(count)) spans.push([start as number, (start as number) + (count as number)]);
    }
  }
  return spans;
}
