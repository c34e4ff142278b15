// The slots on disk: each workspace's (or pooled workspace's) directory, its state.json, and the address,
// disk, network namespace and overlay root made once for it and kept while it exists.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type ResolvedNetwork } from '@cove/protocol';
import type { AddressPlan } from './addresses.js';
import { createDisk, type DiskLayout, diskLayout, mountRoot, removeDisk } from './disk.js';
import type { ImageStore } from './images.js';
import { ensureNetwork, removeNetwork } from './netns.js';
import type { KeyedSerial } from './serial.js';

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
  image: string;
  network: ResolvedNetwork;
}

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
  images: ImageStore;
  plan: AddressPlan;
  /** Address allocation is global (one serial for the driver's global changes). */
  global: KeyedSerial;
}

/** The driver's slots: the workspaces' by id, and the spare ones (the warm pool's) that hold an address too. */
export class Slots {
  readonly #deps: SlotsDeps;
  /** Workspaces by id. */
  readonly states = new Map<string, WorkspaceState>();
  /** Slots with an address but no workspace: the warm pool's, ready or being made. */
  readonly spare = new Set<WorkspaceState>();

  constructor(deps: SlotsDeps) {
    this.#deps = deps;
  }

  /** `<dataDir>/workspaces`: one directory per slot. */
  get dir(): string {
    return this.#deps.dir;
  }

  /** The slot's directory: disk image, bundle, token directory, agent log, state.json. */
  slotDir(slot: string): string {
    return path.join(this.dir, slot);
  }

  layout(slot: string): DiskLayout {
    return diskLayout(this.slotDir(slot));
  }

  /** The agent's log: the container's stdout and stderr. */
  logFile(slot: string): string {
    return path.join(this.slotDir(slot), 'agent.log');
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

  imageName(image: string): string {
    const name = this.#deps.images.resolve(image);
    if (!name) throw new AppError('bad_request', `invalid parameter 'image': unknown image '${image}' (known: host, debian:12)`);
    return name;
  }

  /** Reads every slot's state.json into `states`; resolves to the pool slots of a previous run (not adopted). */
  async load(): Promise<WorkspaceState[]> {
    const stalePool: WorkspaceState[] = [];
    for (const entry of await readdir(this.dir)) {
      const state = await readFile(path.join(this.dir, entry, 'state.json'), 'utf8')
        .then((t) => JSON.parse(t) as WorkspaceState)
        .catch(() => undefined);
      if (!state) continue;
      state.slot ??= state.id;
      if (state.slot !== entry) continue;
      if (state.id === '') stalePool.push(state);
      else this.states.set(state.id, state);
    }
    return stalePool;
  }

  /** Makes a slot's persistent state: directory, disk, address, network namespace and link, mounted overlay. */
  async make(slot: string, id: string, image: string, diskMb: number): Promise<WorkspaceState> {
    const rootfs = (await this.#deps.images.ensure(image)).rootfs;
    await mkdir(this.slotDir(slot), { recursive: false, mode: 0o700 });
    const state = await this.#claim(slot, id, image);
    try {
      await mkdir(this.tokenDir(slot), { mode: 0o700 });
      await this.save(state);
      await createDisk(this.layout(slot), diskMb);
      // The namespace, link and overlay are made now so that start does not pay for them.
      await ensureNetwork(slot, state.ip, this.#deps.plan.hostAddress);
      await mountRoot(this.layout(slot), rootfs);
    } catch (err) {
      // The address is given back once what was made is gone; if even that fails it stays taken,
      // so that no other slot gets an address still routed to the remains.
      await this.remove(slot).then(
        () => this.#release(state),
        () => {},
      );
      throw err;
    }
    return state;
  }

  /** Removes what `make` made on the host (network namespace and link, disk, directory); the container must be gone. */
  async remove(slot: string): Promise<void> {
    await removeNetwork(slot);
    await removeDisk(this.layout(slot));
    await rm(this.slotDir(slot), { recursive: true, force: true });
  }

  /**
   * Picks the lowest free address and registers the slot as its holder in one
   * step under the address lock: registered after the lock, a concurrent create
   * or pool refill could pick the same address in between.
   */
  #claim(slot: string, id: string, image: string): Promise<WorkspaceState> {
    return this.#deps.global.run('ip', async () => {
      const used = new Set([...this.states.values(), ...this.spare].map((s) => s.ip));
      const state: WorkspaceState = { id, slot, ip: this.#deps.plan.allocate(used), image, network: DEFAULT_NETWORK };
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
