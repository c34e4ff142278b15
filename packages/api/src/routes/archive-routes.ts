import { createReadStream } from 'node:fs';
import {
  ArchiveCreateBody,
  ArchiveDeleteQuery,
  ArchiveDeleteResponse,
  ArchiveListResponse,
  ArchiveParams,
  ArchiveResponse,
  ArchivesDeleteQuery,
  ErrorResponse,
  WorkspaceIdParams,
} from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import {
  archiveDownload,
  createArchive,
  deleteAllArchives,
  deleteArchive,
  getArchive,
  listArchives,
} from '../service/archives.js';
import type { ControlContext } from '../service/context.js';

const tags = ['snapshots'];
const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

const CONTENT_TYPES: Record<string, string> = { 'tar.zst': 'application/zstd', 'tar.gz': 'application/gzip' };

/** Versioned archives of a workspace's file system (the official SDK's `snapshots.*Archive*`), and their download. */
export function archiveRoutes(app: ApiApp, ctx: ControlContext): void {
  app.post(
    '/workspace/:id/archives',
    {
      schema: {
        tags,
        summary: 'Archive the file system (or vm_paths minus exclude_vm_paths) as a versioned tar.zst or tar.gz',
        params: WorkspaceIdParams,
        body: ArchiveCreateBody,
        response: { 200: ArchiveResponse, ...errors },
      },
    },
    (r) => createArchive(ctx, r.coveOwner, r.params.id, r.body ?? {}),
  );

  app.get(
    '/workspace/:id/archives',
    { schema: { tags, summary: 'List archives', params: WorkspaceIdParams, response: { 200: ArchiveListResponse, ...errors } } },
    (r) => listArchives(ctx, r.coveOwner, r.params.id),
  );

  app.delete(
    '/workspace/:id/archives',
    {
      schema: {
        tags,
        summary: 'Delete every archive (delete_files=true: their files too)',
        params: WorkspaceIdParams,
        querystring: ArchivesDeleteQuery,
        response: { 200: ArchiveDeleteResponse, ...errors },
      },
    },
    (r) => deleteAllArchives(ctx, r.coveOwner, r.params.id, r.query.delete_files),
  );

  app.get(
    '/workspace/:id/archives/:version',
    { schema: { tags, summary: 'One archive', params: ArchiveParams, response: { 200: ArchiveResponse, ...errors } } },
    (r) => getArchive(ctx, r.coveOwner, r.params.id, r.params.version),
  );

  app.delete(
    '/workspace/:id/archives/:version',
    {
      schema: {
        tags,
        summary: 'Delete an archive (delete_file=true: its file too; else the file stays until the workspace is deleted)',
        params: ArchiveParams,
        querystring: ArchiveDeleteQuery,
        response: { 200: ArchiveDeleteResponse, ...errors },
      },
    },
    (r) => deleteArchive(ctx, r.coveOwner, r.params.id, r.params.version, r.query.delete_file),
  );

  app.get(
    '/workspace/:id/archives/:version/download',
    // The file itself (binary); errors are the usual JSON bodies.
    { schema: { tags, summary: "The archive's file", params: ArchiveParams } },
    async (r, reply) => {
      const { info, file } = await archiveDownload(ctx, r.coveOwner, r.params.id, r.params.version);
      return reply
        .header('Content-Type', CONTENT_TYPES[info.format] ?? 'application/octet-stream')
        .header('Content-Length', String(info.sizeBytes))
        .header('Content-Disposition', `attachment; filename="${info.workspaceId}-${info.version}.${info.format}"`)
        .header('X-Archive-Sha256', info.sha256)
        .send(createReadStream(file));
    },
  );
}
