// Signals to a process and everything below it: how the process driver pauses a workspace that has no cgroup
// of its own. The tree is walked down from the agent through `/proc/<pid>/task/<tid>/children` (each thread's
// own children), so the cost is the workspace's processes, not every process on the host.
import { readdir, readFile } from 'node:fs/promises';

/** The children of `pid`: those of each of its threads (a child's parent is the thread that forked it). */
async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const out: number[] = [];
  for (const tid of tasks) {
    // Gone meanwhile: no children to find.
    const text = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '');
    for (const word of text.split(' ')) {
      const child = Number(word);
      if (word !== '' && Number.isInteger(child) && child > 0) out.push(child);
    }
  }
  return out;
}

/**
 * The pids of every process below `root` (children, their children…), parents before their children. A process
 * re-parented away from the tree (its parent exited; it now belongs to init or a subreaper) is no longer below
 * it, as it would not be in a walk of the parent pids.
 */
export async function descendants(root: number): Promise<number[]> {
  const out: number[] = [];
  const seen = new Set<number>([root]);
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of await childrenOf(pid)) {
      // A pid reused while the walk runs could point back up the tree: each is visited once.
      if (seen.has(child)) continue;
      seen.add(child);
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

/** The state letter of `/proc/<pid>/stat` (`T` stopped, `Z` zombie…), or undefined once the process is gone. */
async function stateOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // The state follows the parenthesised command name (which may hold spaces and parentheses).
  return stat === undefined ? undefined : stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/**
 * Stops the tree (SIGSTOP, as `signalTree`) and waits until every process in it has actually stopped: a
 * signal is delivered asynchronously, and a copy of the workspace's files taken before a writer stops would
 * not be one instant. A process in an uninterruptible wait stops when it leaves it; after `timeoutMs` the
 * caller goes on with what stopped.
 */
export async function stopTree(root: number, timeoutMs = 5000): Promise<void> {
  await signalTree(root, 'SIGSTOP');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending: number[] = [];
    for (const pid of [root, ...(await descendants(root))]) {
      const state = await stateOf(pid);
      if (state !== undefined && !['T', 't', 'Z', 'X', 'x'].includes(state)) pending.push(pid);
    }
    if (pending.length === 0 || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
