// Versioned archives (the official SDK's `snapshots.createArchive|listArchives|getArchive|deleteArchive|
// deleteAllArchives`), their download, and `POST /workspace {"from_archive": …}`: a new workspace filled from
// an archive of this Cove (its owner's workspace and version) or an uploaded one (archive-uploads.ts) before
// it first starts.
import path from 'node:path';
import {
  AppError,
  ARCHIVE_FORMATS,
  ARCHIVE_VERSION_PATTERN,
  type ArchiveCreateBody,
  type ArchiveFormat,
  type ArchiveInfo,
} from '@cove/protocol';
import { uploadsOf } from './archive-uploads.js';
import { type ControlContext, ownedWorkspace } from './context.js';
import { driverSnapshots } from './snapshots.js';

const VERSION = new RegExp(ARCHIVE_VERSION_PATTERN);

/** Format names clients use for the two formats. */
const FORMAT_ALIASES: Record<string, ArchiveFormat> = {
  'tar.zst': 'tar.zst',
  'tar.zstd': 'tar.zst',
  zst: 'tar.zst',
  zstd: 'tar.zst',
  'tar.gz': 'tar.gz',
  tgz: 'tar.gz',
  gz: 'tar.gz',
  gzip: 'tar.gz',
};

export function presentArchive(info: ArchiveInfo) {
  return {
    version: info.version,
    workspace_id: info.workspaceId,
    format: info.format,
    size: info.sizeBytes,
    sha256: info.sha256,
    created_at: info.createdAt,
    vm_paths: info.vmPaths,
    exclude_vm_paths: info.excludeVmPaths,
    image: info.image,
    download_path: `/workspace/${info.workspaceId}/archives/${encodeURIComponent(info.version)}/download`,
    memory: false,
  };
}

function shown(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 80);
}

/** An absolute path inside the workspace, normalised; `..`, NUL and relative paths are refused. */
export function vmPath(raw: string, field: string): string {
  if (!raw.startsWith('/')) throw new AppError('bad_request', `${field}: '${shown(raw)}' is not an absolute path`);
  if (raw.includes('\0')) throw new AppError('bad_request', `${field}: a path holds a NUL byte`);
  if (raw.split('/').includes('..')) throw new AppError('bad_request', `${field}: '${shown(raw)}' has a '..' component`);
  const normal = path.posix.normalize(raw);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

function archiveVersion(raw: string): string {
  if (!VERSION.test(raw)) {
    throw new AppError(
      'bad_request',
      `version '${shown(raw)}' is not valid: letters, digits, '.', '_' and '-', up to 64, not starting with '.'`,
    );
  }
  return raw;
}

/** A version nobody chose: the time, to the millisecond (sorts in creation order). */
function defaultVersion(): string {
  return `v${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '').replace('Z', '')}`;
}

/** `POST /workspace/:id/archives {version, format, vm_paths, exclude_vm_paths}`. */
export async function createArchive(ctx: ControlContext, owner: string, id: string, body: ArchiveCreateBody) {
  const snapshots = driverSnapshots(ctx);
  await ownedWorkspace(ctx, owner, id);
  const format = FORMAT_ALIASES[(body.format ?? 'tar.zst').toLowerCase()];
  if (!format) throw new AppError('bad_request', `format '${shown(body.format ?? '')}' is not one of ${ARCHIVE_FORMATS.join(', ')}`);
  const request = {
    version: body.version === undefined ? defaultVersion() : archiveVersion(body.version),
    format,
    vmPaths: [...new Set((body.vm_paths ?? []).map((p) => vmPath(p, 'vm_paths')))],
    excludeVmPaths: [...new Set((body.exclude_vm_paths ?? []).map((p) => vmPath(p, 'exclude_vm_paths')))],
  };
  if (request.excludeVmPaths.includes('/')) throw new AppError('bad_request', 'exclude_vm_paths: excluding / leaves nothing');
  const info = await ctx.locks.run(id, () => snapshots.createArchive(id, request));
  return { success: true as const, ...presentArchive(info), archive: presentArchive(info) };
}

export async function listArchives(ctx: ControlContext, owner: string, id: string) {
  const snapshots = driverSnapshots(ctx);
  await ownedWorkspace(ctx, owner, id);
  return { success: true as const, archives: (await snapshots.listArchives(id)).map(presentArchive) };
}

export async function getArchive(ctx: ControlContext, owner: string, id: string, version: string) {
  const snapshots = driverSnapshots(ctx);
  await ownedWorkspace(ctx, owner, id);
  const { info } = await snapshots.archiveFile(id, version);
  return { success: true as const, ...presentArchive(info), archive: presentArchive(info) };
}

/** The archive's file, for the download route. */
export async function archiveDownload(ctx: ControlContext, owner: string, id: string, version: string) {
  const snapshots = driverSnapshots(ctx);
  await ownedWorkspace(ctx, owner, id);
  return snapshots.archiveFile(id, version);
}

const truthy = (v: string | undefined) => v !== undefined && ['true', '1', 'yes'].includes(v.toLowerCase());

export async function deleteArchive(ctx: ControlContext, owner: string, id: string, version: string, deleteFile: string | undefined) {
  const snapshots = driverSnapshots(ctx);
  await ownedWorkspace(ctx, owner, id);
  const info = await ctx.locks.run(id, () => snapshots.deleteArchive(id, version, truthy(deleteFile)));
  return { success: true as const, deleted: true, file_deleted: truthy(deleteFile), archive: presentArchive(info) };
}

export async function deleteAllArchives(ctx: ControlContext, owner: string, id: string, deleteFiles: string | undefined) {
  const snapshots = driverSnapshots(ctx);
  await ownedWorkspace(ctx, owner, id);
  const deleted = await ctx.locks.run(id, async () => {
    const all = await snapshots.listArchives(id);
    for (const a of all) await snapshots.deleteArchive(id, a.version, truthy(deleteFiles));
    return all;
  });
  return { success: true as const, deleted: deleted.length, files_deleted: truthy(deleteFiles), versions: deleted.map((a) => a.version) };
}

/** What a create `from_archive` starts from: the archive's file and image, checked before anything is made. */
export interface ArchiveSeed {
  file: string;
  /** The image the archive's workspace ran (none for an upload: the create's, else the default). */
  image?: string;
  /** Fills the created (not yet started) workspace. */
  unpack(id: string): Promise<void>;
}

const FROM_ARCHIVE_HELP = 'from_archive: give {"workspace_id", "version"} (an archive of this Cove) or {"upload_id"} (an uploaded one)';

/** Reads `from_archive` of a create body (undefined without one); an archive or upload of another account is 404. */
export async function archiveSeed(ctx: ControlContext, owner: string, body: object): Promise<ArchiveSeed | undefined> {
  const raw = (body as { from_archive?: unknown }).from_archive;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null) throw new AppError('bad_request', FROM_ARCHIVE_HELP);
  const given = raw as { workspace_id?: unknown; version?: unknown; upload_id?: unknown };
  if (given.upload_id !== undefined) {
    if (typeof given.upload_id !== 'string' || given.workspace_id !== undefined || given.version !== undefined) {
      throw new AppError('bad_request', FROM_ARCHIVE_HELP);
    }
    const snapshots = driverSnapshots(ctx);
    const uploads = uploadsOf(ctx);
    const upload = uploads.get(owner, given.upload_id);
    return { file: upload.file, unpack: (id) => uploads.reading(upload, (file) => snapshots.unpackArchive(id, file)) };
  }
  if (typeof given.workspace_id !== 'string' || typeof given.version !== 'string') throw new AppError('bad_request', FROM_ARCHIVE_HELP);
  const snapshots = driverSnapshots(ctx);
  const source = await ownedWorkspace(ctx, owner, given.workspace_id);
  const { info, file } = await snapshots.archiveFile(source.id, given.version);
  return { file, image: info.image, unpack: (id) => snapshots.unpackArchive(id, file) };
}
