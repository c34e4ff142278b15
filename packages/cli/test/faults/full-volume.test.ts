// The host's data volume full, with `cove up`'s data directory on a small file system this test makes (a loop-
// mounted ext4 file without root's reserved blocks): creates fail with 507 `insufficient_storage` naming the cause
// (never a 500), a disk the volume could not hold once filled is refused up front (the reserve policy,
// disk-reserve.ts), nothing already stored is damaged, and work resumes once space returns.
import { mkdir, mkdtemp, rm, rmdir, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../sandbox/src/run-command.js';
import { execThroughGateway, gatewayToken, hostView, idOf, skipReason, startUp, type Up } from './cove-up.js';

const SLOT = 96;
const skip = skipReason();

describe.skipIf(skip)('a full data volume (cove up, sandbox driver)', () => {
  let base: string;
  let mnt: string;
  let dataDir: string;
  let up: Up | undefined;

  beforeAll(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'cove-faults-volume-'));
    mnt = path.join(base, 'mnt');
    await mkdir(mnt);
    await run(['truncate', '-s', '1200M', path.join(base, 'volume.ext4')]);
    await run(['mkfs.ext4', '-q', '-F', '-m', '0', path.join(base, 'volume.ext4')]);
    await run(['mount', '-o', 'loop', path.join(base, 'volume.ext4'), mnt]);
    dataDir = path.join(mnt, 'data');
  }, 60_000);
  afterAll(async () => {
    await up?.stop();
    // Space back, the driver's removal of what cove up made on the volume, then the volume.
    await rm(path.join(mnt, 'filler'), { force: true });
    await rm(path.join(mnt, 'filler.tail'), { force: true });
    await (async () => {
      const { SandboxDriver } = await import('@cove/sandbox');
      const pino = (await import('pino')).default;
      const driver = await SandboxDriver.open({
        dataDir: path.join(dataDir, 'sandbox'),
        imagesDir: process.env.COVE_SANDBOX_IMAGES ?? '/var/cache/cove/images',
        subnet: `10.87.${SLOT}.0/24`,
        nftTable: `cove_test${SLOT}`,
        ephemeralNetwork: true,
        log: pino({ level: 'silent' }),
      }).catch(() => undefined);
      await driver?.destroyAll().catch(() => {});
    })();
    await run(['umount', mnt], { allowFailure: true });
    await rm(base, { recursive: true, force: true });
    const { cgroupDirs } = await import('@cove/sandbox');
    for (const d of cgroupDirs('cove')) await rmdir(d).catch(() => {});
  }, 120_000);

  const create = (u: Up, diskMb: number) => u.api('POST', '/workspace', { image: 'host', disk_mb: diskMb, memory_mb: 256 });
  const freeMb = async () => {
    const fs = await statfs(mnt);
    return Math.floor((fs.bavail * fs.bsize) / 1048576);
  };

  it('refuses disks past the free space, fails creates with 507 when full, keeps what is stored, resumes after', async () => {
    up = await startUp({ slot: SLOT, dataDir: dataDir });
    // A default-sized disk (4 GiB) cannot be held by this volume once filled: refused up front, naming why.
    const big = await create(up, 4096);
    expect(big.status, JSON.stringify(big.body)).toBe(507);
    expect(big.body).toMatchObject({ success: false, code: 'insufficient_storage' });
    expect(big.body.error).toMatch(/not enough space on the host's data volume for a 4096 MiB disk/);

    const small = await create(up, 256);
    expect(small.status, JSON.stringify(small.body)).toBe(201);
    const id = idOf(small);
    const token = await gatewayToken(up, id);
    const wrote = await execThroughGateway(up, token, ['sh', '-c', 'echo kept > /root/kept && sync']);
    expect(wrote.status).toBe(200);

    // Fill the volume from outside, to the last block.
    const filler = path.join(mnt, 'filler');
    await run(['fallocate', '-l', `${await freeMb()}M`, filler]);
    await run(['sh', '-c', `dd if=/dev/zero of=${filler}.tail bs=64k 2>/dev/null || true`]);
    const refused = await create(up, 256);
    expect(refused.status, JSON.stringify(refused.body)).toBe(507);
    expect(refused.body.code).toBe('insufficient_storage');
    // Refused before anything was stored: a row the full volume could not remove again would linger.
    expect(refused.body.error).toMatch(/not enough space on the host's data volume for a 256 MiB disk/);

    // A change the store must write on the full volume: done or refused with 507, never a 500 (nor a damaged store).
    const renamed = await up.api('PUT', `/workspace/${id}`, { name: 'renamed-on-full' });
    expect([200, 507], JSON.stringify(renamed.body)).toContain(renamed.status);
    if (renamed.status === 507) expect(renamed.body.code).toBe('insufficient_storage');
    expect((await hostView(dataDir)).marked).toEqual([]);
    // Nothing stored was damaged: the workspace is listed, running, and its file reads back.
    const list = await up.api('GET', '/workspace');
    expect(list.body.workspaces.map((w: { id: string }) => w.id)).toEqual([id]);
    const read = await execThroughGateway(up, token, ['cat', '/root/kept']);
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(JSON.stringify(read.body)).toContain('kept');

    // Space returns: work resumes without a restart.
    await rm(filler, { force: true });
    await rm(`${filler}.tail`, { force: true });
    const after = await create(up, 256);
    expect(after.status, JSON.stringify(after.body)).toBe(201);
  }, 240_000);
});
