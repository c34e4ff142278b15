// Where buildah runs: as root of a user namespace of its own id range, never as the host's root. Each call
// (`inBuildSandbox`) is one short chain of processes:
//
//   unshare --mount (host root, a private mount namespace that dies with the call: no mount outlives it)
//     ns-helper userns → a user namespace mapping 0–65535 to the range, pinned on a private tmpfs
//     mount --bind <state> <run>/state     (the build's directory, owned by the range's root)
//     mount -t tmpfs … /var/cache          (the range's: buildah's short-name lookup locks a file there)
//     ns-helper idmap … <context> <run>/mnt/context, … <base layout> <run>/mnt/base-N  (read-only views)
//     nsenter --user → unshare --mount → env -i … buildah|skopeo …  (root of the user namespace)
//
// buildah then believes it is root (it is, in its namespace): storage, RUN steps and the files they make are
// the range's ids on the host (root inside is the range's base), so a Dockerfile's RUN cannot touch anything
// of the host that is not world-writable. Its storage on disk is already in the range, so no layer is shifted
// or copied for the mapping (buildah's own `--userns-uid-map` shifts copies with vfs and, with overlay,
// leaves COPY and WORKDIR files owned by the host's root: decisions.md, "Image builds").
//
// The state directory may sit where the range's root cannot walk (a data directory under /root, mode 0700):
// it is bind-mounted at a fixed path under /run/cove/build/<id>, which is 0711. The build context and the
// base layouts are host root's files: idmapped views make root-owned files root's inside too, so a context
// file of mode 0600 is read as `docker build` would read it (a file system without idmapped mounts gets a
// plain read-only bind: then only world-readable files can be copied).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { claimIdRange, type IdRange, releaseIdRange } from '../id-ranges.js';
import { NS_HELPER } from '../userns.js';

/** Host directory of the mount points (mode 0711: the range's root may walk it, not list it). */
export const BUILD_RUN_DIR = '/run/cove/build';
/** The id range's claim is a workspace slot's (`<dataDir>/workspaces/<slot>` keeps it alive): this is the slot. */
const SLOT = 'builder';

export interface BuildSandbox {
  /** `<images>/build`: the range file, and the claim's data directory. */
  root: string;
  /** The range root's directory on the host (`<root>/workspaces/builder`): storage, home, tmp, builds. */
  stateHost: string;
  /** The same directory as the build's processes see it. */
  state: string;
  /** Mount points of this store's builds: `<BUILD_RUN_DIR>/<hash of root>`. */
  runDir: string;
  range: IdRange;
}

export interface SandboxCall {
  /** Host paths to show read-only inside, by name: inside they are `<runDir>/mnt/<name>`. */
  views?: Record<string, string>;
  /** Each line the command writes (stdout and stderr). */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

const opening = new Map<string, Promise<BuildSandbox>>();

/** The build's directories and id range, made once (concurrent callers share one). */
export function openBuildSandbox(imagesDir: string): Promise<BuildSandbox> {
  const root = path.resolve(imagesDir, 'build');
  let promise = opening.get(root);
  if (!promise) {
    promise = prepare(root).finally(() => opening.delete(root));
    opening.set(root, promise);
  }
  return promise;
}

async function prepare(root: string): Promise<BuildSandbox> {
  const stateHost = path.join(root, 'workspaces', SLOT);
  await mkdir(stateHost, { recursive: true, mode: 0o700 });
  const range = await claimIdRange(root, SLOT);
  // The storage's owners are the range's ids: a different range (its claim was lost) makes it unusable, so
  // it is dropped (it is only a cache) and made again.
  const rangeFile = path.join(root, 'range.json');
  const recorded = await readFile(rangeFile, 'utf8').then(
    (t) => JSON.parse(t) as IdRange,
    () => undefined,
  );
  if (recorded && recorded.base !== range.base) {
    await rm(stateHost, { recursive: true, force: true });
    await mkdir(stateHost, { recursive: true, mode: 0o700 });
  }
  await writeFile(rangeFile, `${JSON.stringify(range)}\n`, { mode: 0o600 });
  const runDir = path.join(BUILD_RUN_DIR, createHash('sha256').update(root).digest('hex').slice(0, 12));
  const sandbox: BuildSandbox = { root, stateHost, state: path.join(runDir, 'state'), runDir, range };
  await mkdir(path.dirname(BUILD_RUN_DIR), { recursive: true, mode: 0o711 });
  await sweepRunDirs();
  for (const dir of [BUILD_RUN_DIR, runDir, path.join(runDir, 'state'), path.join(runDir, 'ns'), path.join(runDir, 'mnt')]) {
    await mkdir(dir, { recursive: true, mode: 0o711 });
    await chmod(dir, 0o711);
  }
  await writeFile(path.join(runDir, 'owner'), root, { mode: 0o644 });
  // Owned by the range's root: the state (storage, home, tmp, builds) and buildah's runroot (on /run, so a
  // reboot clears its locks and mount records, as it would /run/containers).
  for (const dir of [stateHost, ...['storage', 'home', 'tmp', 'builds'].map((d) => path.join(stateHost, d)), path.join(runDir, 'run')]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chown(dir, range.base, range.base);
  }
  await writeConfig(sandbox);
  return sandbox;
}

/**
 * The containers configuration of the build, Cove's own: nothing of the host's /etc/containers applies (its
 * storage driver options, short-name aliases or signature rules), and nothing reaches a registry (the store
 * is the only puller; buildah runs with `--pull-never`).
 */
async function writeConfig(sb: BuildSandbox): Promise<void> {
  const etc = path.join(sb.stateHost, 'etc');
  await mkdir(etc, { recursive: true, mode: 0o755 });
  const files: Record<string, string> = {
    'storage.conf': `[storage]\ndriver = "overlay"\ngraphroot = "${sb.state}/storage"\nrunroot = "${sb.runDir}/run"\n`,
    'registries.conf': 'unqualified-search-registries = ["docker.io"]\n',
    'policy.json': '{"default":[{"type":"insecureAcceptAnything"}]}\n',
    'containers.conf': '[containers]\n[engine]\n',
  };
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(etc, name), text, { mode: 0o644 });
}

/** The environment of the build's processes: only what they need, nothing of the caller's. */
export function sandboxEnv(sb: BuildSandbox): string[] {
  return [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'LANG=C.UTF-8',
    `HOME=${sb.state}/home`,
    `TMPDIR=${sb.state}/tmp`,
    `CONTAINERS_STORAGE_CONF=${sb.state}/etc/storage.conf`,
    `CONTAINERS_REGISTRIES_CONF=${sb.state}/etc/registries.conf`,
    `CONTAINERS_CONF=${sb.state}/etc/containers.conf`,
    'BUILDAH_ISOLATION=chroot',
  ];
}

/** Where a view is seen inside. */
export function viewPath(sb: BuildSandbox, name: string): string {
  return path.join(sb.runDir, 'mnt', name);
}

export class SandboxAborted extends Error {}

// The host-root part, run by `sh -c` with its values as positional arguments (nothing is interpolated):
// $1 helper, $2 base, $3 size, $4 run dir, $5 state on the host, then source/target pairs, `--`, the command.
const SCRIPT = `set -e
helper=$1 base=$2 size=$3 dir=$4 state=$5
shift 5
mount -t tmpfs -o mode=0700,size=64k cove-build "$dir/ns"
"$helper" userns "$base" "$size" "$dir/ns/userns"
mount --bind "$state" "$dir/state"
mount -t tmpfs -o "mode=0755,size=1m,uid=$base,gid=$base" cove-build-cache /var/cache
while [ "$1" != "--" ]; do
  mkdir -p "$2"
  "$helper" idmap "$dir/ns/userns" "$1" "$2" 2>/dev/null || mount --bind -o ro "$1" "$2"
  shift 2
done
shift
exec nsenter --user="$dir/ns/userns" -- unshare --mount -- "$@"`;

/**
 * Runs `argv` (buildah, skopeo…) as root of the build's user namespace. Resolves with its exit code and
 * output; an abort kills the whole process group and rejects with SandboxAborted.
 */
export function inBuildSandbox(sb: BuildSandbox, argv: string[], call: SandboxCall = {}): Promise<{ code: number; output: string }> {
  const views = Object.entries(call.views ?? {});
  for (const [name] of views) if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad view name ${name}`);
  const args = [
    '--mount',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    SCRIPT,
    'sh',
    NS_HELPER,
    String(sb.range.base),
    String(sb.range.size),
    sb.runDir,
    sb.stateHost,
    ...views.flatMap(([name, source]) => [source, viewPath(sb, name)]),
    '--',
    'env',
    '-i',
    ...sandboxEnv(sb),
    ...argv,
  ];
  return new Promise((resolve, reject) => {
    if (call.signal?.aborted) return reject(new SandboxAborted('aborted'));
    // Its own process group, so an abort reaches buildah's RUN children too.
    const child = spawn('unshare', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    });
    let output = '';
    const partial = { out: '', err: '' };
    const feed = (key: 'out' | 'err') => (chunk: string) => {
      output += chunk;
      if (output.length > 1 << 20) output = output.slice(-(1 << 19));
      const lines = (partial[key] + chunk).split('\n');
      partial[key] = lines.pop() ?? '';
      for (const line of lines) call.onLine?.(line);
    };
    child.stdout.setEncoding('utf8').on('data', feed('out'));
    child.stderr.setEncoding('utf8').on('data', feed('err'));
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      aborted = true;
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 5000);
    };
    call.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      call.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      for (const key of ['out', 'err'] as const) if (partial[key]) call.onLine?.(partial[key]);
      if (aborted) reject(new SandboxAborted('aborted'));
      else resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * Drops the run directories of build directories that are gone (an images directory deleted without
 * `pruneBuildCache(…, { all: true })`): only empty mount points and a runroot are in them. One just being
 * made (no owner yet) is spared for a minute.
 */
async function sweepRunDirs(): Promise<void> {
  for (const name of await readdir(BUILD_RUN_DIR).catch(() => [] as string[])) {
    const dir = path.join(BUILD_RUN_DIR, name);
    const owner = await readFile(path.join(dir, 'owner'), 'utf8').catch(() => undefined);
    const young = await stat(dir).then(
      (s) => Date.now() - s.mtimeMs < 60_000,
      () => false,
    );
    if (owner === undefined ? !young : !existsSync(owner)) await rm(dir, { recursive: true, force: true });
  }
}

/** Removes everything of the build (storage, cache, mount points) and gives its id range back. */
export async function removeBuildSandbox(imagesDir: string): Promise<void> {
  const root = path.resolve(imagesDir, 'build');
  const rangeFile = path.join(root, 'range.json');
  const recorded = await readFile(rangeFile, 'utf8').then(
    (t) => JSON.parse(t) as IdRange,
    () => undefined,
  );
  await rm(path.join(BUILD_RUN_DIR, createHash('sha256').update(root).digest('hex').slice(0, 12)), { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
  if (recorded) await releaseIdRange(recorded, root, SLOT);
  // The shared parent goes when no other store's build is left in it.
  if (existsSync(BUILD_RUN_DIR)) await rmdir(BUILD_RUN_DIR).catch(() => {});
}
