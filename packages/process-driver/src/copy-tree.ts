// Copies of a workspace's directory: what a process workspace's snapshots, restores and forks are made of.
// `cp -a --reflink=auto` shares blocks where the host's file system can (XFS, btrfs) and copies them
// elsewhere (ext4): time and space in proportion to what the directory holds.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';

/** Runs a command to its end; rejects with its stderr when it fails. */
export function run(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const [command, ...args] = argv;
    const child = spawn(command as string, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d.slice(0, 4000);
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${argv[0]} failed (${code}): ${stderr.trim().slice(0, 500)}`)),
    );
  });
}

/**
 * Copies the directory `source` to `target` (which must not exist) with owners, modes, times, links and holes
 * kept. A failed copy leaves nothing at `target`.
 */
export async function copyTree(source: string, target: string): Promise<void> {
  try {
    await run(['cp', '-a', '--reflink=auto', '--sparse=auto', '--no-target-directory', '--', source, target]);
  } catch (err) {
    await rm(target, { recursive: true, force: true });
    throw err;
  }
}

/** Bytes the directory takes on the host's disk. */
export async function diskUsage(dir: string): Promise<number> {
  const out = await run(['du', '-s', '--block-size=1', '--', dir]);
  return Number(out.split('\t')[0]) || 0;
}
