// The sandbox driver's snapshots, archives and forks (`WorkspaceDriver.snapshots`). Everything rests on one
// operation: cloning a workspace's disk image while it is frozen (freeze.ts), which the disk pool does in
// constant time (disk-pool.ts). A snapshot is such a clone kept aside; restore clones it back; a fork gives
// each child a clone as its own disk (its owners mapped onto the child's range by an idmapped view, no walk);
// an archive is read from a clone while the workspace runs on.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AppError,
  type ArchiveInfo,
  type ArchiveRequest,
  type SnapshotInfo,
  type WorkspaceSnapshots,
  type WorkspaceSpec,
} from '@cove/protocol';
import type { Logger } from 'pino';
import type { Containers } from '../containers.js';
import { diskFile, unmountRoot } from '../disk.js';
import type { OciRuntime } from '../runc.js';
import type { KeyedSerial } from '../serial.js';
import type { Slots, WorkspaceState } from '../slots.js';
import { writeArchive } from './archive-make.js';
import { ArchiveStore } from './archive-store.js';
import { unpackIntoDisk } from './archive-unpack.js';
import { cloneDisk, type DiskPool } from './disk-pool.js';
import { withFrozen } from './freeze.js';

export interface SnapshotsDeps {
  dataDir: string;
  pool: DiskPool;
  slots: Slots;
  containers: Containers;
  runtime: OciRuntime;
  /** The driver's per-workspace serial: every call here runs in it. */
  serial: KeyedSerial;
  /** Applies the firewall once children exist (their rules). */
  applyFirewall: () => Promise<void>;
  /** The warm pool's containers for forks (warm-pool.ts): a child takes one when one is ready. */
  forkPool?: {
    noteFork(image: string, count: number): void;
    adoptForFork(spec: WorkspaceSpec, image: string, diskBase: number, source: string, take: boolean): Promise<boolean>;
  };
  log: Logger;
}

/** What `<pool>/snapshots/<id>/snapshot.json` holds beside the snapshot's disk image. */
interface SnapshotRecord extends SnapshotInfo {
  /** The range the snapshot's owners are written in. */
  base: number;
  image: string;
}

export class SandboxSnapshots implements WorkspaceSnapshots {
  readonly #deps: SnapshotsDeps;
  readonly #archives: ArchiveStore;

  constructor(deps: SnapshotsDeps) {
    this.#deps = deps;
    this.#archives = new ArchiveStore(path.join(deps.dataDir, 'archives'));
  }

  get constantTimeFork(): boolean {
    return this.#deps.pool.reflink;
  }

  /**
   * At the driver's open: what a snapshot or archive cut short left. A clone that never replaced the snapshot is
   * dropped; a snapshot whose disk was replaced but not its record gets its record; partial archives go.
   */
  async recover(): Promise<void> {
    const root = path.join(this.#deps.pool.dir, 'snapshots');
    for (const id of await readdir(root).catch(() => [] as string[])) {
      const dir = path.join(root, id);
      if (existsSync(path.join(dir, 'next.ext4'))) {
        await rm(path.join(dir, 'next.ext4'), { force: true });
        await rm(path.join(dir, 'next.json'), { force: true });
      } else if (existsSync(path.join(dir, 'next.json'))) {
        await rename(path.join(dir, 'next.json'), path.join(dir, 'snapshot.json'));
      }
    }
    await this.#archives.dropPartial();
  }

  #snapshotDir(id: string): string {
    return path.join(this.#deps.pool.dir, 'snapshots', id);
  }

  #tmp(name: string): string {
    return path.join(this.#deps.pool.dir, 'tmp', `${name}-${randomBytes(6).toString('hex')}`);
  }

  /** The range a slot's disk's owners are written in. */
  #base(state: WorkspaceState): number {
    return state.diskBase ?? state.idRange.base;
  }

  /** Clones the workspace's disk to `target`, frozen (or as it is when stopped). */
  async #cloneFrozen(state: WorkspaceState, target: string): Promise<void> {
    const layout = this.#deps.slots.layout(state.slot);
    const source = await diskFile(layout);
    const { containers } = this.#deps;
    const running = containers.livePid(state.slot) !== undefined && !containers.isPaused(state.slot);
    await withFrozen(
      this.#deps.runtime,
      state.slot,
      this.#deps.slots.slotDir(state.slot),
      layout,
      () => cloneDisk(this.#deps.pool, source, target),
      running,
    );
  }

  snapshot(id: string): Promise<SnapshotInfo> {
    return this.#deps.serial.run(id, async () => {
      const state = this.#deps.slots.get(id);
      const dir = this.#snapshotDir(id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // The new one is whole before it replaces the previous (a failure keeps that one).
      const next = path.join(dir, 'next.ext4');
      await this.#cloneFrozen(state, next);
      const record: SnapshotRecord = {
        workspaceId: id,
        createdAt: new Date().toISOString(),
        sizeBytes: (await stat(next)).blocks * 512,
        base: this.#base(state),
        image: state.image,
      };
      // The record goes beside the clone first: a crash between the two renames is finished by `recover`.
      await writeFile(path.join(dir, 'next.json'), JSON.stringify(record), { mode: 0o600 });
      await rename(next, path.join(dir, 'disk.ext4'));
      await rename(path.join(dir, 'next.json'), path.join(dir, 'snapshot.json'));
      return info(record);
    });
  }

  async #latest(id: string): Promise<SnapshotRecord | null> {
    const text = await readFile(path.join(this.#snapshotDir(id), 'snapshot.json'), 'utf8').catch(() => undefined);
    return text === undefined ? null : (JSON.parse(text) as SnapshotRecord);
  }

  async latestSnapshot(id: string): Promise<SnapshotInfo | null> {
    this.#deps.slots.get(id);
    const record = await this.#latest(id);
    return record && info(record);
  }

  restore(id: string): Promise<SnapshotInfo> {
    return this.#deps.serial.run(id, async () => {
      const state = this.#deps.slots.get(id);
      const record = await this.#latest(id);
      if (!record) throw new AppError('conflict', `workspace '${id}' has no snapshot to restore`);
      // Its container is gone (the control plane stopped it) and its root unmounted: the disk is replaced whole.
      await this.#deps.containers.kill(state.slot);
      const layout = this.#deps.slots.layout(state.slot);
      await unmountRoot(layout);
      await cloneDisk(this.#deps.pool, path.join(this.#snapshotDir(id), 'disk.ext4'), await diskFile(layout));
      if (record.base === state.idRange.base) delete state.diskBase;
      else state.diskBase = record.base;
      await this.#deps.slots.save(state);
      return info(record);
    });
  }

  async fork(parentId: string, children: WorkspaceSpec[]): Promise<void> {
    for (const child of children) {
      if (this.#deps.slots.states.has(child.id)) throw new AppError('conflict', `workspace '${child.id}' exists already`);
    }
    // The parent is frozen for one clone, whatever the number of children; each child clones that clone.
    const shared = this.#tmp('fork');
    const parent = await this.#deps.serial.run(parentId, async () => {
      const state = this.#deps.slots.get(parentId);
      await this.#cloneFrozen(state, shared);
      return { image: state.image, base: this.#base(state) };
    });
    this.#deps.forkPool?.noteFork(parent.image, children.length);
    const made: string[] = [];
    try {
      await Promise.all(
        children.map((child) =>
          this.#deps.serial.run(child.id, async () => {
            // A pooled container whose agent waits to start on the child's disk, else the child's own, made cold.
            // A single child takes the parent's clone itself, with no copy of it.
            const adopted = await this.#deps.forkPool?.adoptForFork(child, parent.image, parent.base, shared, children.length === 1);
            if (!adopted) await this.#deps.slots.make(child.id, child.id, parent.image, child.diskMb, { file: shared, base: parent.base });
            made.push(child.id);
          }),
        ),
      );
    } catch (err) {
      // All or none: children already made go.
      for (const id of made) {
        await this.#deps.serial.run(id, async () => {
          const state = this.#deps.slots.states.get(id);
          if (state) await this.#deps.containers.removeSlot(state).catch(() => {});
          this.#deps.slots.states.delete(id);
        });
      }
      throw err;
    } finally {
      await rm(shared, { force: true });
      await this.#deps.applyFirewall();
    }
  }

  createArchive(id: string, request: ArchiveRequest): Promise<ArchiveInfo> {
    return this.#deps.serial.run(id, async () => {
      const state = this.#deps.slots.get(id);
      if (await this.#archives.taken(id, request.version)) {
        throw new AppError('conflict', `workspace '${id}' has an archive '${request.version}' already`);
      }
      const clone = this.#tmp('archive');
      await this.#cloneFrozen(state, `${clone}.ext4`);
      try {
        const image = await this.#deps.slots.images.ensure(state.image);
        const target = this.#archives.file(id, request.version, request.format);
        await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
        const partial = `${target}.partial`;
        const written = await writeArchive(
          { disk: `${clone}.ext4`, base: this.#base(state), size: state.idRange.size, layers: image.layers, workDir: clone },
          partial,
          request.format,
          request.vmPaths,
          request.excludeVmPaths,
        );
        await rename(partial, target);
        const archive: ArchiveInfo = { ...request, workspaceId: id, ...written, createdAt: new Date().toISOString(), image: state.image };
        await this.#archives.save(archive);
        return archive;
      } finally {
        await rm(`${clone}.ext4`, { force: true });
      }
    });
  }

  listArchives(id: string): Promise<ArchiveInfo[]> {
    this.#deps.slots.get(id);
    return this.#archives.list(id);
  }

  async archiveFile(id: string, version: string): Promise<{ info: ArchiveInfo; file: string }> {
    const archive = await this.#archives.get(id, version);
    return { info: archive, file: this.#archives.file(id, version, archive.format) };
  }

  deleteArchive(id: string, version: string, deleteFile: boolean): Promise<ArchiveInfo> {
    return this.#deps.serial.run(id, () => this.#archives.remove(id, version, deleteFile));
  }

  unpackArchive(id: string, file: string): Promise<void> {
    return this.#deps.serial.run(id, async () => {
      const state = this.#deps.slots.get(id);
      if ((await this.#deps.runtime.state(state.slot)) !== undefined) {
        throw new AppError('conflict', `workspace '${id}' has started already; an archive fills only a new workspace`);
      }
      const size = (await stat(await diskFile(this.#deps.slots.layout(state.slot)))).size;
      await unpackIntoDisk(this.#deps.slots.layout(state.slot), state.idRange, file, Math.round(size / 1024 / 1024));
    });
  }

  /** Removes the workspace's snapshot and archives (its deletion; caller holds its serial). */
  async forget(id: string): Promise<void> {
    await rm(this.#snapshotDir(id), { recursive: true, force: true });
    await this.#archives.forget(id);
  }
}

function info(record: SnapshotRecord): SnapshotInfo {
  return { workspaceId: record.workspaceId, createdAt: record.createdAt, sizeBytes: record.sizeBytes };
}
