// Layers: each blob unpacked once into `layers/<diff id hex>` (in a work directory first, renamed into place
// when complete, so a layer directory is always whole), and the blob → layer map that lets a pull skip blobs
// already unpacked.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hexOf, type StoreLayout } from './store-layout.js';
import { unpackLayer } from './unpack-layer.js';

export interface LayerInfo {
  diffId: string;
  size: number;
}

/** The layer a blob unpacks to, when it is known and present. */
export function knownLayer(layout: StoreLayout, blobDigest: string): LayerInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path.join(layout.layerOf, hexOf(blobDigest)), 'utf8')) as LayerInfo;
    return existsSync(layout.layer(info.diffId)) ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Unpacks the blob into its layer directory unless it is there already; gives its diff id and size. */
export async function unpackBlob(layout: StoreLayout, blobDigest: string, workDir: string, signal?: AbortSignal): Promise<LayerInfo> {
  const known = knownLayer(layout, blobDigest);
  if (known) return known;
  const hex = hexOf(blobDigest);
  const dest = path.join(workDir, `layer-${hex}`);
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { mode: 0o755 });
  let info: LayerInfo;
  try {
    info = await unpackLayer(layout.blob(blobDigest), dest, signal);
  } catch (err) {
    await rm(dest, { recursive: true, force: true });
    throw err;
  }
  await mkdir(layout.layers, { recursive: true, mode: 0o700 });
  try {
    await rename(dest, layout.layer(info.diffId));
  } catch (err) {
    // Another process (or pull) unpacked the same layer first: theirs is as good.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    await rm(dest, { recursive: true, force: true });
  }
  await mkdir(layout.layerOf, { recursive: true, mode: 0o700 });
  const map = path.join(layout.layerOf, hex);
  await writeFile(`${map}.${process.pid}`, JSON.stringify(info));
  await rename(`${map}.${process.pid}`, map);
  return info;
}
