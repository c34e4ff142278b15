import { readFileSync } from 'node:fs';

/**
 * Whether process `pid` runs (exists and is not a zombie). A container's
 * first process is reparented to the host's init when runc exits, so it
 * may linger as a zombie for a moment after it died.
 */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The command line of process `pid` ([] when it is gone); readable while the process is frozen. */
export function processArgs(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return [];
  }
}
