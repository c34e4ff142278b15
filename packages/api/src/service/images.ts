import {
  AppError,
  IMAGE_CATEGORIES,
  type ImageCatalog,
  type ImageCategory,
  type ImageListQuery,
  type ImageSummary,
  isImageReference,
  type PullOptions,
  type WorkspaceDriver,
} from '@cove/protocol';

/**
 * Images as the control plane shows them: the driver's store (`driver.images`) behind the official SDK's
 * catalog shape. Images are host-wide, shared by every account on this control plane.
 */

/** What a driver without an image store runs workspaces on: the host's own files (the process driver). */
const HOST_IMAGE: ImageSummary = {
  id: 'host',
  name: 'host',
  references: ['host'],
  digest: null,
  source: 'builtin',
  size: 0,
  layers: 0,
  created: new Date().toISOString(),
  config: { env: [], workingDir: null, user: null, entrypoint: null, cmd: null },
};

const NO_STORE = (driver: WorkspaceDriver) =>
  `the ${driver.name} driver has no image store: its workspaces run on the host's own files (the sandbox driver has one)`;

/** The driver's store, or 409 where it has none. */
export function catalogOf(driver: WorkspaceDriver): ImageCatalog {
  if (!driver.images) throw new AppError('conflict', NO_STORE(driver));
  return driver.images;
}

/** A reference from a request, checked before any store sees it. */
export function checkReference(reference: string, what = 'image'): string {
  if (!isImageReference(reference)) {
    throw new AppError(
      'bad_request',
      `invalid ${what} reference '${printable(reference)}': expected NAME[:TAG][@DIGEST], e.g. python:3.12-slim`,
    );
  }
  return reference;
}

/** A hostile reference is echoed without control characters and cut short. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}

// How an image gets a category: its repository's last path component (`ghcr.io/org/python` → `python`)
// against these lists of well-known Docker Hub names; builtin images are system roots (`os`); anything
// else is `custom`. A name-based rule cannot know what an arbitrary image holds, so it stays this small.
const CATEGORY_NAMES: Record<Exclude<ImageCategory, 'custom'>, readonly string[]> = {
  os: ['debian', 'ubuntu', 'alpine', 'busybox', 'fedora', 'centos', 'rockylinux', 'almalinux', 'archlinux', 'opensuse', 'amazonlinux'],
  runtime: [
    'python',
    'node',
    'golang',
    'ruby',
    'openjdk',
    'eclipse-temurin',
    'amazoncorretto',
    'php',
    'perl',
    'rust',
    'erlang',
    'elixir',
    'bun',
    'deno',
  ],
  database: ['postgres', 'mysql', 'mariadb', 'redis', 'valkey', 'mongo', 'memcached', 'cassandra', 'couchdb', 'clickhouse'],
  infra: ['nginx', 'httpd', 'caddy', 'traefik', 'haproxy', 'registry'],
  devtools: ['buildpack-deps', 'gcc', 'maven', 'gradle', 'docker'],
};

/** `docker.io/library/python:3.12-slim` → `python`; `127.0.0.1:5000/team/base:1` → `base`. */
function repositoryName(reference: string): string {
  const path = reference.split('@')[0] ?? '';
  const last = path.slice(path.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon < 0 ? last : last.slice(0, colon);
}

export function categoryOf(image: ImageSummary): ImageCategory {
  if (image.source === 'builtin') return 'os';
  const repo = repositoryName(image.name);
  for (const [category, names] of Object.entries(CATEGORY_NAMES)) {
    if (names.includes(repo)) return category as ImageCategory;
  }
  return 'custom';
}

/** The reference as Docker shows it: `docker.io/library/python:3.12-slim` → `python:3.12-slim`. */
export function familiar(reference: string): string {
  if (reference.startsWith('docker.io/library/')) return reference.slice('docker.io/library/'.length);
  if (reference.startsWith('docker.io/')) return reference.slice('docker.io/'.length);
  return reference;
}

function describe(image: ImageSummary): string {
  const what =
    image.id === HOST_IMAGE.id && image.source === 'builtin' && image.layers === 0
      ? "the host's own files (workspaces run as plain processes)"
      : {
          builtin: "Cove's built-in image",
          pulled: `pulled from ${image.name.slice(0, image.name.indexOf('/')) || 'a registry'}`,
          imported: 'imported from an archive',
          built: 'built from a Dockerfile',
        }[image.source];
  if (image.layers === 0) return what;
  return `${what}; ${image.layers} layer${image.layers === 1 ? '' : 's'}, ${mebibytes(image.size)}`;
}

const mebibytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MiB`;

/** An image as the routes answer it: the official SDK's catalog fields, then the store's. */
export function presentImage(image: ImageSummary) {
  const short = familiar(image.name);
  return {
    id: image.id,
    image: short,
    label: short,
    desc: describe(image),
    category: categoryOf(image),
    name: image.name,
    references: image.references,
    digest: image.digest,
    source: image.source,
    size: image.size,
    layers: image.layers,
    created: image.created,
    config: {
      env: image.config.env,
      working_dir: image.config.workingDir,
      user: image.config.user,
      entrypoint: image.config.entrypoint,
      cmd: image.config.cmd,
    },
  };
}

export type ImageEntry = ReturnType<typeof presentImage>;

/** `GET /workspace/images`: every image, filtered by `search` (id, references, label, description) and `category`. */
export async function listImages(driver: WorkspaceDriver, query: ImageListQuery) {
  const summaries = driver.images ? await driver.images.list() : [HOST_IMAGE];
  const search = query.search?.trim().toLowerCase() ?? '';
  const category = query.category?.trim().toLowerCase() ?? '';
  const images = summaries
    .map(presentImage)
    .filter((e) => category === '' || category === 'all' || e.category === category)
    .filter((e) => search === '' || [e.id, e.label, e.desc, e.name, ...e.references].some((text) => text.toLowerCase().includes(search)))
    .sort((a, b) => a.label.localeCompare(b.label));
  return { success: true as const, images, categories: IMAGE_CATEGORIES.map((c) => ({ id: c.id, label: c.label })) };
}

/** `GET /workspace/images/<reference>`. */
export async function getImage(driver: WorkspaceDriver, reference: string): Promise<ImageEntry> {
  checkReference(reference);
  const found = driver.images ? await driver.images.get(reference) : reference === HOST_IMAGE.name ? HOST_IMAGE : undefined;
  if (!found) {
    throw new AppError(
      'not_found',
      driver.images ? `image '${reference}' not found: pull it first` : `image '${reference}' not found: ${NO_STORE(driver)}`,
    );
  }
  return presentImage(found);
}

export interface PullRequest {
  image: string;
  username?: string | undefined;
  password?: string | undefined;
  insecure?: boolean | undefined;
}

/** What refuses a pull before it starts: a bad reference, half a credential, a driver without a store. */
export function checkPull(driver: WorkspaceDriver, request: PullRequest): ImageCatalog {
  checkReference(request.image);
  if ((request.username === undefined) !== (request.password === undefined)) {
    throw new AppError('bad_request', 'username and password go together');
  }
  return catalogOf(driver);
}

/** `POST /workspace/images/pull`. */
export async function pullImage(
  driver: WorkspaceDriver,
  request: PullRequest,
  hooks: Pick<PullOptions, 'onProgress' | 'signal'> = {},
): Promise<ImageEntry> {
  const catalog = checkPull(driver, request);
  const options: PullOptions = { ...hooks };
  if (request.username !== undefined) options.username = request.username;
  if (request.password !== undefined) options.password = request.password;
  if (request.insecure !== undefined) options.insecure = request.insecure;
  return presentImage(await catalog.pull(request.image, options));
}

/** `DELETE /workspace/images/<reference>`. */
export async function removeImage(driver: WorkspaceDriver, reference: string, force: boolean): Promise<void> {
  checkReference(reference);
  await catalogOf(driver).remove(reference, { force });
}
