// The process driver's snapshots, archives and forks (`WorkspaceDriver.snapshots`). A process workspace's file
// system is its home directory on the host (`<root>/<id>/home`, where its agent and commands start), so every
// operation is a copy of that directory taken while the workspace's processes are stopped (SIGSTOP of the
// agent's tree, as `pause`): a snapshot is such a copy kept beside it, restore copies it back, a fork copies it
// to each child, an archive is a tar of it. Copies take time and space in proportion to what the directory
// holds (`cp --reflink=auto` shares blocks only on a file system that can): `constantTimeFork` is false.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ArchiveRecords } from '@cove/archive';
import {
  AppError,
  type ArchiveInfo,
  type ArchiveRequest,
  type SnapshotInfo,
  WORKSPACE_DEFAULTS,
  type WorkspaceSnapshots,
  type WorkspaceSpec,
} from '@cove/protocol';
import { ArchiveRefused, checkArchive } from './archive-check.js';
import { unpackInto, writeArchive } from './archive-tar.js';
import { copyTree, diskUsage } from './copy-tree.js';

export interface ProcessSnapshotsDeps {
  /** A workspace's directory (`<root>/<id>`). */
  dir(id: string): string;
  /** Runs `fn` in the workspace's serial with its processes stopped (those running; a paused one stays so). */
  frozen<T>(id: string, fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` in the workspace's serial. */
  serial<T>(id: string, fn: () => Promise<T>): Promise<T>;
  agentRunning(id: string): boolean;
  /** The image and disk size (MiB) the workspace was last created or started with, where known. */
  specOf(id: string): Promise<Pick<WorkspaceSpec, 'image' | 'diskMb'> | undefined>;
}

export class ProcessSnapshots implements WorkspaceSnapshots {
  readonly constantTimeFork = false;
  readonly #deps: ProcessSnapshotsDeps;
  readonly #archives: ArchiveRecords;

  constructor(deps: ProcessSnapshotsDeps) {
    this.#deps = deps;
    this.#archives = new ArchiveRecords((id) => path.join(deps.dir(id), 'archives'));
  }

  #home(id: string): string {
    return path.join(this.#deps.dir(id), 'home');
  }

  #snapshotDir(id: string): string {
    return path.join(this.#deps.dir(id), 'snapshot');
  }

  /** A private name beside `dir`'s files, for a copy being made. */
  #tmp(id: string, what: string): string {
    return path.join(this.#deps.dir(id), `.${what}-${randomBytes(6).toString('hex')}`);
  }

  #existing(id: string): void {
    if (!existsSync(this.#home(id))) throw new AppError('not_found', `workspace '${id}' has no directory on this host`);
  }

  snapshot(id: string): Promise<SnapshotInfo> {
    this.#existing(id);
    return this.#deps.frozen(id, async () => {
      const dir = this.#snapshotDir(id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // The new copy is whole before it replaces the previous one (a failure keeps that one).
      const next = path.join(dir, 'home.next');
      await rm(next, { recursive: true, force: true });
      await copyTree(this.#home(id), next);
      const record: SnapshotInfo = { workspaceId: id, createdAt: new Date().toISOString(), sizeBytes: await diskUsage(next) };
      await rm(path.join(dir, 'home'), { recursive: true, force: true });
      await rename(next, path.join(dir, 'home'));
      await writeFile(path.join(dir, 'snapshot.json'), JSON.stringify(record), { mode: 0o600 });
      return record;
    });
  }

  async latestSnapshot(id: string): Promise<SnapshotInfo | null> {
    this.#existing(id);
    const text = await readFile(path.join(this.#snapshotDir(id), 'snapshot.json'), 'utf8').catch(() => undefined);
    return text === undefined ? null : (JSON.parse(text) as SnapshotInfo);
  }

  restore(id: string): Promise<SnapshotInfo> {
    this.#existing(id);
    return this.#deps.serial(id, async () => {
      const record = await this.latestSnapshot(id);
      if (!record) throw new AppError('conflict', `workspace '${id}' has no snapshot to restore`);
      if (this.#deps.agentRunning(id)) throw new AppError('conflict', `workspace '${id}' is running; stop it before a restore`);
      // The copy is made beside the home, then swapped in: a failure leaves the home as it was.
      const fresh = this.#tmp(id, 'restore');
      await copyTree(path.join(this.#snapshotDir(id), 'home'), fresh);
      await this.#replaceHome(id, fresh);
      return record;
    });
  }

  async #replaceHome(id: string, fresh: string): Promise<void> {
    const old = this.#tmp(id, 'old-home');
    await rename(this.#home(id), old);
    await rename(fresh, this.#home(id));
    await rm(old, { recursive: true, force: true });
  }

  async fork(parentId: string, children: WorkspaceSpec[]): Promise<void> {
    this.#existing(parentId);
    for (const child of children) {
      if (existsSync(this.#deps.dir(child.id))) throw new AppError('conflict', `workspace '${child.id}' exists already`);
    }
    // The parent is stopped for one copy, whatever the number of children; each child copies that copy.
    const shared = this.#tmp(parentId, 'fork');
    await this.#deps.frozen(parentId, () => copyTree(this.#home(parentId), shared));
    const made: string[] = [];
    try {
      for (const [i, child] of children.entries()) {
        await this.#deps.serial(child.id, async () => {
          const dir = this.#deps.dir(child.id);
          made.push(child.id);
          await mkdir(dir, { recursive: true, mode: 0o700 });
          const home = path.join(dir, 'home');
          // The last child takes the shared copy itself.
          if (i === children.length - 1) await rename(shared, home);
          else await copyTree(shared, home);
        });
      }
    } catch (err) {
      // All or none: children already made go.
      for (const id of made) await rm(this.#deps.dir(id), { recursive: true, force: true });
      throw err;
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  }

  createArchive(id: string, request: ArchiveRequest): Promise<ArchiveInfo> {
    this.#existing(id);
    const home = this.#home(id);
    // The workspace's paths are the host's: those asked for must be inside its directory.
    const relative = (p: string, field: string): string => {
      const rel = path.relative(home, p);
      if (rel.startsWith('..') || path.isAbsolute(rel)) {
        throw new AppError('bad_request', `${field}: '${p}' is outside the workspace's directory (${home})`);
      }
      return rel;
    };
    const include = request.vmPaths.map((p) => relative(p, 'vm_paths'));
    const exclude = request.excludeVmPaths.map((p) => relative(p, 'exclude_vm_paths'));
    if (exclude.includes('')) throw new AppError('bad_request', "exclude_vm_paths: excluding the workspace's directory leaves nothing");
    return this.#deps.frozen(id, async () => {
      if (this.#archives.taken(id, request.version)) {
        throw new AppError('conflict', `workspace '${id}' has an archive '${request.version}' already`);
      }
      const target = this.#archives.file(id, request.version, request.format);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      const partial = `${target}.partial`;
      const written = await writeArchive(home, partial, request.format, include, exclude);
      await rename(partial, target);
      const image = (await this.#deps.specOf(id))?.image ?? WORKSPACE_DEFAULTS.image;
      const archive: ArchiveInfo = { ...request, workspaceId: id, ...written, createdAt: new Date().toISOString(), image };
      await this.#archives.save(archive);
      return archive;
    });
  }

  async listArchives(id: string): Promise<ArchiveInfo[]> {
    this.#existing(id);
    return this.#archives.list(id);
  }

  async archiveFile(id: string, version: string): Promise<{ info: ArchiveInfo; file: string }> {
    const info = await this.#archives.get(id, version);
    return { info, file: this.#archives.file(id, version, info.format) };
  }

  deleteArchive(id: string, version: string, deleteFile: boolean): Promise<ArchiveInfo> {
    return this.#deps.serial(id, () => this.#archives.remove(id, version, deleteFile));
  }

  unpackArchive(id: string, file: string): Promise<void> {
    this.#existing(id);
    return this.#deps.serial(id, async () => {
      if (this.#deps.agentRunning(id)) {
        throw new AppError('conflict', `workspace '${id}' has started already; an archive fills only a new workspace`);
      }
      const diskMb = (await this.#deps.specOf(id))?.diskMb;
      try {
        await checkArchive(file, diskMb === undefined ? Number.MAX_SAFE_INTEGER : diskMb * 1024 * 1024);
      } catch (err) {
        if (err instanceof ArchiveRefused) throw new AppError('bad_request', `the archive cannot be used: ${err.message}`);
        throw err;
      }
      const fresh = this.#tmp(id, 'unpack');
      await mkdir(fresh, { mode: 0o700 });
      try {
        await unpackInto(file, fresh);
        await this.#replaceHome(id, fresh);
      } catch (err) {
        await rm(fresh, { recursive: true, force: true });
        throw new AppError('bad_request', `the archive cannot be used: ${(err as Error).message.replaceAll(file, 'the archive')}`);
      }
    });
  }
}
