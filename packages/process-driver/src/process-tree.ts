// Signals to a process and everything below it, found through /proc: how the process driver pauses a
// workspace that has no cgroup of its own.
import { readdir, readFile } from 'node:fs/promises';

/** The pids of every process below `root` (children, their children…), from /proc. */
async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // The parent pid is the second field after the parenthesised command name (which may contain spaces).
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(ppid)) continue;
    const siblings = parents.get(ppid);
    if (siblings) siblings.push(pid);
    else parents.set(ppid, [pid]);
  }
  const out: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of parents.get(pid) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * Sends `signal` to a process and everything below it. Stopping goes top-down (a stopped parent forks no
 * more) and looks again until no new process appears; continuing goes bottom-up.
 */
export async function signalTree(root: number, signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
  const send = (pid: number): void => {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone meanwhile.
    }
  };
  if (signal === 'SIGCONT') {
    for (const pid of (await descendants(root)).reverse()) send(pid);
    send(root);
    return;
  }
  send(root);
  const stopped = new Set<number>();
  for (let round = 0; round < 10; round++) {
    const fresh = (await descendants(root)).filter((pid) => !stopped.has(pid));
    if (fresh.length === 0) return;
    for (const pid of fresh) {
      send(pid);
      stopped.add(pid);
    }
  }
}
