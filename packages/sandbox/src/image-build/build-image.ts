// `cove image build`: a Dockerfile built by buildah (Debian's package) into the image store. The store
// provides the bases (pulling those it lacks) and takes the result as an OCI layout; buildah keeps its own
// storage as the build cache (`--layers`: every step an image, reused while the base, the instruction and
// the files it copies are the same). See decisions.md, "Image builds".
import { createHash, randomBytes } from 'node:crypto';
import { chown, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type ImageProgress, type ImageSource, type ImageSummary, type ImportOptions, type PullOptions } from '@cove/protocol';
import { parseReference } from '../images/reference.js';
import { StoreLayout } from '../images/store-layout.js';
import { capBuildCache, cleanBuildContainers } from './build-cache.js';
import { BuildLog } from './build-log.js';
import { type BuildSandbox, inBuildSandbox, openBuildSandbox, SandboxAborted, viewPath } from './build-sandbox.js';
import { baseImages } from './dockerfile.js';

/** What a build needs of the image store. */
export interface BuildImageStore {
  /** The images directory: the build keeps its cache in `<dir>/build`. */
  readonly dir: string;
  get(reference: string): Promise<ImageSummary | undefined>;
  pull(reference: string, options?: PullOptions): Promise<ImageSummary>;
  /** Imports the built image (an OCI layout directory) under its name, with `source: 'built'`. */
  import(path: string, options?: ImportOptions & { source?: ImageSource }): Promise<ImageSummary[]>;
}

export interface BuildImageOptions {
  /** The build context: the directory COPY and ADD read from. */
  context: string;
  /** The Dockerfile (relative to the working directory, as `docker build -f`); else `Dockerfile` (or `Containerfile`) in the context. */
  dockerfile?: string;
  /** The built image's name, `NAME:TAG`. */
  tag: string;
  /** `--build-arg` values. */
  buildArgs?: Record<string, string>;
  /** Builds every step again (the cache is neither read nor needed). */
  noCache?: boolean;
  onProgress?: (p: ImageProgress) => void;
  signal?: AbortSignal;
}

/** The largest Dockerfile read (Docker's own limit is far larger; a bigger one is almost surely a mistake). */
const DOCKERFILE_MAX = 1 << 20;

/**
 * Builds the Dockerfile into the store as `options.tag`. Bases the store lacks are pulled first. A missing
 * context or Dockerfile, a malformed tag or build argument, and a failing step are `bad_request` (the last
 * naming the step and ending with its output).
 */
export async function buildImage(store: BuildImageStore, options: BuildImageOptions): Promise<ImageSummary> {
  const tag = parseReference(options.tag);
  if (tag.digest !== null) throw new AppError('bad_request', `a build's tag is NAME:TAG, not a digest ('${options.tag}')`);
  const buildArgs = options.buildArgs ?? {};
  for (const [key, value] of Object.entries(buildArgs)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new AppError('bad_request', `invalid build argument name '${key}'`);
    if (typeof value !== 'string' || value.includes('\0')) throw new AppError('bad_request', `invalid value for build argument '${key}'`);
  }
  const context = path.resolve(options.context);
  const contextStat = await stat(context).catch(() => undefined);
  if (!contextStat?.isDirectory()) throw new AppError('bad_request', `the build context ${context} is not a directory`);
  const dockerfile = await findDockerfile(context, options.dockerfile);
  const text = await readFile(dockerfile, 'utf8');
  const bases = baseImages(text, buildArgs);
  const onProgress = options.onProgress;
  const signal = options.signal;

  // The bases, from the store (pulled when it lacks them): buildah itself never reaches a registry.
  const baseSummaries: Array<{ names: string[]; summary: ImageSummary }> = [];
  for (const base of bases) {
    const ref = parseReference(base.reference);
    onProgress?.({ phase: 'resolving', message: `base image ${ref.canonical}` });
    const summary = (await store.get(ref.canonical)) ?? (await store.pull(ref.canonical, withDefined({ onProgress, signal })));
    if (summary.digest === null)
      throw new AppError(
        'bad_request',
        `Dockerfile line ${base.line}: '${base.reference}' is a builtin image, which cannot be a base; use an OCI image`,
      );
    // buildah looks the FROM text up by name: the canonical reference (`busybox` → docker.io/library/busybox:latest).
    const names = [...new Set([ref.digest === null ? ref.canonical : undefined, summary.name].filter((n): n is string => !!n))];
    baseSummaries.push({ names, summary });
  }

  const sb = await openBuildSandbox(store.dir);
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const workHost = path.join(sb.stateHost, 'builds', id);
  const work = path.join(sb.state, 'builds', id);
  await mkdir(workHost, { mode: 0o700 });
  await chown(workHost, sb.range.base, sb.range.base);
  let failed = true;
  try {
    await writeFile(path.join(workHost, 'Dockerfile'), text, { mode: 0o644 });
    const blobs = new StoreLayout(store.dir).blobsRoot;
    for (const [i, { names, summary }] of baseSummaries.entries()) await loadBase(sb, work, workHost, i, blobs, summary, names, signal);

    const log = new BuildLog(onProgress);
    const bud = await inBuildSandbox(
      sb,
      [
        'buildah',
        'bud',
        '--layers',
        '--pull-never',
        '--isolation',
        'chroot',
        '--force-rm',
        '--format',
        'oci',
        '--signature-policy',
        `${sb.state}/etc/policy.json`,
        '--iidfile',
        `${work}/iid`,
        '-f',
        `${work}/Dockerfile`,
        ...(options.noCache ? ['--no-cache'] : []),
        ...Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
        viewPath(sb, 'context'),
      ],
      withDefined({ views: { context }, onLine: (l: string) => log.line(l), signal }),
    );
    if (bud.code !== 0) throw log.failure();
    const imageId = (await readFile(path.join(workHost, 'iid'), 'utf8')).trim();

    const push = await inBuildSandbox(
      sb,
      ['buildah', 'push', '--quiet', '--signature-policy', `${sb.state}/etc/policy.json`, imageId, `oci:${work}/out:build`],
      withDefined({ signal }),
    );
    if (push.code !== 0) throw new AppError('internal_error', `the built image could not be exported: ${lastLines(push.output)}`);
    const [summary] = await store.import(
      path.join(workHost, 'out'),
      withDefined({
        name: tag.canonical,
        source: 'built' as const,
        // The import's own progress, but one 'done': the build's, below.
        onProgress: onProgress && ((p: ImageProgress) => p.phase !== 'done' && onProgress(p)),
        signal,
      }),
    );
    if (!summary) throw new AppError('internal_error', 'the store imported nothing from the build');
    failed = false;
    onProgress?.({ phase: 'done', message: `built ${summary.name} (${log.cached} of ${log.steps} steps from the cache)` });
    return summary;
  } catch (err) {
    if (err instanceof SandboxAborted)
      throw signal?.reason instanceof Error ? signal.reason : new AppError('bad_request', 'the build was cancelled');
    throw err;
  } finally {
    await rm(workHost, { recursive: true, force: true });
    // A failed or cancelled step leaves its working container: removed (its image layers stay, as cache).
    if (failed) await cleanBuildContainers(sb).catch(() => {});
    else await capBuildCache(sb).catch(() => {});
  }
}

/** The Dockerfile: the given path, else `Dockerfile` then `Containerfile` in the context; a missing one is bad_request. */
async function findDockerfile(context: string, given: string | undefined): Promise<string> {
  const candidates = given !== undefined ? [path.resolve(given)] : [path.join(context, 'Dockerfile'), path.join(context, 'Containerfile')];
  for (const file of candidates) {
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) continue;
    if (s.size > DOCKERFILE_MAX) throw new AppError('bad_request', `the Dockerfile ${file} is larger than ${DOCKERFILE_MAX} bytes`);
    return file;
  }
  throw new AppError(
    'bad_request',
    given !== undefined ? `no Dockerfile at ${candidates[0]}` : `no Dockerfile (or Containerfile) in ${context}`,
  );
}

/**
 * Puts a base into buildah's storage under the names the FROM line may use. The layout skopeo reads is a
 * small one of links into the store's blobs (seen through a read-only view), so nothing is copied for it;
 * layers buildah has already are not stored again, and the image keeps its id, which the cache is keyed on.
 */
async function loadBase(
  sb: BuildSandbox,
  work: string,
  workHost: string,
  i: number,
  blobs: string,
  summary: ImageSummary,
  names: string[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const [first, ...more] = names;
  if (!first) return;
  const layout = await baseLayout(path.join(workHost, `base-${i}`), blobs, viewPath(sb, 'blobs'), summary);
  const copy = await inBuildSandbox(
    sb,
    [
      'skopeo',
      '--policy',
      `${sb.state}/etc/policy.json`,
      'copy',
      '--quiet',
      `oci:${work}/base-${i}:${layout}`,
      `containers-storage:${first}`,
    ],
    withDefined({ views: { blobs }, signal }),
  );
  if (copy.code !== 0)
    throw new AppError('internal_error', `the base image ${summary.name} could not be given to buildah: ${lastLines(copy.output)}`);
  if (more.length > 0) {
    const tag = await inBuildSandbox(sb, ['buildah', 'tag', first, ...more], withDefined({ signal }));
    if (tag.code !== 0) throw new AppError('internal_error', `the base image ${summary.name} could not be named: ${lastLines(tag.output)}`);
  }
}

interface Manifest {
  mediaType?: string;
  config: { digest: string; size: number; mediaType?: string };
  layers: Array<{ digest: string }>;
}

interface HistoryEntry {
  created?: string;
  created_by?: string;
  empty_layer?: boolean;
}

/**
 * Writes an OCI layout at `dir` holding the image: its blobs are symbolic links to `blobsInside` (where the
 * store's blobs are seen in the sandbox). An image whose config has no history for its layers (tools other
 * than Docker and buildah make such images) gets one, in a config of its own: buildah 1.28 refuses to commit
 * a step on top of it ("history lists 0 non-empty layers"). Gives the layout's reference name.
 */
async function baseLayout(dir: string, blobs: string, blobsInside: string, summary: ImageSummary): Promise<string> {
  const hex = (digest: string) => digest.replace(/^sha256:/, '');
  const readBlob = (digest: string) =>
    readFile(path.join(blobs, 'sha256', hex(digest))).catch(() => {
      throw new AppError('internal_error', `the store lacks the blob ${digest} of ${summary.name}`);
    });
  let manifestBlob = await readBlob(summary.digest ?? '');
  const manifest = JSON.parse(manifestBlob.toString('utf8')) as Manifest;
  const config = JSON.parse((await readBlob(manifest.config.digest)).toString('utf8')) as { created?: string; history?: HistoryEntry[] };
  const out = path.join(dir, 'blobs', 'sha256');
  await mkdir(out, { recursive: true, mode: 0o755 });
  const link = (digest: string) => symlink(path.join(blobsInside, 'sha256', hex(digest)), path.join(out, hex(digest)));
  const withLayers = (config.history ?? []).filter((h) => !h.empty_layer).length;
  if (withLayers === manifest.layers.length) {
    await link(manifest.config.digest);
  } else {
    config.history = manifest.layers.map(() => ({
      created: config.created ?? new Date(0).toISOString(),
      created_by: 'layer without history',
    }));
    const configBlob = Buffer.from(JSON.stringify(config));
    manifest.config = { ...manifest.config, digest: sha256(configBlob), size: configBlob.length };
    await writeFile(path.join(out, hex(manifest.config.digest)), configBlob, { mode: 0o644 });
    manifestBlob = Buffer.from(JSON.stringify(manifest));
  }
  for (const layer of manifest.layers) await link(layer.digest).catch(ignoreExisting);
  const manifestDigest = sha256(manifestBlob);
  await writeFile(path.join(out, hex(manifestDigest)), manifestBlob, { mode: 0o644 });
  const mediaType = manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
  const index = {
    schemaVersion: 2,
    manifests: [
      { mediaType, digest: manifestDigest, size: manifestBlob.length, annotations: { 'org.opencontainers.image.ref.name': 'base' } },
    ],
  };
  await writeFile(path.join(dir, 'index.json'), `${JSON.stringify(index)}\n`, { mode: 0o644 });
  await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n', { mode: 0o644 });
  return 'base';
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function ignoreExisting(err: NodeJS.ErrnoException): void {
  // The same layer twice in one image: linked once.
  if (err.code !== 'EEXIST') throw err;
}

function lastLines(output: string): string {
  return output.trim().split('\n').slice(-5).join('\n').slice(0, 1000);
}

/** The object without its undefined members (the options types are exact: `exactOptionalPropertyTypes`). */
function withDefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

export { type BuildCacheUsage, buildCacheUsage, pruneBuildCache } from './build-cache.js';
