// The slots on disk: each workspace's (or pooled workspace's) directory, its state.json, and the address,
// disk, network namespace and overlay root made once for it and kept while it exists.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type ResolvedNetwork } from '@cove/protocol';
import type { AddressPlan } from './addresses.js';
import { createDisk, type DiskLayout, diskLayout, mountRoot, removeDisk } from './disk.js';
import { checkDiskReserve } from './disk-reserve.js';
import { DiskTemplates } from './disk-template.js';
import { claimIdRange, type IdRange, releaseIdRange } from './id-ranges.js';
import type { ImageInfo, ImageStore } from './images/index.js';
import { ensureNetwork, netnsPath, removeNetwork } from './netns.js';
import type { KeyedSerial } from './serial.js';
import { settled } from './settled.js';
import { cloneDisk, type DiskPool, poolDisk } from './snapshots/disk-pool.js';
import { span } from './trace.js';
import { ensureUserns, removeUserns } from './userns.js';

/**
 * Marks in a slot's directory saying its making or its removal has not finished: a driver killed in the middle
 * leaves one, and the next open removes the slot whole (half-made.ts) instead of adopting its remains.
 */
export const MAKING_MARK = 'making';
export const REMOVING_MARK = 'removing';

/** What the driver keeps per workspace (`state.json`), enough to rebuild everything after a restart. */
export interface WorkspaceState {
  /** The workspace's id ('' while the slot waits in the warm pool). */
  id: string;
  /**
   * The name of its host-side resources: directory, container, network
   * namespace, veth, cgroup. The workspace's id when created cold; a pool
   * slot's own name when it came from the warm pool.
   */
  slot: string;
  ip: string;
  /**
   * The image's id (`sha256:…` of its config; a builtin image's name, as earlier versions wrote it): the
   * reference it was created from may later name another image, the workspace keeps its own.
   */
  image: string;
  network: ResolvedNetwork;
  /**
   * The host ids of its user namespace: root inside is `base` on the host. Claimed host-wide when the slot is
   * made (see id-ranges.ts), kept for its life, released by its deletion.
   */
  idRange: IdRange;
  /**
   * The range the disk's owners are written in, when not `idRange`'s: a disk cloned from another workspace
   * (a fork) keeps its parent's owners and is mounted through a view mapping them (see `mountRoot`).
   */
  diskBase?: number;
}

/** A disk to start a slot from instead of an empty one (a fork's): cloned, its owners in `base`'s range. */
export interface DiskSource {
  file: string;
  base: number;
}

/** A slot of a version before user namespaces (no id range): the driver's open migrates it (migrate.ts). */
export type LegacyState = Omit<WorkspaceState, 'idRange'>;

const DEFAULT_NETWORK: ResolvedNetwork = {
  publicAccess: false,
  allowInternet: true,
  privateLinkIds: [],
  ingressPorts: [],
  egress: [],
  privateLinks: [],
};

export interface SlotsDeps {
  /** `<dataDir>/workspaces`: one directory per slot. */
  dir: string;
  /** Where the slots' root directories are (outside the data directory: see `DiskLayout.rootDir`). */
  rootsDir: string;
  images: ImageStore;
  plan: AddressPlan;
  /** Address allocation is global (one serial for the driver's global changes). */
  global: KeyedSerial;
  /** Where disk images are made (and cloned in constant time); without it, in the slot's directory. */
  pool?: DiskPool;
  /** Disks may overcommit the data volume (disk-reserve.ts); default false. */
  diskOvercommit?: boolean;
}

/** The driver's slots: the workspaces' by id, and the spare ones (the warm pool's) that hold an address too. */
export class Slots {
  readonly #deps: SlotsDeps;
  /** Workspaces by id. */
  readonly states = new Map<string, WorkspaceState>();
  /** Slots with an address but no workspace: the warm pool's, ready or being made. */
  readonly spare = new Set<WorkspaceState>();
  /** MiB of disks being made (checked against the volume, not on it yet). */
  #pendingMb = 0;
  /** Empty disks by size, cloned for new slots (in the pool, when it clones). */
  readonly #templates: DiskTemplates | undefined;

  constructor(deps: SlotsDeps) {
    this.#deps = deps;
    this.#templates = deps.pool && new DiskTemplates(deps.pool);
  }

  /** `<dataDir>/workspaces`: one directory per slot. */
  get dir(): string {
    return this.#deps.dir;
  }

  /** Where the slots' root directories are (one per slot: `DiskLayout.rootDir`). */
  get rootsDir(): string {
    return this.#deps.rootsDir;
  }

  /** The slot's directory: disk image, bundle, token directory, agent log, state.json. */
  slotDir(slot: string): string {
    return path.join(this.dir, slot);
  }

  layout(slot: string): DiskLayout {
    return diskLayout(this.slotDir(slot), path.join(this.#deps.rootsDir, slot));
  }

  /** The slot's user namespace, pinned (runc joins it; its network namespace and idmapped views belong to it). */
  usernsFile(slot: string): string {
    return path.join(this.slotDir(slot), 'userns');
  }

  /**
   * The agent's log: the container's stdout and stderr. It lives on the workspace's own disk, beside the
   * upper layer (not visible inside): whatever a workspace makes its agent or its first process print, the
   * host loses no more than the disk's size (a log in the slot's directory grew without bound).
   */
  logFile(slot: string): string {
    return path.join(this.layout(slot).mountPoint, 'agent.log');
  }

  /** The directory of the token file, bind-mounted read-only into the workspace. */
  tokenDir(slot: string): string {
    return path.join(this.slotDir(slot), 'token');
  }

  /** The resolv.conf bind-mounted into the slot's container (written when the container is created). */
  resolvConfFile(slot: string): string {
    return path.join(this.slotDir(slot), 'resolv.conf');
  }

  get(id: string): WorkspaceState {
    const state = this.states.get(id);
    if (!state) throw new AppError('not_found', `the sandbox driver has no workspace '${id}'`);
    return state;
  }

  async save(state: WorkspaceState): Promise<void> {
    const file = path.join(this.slotDir(state.slot), 'state.json');
    await writeFile(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  /** The id of the image a reference names: `not_found` (naming it) when the store has none, `bad_request` when malformed. */
  imageId(reference: string): string {
    return this.#deps.images.lookup(reference);
  }

  /** The id of the image a reference names, or undefined (nothing thrown). */
  resolveImage(reference: string): string | undefined {
    return this.#deps.images.resolve(reference);
  }

  get images(): ImageStore {
    return this.#deps.images;
  }

  get pool(): DiskPool | undefined {
    return this.#deps.pool;
  }

  /**
   * Reads every slot's state.json into `states`; resolves to the pool slots of a previous run (not adopted) and
   * the workspaces of a version before user namespaces (not in `states` until migrated).
   */
  async load(): Promise<{
    stalePool: Array<WorkspaceState | LegacyState>;
    legacy: LegacyState[];
    halfMade: Array<WorkspaceState | LegacyState>;
  }> {
    const stalePool: Array<WorkspaceState | LegacyState> = [];
    const legacy: LegacyState[] = [];
    // Slots whose making or removal a kill cut short (a mark, or no state.json yet): removed whole at open.
    const halfMade: Array<WorkspaceState | LegacyState> = [];
    for (const entry of await readdir(this.dir)) {
      const state = await readFile(path.join(this.dir, entry, 'state.json'), 'utf8')
        .then((t) => JSON.parse(t) as LegacyState & { idRange?: IdRange })
        .catch(() => undefined);
      const marked = existsSync(path.join(this.dir, entry, MAKING_MARK)) || existsSync(path.join(this.dir, entry, REMOVING_MARK));
      if (!state || marked) {
        halfMade.push(state && (state.slot ?? state.id) === entry ? { ...state, slot: entry } : halfState(entry));
        continue;
      }
      state.slot ??= state.id;
      if (state.slot !== entry) continue;
      if (state.id === '') stalePool.push(state);
      else if (state.idRange === undefined) legacy.push(state);
      else this.states.set(state.id, state as WorkspaceState);
    }
    return { stalePool, legacy, halfMade };
  }

  /** Makes a slot's persistent state: directory, disk, address, network namespace and link, mounted overlay. */
  async make(
    slot: string,
    id: string,
    image: string,
    diskMb: number,
    from?: DiskSource,
    /** Called once the slot holds its address (in `states`, or `spare`), before its disk and namespaces are made. */
    claimed?: () => void,
  ): Promise<WorkspaceState> {
    const info = await this.#deps.images.ensure(image);
    await this.checkReserve(diskMb);
    this.#pendingMb += diskMb;
    try {
      return await this.#make(slot, id, info, image, diskMb, from, claimed);
    } finally {
      this.#pendingMb -= diskMb;
    }
  }

  /** Refuses a disk of `diskMb` the data volume could not hold once every disk is full (unless disks may overcommit). */
  async checkReserve(diskMb: number): Promise<void> {
    if (this.#deps.diskOvercommit) return;
    const images = [...this.states.values(), ...this.spare].map((s) => this.layout(s.slot).image);
    await checkDiskReserve({ dataDir: this.dataDir, images, pendingMb: this.#pendingMb, diskMb });
  }

  async #make(
    slot: string,
    id: string,
    info: ImageInfo,
    image: string,
    diskMb: number,
    from: DiskSource | undefined,
    claimed: (() => void) | undefined,
  ): Promise<WorkspaceState> {
    await mkdir(this.slotDir(slot), { recursive: false, mode: 0o700 });
    await writeFile(path.join(this.slotDir(slot), MAKING_MARK), '', { mode: 0o600 });
    let range: IdRange | undefined;
    let state: WorkspaceState;
    try {
      // Before anything is mounted: the image is not removed (nor its layers collected) while the slot exists.
      await span('slot: image use', () => this.#deps.images.use(image, this.slotDir(slot)));
      range = await span('slot: id range', () => claimIdRange(this.dataDir, slot));
      state = await this.#claim(slot, id, image, range);
    } catch (err) {
      // Nothing else is made yet: the directory goes, and the range with it.
      await rm(this.slotDir(slot), { recursive: true, force: true });
      await this.#deps.images.release(this.slotDir(slot)).catch(() => {});
      if (range) await releaseIdRange(range, this.dataDir, slot).catch(() => {});
      throw err;
    }
    claimed?.();
    try {
      // Entered (0711), never listed, by the workspace's root, who reads its token file in it.
      await mkdir(this.tokenDir(slot), { mode: 0o711 });
      const pool = this.#deps.pool;
      if (from) {
        if (!pool) throw new Error('a disk can only be cloned into the disk pool');
        if (from.base !== range.base) state.diskBase = from.base;
        await symlink(poolDisk(pool, slot), this.layout(slot).image);
        await cloneDisk(pool, from.file, poolDisk(pool, slot));
      }
      await this.save(state);
      // The user and network namespaces, link and overlay are made now so that start does not pay for them. The
      // steps that do not need each other run at once: the disk and its mount beside the user namespace, then the
      // network (which needs the user namespace) beside the idmapped views and the overlay (which need both).
      // The network namespace is made with the user namespace that owns it (one helper process for both).
      const userns = span('slot: userns', () => ensureUserns(this.usernsFile(slot), range, netnsPath(slot)));
      const disk = from
        ? undefined
        : span('slot: disk', async () =>
            createDisk(this.layout(slot), diskMb, range, pool && poolDisk(pool, slot), await this.#templates?.template(diskMb)),
          );
      const network = userns.then(() =>
        span('slot: network', () => ensureNetwork(slot, state.ip, this.#deps.plan.hostAddress, this.usernsFile(slot))),
      );
      // The disk is mounted as soon as it is made; the idmapped views wait for the user namespace.
      const mounts = Promise.resolve(disk).then(() =>
        span('slot: mounts', () => mountRoot(this.layout(slot), info, range, this.usernsFile(slot), state.diskBase, userns)),
      );
      await settled([userns, disk, network, mounts]);
      await rm(path.join(this.slotDir(slot), MAKING_MARK));
    } catch (err) {
      // The address is given back once what was made is gone; if even that fails it stays taken,
      // so that no other slot gets an address still routed to the remains.
      await this.remove(state).then(
        () => this.#release(state),
        () => {},
      );
      throw err;
    }
    return state;
  }

  /** The data directory (its slots' id range claims name it). */
  get dataDir(): string {
    return path.dirname(this.dir);
  }

  /**
   * Removes what `make` made on the host (network namespace and link, disk, idmapped views, user namespace,
   * directory) and releases its id range; the container must be gone.
   */
  async remove(state: WorkspaceState | LegacyState): Promise<void> {
    const { slot } = state;
    await this.markRemoving(slot);
    await removeNetwork(slot);
    await removeDisk(this.layout(slot));
    await removeUserns(this.usernsFile(slot));
    await rm(this.slotDir(slot), { recursive: true, force: true });
    await this.#deps.images.release(this.slotDir(slot));
    if ('idRange' in state && state.idRange) await releaseIdRange(state.idRange, this.dataDir, slot);
  }

  /** Marks the slot as being removed: should the removal be cut short, the next open finishes it. */
  async markRemoving(slot: string): Promise<void> {
    if (existsSync(this.slotDir(slot))) await writeFile(path.join(this.slotDir(slot), REMOVING_MARK), '', { mode: 0o600 });
  }

  /**
   * Picks the lowest free address and registers the slot as its holder in one
   * step under the address lock: registered after the lock, a concurrent create
   * or pool refill could pick the same address in between.
   */
  #claim(slot: string, id: string, image: string, idRange: IdRange): Promise<WorkspaceState> {
    return this.#deps.global.run('ip', async () => {
      const used = new Set([...this.states.values(), ...this.spare].map((s) => s.ip));
      const state: WorkspaceState = { id, slot, ip: this.#deps.plan.allocate(used), image, network: DEFAULT_NETWORK, idRange };
      if (id === '') this.spare.add(state);
      else this.states.set(id, state);
      return state;
    });
  }

  #release(state: WorkspaceState): void {
    this.spare.delete(state);
    if (this.states.get(state.id) === state) this.states.delete(state.id);
  }
}

/** What is known of a slot without a readable state.json: its name (its removal goes by the name alone). */
function halfState(slot: string): LegacyState {
  return { id: '', slot, ip: '', image: '', network: DEFAULT_NETWORK };
}
