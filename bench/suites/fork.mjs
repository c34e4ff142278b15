// Fork of a sandbox workspace holding 2 MiB and one holding 500 MiB, in the same run, alternating: the
// driver's fork (parent frozen, disk cloned, the child given a pooled container: its disk switched in under
// the running container) and fork to the child's first successful `POST /exec` (the armed agent started on
// the child's disk). A constant-time fork makes the two sizes cost the same. Also: a snapshot of the 500 MiB
// workspace against `tar` of the same tree (what a copy costs).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { firstExec, forkPoolReady, network, openDriver, sandboxSkipReason } from '../lib/sandbox.mjs';
import { percentile, ratio, timeMs } from '../lib/stats.mjs';

const summary = (xs) => ({ p50_ms: +percentile(xs, 50).toFixed(1), p90_ms: +percentile(xs, 90).toFixed(1), runs: xs.length });
const TOKEN = 'f'.repeat(64);
const MiB = 1024 * 1024;
let n = 0;
const spec = (o = {}) => {
  n++;
  const id = `ws_fork${process.pid.toString(36)}${n.toString(36)}`.slice(0, 15).padEnd(15, '0');
  return { id, name: id, image: 'host', cpus: 1, memoryMb: 512, diskMb: 1024, ...o };
};

/** Writes `mib` MiB of random data into the workspace's /root/data (as files of up to 10 MiB), then syncs. */
function fill(driver, id, mib) {
  const dir = path.join(driver.rootfsOf(id), 'root/data');
  mkdirSync(dir, { recursive: true });
  const chunk = Math.min(10, mib);
  for (let i = 0; i < mib / chunk; i++) {
    const r = spawnSync('dd', ['if=/dev/urandom', `of=${dir}/f${i}`, `bs=${MiB}`, `count=${chunk}`, 'status=none']);
    if (r.status !== 0) throw new Error('dd failed');
  }
  writeFileSync(path.join(dir, 'small'), 'x');
  spawnSync('sync');
}

async function forkToExec(driver, parent) {
  // The pool's refill between forks is untimed, as a server's would run between them.
  await forkPoolReady(driver);
  const child = spec();
  let forkMs = 0;
  const total = await timeMs(async () => {
    forkMs = await timeMs(() => driver.snapshots.fork(parent, [child]));
    const { ip } = await driver.start(child);
    await driver.startAgent(child.id, TOKEN);
    await driver.applyNetwork(child.id, network({ publicAccess: true }));
    await firstExec(ip, TOKEN);
  });
  const pooled = driver.slotOf(child.id)?.startsWith('wp_') ?? false;
  await driver.destroy(child.id);
  return { forkMs, total, pooled };
}

export default {
  name: 'fork',
  description:
    'sandbox fork with 2 MiB vs 500 MiB in the parent (driver fork, and to the child’s first POST /exec); snapshot of 500 MiB vs tar',
  async run({ smoke, tmp, log }) {
    const skip = await sandboxSkipReason();
    if (skip) return { figures: { skipped: skip }, ratios: {}, notes: `skipped: ${skip}` };
    const runs = smoke ? 1 : 10;
    const large = smoke ? 20 : 500;
    // A server's warm pool (what `cove up` runs): forks get a pool of their own once one came.
    const driver = await openDriver({
      tmp: path.join(tmp, 'd'),
      slot: 7,
      warmPool: { size: 0, image: 'host', diskMb: 1024, otherImagesAfter: Number.POSITIVE_INFINITY },
    });
    const small = { fork: [], exec: [] };
    const big = { fork: [], exec: [] };
    const snapshot = [];
    const tar = [];
    let pooledChildren = 0;
    try {
      const a = spec();
      const b = spec();
      for (const s of [a, b]) {
        await driver.create(s);
        await driver.start(s);
        await driver.startAgent(s.id, TOKEN);
      }
      fill(driver, a.id, 2);
      fill(driver, b.id, large);
      // Untimed: the first fork of the image is made cold and gives it its pool of containers for forks.
      const first = spec();
      await driver.snapshots.fork(a.id, [first]);
      await driver.destroy(first.id);
      for (let i = 0; i < runs; i++) {
        for (const [parent, into] of [
          [a.id, small],
          [b.id, big],
        ]) {
          const r = await forkToExec(driver, parent);
          into.fork.push(r.forkMs);
          into.exec.push(r.total);
          if (r.pooled) pooledChildren++;
        }
        // The snapshot and the tar of the same tree, alternating (the tar's output in the same file system as the data dir).
        snapshot.push(await timeMs(() => driver.snapshots.snapshot(b.id)));
        const out = path.join(tmp, 'tree.tar');
        tar.push(
          await timeMs(async () => {
            const r = spawnSync('tar', ['-C', path.join(driver.rootfsOf(b.id), 'root'), '-cf', out, 'data']);
            if (r.status !== 0) throw new Error('tar failed');
            spawnSync('sync', ['-f', out]);
          }),
        );
        log(
          `run ${i + 1}/${runs}: fork 2 MiB ${small.fork.at(-1).toFixed(1)} ms (exec ${small.exec.at(-1).toFixed(0)}), ` +
            `${large} MiB ${big.fork.at(-1).toFixed(1)} ms (exec ${big.exec.at(-1).toFixed(0)}); ` +
            `snapshot ${snapshot.at(-1).toFixed(1)} ms, tar ${tar.at(-1).toFixed(0)} ms`,
        );
      }
    } finally {
      await driver.destroyAll();
      await writeFile(path.join(tmp, 'done'), '');
    }
    const p50 = (xs) => percentile(xs, 50);
    return {
      figures: {
        parent_mib: { small: 2, large },
        fork_small: summary(small.fork),
        fork_large: summary(big.fork),
        fork_to_first_exec_small: summary(small.exec),
        fork_to_first_exec_large: summary(big.exec),
        snapshot_large: summary(snapshot),
        tar_large: summary(tar),
        // 1: disks cloned by reflink in the XFS pool; 0: copied whole (no mkfs.xfs).
        constant_time: driver.snapshots.constantTimeFork ? 1 : 0,
        // Timed children that took a pooled container (the others were made cold).
        children_from_pool: pooledChildren,
      },
      ratios: {
        fork_large_vs_small: ratio(p50(big.fork) / p50(small.fork), 1.5, 'at_most'),
        first_exec_large_vs_small: ratio(p50(big.exec) / p50(small.exec), 1.5, 'at_most'),
        fork_large_vs_300ms: ratio(p50(big.fork) / 300, 1, 'at_most'),
        first_exec_large_vs_300ms: ratio(p50(big.exec) / 300, 1, 'at_most'),
        snapshot_vs_tar: ratio(p50(snapshot) / p50(tar), 1, 'at_most'),
      },
      notes:
        'Image `host`, 1 CPU, 512 MiB, 1 GiB disk; data written from the host into /root/data (10 MiB random files) and synced before timing. ' +
        'Warm pool on (size 0: forks get their own pool of armed containers after the first, untimed fork; the refill between forks ' +
        'is untimed). "fork" is the driver call (parent frozen, its disk image reflink-cloned in the XFS disk pool, the clone switched ' +
        'in as the root of a pooled running container: disk mounted through its idmapped view, overlay, ns-helper switch-root). ' +
        '"first exec" adds the armed agent’s start on the child’s disk (node already up, the agent loaded), the firewall and the ' +
        'first /exec. Snapshot = freeze + reflink clone; tar = tar -cf of the same tree.',
    };
  },
};
