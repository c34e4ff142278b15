import { lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, type Runtime, type StatResult } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { runtimeFor, type Session, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, printJson, progress } from '../output.js';
import { parseRemote, type RemotePath } from '../remote-path.js';
import { directoryBody, extractArchive, fileBody, saveFile } from '../transfer.js';

interface CpFlags {
  quiet?: boolean;
}

interface Summary {
  source: string;
  destination: string;
  type: 'file' | 'directory';
  bytes: number;
}

async function remoteStat(rt: Runtime, p: string): Promise<StatResult | undefined> {
  try {
    return await rt.files.stat({ path: p });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

const endsWithSlash = (p: string) => p.endsWith('/');

async function upload(s: Session, local: string, remote: RemotePath, quiet: boolean): Promise<Summary> {
  const info = await stat(local).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`${local}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`, EXIT.error);
  });
  const { rt } = await runtimeFor(s, remote.workspace);
  const target = await remoteStat(rt, remote.path);
  const total = { bytes: 0 };
  if (info.isDirectory()) {
    if (target && target.type !== 'directory') throw new CliError(`${remote.workspace}:${remote.path} exists and is not a directory`);
    // Like `cp -r` and scp: into an existing directory as its own name, else to the new path.
    const into = target !== undefined;
    const dest = into ? path.posix.join(target.path, path.basename(path.resolve(local))) : remote.path;
    const bar = progress(`${path.basename(local)}/`, undefined, quiet);
    try {
      await rt.files.uploadArchive({ dest: into ? target.path : remote.path, body: directoryBody(path.resolve(local), into, bar, total) });
    } finally {
      bar.done();
    }
    return { source: local, destination: `${remote.workspace}:${dest}`, type: 'directory', bytes: total.bytes };
  }
  if (!info.isFile()) throw new CliError(`${local}: not a regular file or directory`);
  const intoDir = target?.type === 'directory' || (target === undefined && endsWithSlash(remote.path));
  const dest = intoDir ? path.posix.join(target?.path ?? remote.path, path.basename(local)) : (target?.path ?? remote.path);
  const bar = progress(path.basename(local), info.size, quiet);
  let answer: { path: string };
  try {
    answer = await rt.files.upload({
      path: dest,
      body: fileBody(local, bar, total),
      createDirs: true,
      // The permission bits travel with the file (an executable stays executable).
      mode: (info.mode & 0o7777).toString(8).padStart(4, '0'),
    });
  } finally {
    bar.done();
  }
  return { source: local, destination: `${remote.workspace}:${answer.path}`, type: 'file', bytes: total.bytes };
}

async function download(s: Session, remote: RemotePath, local: string, quiet: boolean): Promise<Summary> {
  const { rt } = await runtimeFor(s, remote.workspace);
  const source = await remoteStat(rt, remote.path);
  if (!source) throw new CliError(`${remote.workspace}:${remote.path}: no such file or directory`);
  const localInfo = await lstat(local).catch(() => undefined);
  const total = { bytes: 0 };
  if (source.type === 'directory') {
    if (localInfo && !localInfo.isDirectory()) throw new CliError(`${local} exists and is not a directory`);
    // The archive's entries are named `<name>/…`: keep the name inside an existing directory, drop it for a new path.
    const into = localInfo !== undefined;
    const dest = into ? path.join(local, path.posix.basename(source.path)) : local;
    const bar = progress(`${path.posix.basename(source.path)}/`, undefined, quiet);
    try {
      const res = await rt.files.downloadArchive({ paths: [source.path] });
      if (!res.body) throw new CliError('the server sent no archive');
      await extractArchive(res.body, into ? local : dest, into ? 0 : 1, bar, total);
    } finally {
      bar.done();
    }
    return { source: `${remote.workspace}:${source.path}`, destination: dest, type: 'directory', bytes: total.bytes };
  }
  const intoDir = localInfo?.isDirectory() === true || (localInfo === undefined && endsWithSlash(local));
  if (localInfo === undefined && endsWithSlash(local)) throw new CliError(`${local}: no such directory`);
  const dest = intoDir ? path.join(local, path.posix.basename(source.path)) : local;
  const bar = progress(path.posix.basename(source.path), source.size, quiet);
  try {
    const res = await rt.files.downloadStream({ path: source.path });
    if (!res.body) throw new CliError('the server sent no content');
    const mode = /^[0-7]{3,4}$/.test(source.permissions) ? Number.parseInt(source.permissions, 8) : undefined;
    await saveFile(res.body, dest, mode, bar, total);
  } finally {
    bar.done();
  }
  return { source: `${remote.workspace}:${source.path}`, destination: dest, type: 'file', bytes: total.bytes };
}

/** `cove cp`: files and directories between this machine and a workspace. */
export function cpCommand(): Command {
  return withConnection(new Command('cp'))
    .description('Copy files and directories between this machine and a workspace')
    .argument('<source>', 'a local path, or WORKSPACE:PATH')
    .argument('<destination>', 'a local path, or WORKSPACE:PATH')
    .option('-q, --quiet', 'no progress bar')
    .addHelpText(
      'after',
      `
One side is WORKSPACE:PATH (id or name, then the path; relative paths start in
the workspace's working directory), the other a local path. Directories are
copied whole (as a tar.gz stream); into an existing directory they keep their
name, as with cp -r. A progress bar shows on a terminal for large transfers.

Examples:
  cove cp ./build.tar.gz dev:/tmp/
  cove cp ./site dev:/srv/site
  cove cp dev:/var/log/app.log .
  cove cp dev:/app/dist ./dist`,
    )
    .action(async (from: string, to: string, flags: CpFlags, command: Command) => {
      const remoteFrom = parseRemote(from);
      const remoteTo = parseRemote(to);
      if (remoteFrom && remoteTo)
        throw new CliError('both sides are in workspaces: copy through this machine, or use `cove exec`', EXIT.usage);
      if (!remoteFrom && !remoteTo) throw new CliError('one side must be WORKSPACE:PATH (use cp for local copies)', EXIT.usage);
      const s = session(command);
      const quiet = flags.quiet === true || s.json;
      const summary = remoteTo ? await upload(s, from, remoteTo, quiet) : await download(s, remoteFrom as RemotePath, to, quiet);
      if (s.json) printJson(summary);
      else if (process.stderr.isTTY && !flags.quiet)
        process.stderr.write(`${summary.source} → ${summary.destination} (${formatBytes(summary.bytes)})\n`);
    });
}
