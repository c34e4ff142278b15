// The walk the process driver pauses by: every process below the agent, found through each thread's
// `/proc/<pid>/task/<tid>/children`; stopped until each one is stopped, continued bottom-up.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { descendants, signalTree, stopTree } from '../src/process-tree.js';

const roots: ChildProcess[] = [];
const strays: number[] = [];

afterEach(() => {
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const root of roots.splice(0)) {
    if (root.pid !== undefined) {
      try {
        // The whole group: the shells and their sleeps.
        process.kill(-root.pid, 'SIGCONT');
        process.kill(-root.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

async function state(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/** A shell that starts `script` and reports `ready` once its processes exist. */
async function tree(script: string): Promise<ChildProcess & { pid: number }> {
  const root = spawn('sh', ['-c', `${script}\necho ready\nwait`], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  roots.push(root);
  await new Promise<void>((resolve) => root.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
  return root as ChildProcess & { pid: number };
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 25));
}

describe('process tree', () => {
  it('finds children and grandchildren, parents first', async () => {
    const root = await tree('sleep 100 & sh -c "sleep 100 & sleep 100 & wait" &');
    // The inner shell's two sleeps may still be starting when `ready` is printed.
    await until(async () => (await descendants(root.pid)).length >= 4);
    const below = await descendants(root.pid);
    expect(below).toHaveLength(4);
    // Every one's parent is the root or one listed before it.
    for (const [i, pid] of below.entries()) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      expect([root.pid, ...below.slice(0, i)]).toContain(ppid);
    }
  });

  it('leaves out a process re-parented away from the tree', async () => {
    // The inner shell exits at once: its sleep is re-parented to init (or the nearest subreaper).
    const file = path.join(os.tmpdir(), `cove-orphan-${process.pid}-${Date.now()}`);
    const root = await tree(`sh -c 'sleep 100 & echo $! > ${file}'; sleep 100 &`);
    const orphan = Number((await readFile(file, 'utf8')).trim());
    await rm(file, { force: true });
    strays.push(orphan);
    expect(await state(orphan)).toBeDefined();
    const below = await descendants(root.pid);
    expect(below).toHaveLength(1);
    expect(below).not.toContain(orphan);
  });

  it('stopTree stops every process and waits until each is stopped; SIGCONT runs them again', async () => {
    const root = await tree('sleep 100 & sh -c "sleep 100 & wait" &');
    await until(async () => (await descendants(root.pid)).length >= 3);
    const all = [root.pid, ...(await descendants(root.pid))];
    await stopTree(root.pid);
    for (const pid of all) expect(await state(pid)).toBe('T');
    await signalTree(root.pid, 'SIGCONT');
    await until(async () => (await Promise.all(all.map(state))).every((s) => s !== 'T'));
    for (const pid of all) expect(await state(pid)).not.toBe('T');
  });
});
