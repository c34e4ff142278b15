// kill -9 of `cove up` (sandbox driver) in the middle of a snapshot (while the workspace is frozen for the clone),
// an archive being written, and a network change: after a restart the workspace runs and takes writes (not left
// frozen), no half-written snapshot or archive is left or listed, the previous snapshot still restores, and the
// firewall holds what the store says. Each crash is triggered by what the host or the API shows, not by a delay.
import { existsSync, readdirSync, watch } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../sandbox/src/run-command.js';
import { execThroughGateway, gatewayToken, idOf, restartableUp, sandboxDir, skipReason, type Up, until } from './cove-up.js';
import { expectConsistent, staleLocks } from './host-agrees.js';

const SLOT = 93;
const skip = skipReason();

describe.skipIf(skip)('kill -9 of cove up mid-snapshot, mid-archive, mid-network change (sandbox driver)', () => {
  const cove = restartableUp(SLOT);
  let id = '';
  const start = cove.start;
  const sh = async (u: Up, script: string): Promise<string> => {
    const res = await execThroughGateway(u, await gatewayToken(u, id), ['sh', '-c', script]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return JSON.stringify(res.body);
  };
  const imagesLocks = () => [path.join(process.env.COVE_SANDBOX_IMAGES ?? '/var/cache/cove/images', 'locks')];

  it('a snapshot: killed while the workspace is frozen, it runs on and the previous snapshot is whole', async () => {
    let u = await start();
    const made = await u.api('POST', '/workspace', { name: 'snap', image: 'host', disk_mb: 256, memory_mb: 256 });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    id = idOf(made);
    await sh(u, 'echo one > /root/mark');
    const first = await u.api('POST', `/workspace/${id}/snapshot`, {});
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    await sh(u, 'echo two > /root/mark');

    // The clone lands as next.ext4 while the workspace (processes and disk) is frozen: cove up dies right then.
    const dir = path.join(sandboxDir(cove.dataDir()), 'disks', 'snapshots', id);
    expect(existsSync(dir)).toBe(true);
    const watcher = watch(dir, (_event, name) => {
      if (name === 'next.ext4') u.child.kill('SIGKILL');
    });
    const snapshotting = u.api('POST', `/workspace/${id}/snapshot`, {}).catch(() => undefined);
    await until('cove up killed mid-snapshot', async () => u.child.exitCode !== null || u.child.signalCode !== null);
    watcher.close();
    const answered = await snapshotting;
    await u.kill9();
    // The kill came before the snapshot answered (the mark is before its end).
    expect(answered).toBeUndefined();

    u = await start();
    await expectConsistent(u, SLOT);
    expect(staleLocks(imagesLocks())).toEqual([]);
    // Not left frozen: it takes writes; no half-made clone is left beside the snapshot.
    expect(await sh(u, 'echo three > /root/mark && cat /root/mark')).toContain('three');
    expect(readdirSync(dir).sort()).toEqual(['disk.ext4', 'snapshot.json']);
    // The snapshot a restore brings back is whole: the first one (the second never finished), or the second.
    const latest = await u.api('GET', `/workspace/${id}/snapshot`);
    expect(latest.status).toBe(200);
    const restored = await u.api('POST', `/workspace/${id}/restore`, {});
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect(await sh(u, 'cat /root/mark')).toMatch(/one|two/);
    // And a new snapshot is taken as usual.
    expect((await u.api('POST', `/workspace/${id}/snapshot`, {})).status).toBe(200);
  }, 240_000);

  it('an archive: killed while it is written, no partial file is left or listed, and the version is free', async () => {
    let u = cove.current();
    await sh(u, 'head -c 64000000 /dev/urandom > /root/big');
    const dir = path.join(sandboxDir(cove.dataDir()), 'archives', id);
    const archiving = u.api('POST', `/workspace/${id}/archives`, { version: 'v1', vm_paths: ['/root'] }).catch(() => undefined);
    await until('an archive being written', async () => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.partial')), 120_000);
    await u.kill9();
    expect(await archiving).toBeUndefined();

    u = await start();
    await expectConsistent(u, SLOT);
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    const list = await u.api('GET', `/workspace/${id}/archives`);
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain('"v1"');
    const again = await u.api('POST', `/workspace/${id}/archives`, { version: 'v1', vm_paths: ['/root'] });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
  }, 240_000);

  it('a network change: after the restart the firewall holds what the store says', async () => {
    let u = cove.current();
    let caught = false;
    const tried: string[] = [];
    // The mark: the control plane reports the new setting (the store has it) while the change has not answered
    // (the host may not have it yet). A change that answers first is tried again with another rule.
    for (let attempt = 1; attempt <= 10 && !caught; attempt++) {
      const cidr = `203.0.113.${attempt * 8}/29`;
      tried.push(cidr);
      let answered = false;
      const changing = u.api('POST', `/workspace/${id}/network`, { egress: [cidr] }).then(
        (r) => {
          answered = true;
          return r;
        },
        () => undefined,
      );
      await until('the store holding the change', async () => {
        if (answered) return true;
        const net = await u.api('GET', `/workspace/${id}/network`).catch(() => undefined);
        return JSON.stringify(net?.body ?? '').includes(cidr);
      });
      if (!answered) {
        await u.kill9();
        caught = (await changing) === undefined;
        u = await start();
      } else await changing;
      const net = await u.api('GET', `/workspace/${id}/network`);
      const stored: string[] = net.body.egress ?? [];
      const table = (await run(['nft', 'list', 'table', 'inet', `cove_test${SLOT}`])).stdout;
      expect(stored.length, JSON.stringify(net.body)).toBe(1);
      // What the store says is what the firewall does: its rule, and none of the rules it replaced.
      for (const c of tried) expect(table.includes(c), `${c} in the firewall (stored: ${stored})`).toBe(stored.includes(c));
      await expectConsistent(u, SLOT);
    }
    expect(caught, 'a network change was cut short by the kill').toBe(true);
    expect(staleLocks(imagesLocks())).toEqual([]);
  }, 600_000);
});
