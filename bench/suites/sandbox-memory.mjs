// Idle memory per sandbox workspace, agent included, with many running at once (50; smoke: 2).
// Each workspace is started cold with its agent, then left idle; per workspace we read:
//  - the cgroup's memory usage (what its memory limit counts: RSS + page cache charged to it);
//  - the cgroup's RSS (anonymous memory: the agent's heap and stacks);
//  - PSS of its processes (shared pages, e.g. the node binary, split between the workspaces).
// The cgroup figures come from cgroup v1's memory controller or v2's unified hierarchy, whichever the host has.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openDriver, sandboxSkipReason } from '../lib/sandbox.mjs';
import { ratio } from '../lib/stats.mjs';

const MiB = 1024 * 1024;
/** The target for an idle workspace, agent included. */
const TARGET_MIB = 20;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** cgroup v2 (one unified hierarchy, stock Debian 12) when its root lists its controllers; v1 or hybrid otherwise. */
const CGROUP_V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

async function cgroupFigures(parent, slot) {
  // v2: <root>/<parent>/<slot> with memory.current and memory.stat's `anon`;
  // v1: the memory hierarchy's directory with memory.usage_in_bytes and memory.stat's `total_rss`.
  const dir = CGROUP_V2 ? path.join('/sys/fs/cgroup', parent, slot) : path.join('/sys/fs/cgroup/memory', parent, slot);
  const usage = Number((await readFile(path.join(dir, CGROUP_V2 ? 'memory.current' : 'memory.usage_in_bytes'), 'utf8')).trim());
  const stat = Object.fromEntries(
    (await readFile(path.join(dir, 'memory.stat'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([k, v]) => [k, Number(v)]),
  );
  const pids = (await readFile(path.join(dir, 'cgroup.procs'), 'utf8')).trim().split('\n').filter(Boolean);
  let pss = 0;
  for (const pid of pids) {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    const m = /^Pss:\s+(\d+) kB/m.exec(text);
    if (m) pss += Number(m[1]) * 1024;
  }
  const rss = CGROUP_V2 ? stat.anon : (stat.total_rss ?? stat.rss);
  if (!Number.isFinite(usage) || !Number.isFinite(rss)) throw new Error(`no memory figures in ${dir}`);
  return { usage, rss, pss, processes: pids.length };
}

export default {
  name: 'sandbox-memory',
  description: 'idle memory per running sandbox workspace (agent included), 50 running at once',
  async run({ smoke, tmp, log }) {
    const skip = await sandboxSkipReason();
    if (skip) return { figures: { skipped: skip }, ratios: {}, notes: `skipped: ${skip}` };
    if (!CGROUP_V2 && !existsSync('/sys/fs/cgroup/memory'))
      return { figures: { skipped: 'no cgroup memory controller' }, ratios: {}, notes: 'skipped: no cgroup memory controller' };
    const count = smoke ? 2 : 50;
    const driver = await openDriver({ tmp, slot: 2 });
    const ids = [];
    try {
      // Two at a time: a cold agent start is CPU-bound and this machine has few cores.
      for (let i = 0; i < count; i += 2) {
        await Promise.all(
          [i, i + 1]
            .filter((k) => k < count)
            .map(async (k) => {
              const id = `ws_mem${process.pid.toString(36)}${k.toString(36)}`.slice(0, 15).padEnd(15, '0');
              ids.push(id);
              const spec = { id, name: id, image: 'host', cpus: 1, memoryMb: 256, diskMb: 64 };
              await driver.create(spec);
              await driver.start(spec);
              await driver.startAgent(id, 'm'.repeat(64));
            }),
        );
        if ((i + 2) % 10 === 0) log(`${Math.min(i + 2, count)}/${count} running`);
      }
      // Idle: let start-up garbage be collected.
      await delay(smoke ? 2000 : 10_000);
      const figures = [];
      for (const id of ids) figures.push(await cgroupFigures('cove-bench2', driver.slotOf(id)));
      const usage = figures.map((f) => f.usage / MiB);
      const rss = figures.map((f) => f.rss / MiB);
      const pss = figures.map((f) => f.pss / MiB);
      const round = (x) => +x.toFixed(1);
      return {
        figures: {
          workspaces: count,
          cgroup_usage_mib: { mean: round(mean(usage)), max: round(Math.max(...usage)) },
          cgroup_rss_mib: { mean: round(mean(rss)), max: round(Math.max(...rss)) },
          pss_mib: { mean: round(mean(pss)), max: round(Math.max(...pss)) },
          processes_per_workspace: figures[0]?.processes ?? 0,
        },
        // The target: 20 MiB per idle workspace, what its memory limit counts.
        ratios: {
          cgroup_usage_mean_vs_20mib: ratio(mean(usage) / TARGET_MIB, 1, 'at_most'),
          pss_mean_vs_20mib: ratio(mean(pss) / TARGET_MIB, 1, 'at_most'),
        },
        notes:
          'Image `host`, agent idle after start. cgroup usage is what the memory limit counts (anonymous memory plus the page cache first touched by that workspace, so the first workspaces carry more of the shared node binary); PSS splits shared pages fairly.',
      };
    } finally {
      await driver.destroyAll();
    }
  },
};
