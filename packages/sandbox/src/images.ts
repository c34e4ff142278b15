import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@cove/protocol';
import type { Logger } from 'pino';
import { run } from './run-command.js';

/** A root file system the workspaces' overlays use as their read-only lower layer. */
export interface ImageInfo {
  name: string;
  rootfs: string;
  /** Host directories bind-mounted read-only into every workspace of this image. */
  hostBinds: Array<{ source: string; destination: string }>;
}

/** Image names the driver knows; `debian:12` is the control plane's default. */
export const IMAGE_ALIASES: Readonly<Record<string, string>> = {
  host: 'host',
  'debian:12': 'debian-12',
  'debian:bookworm': 'debian-12',
  debian: 'debian-12',
};

export interface ImageStoreOptions {
  /** Where images are built and cached (`<dir>/<image>/rootfs`, complete once `<dir>/<image>/ready` exists). */
  dir: string;
  /** Debian mirror for debootstrap. */
  debianMirror: string;
  log: Logger;
}

/**
 * Builds images once and caches them. Two builders:
 *
 * - `host`: needs no download. A skeleton root (merged-/usr symlinks, its own
 *   /etc with only a root user, empty /root, /tmp, /var) whose /usr is the
 *   host's /usr bind-mounted read-only at start: every host program is there,
 *   nothing of the host's /etc, /root, /home or data is.
 * - `debian-12`: a real Debian bookworm (debootstrap --variant=minbase from
 *   the mirror), built once (a minute or two) and cached.
 *
 * Another image is a directory with a root file system: put it at
 * `<dir>/<name>/rootfs`, touch `<dir>/<name>/ready` and add its alias here.
 */
export class ImageStore {
  readonly #opts: ImageStoreOptions;
  readonly #building = new Map<string, Promise<ImageInfo>>();

  constructor(options: ImageStoreOptions) {
    this.#opts = options;
  }

  /** The canonical name of `image`, or undefined when it is not known. */
  resolve(image: string): string | undefined {
    if (Object.hasOwn(IMAGE_ALIASES, image)) return IMAGE_ALIASES[image];
    return /^[a-z0-9][a-z0-9._-]{0,63}$/.test(image) && existsSync(this.#readyFile(image)) ? image : undefined;
  }

  /** The image, built first if needed (concurrent callers share one build). */
  ensure(name: string): Promise<ImageInfo> {
    const existing = this.#building.get(name);
    if (existing) return existing;
    const promise = this.#ensure(name).finally(() => this.#building.delete(name));
    this.#building.set(name, promise);
    return promise;
  }

  /** Whether the image is built (no build is started). */
  isReady(name: string): boolean {
    return existsSync(this.#readyFile(name));
  }

  #readyFile(name: string): string {
    return path.join(this.#opts.dir, name, 'ready');
  }

  #info(name: string): ImageInfo {
    const rootfs = path.join(this.#opts.dir, name, 'rootfs');
    return { name, rootfs, hostBinds: name === 'host' ? [{ source: '/usr', destination: '/usr' }] : [] };
  }

  async #ensure(name: string): Promise<ImageInfo> {
    if (existsSync(this.#readyFile(name))) return this.#info(name);
    const dir = path.join(this.#opts.dir, name);
    const tmp = `${dir}.build-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(path.join(tmp, 'rootfs'), { recursive: true, mode: 0o755 });
    const started = Date.now();
    this.#opts.log.warn({ image: name }, 'building image (once; cached afterwards)');
    try {
      if (name === 'host') await buildHostImage(path.join(tmp, 'rootfs'));
      else if (name === 'debian-12') await buildDebianImage(path.join(tmp, 'rootfs'), this.#opts.debianMirror);
      else throw new Error(`no builder for image '${name}'`);
      await writeFile(path.join(tmp, 'ready'), `${new Date().toISOString()}\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      // A build that fails (a mirror out of reach) leaves the image unavailable for now, not the server broken;
      // the cause is for the operator's log, the client learns which image and that it may try again later.
      this.#opts.log.error({ image: name, err: (err as Error).message }, 'image build failed');
      throw new AppError('service_unavailable', `image '${name}' is not available: building it failed (see the server log)`);
    }
    this.#opts.log.info({ image: name, ms: Date.now() - started }, 'image built');
    return this.#info(name);
  }
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
