// The builtin images, built on the host rather than pulled, each a single layer at `<imagesDir>/<id>/rootfs`
// (complete once `<imagesDir>/<id>/ready` exists; the layout of earlier versions, kept so that their
// workspaces go on):
//
// - `host`: needs no download. A skeleton root (merged-/usr symlinks, its own /etc with only a root user,
//   empty /root, /tmp, /var) whose /usr is the host's /usr bind-mounted read-only at start: every host
//   program is there, nothing of the host's /etc, /root, /home or data is.
// - `debian-12` (`debian:12`): a real Debian bookworm (debootstrap --variant=minbase from the mirror), built
//   once (a minute or two) and cached.
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageConfig } from '@cove/protocol';
import { run } from '../run-command.js';

export interface BuiltinImage {
  /** Its id and directory name (what workspaces of earlier versions have in their state). */
  id: string;
  /** Its canonical name as listed. */
  name: string;
  /** The names that mean it, matched as written (before any Docker-style normalisation). */
  aliases: readonly string[];
  hostBinds: Array<{ source: string; destination: string }>;
  build: (rootfs: string, debianMirror: string) => Promise<void>;
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The config of a builtin image: a PATH, the rest left to the defaults (`/root`, root). */
export const BUILTIN_CONFIG: ImageConfig = { env: [PATH], workingDir: null, user: null, entrypoint: null, cmd: null };

export const BUILTIN_IMAGES: readonly BuiltinImage[] = [
  { id: 'host', name: 'host', aliases: ['host'], hostBinds: [{ source: '/usr', destination: '/usr' }], build: (r) => buildHostImage(r) },
  {
    id: 'debian-12',
    name: 'debian:12',
    aliases: ['debian:12', 'debian:bookworm', 'debian', 'debian-12'],
    hostBinds: [],
    build: (r, mirror) => buildDebianImage(r, mirror),
  },
];

/** The builtin image a name means (matched as written), if any. */
export function builtinImage(name: string): BuiltinImage | undefined {
  return BUILTIN_IMAGES.find((b) => b.id === name || b.aliases.includes(name));
}

export function builtinDir(imagesDir: string, id: string): string {
  return path.join(imagesDir, id);
}

export function builtinReady(imagesDir: string, id: string): boolean {
  return existsSync(path.join(builtinDir(imagesDir, id), 'ready'));
}

const HOST_ETC_COPIES = [
  'alternatives',
  'ssl',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'nsswitch.conf',
  'os-release',
  'profile',
  'bash.bashrc',
  'mime.types',
  'protocols',
  'services',
  'localtime',
];

/** The `host` image: a skeleton whose /usr is the host's (bind-mounted at start). */
export async function buildHostImage(rootfs: string): Promise<void> {
  for (const link of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    // Merged /usr: the same symlinks as the host, where the host has them.
    const target = await readlink(`/${link}`).catch(() => undefined);
    if (target) await symlink(target, path.join(rootfs, link));
  }
  for (const [dir, mode] of [
    ['usr', 0o755],
    ['etc', 0o755],
    ['root', 0o700],
    ['home', 0o755],
    ['tmp', 0o1777],
    ['var/tmp', 0o1777],
    ['var/log', 0o755],
    ['var/lib', 0o755],
    ['var/cache', 0o755],
    ['opt', 0o755],
    ['srv', 0o755],
    ['mnt', 0o755],
    ['proc', 0o555],
    ['sys', 0o555],
    ['dev', 0o755],
    ['run', 0o755],
  ] as const) {
    await mkdir(path.join(rootfs, dir), { recursive: true, mode });
  }
  const etc = path.join(rootfs, 'etc');
  for (const name of HOST_ETC_COPIES) {
    const source = path.join('/etc', name);
    if (!existsSync(source)) continue;
    // Symlinks are copied as symlinks: /etc/alternatives and /etc/ssl/certs point into /usr.
    await cp(source, path.join(etc, name), { recursive: true, verbatimSymlinks: true }).catch(() => copyFile(source, path.join(etc, name)));
  }
  // Only a root user: none of the host's accounts or password hashes.
  await writeFile(
    path.join(etc, 'passwd'),
    'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  );
  await writeFile(path.join(etc, 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  await writeFile(path.join(etc, 'shadow'), 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n', { mode: 0o640 });
  await writeFile(path.join(etc, 'hostname'), 'workspace\n');
  await writeFile(path.join(etc, 'hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  const skel = await readdir('/etc/skel').catch(() => [] as string[]);
  for (const f of skel) await copyFile(path.join('/etc/skel', f), path.join(rootfs, 'root', f)).catch(() => {});
}

/** The `debian-12` image: debootstrap (minbase) from the Debian mirror. */
export async function buildDebianImage(rootfs: string, mirror: string): Promise<void> {
  await run(['debootstrap', '--variant=minbase', 'bookworm', rootfs, mirror], { timeoutMs: 30 * 60_000 });
  // debootstrap copies the host's name; a workspace's is its own (the UTS namespace's).
  await writeFile(path.join(rootfs, 'etc/hostname'), 'workspace\n');
  // Package caches are not part of the image.
  await rm(path.join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
  await mkdir(path.join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
}
