// The image store of an images directory: builtin images, images pulled from registries (skopeo) and imported
// from archives, their layers unpacked once and shared (layers.ts), and what a workspace mounts of an image.
// Several processes use one images directory at once (every Cove instance on the host, `cove image build`):
// the index changes under its lock, files appear by rename, and concurrent pulls of one reference queue.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AppError,
  type ImageCatalog,
  type ImageConfig,
  type ImageProgress,
  type ImageSource,
  type ImageSummary,
  type ImportOptions,
  type PullOptions,
} from '@cove/protocol';
import type { Logger } from 'pino';
import { sweepDeadLocks, withLockFile } from '../lock-file.js';
import { BUILTIN_CONFIG, BUILTIN_IMAGES, type BuiltinImage, builtinDir, builtinImage, builtinReady } from './builtin.js';
import { ImageConfigError, parseImageConfig } from './image-config.js';
import { collect, dropUse, type ImageRecord, imagesInUse, readIndex, recordUse, updateIndex, workDirAlive } from './image-index.js';
import { importImages } from './import-source.js';
import { type LayerInfo, unpackBlob } from './layers.js';
import { dockerTransport, type ImageReference, isLoopbackRegistry, parseImageId, parseReference } from './reference.js';
import { SkopeoError, skopeo } from './skopeo.js';
import { hexOf, StoreLayout } from './store-layout.js';
import { TarError } from './tar-reader.js';

/** What a workspace's root is made of: the image's layers and the host directories bound into it. */
export interface ImageInfo {
  /** The image's id (`sha256:…`; a builtin image's name). */
  name: string;
  /** Host directories, top layer first: the overlay's lower directories. */
  layers: string[];
  /** Host directories bind-mounted read-only into every workspace of this image. */
  hostBinds: Array<{ source: string; destination: string }>;
  config: ImageConfig;
}

export interface ImageStoreOptions {
  /** The images directory (see store-layout.ts), shared by every Cove process on the host. */
  dir: string;
  /** Debian mirror for the `debian:12` builtin image (debootstrap). */
  debianMirror?: string;
  log: Logger;
}

const LOOSE_ID = /^sha256:[a-f0-9]{64}$/;

interface OciManifest {
  config?: { digest?: string };
  layers?: Array<{ digest?: string; mediaType?: string }>;
}

export class ImageStore implements ImageCatalog {
  readonly layout: StoreLayout;
  readonly #opts: ImageStoreOptions;
  readonly #building = new Map<string, Promise<ImageInfo>>();
  readonly #pulls = new Map<string, SharedPull>();

  constructor(options: ImageStoreOptions) {
    this.#opts = options;
    this.layout = new StoreLayout(options.dir);
  }

  /**
   * What a process that died mid-pull, mid-import or mid-build left (its lock files, its work directories), removed
   * at the driver's open. Work of live processes (another instance, `cove image build`) is theirs.
   */
  async recover(): Promise<void> {
    await sweepDeadLocks(this.layout.locks);
    for (const name of await readdir(this.layout.tmp).catch(() => [] as string[])) {
      if (!workDirAlive(name)) await rm(path.join(this.layout.tmp, name), { recursive: true, force: true });
    }
  }

  get dir(): string {
    return this.layout.dir;
  }

  // ---- References ----

  /** The id of the image `reference` names, or undefined when the store has none (or it is malformed). */
  resolve(reference: string): string | undefined {
    try {
      return this.#resolve(reference);
    } catch {
      return undefined;
    }
  }

  /** The id of the image `reference` names: `bad_request` when malformed, `not_found` when the store has none. */
  lookup(reference: string): string {
    const id = this.#resolve(reference);
    if (id === undefined) throw new AppError('not_found', `image '${reference}' is not in the image store (pull or import it first)`);
    return id;
  }

  #resolve(reference: string): string | undefined {
    const builtin = builtinImage(reference);
    if (builtin) return builtin.id;
    const index = readIndex(this.layout);
    const id = parseImageId(reference);
    if (id) return index.images[id] ? id : undefined;
    const canonical = parseReference(reference).canonical;
    return Object.values(index.images).find((r) => r.references.includes(canonical))?.id;
  }

  /** Whether the image is ready to mount (a builtin one built; a stored one always is). */
  isReady(id: string): boolean {
    const builtin = builtinImage(id);
    return builtin ? builtinReady(this.dir, builtin.id) : readIndex(this.layout).images[id] !== undefined;
  }

  // ---- What workspaces mount ----

  /** What a workspace of the image mounts; a builtin image is built first if needed (concurrent callers share one build). */
  ensure(id: string): Promise<ImageInfo> {
    const builtin = builtinImage(id);
    if (builtin) {
      const existing = this.#building.get(builtin.id);
      if (existing) return existing;
      const promise = this.#ensureBuiltin(builtin).finally(() => this.#building.delete(builtin.id));
      this.#building.set(builtin.id, promise);
      return promise;
    }
    return this.#ensureStored(id);
  }

  async #ensureStored(id: string): Promise<ImageInfo> {
    const record = readIndex(this.layout).images[id];
    if (!record) throw new AppError('not_found', `image '${id}' is not in the image store`);
    const layers = record.layers.map((d) => this.layout.layer(d)).reverse();
    const missing = layers.find((l) => !existsSync(l));
    if (missing)
      throw new AppError('service_unavailable', `image '${id}' is damaged: its layer ${path.basename(missing)} is missing (pull it again)`);
    return { name: id, layers, hostBinds: [], config: record.config };
  }

  #builtinInfo(b: BuiltinImage): ImageInfo {
    return { name: b.id, layers: [path.join(builtinDir(this.dir, b.id), 'rootfs')], hostBinds: b.hostBinds, config: BUILTIN_CONFIG };
  }

  async #ensureBuiltin(b: BuiltinImage): Promise<ImageInfo> {
    if (builtinReady(this.dir, b.id)) return this.#builtinInfo(b);
    // One build per host: another process building it is waited for.
    return withLockFile(this.layout.locks, `build-${b.id}`, async () => {
      if (builtinReady(this.dir, b.id)) return this.#builtinInfo(b);
      const dir = builtinDir(this.dir, b.id);
      const tmp = `${dir}.build-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(path.join(tmp, 'rootfs'), { recursive: true, mode: 0o755 });
      const started = Date.now();
      this.#opts.log.warn({ image: b.id }, 'building image (once; cached afterwards)');
      try {
        await b.build(path.join(tmp, 'rootfs'), this.#opts.debianMirror ?? 'http://deb.debian.org/debian');
        await writeFile(path.join(tmp, 'ready'), `${new Date().toISOString()}\n`);
        await rm(dir, { recursive: true, force: true });
        await rename(tmp, dir);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        // A build that fails (a mirror out of reach) leaves the image unavailable for now, not the server broken;
        // the cause is for the operator's log, the client learns which image and that it may try again later.
        this.#opts.log.error({ image: b.id, err: (err as Error).message }, 'image build failed');
        throw new AppError('service_unavailable', `image '${b.name}' is not available: building it failed (see the server log)`);
      }
      this.#opts.log.info({ image: b.id, ms: Date.now() - started }, 'image built');
      return this.#builtinInfo(b);
    });
  }

  /** Records that the slot at `slotDir` uses the image: it is not removed (without force) and its layers stay. */
  async use(id: string, slotDir: string): Promise<void> {
    if (builtinImage(id)) return;
    await recordUse(this.layout, id, slotDir);
  }

  /** The slot is gone: an image kept only for it (removed with force) goes now. */
  async release(slotDir: string): Promise<void> {
    await dropUse(this.layout, slotDir);
    const index = readIndex(this.layout);
    if (Object.values(index.images).some((r) => r.references.length === 0)) await updateIndex(this.layout, (i) => collect(this.layout, i));
  }

  // ---- The catalog ----

  async list(): Promise<ImageSummary[]> {
    const index = readIndex(this.layout);
    const stored = Object.values(index.images)
      .filter((r) => r.references.length > 0)
      .map((r) => this.#summary(r))
      .sort((a, b) => a.name.localeCompare(b.name));
    return [...BUILTIN_IMAGES.map((b) => this.#builtinSummary(b)), ...stored];
  }

  async get(reference: string): Promise<ImageSummary | undefined> {
    const builtin = builtinImage(reference);
    if (builtin) return this.#builtinSummary(builtin);
    const id = this.#resolve(reference);
    const record = id === undefined ? undefined : readIndex(this.layout).images[id];
    return record && this.#summary(record);
  }

  #builtinSummary(b: BuiltinImage): ImageSummary {
    const ready = path.join(builtinDir(this.dir, b.id), 'ready');
    return {
      id: b.id,
      name: b.name,
      references: [...new Set([b.name, ...b.aliases])],
      digest: null,
      source: 'builtin',
      size: 0,
      layers: 1,
      created: new Date(builtAt(ready)).toISOString(),
      config: BUILTIN_CONFIG,
    };
  }

  #summary(r: ImageRecord): ImageSummary {
    return {
      id: r.id,
      name: r.references[0] ?? r.id,
      references: [...r.references],
      digest: r.digest,
      source: r.source,
      size: r.layerSizes.reduce((a, b) => a + b, 0),
      layers: r.layers.length,
      created: r.created,
      config: r.config,
    };
  }

  /**
   * Concurrent pulls of one reference share one: each caller gets the progress, and the pull is cancelled only
   * when every caller that joined it has cancelled (a caller without a signal keeps it going).
   */
  pull(reference: string, options: PullOptions = {}): Promise<ImageSummary> {
    const builtin = builtinImage(reference);
    if (builtin) return this.ensure(builtin.id).then(() => this.#builtinSummary(builtin));
    const ref = parseReference(reference);
    let shared = this.#pulls.get(ref.canonical);
    if (!shared) {
      const key = createHash('sha256').update(ref.canonical).digest('hex').slice(0, 24);
      const listeners = new Set<(p: ImageProgress) => void>();
      const abort = new AbortController();
      const onProgress = (p: ImageProgress) => {
        for (const listener of listeners) listener(p);
      };
      const promise = withLockFile(this.layout.locks, `pull-${key}`, () =>
        this.#pull(ref, { ...options, onProgress, signal: abort.signal }),
      ).finally(() => this.#pulls.delete(ref.canonical));
      const joined: SharedPull = { listeners, live: 0, abort, promise };
      this.#pulls.set(ref.canonical, joined);
      shared = joined;
    }
    return joinPull(shared, options);
  }

  async #pull(ref: ImageReference, options: PullOptions): Promise<ImageSummary> {
    const progress = options.onProgress ?? (() => {});
    progress({ phase: 'resolving', message: `pulling ${ref.canonical}` });
    const args = ['copy', '--quiet=false', '--retry-times', '2'];
    if (options.insecure || isLoopbackRegistry(ref.registry)) args.push('--src-tls-verify=false');
    if (options.username !== undefined) args.push('--src-creds', `${options.username}:${options.password ?? ''}`);
    if (options.authFile !== undefined) args.push('--src-authfile', options.authFile);
    const record = await this.#copyIn(dockerTransport(ref), args, {
      source: 'pulled',
      names: [ref.canonical],
      progress,
      ...(options.signal ? { signal: options.signal } : {}),
      what: ref.canonical,
    });
    progress({ phase: 'done', message: `pulled ${ref.canonical}` });
    return this.#summary(record);
  }

  /** `source` is the store's own: a build imports its result as 'built' (never offered over HTTP). */
  async import(file: string, options: ImportOptions & { source?: 'imported' | 'built' } = {}): Promise<ImageSummary[]> {
    const progress = options.onProgress ?? (() => {});
    const abs = path.resolve(file);
    progress({ phase: 'resolving', message: `reading ${abs}` });
    const images = await importImages(abs);
    const name = options.name === undefined ? undefined : parseReference(options.name).canonical;
    if (name !== undefined && images.length > 1)
      throw new AppError('bad_request', `'${abs}' holds ${images.length} images: a name applies to one`);
    const out: ImageSummary[] = [];
    for (const image of images) {
      const names = name !== undefined ? [name] : image.names;
      if (names.length === 0) throw new AppError('bad_request', `the image in '${abs}' has no name: give it one (NAME:TAG)`);
      const record = await this.#copyIn(image.source, ['copy', '--quiet=false'], {
        source: options.source ?? 'imported',
        names,
        progress,
        ...(options.signal ? { signal: options.signal } : {}),
        what: abs,
      });
      out.push(this.#summary(record));
    }
    progress({ phase: 'done', message: `imported ${out.map((s) => s.name).join(', ')}` });
    return out;
  }

  async remove(reference: string, options: { force?: boolean } = {}): Promise<void> {
    const builtin = builtinImage(reference);
    if (builtin) throw new AppError('bad_request', `image '${builtin.name}' is builtin: it cannot be removed`);
    const byId = parseImageId(reference);
    const canonical = byId ? undefined : parseReference(reference).canonical;
    await updateIndex(this.layout, async (index) => {
      const record = byId ? index.images[byId] : Object.values(index.images).find((r) => r.references.includes(canonical ?? ''));
      if (!record) throw new AppError('not_found', `image '${reference}' is not in the image store`);
      const left = byId ? [] : record.references.filter((r) => r !== canonical);
      if (left.length === 0 && !options.force && (await imagesInUse(this.layout)).has(record.id))
        throw new AppError('conflict', `image '${reference}' is used by a workspace: delete the workspace first, or force the removal`);
      // Forced: the workspaces keep it (unnamed, unlisted) until the last of them is deleted.
      record.references = left;
      await collect(this.layout, index);
    });
  }

  // ---- Copying in ----

  /** A work directory of this process (`tmp/<pid>-<random>`): a collection running now or later spares its files. */
  async #workDir(): Promise<string> {
    await mkdir(this.layout.tmp, { recursive: true, mode: 0o700 });
    const dir = path.join(this.layout.tmp, `${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    // A barrier: a collection that did not see this directory has finished before any blob is relied on.
    await withLockFile(this.layout.locks, 'index', async () => {});
    return dir;
  }

  /**
   * Copies one image into the blob store with skopeo (blobs already there are not copied again), unpacks its
   * layers (each as soon as its blob has landed, in parallel with the rest of the download), checks them
   * against the config and files the image under `names`.
   */
  async #copyIn(
    source: string,
    args: string[],
    o: { source: ImageSource; names: string[]; progress: (p: ImageProgress) => void; signal?: AbortSignal; what: string },
  ): Promise<ImageRecord> {
    const work = await this.#workDir();
    const unpacks = new Map<string, Promise<LayerInfo>>();
    const unpack = (digest: string) => {
      let p = unpacks.get(digest);
      if (!p) {
        p = (async () => {
          o.progress({ phase: 'unpacking', message: `unpacking layer ${hexOf(digest).slice(0, 12)}`, layer: digest });
          return unpackBlob(this.layout, digest, work, o.signal);
        })();
        // Awaited later; a failure here must not be an unhandled rejection meanwhile.
        p.catch(() => {});
        unpacks.set(digest, p);
      }
      return p;
    };
    let copying = true;
    const early: Promise<unknown>[] = [];
    try {
      const layoutDir = path.join(work, 'layout');
      const copy = skopeo({
        args: [...args, '--dest-shared-blob-dir', this.layout.blobsRoot, source, `oci:${layoutDir}:image`],
        onBlob: (digest) => {
          // The blob file appears (renamed into place) once complete: its layer is unpacked while others download.
          early.push(
            waitFor(this.layout.blob(digest), () => copying).then((there) => {
              if (there) unpack(digest);
            }),
          );
        },
        onProgress: o.progress,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      await copy.catch((err: unknown) => {
        if (err instanceof SkopeoError) {
          const notFound = /manifest unknown|not found|name unknown|no such file|does not exist/i.test(err.message);
          const auth = /unauthorized|authentication required|denied/i.test(err.message);
          const code = notFound ? 'not_found' : auth ? 'forbidden' : 'bad_request';
          throw new AppError(code, `cannot copy ${o.what}: ${err.message}`);
        }
        throw err;
      });
      copying = false;
      await Promise.all(early);
      const record = await this.#readCopied(layoutDir, o.source, o.names, unpack, o.what);
      return await updateIndex(this.layout, async (index) => {
        // A collection between the unpack and now may have taken a layer no image named yet: unpacked again.
        for (const [i, diffId] of record.layers.entries()) {
          if (!existsSync(this.layout.layer(diffId))) {
            await unpackBlob(this.layout, record.blobs[i + 2] as string, work, o.signal);
          }
        }
        const existing = index.images[record.id];
        for (const other of Object.values(index.images)) other.references = other.references.filter((r) => !o.names.includes(r));
        index.images[record.id] = existing ? { ...existing, references: [...new Set([...o.names, ...existing.references])] } : record;
        await collect(this.layout, index, work);
        return index.images[record.id] as ImageRecord;
      });
    } finally {
      copying = false;
      await Promise.allSettled([...early, ...unpacks.values()]);
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Reads what skopeo wrote (the layout's one manifest, its config) and unpacks and checks every layer. */
  async #readCopied(
    layoutDir: string,
    source: ImageSource,
    names: string[],
    unpack: (digest: string) => Promise<LayerInfo>,
    what: string,
  ): Promise<ImageRecord> {
    const json = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as unknown;
    const ociIndex = (await json(path.join(layoutDir, 'index.json'))) as { manifests?: Array<{ digest?: string; size?: number }> };
    const entry = ociIndex.manifests?.[0];
    if (!entry?.digest || !LOOSE_ID.test(entry.digest)) throw new AppError('bad_request', `${what}: the copied image has no manifest`);
    const manifest = (await json(this.layout.blob(entry.digest))) as OciManifest;
    const configDigest = manifest.config?.digest;
    const layerBlobs = (manifest.layers ?? []).map((l) => l.digest ?? '');
    if (!configDigest || !LOOSE_ID.test(configDigest) || !layerBlobs.every((d) => LOOSE_ID.test(d)))
      throw new AppError('bad_request', `${what}: the image's manifest is not valid`);
    let parsed: ReturnType<typeof parseImageConfig>;
    try {
      parsed = parseImageConfig(await json(this.layout.blob(configDigest)));
    } catch (err) {
      throw new AppError('bad_request', `${what}: ${err instanceof ImageConfigError ? err.message : 'the image config is not JSON'}`);
    }
    if (parsed.diffIds.length !== layerBlobs.length)
      throw new AppError('bad_request', `${what}: the config lists ${parsed.diffIds.length} layers, the manifest ${layerBlobs.length}`);
    const layers = await Promise.all(
      layerBlobs.map((d) =>
        unpack(d).catch((err: unknown) => {
          if (err instanceof TarError) throw new AppError('bad_request', `${what}: layer ${d} is refused: ${err.message}`);
          throw err;
        }),
      ),
    );
    for (const [i, layer] of layers.entries()) {
      if (layer.diffId !== parsed.diffIds[i])
        throw new AppError(
          'bad_request',
          `${what}: layer ${layerBlobs[i]} unpacks to ${layer.diffId}, the config says ${parsed.diffIds[i]}`,
        );
    }
    return {
      id: configDigest,
      digest: entry.digest,
      manifestSize: entry.size ?? 0,
      source,
      references: [...names],
      layers: parsed.diffIds,
      layerSizes: layers.map((l) => l.size),
      blobs: [entry.digest, configDigest, ...layerBlobs],
      config: parsed.config,
      created: parsed.created ?? new Date().toISOString(),
    };
  }
}

/** When the builtin image was built (its `ready` file holds the time), in ms; 0 when unknown. */
function builtAt(readyFile: string): number {
  try {
    const t = Date.parse(readFileSync(readyFile, 'utf8').trim());
    return Number.isNaN(t) ? 0 : t;
  } catch {
    return 0;
  }
}

/** Waits until `file` exists (true) or `waiting()` turns false without it (false). */
async function waitFor(file: string, waiting: () => boolean): Promise<boolean> {
  for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
    if (existsSync(file)) return true;
    if (!waiting()) return existsSync(file);
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** A pull in flight and the callers waiting on it. */
interface SharedPull {
  listeners: Set<(p: ImageProgress) => void>;
  /** Callers that may still want it (those without a signal count for ever). */
  live: number;
  abort: AbortController;
  promise: Promise<ImageSummary>;
}

function joinPull(shared: SharedPull, options: PullOptions): Promise<ImageSummary> {
  const { onProgress, signal } = options;
  if (onProgress) shared.listeners.add(onProgress);
  const leave = () => {
    if (onProgress) shared.listeners.delete(onProgress);
  };
  shared.live += 1;
  if (signal) {
    const drop = () => {
      shared.live -= 1;
      if (shared.live === 0) shared.abort.abort(signal.reason);
    };
    if (signal.aborted) drop();
    else signal.addEventListener('abort', drop, { once: true });
  }
  // A caller that cancelled gets its own rejection at once, whether or not the shared pull goes on.
  const own = signal
    ? Promise.race([
        shared.promise,
        new Promise<never>((_, reject) => {
          if (signal.aborted) reject(signal.reason);
          else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
      ])
    : shared.promise;
  return own.finally(leave);
}
