// Removing a container whatever its processes are doing: frozen, in uninterruptible sleep, or forking as fast as
// the pids limit lets them. `runc kill --all` and `runc delete --force` usually suffice; when they do not (a fork
// bomb outruns runc's freeze-and-signal, a process stuck in D state), the container's cgroup is emptied by hand
// — frozen so that nothing forks, every process SIGKILLed, thawed so that the kills land — and removed.
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { cgroupDir, cgroupDirs, cgroupMode } from './cgroups.js';
import type { OciRuntime } from './runc.js';

/** How long the cgroup may take to empty before the removal gives up on the stragglers (they are reported). */
const EMPTY_TIMEOUT_MS = 15_000;

async function pidsOf(dir: string): Promise<number[]> {
  const text = await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** The cgroup's directory and its descendants', deepest first (rmdir order). */
function treeOf(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const children = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => treeOf(path.join(dir, e.name)));
  return [...children, dir];
}

async function setFrozen(relative: string, frozen: boolean): Promise<void> {
  const mode = cgroupMode();
  const dir = cgroupDir(relative, 'freezer', mode);
  if (!existsSync(dir)) return;
  if (mode === 'v2') await writeFile(path.join(dir, 'cgroup.freeze'), frozen ? '1' : '0').catch(() => {});
  else await writeFile(path.join(dir, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED').catch(() => {});
}

/**
 * Kills every process in the cgroup at `relative` (all hierarchies, nested cgroups included) and removes its
 * directories. Resolves to the pids still alive at the deadline (none, unless a process cannot die yet).
 */
export async function emptyCgroup(relative: string, timeoutMs = EMPTY_TIMEOUT_MS): Promise<number[]> {
  const dirs = cgroupDirs(relative).filter((d) => existsSync(d));
  if (dirs.length === 0) return [];
  const mode = cgroupMode();
  const deadline = Date.now() + timeoutMs;
  let left: number[] = [];
  for (;;) {
    if (mode === 'v2' && existsSync(path.join(dirs[0] as string, 'cgroup.kill'))) {
      // The kernel kills the whole subtree at once, forks in flight included.
      await writeFile(path.join(dirs[0] as string, 'cgroup.kill'), '1').catch(() => {});
    } else {
      await setFrozen(relative, true);
      const pids = new Set<number>();
      for (const dir of dirs) for (const sub of treeOf(dir)) for (const pid of await pidsOf(sub)) pids.add(pid);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      // A frozen process dies only once thawed.
      await setFrozen(relative, false);
    }
    await delay(50);
    left = [];
    for (const dir of dirs) for (const sub of treeOf(dir)) left.push(...(await pidsOf(sub)));
    if (left.length === 0 || Date.now() > deadline) break;
  }
  for (const dir of dirs) for (const sub of treeOf(dir)) await rmdir(sub).catch(() => {});
  return [...new Set(left)];
}

/**
 * `runc kill --all KILL` then `runc delete --force`, retried while the runtime still knows the container; then
 * the cgroup is emptied and removed whatever the runtime managed. Resolves to the pids that would not die.
 */
export async function forceRemoveContainer(runtime: OciRuntime, slot: string, cgroupRelative: string): Promise<number[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    await runtime.kill(slot, 'KILL', true);
    await runtime.delete(slot, true);
    if (!(await runtime.state(slot))) break;
    // The runtime's own kill lost the race (a fork bomb): the cgroup is emptied, then the runtime tries again.
    await emptyCgroup(cgroupRelative, 5_000);
  }
  const left = await emptyCgroup(cgroupRelative);
  if (await runtime.state(slot)) await runtime.delete(slot, true);
  return left;
}
