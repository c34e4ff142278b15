// The build cache is buildah's storage: the bases and one image per step. It is kept between builds (that is
// the cache), capped in size, and emptied on demand (`cove image prune` may call pruneBuildCache).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { run } from '../run-command.js';
import { type BuildSandbox, inBuildSandbox, openBuildSandbox, removeBuildSandbox } from './build-sandbox.js';

/** Past this size after a build the cache is emptied (the next build starts cold). */
export const BUILD_CACHE_MAX_BYTES = 10 * 2 ** 30;

export interface BuildCacheUsage {
  /** Images in buildah's storage: the bases and one per cached step. */
  images: number;
  /** Bytes on disk of that storage. */
  bytes: number;
}

/** Removes working containers a failed or cancelled build left (their images, the cache, stay). */
export async function cleanBuildContainers(sb: BuildSandbox): Promise<void> {
  await inBuildSandbox(sb, ['buildah', 'rm', '--all']);
}

/** Empties the cache once it is larger than `max` bytes. */
export async function capBuildCache(sb: BuildSandbox, max = BUILD_CACHE_MAX_BYTES): Promise<void> {
  if ((await storageBytes(sb)) > max) await emptyCache(sb);
}

/** The cache's size (tools and tests). */
export async function buildCacheUsage(store: { dir: string }): Promise<BuildCacheUsage> {
  if (!existsSync(path.join(store.dir, 'build'))) return { images: 0, bytes: 0 };
  const sb = await openBuildSandbox(store.dir);
  const { code, output } = await inBuildSandbox(sb, ['buildah', 'images', '--all', '--quiet', '--no-trunc']);
  if (code !== 0) throw new Error(`buildah images failed: ${output.trim().slice(-500)}`);
  const images = output.split('\n').filter((l) => /^sha256:[0-9a-f]{64}$/.test(l.trim())).length;
  return { images, bytes: await storageBytes(sb) };
}

/**
 * Empties the build cache. With `all`, removes the build's storage, mount points and id range entirely
 * (the next build makes them again).
 */
export async function pruneBuildCache(store: { dir: string }, options: { all?: boolean } = {}): Promise<void> {
  if (!existsSync(path.join(store.dir, 'build'))) return;
  if (options.all) return removeBuildSandbox(store.dir);
  await emptyCache(await openBuildSandbox(store.dir));
}

async function emptyCache(sb: BuildSandbox): Promise<void> {
  await inBuildSandbox(sb, ['buildah', 'rm', '--all']);
  await inBuildSandbox(sb, ['buildah', 'rmi', '--all', '--force']);
}

async function storageBytes(sb: BuildSandbox): Promise<number> {
  const { stdout } = await run(['du', '-sxb', path.join(sb.stateHost, 'storage')], { timeoutMs: 10 * 60_000 });
  return Number(stdout.split('\t')[0]) || 0;
}
