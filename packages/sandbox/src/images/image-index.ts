// The index of an images directory (`index.json`): every image the store has, by id, with the references
// that name it. Read without a lock (it is only ever replaced by rename, whole); changed under the index lock
// by any process, which then also collects what no image needs any more.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageConfig, ImageSource } from '@cove/protocol';
import { withLockFile } from '../lock-file.js';
import { processAlive } from '../process-alive.js';
import { hexOf, type StoreLayout } from './store-layout.js';

export interface ImageRecord {
  /** `sha256:` of the image config. */
  id: string;
  /** The manifest's digest and size. */
  digest: string;
  manifestSize: number;
  source: ImageSource;
  /** Canonical references naming it; none while only workspaces keep it (removed with force). */
  references: string[];
  /** Diff ids, bottom first (as the config lists them), and each layer's unpacked size. */
  layers: string[];
  layerSizes: number[];
  /** Every blob of it (manifest, config, layers): what the blob store keeps for it. */
  blobs: string[];
  config: ImageConfig;
  created: string;
}

export interface IndexFile {
  version: 1;
  images: Record<string, ImageRecord>;
}

export function readIndex(layout: StoreLayout): IndexFile {
  try {
    const doc = JSON.parse(readFileSync(layout.index, 'utf8')) as IndexFile;
    if (doc.version === 1 && typeof doc.images === 'object') return doc;
  } catch {
    // None yet (or unreadable: a store starts empty rather than refusing to open).
  }
  return { version: 1, images: {} };
}

/** The image a canonical reference names, if any. */
export function byReference(index: IndexFile, canonical: string): ImageRecord | undefined {
  return Object.values(index.images).find((r) => r.references.includes(canonical));
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}

/** Runs `fn` on the index under its lock and writes it back; `fn` may also touch the files the index names. */
export function updateIndex<T>(layout: StoreLayout, fn: (index: IndexFile) => Promise<T> | T): Promise<T> {
  return withLockFile(layout.locks, 'index', async () => {
    await mkdir(layout.dir, { recursive: true, mode: 0o755 });
    const index = readIndex(layout);
    const result = await fn(index);
    await writeAtomic(layout.index, JSON.stringify(index));
    await writeOciIndex(layout, index);
    return result;
  });
}

/** The blob store's own index.json: the images' manifests by reference, so OCI tools can read the store. */
async function writeOciIndex(layout: StoreLayout, index: IndexFile): Promise<void> {
  await mkdir(layout.oci, { recursive: true, mode: 0o755 });
  if (!existsSync(path.join(layout.oci, 'oci-layout')))
    await writeAtomic(path.join(layout.oci, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const manifests = Object.values(index.images).flatMap((r) =>
    (r.references.length > 0 ? r.references : [r.id]).map((ref) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: r.digest,
      size: r.manifestSize,
      annotations: { 'org.opencontainers.image.ref.name': ref },
    })),
  );
  await writeAtomic(path.join(layout.oci, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
}

/** The file recording that the slot at `slotDir` uses an image. */
function useFile(layout: StoreLayout, slotDir: string): string {
  return path.join(layout.uses, `${createHash('sha256').update(slotDir).digest('hex').slice(0, 32)}.json`);
}

export async function recordUse(layout: StoreLayout, imageId: string, slotDir: string): Promise<void> {
  await mkdir(layout.uses, { recursive: true, mode: 0o700 });
  await writeAtomic(useFile(layout, slotDir), JSON.stringify({ image: imageId, slot: slotDir }));
}

export async function dropUse(layout: StoreLayout, slotDir: string): Promise<void> {
  await rm(useFile(layout, slotDir), { force: true });
}

/** The images some workspace uses (a use whose slot directory is gone is stale and dropped). */
export async function imagesInUse(layout: StoreLayout): Promise<Set<string>> {
  const used = new Set<string>();
  for (const name of await readdir(layout.uses).catch(() => [] as string[])) {
    const file = path.join(layout.uses, name);
    const use = await readFile(file, 'utf8')
      .then((t) => JSON.parse(t) as { image: string; slot: string })
      .catch(() => undefined);
    if (use && existsSync(use.slot)) used.add(use.image);
    else if (use) await rm(file, { force: true });
  }
  return used;
}

/** A work directory's name: `<pid>-<random>`; it is in progress while that process lives. */
export function workDirAlive(name: string): boolean {
  const pid = Number(name.split('-')[0]);
  return Number.isInteger(pid) && pid > 0 && processAlive(pid);
}

/**
 * Collects garbage, under the index lock: images no reference names and no workspace uses, then (unless
 * another pull or import is in progress, whose blobs and layers no image names yet) the layers and blobs no
 * image has, and work directories of processes that died.
 */
export async function collect(layout: StoreLayout, index: IndexFile, ownWork?: string): Promise<void> {
  const used = await imagesInUse(layout);
  for (const [id, r] of Object.entries(index.images)) if (r.references.length === 0 && !used.has(id)) delete index.images[id];
  let busy = false;
  for (const name of await readdir(layout.tmp).catch(() => [] as string[])) {
    const dir = path.join(layout.tmp, name);
    if (dir === ownWork) continue;
    if (workDirAlive(name)) busy = true;
    else await rm(dir, { recursive: true, force: true });
  }
  if (busy) return;
  const layers = new Set(Object.values(index.images).flatMap((r) => r.layers.map(hexOf)));
  const blobs = new Set(Object.values(index.images).flatMap((r) => r.blobs.map(hexOf)));
  for (const name of await readdir(layout.layers).catch(() => [] as string[])) {
    if (layers.has(name)) continue;
    // Renamed out first: a layer directory is whole or absent, never half deleted.
    const trash = path.join(layout.tmp, `${process.pid}-gc-${name}`);
    await mkdir(layout.tmp, { recursive: true, mode: 0o700 });
    await rename(path.join(layout.layers, name), trash);
    await rm(trash, { recursive: true, force: true });
  }
  const blobDir = path.join(layout.blobsRoot, 'sha256');
  for (const name of await readdir(blobDir).catch(() => [] as string[])) if (!blobs.has(name)) await unlink(path.join(blobDir, name));
  for (const name of await readdir(layout.layerOf).catch(() => [] as string[])) {
    if (!blobs.has(name)) await rm(path.join(layout.layerOf, name), { force: true });
  }
}
