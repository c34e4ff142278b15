// Create + start of a sandbox workspace to the first successful `POST /exec` (through its address,
// as the gateway reaches it), in the same run as a bare `runc run -d` of the same bundle (same
// rootfs, network namespace and agent) timed to its first successful /exec. Three paths:
//  - pooled: the driver's warm pool (what `cove up` uses): the create adopts a ready workspace;
//  - cold: no pool: disk image, overlay, namespace, container and a cold agent start;
//  - bare runc: `runc run -d` of the bundle, then the agent's cold start (the floor of a cold start).
import { spawnSync } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { firstExec, network, openDriver, sandboxSkipReason } from '../lib/sandbox.mjs';
import { percentile, ratio, timeMs } from '../lib/stats.mjs';

const summary = (xs) => ({ p50_ms: +percentile(xs, 50).toFixed(1), p90_ms: +percentile(xs, 90).toFixed(1), runs: xs.length });
const TOKEN = 'b'.repeat(64);
let n = 0;
const spec = (o = {}) => {
  n++;
  const id = `ws_bench${process.pid.toString(36)}${n.toString(36)}`.slice(0, 15).padEnd(15, '0');
  return { id, name: id, image: 'host', cpus: 1, memoryMb: 512, diskMb: 256, ...o };
};

async function createToExec(driver, s) {
  await driver.create(s);
  const { ip } = await driver.start(s);
  await driver.startAgent(s.id, TOKEN);
  await driver.applyNetwork(s.id, network({ publicAccess: true }));
  await firstExec(ip, TOKEN);
}

export default {
  name: 'sandbox-start',
  description: 'sandbox workspace create+start to first successful POST /exec (pooled and cold) vs bare `runc run -d` of the same bundle',
  async run({ smoke, tmp, log }) {
    const skip = await sandboxSkipReason();
    if (skip) return { figures: { skipped: skip }, ratios: {}, notes: `skipped: ${skip}` };
    const runs = smoke ? 1 : 15;
    const driver = await openDriver({
      tmp: path.join(tmp, 'd'),
      slot: 1,
      // Cold creates (another disk size) never get a pool of their own here: they measure the cold path.
      warmPool: { size: 2, image: 'host', diskMb: 256, otherImagesAfter: Number.POSITIVE_INFINITY },
    });
    const pooled = [];
    const cold = [];
    const bare = [];
    const breakdown = new Map();
    try {
      await driver.poolReady();
      for (let i = 0; i < runs; i++) {
        // Pooled: the pool is refilled between creates (untimed), as a server's would be between bursts.
        await driver.poolReady();
        const p = spec();
        pooled.push(await timeMs(() => createToExec(driver, p)));
        await driver.destroy(p.id);
        // The refill the pooled create started finishes first (untimed): the cold create is measured alone, as the
        // bare runc run after it is.
        await driver.poolReady();
        // Cold: a disk size the pool does not have.
        const c = spec({ diskMb: 128 });
        cold.push(await timeMs(() => createToExec(driver, c)));
        // Bare runc: the cold workspace's bundle (rootfs mounted, namespace ready, token written) under plain runc.
        const slot = driver.slotOf(c.id);
        const bundle = path.join(tmp, 'd', 'workspaces', slot);
        await driver.stopAgent(c.id);
        await driver.runtime.delete(slot, true);
        const bareBundle = path.join(tmp, `bare-${i}`);
        await cp(path.join(bundle, 'config.json'), path.join(bareBundle, 'config.json'), { recursive: true }).catch(async () => {
          const { mkdir } = await import('node:fs/promises');
          await mkdir(bareBundle, { recursive: true });
          await cp(path.join(bundle, 'config.json'), path.join(bareBundle, 'config.json'));
        });
        const id = `bare-${process.pid}-${i}`;
        const ip = driver.addressOf(c.id);
        bare.push(
          await timeMs(async () => {
            const r = spawnSync(driver.runtime.binary, ['--root', driver.runtime.root, 'run', '-d', '--bundle', bareBundle, id], {
              stdio: 'ignore',
            });
            if (r.status !== 0) throw new Error(`runc run exited ${r.status}`);
            await firstExec(ip, TOKEN);
          }),
        );
        spawnSync(driver.runtime.binary, ['--root', driver.runtime.root, 'delete', '-f', id], { stdio: 'ignore' });
        await driver.destroy(c.id);
        log(
          `run ${i + 1}/${runs}: pooled ${pooled.at(-1).toFixed(0)} ms, cold ${cold.at(-1).toFixed(0)} ms, bare runc ${bare.at(-1).toFixed(0)} ms`,
        );
      }
      // Where a cold create's wall time goes (untimed rounds after the timed ones): the driver's spans (its steps and
      // each command it runs), mean ms per create. Spans nest and overlap (steps run at once): they do not add up.
      const sandbox = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../packages/sandbox/dist/index.js');
      const { setTracing, takeSpans } = await import(pathToFileURL(sandbox).href);
      setTracing(true);
      const rounds = smoke ? 1 : 5;
      try {
        for (let i = 0; i < rounds; i++) {
          await driver.poolReady();
          const c = spec({ diskMb: 128 });
          takeSpans();
          const total = await timeMs(() => createToExec(driver, c));
          for (const s of [...takeSpans(), { name: 'total (create to first exec)', ms: total }])
            breakdown.set(s.name, (breakdown.get(s.name) ?? 0) + s.ms / rounds);
          await driver.destroy(c.id);
        }
      } finally {
        setTracing(false);
      }
    } finally {
      await driver.destroyAll();
      await writeFile(path.join(tmp, 'done'), '');
    }
    const p50 = (xs) => percentile(xs, 50);
    return {
      figures: {
        pooled: summary(pooled),
        cold: summary(cold),
        bare_runc_run: summary(bare),
        cold_breakdown_mean_ms: Object.fromEntries([...breakdown].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +v.toFixed(1)])),
      },
      ratios: {
        // #20's targets: a pooled create to its first exec under 60 ms, a cold one under 500 ms.
        pooled_p50_vs_60ms: ratio(p50(pooled) / 60, 1, 'at_most'),
        cold_p50_vs_500ms: ratio(p50(cold) / 500, 1, 'at_most'),
        pooled_vs_bare_runc: ratio(p50(pooled) / p50(bare), 1, 'at_most'),
        cold_vs_bare_runc: ratio(p50(cold) / p50(bare), 1.5, 'at_most'),
      },
      notes:
        'Image `host`, 1 CPU, 512 MiB, 256 MiB disk. Pooled = what `cove up` does (warm pool of 2, refilled between creates, untimed; ' +
        'a pooled agent has run its first command before adoption). The cold create is timed once that refill is done. ' +
        'Cold and bare runc both pay a cold Node start of the agent, which dominates; the bare run reuses the cold workspace’s prepared bundle (rootfs, namespace, token). ' +
        'cold_breakdown_mean_ms: the driver’s spans over 5 more cold creates (nested and concurrent: they do not add up); see sandbox-start.md.',
    };
  },
};
