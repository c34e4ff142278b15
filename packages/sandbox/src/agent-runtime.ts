// The agent's runtime: the programs the agent runs on (node, tini, its native helpers, ripgrep) with every
// shared library they and the native addons load, made once per host installation and bind-mounted into every
// workspace, so that the agent never loads a library of the image (which may have another libc, or none).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './run-command.js';

/** Where the runtime's `bin/` and `lib/` are inside a workspace: the path patched into its programs. */
export const RUNTIME_MOUNT = '/opt/cove';

/** Bumped when the layout or the patching changes: older runtimes are not reused. */
const FORMAT = 2;

export interface RuntimeSources {
  /** Programs by the name they get in `bin/` (node, tini, spawn-helper, exec-as, rg). Missing optional ones are left out. */
  programs: Record<string, string>;
  /** Programs the agent cannot do without: a missing one fails the build. */
  required: readonly string[];
  /** Shared objects loaded at run time (the native addons): only their libraries are collected. */
  addons: readonly string[];
}

/** A built runtime directory (`<dir>/bin`, `<dir>/lib`) and the programs it has. */
export interface AgentRuntime {
  dir: string;
  programs: string[];
}

/**
 * The runtime for `sources`, built under `cacheDir` when missing. Its name is a hash of the sources' paths,
 * sizes, modification times and inodes: a new node (or helper, or library) makes a new runtime, an unchanged
 * installation reuses the one it has. Older runtimes are left in place: bundles of existing workspaces name
 * them (a stopped workspace is created again from its bundle).
 */
export async function ensureAgentRuntime(sources: RuntimeSources, cacheDir: string): Promise<AgentRuntime> {
  const present: Record<string, string> = {};
  for (const [name, file] of Object.entries(sources.programs)) {
    if (existsSync(file)) present[name] = file;
    else if (sources.required.includes(name)) throw new Error(`the agent's runtime cannot be made: ${file} is missing`);
  }
  const addons = sources.addons.filter((a) => existsSync(a));
  const libs = await collectLibraries([...Object.values(present), ...addons]);
  const key = await sourcesKey([...Object.values(present), ...addons, ...libs.map((l) => l.source)]);
  const dir = path.join(cacheDir, key);
  const programs = Object.keys(present).sort();
  if (existsSync(path.join(dir, 'ready'))) return { dir, programs };

  await mkdir(cacheDir, { recursive: true, mode: 0o755 });
  // Workspaces' roots (other host ids) traverse it to reach the bind mounts' sources.
  await chmod(cacheDir, 0o755);
  const tmp = `${dir}.build-${process.pid}-${Date.now()}`;
  try {
    await mkdir(path.join(tmp, 'bin'), { recursive: true, mode: 0o755 });
    await mkdir(path.join(tmp, 'lib'), { recursive: true, mode: 0o755 });
    await chmod(tmp, 0o755);
    for (const lib of libs) {
      const target = path.join(tmp, 'lib', lib.name);
      await copyFile(lib.source, target);
      // The loader is run directly too (checks); the libraries need only be readable.
      await chmod(target, lib.interpreter ? 0o755 : 0o644);
    }
    const interpreter = libs.find((l) => l.interpreter);
    for (const [name, source] of Object.entries(present)) {
      const target = path.join(tmp, 'bin', name);
      await copyFile(source, target);
      await chmod(target, 0o755);
      if (interpreter && (await isDynamic(target))) {
        // The program finds its loader and libraries under the mount: no LD_LIBRARY_PATH, so nothing leaks into
        // the processes it starts. RPATH (not RUNPATH) so that libraries' own dependencies are found there too.
        await run([
          'patchelf',
          '--set-interpreter',
          `${RUNTIME_MOUNT}/lib/${interpreter.name}`,
          '--force-rpath',
          '--set-rpath',
          `${RUNTIME_MOUNT}/lib`,
          target,
        ]);
      }
    }
    await check(tmp, interpreter?.name);
    await writeFile(path.join(tmp, 'ready'), `${new Date().toISOString()}\n`);
    await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      // Another process made the same runtime meanwhile: theirs is as good.
      if (!existsSync(path.join(dir, 'ready'))) throw err;
      await rm(tmp, { recursive: true, force: true });
    });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    const e = err as Error & { stderr?: string };
    throw new Error(`the agent's runtime could not be made in ${cacheDir}: ${e.stderr?.trim() || e.message}`);
  }
  return { dir, programs };
}

interface Library {
  /** Its name in `lib/`: the soname programs ask for (the loader: its own file name). */
  name: string;
  source: string;
  interpreter: boolean;
}

/** Every library `files` load (their closure, as `ldd` resolves it on the host), the loader marked. */
async function collectLibraries(files: readonly string[]): Promise<Library[]> {
  const found = new Map<string, Library>();
  for (const file of files) {
    const res = await run(['ldd', file], { allowFailure: true });
    // Static programs: "not a dynamic executable" (exit 1) or "statically linked".
    if (res.code !== 0 || /statically linked/.test(res.stdout)) continue;
    for (const line of res.stdout.split('\n')) {
      const mapped = /^\s*(\S+)\s+=>\s+(\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
      if (mapped) {
        const [, name, source] = mapped as unknown as [string, string, string];
        if (!found.has(name)) found.set(name, { name, source, interpreter: false });
        continue;
      }
      if (/=>\s+not found/.test(line)) throw new Error(`${file} needs a library the host does not have: ${line.trim()}`);
      const loader = /^\s*(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
      if (loader) {
        const source = loader[1] as string;
        found.set(path.basename(source), { name: path.basename(source), source, interpreter: true });
      }
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

async function isDynamic(file: string): Promise<boolean> {
  return (await run(['patchelf', '--print-interpreter', file], { allowFailure: true })).code === 0;
}

async function sourcesKey(files: readonly string[]): Promise<string> {
  const hash = createHash('sha256').update(`format ${FORMAT}\n`);
  for (const file of [...new Set(files)].sort()) {
    const st = await stat(file);
    hash.update(`${file} ${st.size} ${st.mtimeMs} ${st.ino}\n`);
  }
  return hash.digest('hex').slice(0, 24);
}

/**
 * Runs the copied node through the copied loader, `lib/` searched first and the host's library cache ignored:
 * a copy that does not start (a truncated file, a loader and C library that do not match) fails here, on the
 * host, not in every workspace. The patched programs' own paths point under the mount, which the host lacks.
 */
async function check(dir: string, interpreter: string | undefined): Promise<void> {
  const node = path.join(dir, 'bin', 'node');
  if (!interpreter || !existsSync(node)) return;
  const lib = path.join(dir, 'lib');
  const res = await run([path.join(lib, interpreter), '--inhibit-cache', '--library-path', lib, node, '-e', 'process.stdout.write("ok")'], {
    allowFailure: true,
  });
  if (res.code !== 0 || res.stdout !== 'ok') throw new Error(`the copied node does not run: ${res.stderr.trim() || `exit ${res.code}`}`);
}
