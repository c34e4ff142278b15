import { createReadStream } from 'node:fs';
import type { RawBodyConfig } from '@cove/http';
import {
  ArchiveCreateBody,
  ArchiveDeleteQuery,
  ArchiveDeleteResponse,
  ArchiveListResponse,
  ArchiveParams,
  ArchiveResponse,
  ArchivesDeleteQuery,
  ArchiveUploadParams,
  ArchiveUploadResponse,
  ErrorResponse,
  WorkspaceIdParams,
} from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import {
  ArchiveUploads,
  checkUploadSize,
  checkUploadType,
  DEFAULT_UPLOAD_LIMITS,
  presentUpload,
  registerUploads,
  type UploadLimits,
} from '../service/archive-uploads.js';
import { archiveDownload, createArchive, deleteAllArchives, deleteArchive, getArchive, listArchives } from '../service/archives.js';
import type { ControlContext } from '../service/context.js';
import { DRAIN_LIMIT, discardRest } from '../service/image-import.js';

const tags = ['snapshots'];
const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

const CONTENT_TYPES: Record<string, string> = { 'tar.zst': 'application/zstd', 'tar.gz': 'application/gzip' };

/**
 * Versioned archives of a workspace's file system (the official SDK's `snapshots.*Archive*`), their download, and
 * uploads of archives made elsewhere (`upload`: their size cap, where they wait, how long they are kept).
 */
export function archiveRoutes(app: ApiApp, ctx: ControlContext, options: { upload?: Partial<UploadLimits> } = {}): void {
  const uploads = new ArchiveUploads({ ...DEFAULT_UPLOAD_LIMITS, ...options.upload });
  registerUploads(ctx, uploads);
  app.addHook('onClose', () => uploads.close());
  uploadRoutes(app, uploads);

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

function uploadRoutes(app: ApiApp, uploads: ArchiveUploads): void {
  const config: RawBodyConfig = { rawBody: true };
  app.post(
    '/workspace/archives/upload',
    {
      config,
      bodyLimit: Number.MAX_SAFE_INTEGER,
      schema: {
        tags,
        summary: 'Upload an archive (from another Cove, or any tar of a file system) to create workspaces from',
        description: `The archive is the request body (tar, tar.gz or tar.zst; \`application/octet-stream\`, \`application/x-tar\`, \`application/gzip\` or \`application/zstd\`), at most ${uploads.limits.maxBytes} bytes. The answer's \`upload_id\` is then given to \`POST /workspace {"from_archive": {"upload_id"}}\`, by this account, any number of times for ${Math.round(uploads.limits.ttlMs / 60_000)} min. Its entries are checked when a workspace is filled from it: names leaving the workspace ('..'), paths through its own symlinks, device nodes, or more than the workspace's disk are refused with 400.`,
        response: { 200: ArchiveUploadResponse, 413: ErrorResponse, 415: ErrorResponse, ...errors },
      },
    },
    async (request, reply) => {
      try {
        checkUploadType(request.headers['content-type']);
        checkUploadSize(request.headers['content-length'], uploads.limits);
      } catch (err) {
        // Refused before a byte is read: a body too large to drain is not waited for.
        if (Number(request.headers['content-length'] ?? 0) > DRAIN_LIMIT) reply.header('connection', 'close');
        else discardRest(request.raw);
        throw err;
      }
      const abort = new AbortController();
      request.raw.on('close', () => {
        if (!request.raw.complete) abort.abort();
      });
      try {
        const upload = presentUpload(await uploads.receive(request.coveOwner, request.raw, abort.signal));
        return { success: true as const, ...upload, upload };
      } catch (err) {
        // What the client still sends of a refused archive is read and dropped, so that it reads the answer.
        discardRest(request.raw);
        throw err;
      }
    },
  );

  app.get(
    '/workspace/archives/upload/:upload_id',
    { schema: { tags, summary: 'An uploaded archive', params: ArchiveUploadParams, response: { 200: ArchiveUploadResponse, ...errors } } },
    async (r) => {
      const upload = presentUpload(uploads.get(r.coveOwner, r.params.upload_id));
      return { success: true as const, ...upload, upload };
    },
  );

  app.delete(
    '/workspace/archives/upload/:upload_id',
    {
      schema: {
        tags,
        summary: 'Delete an uploaded archive',
        params: ArchiveUploadParams,
        response: { 200: ArchiveUploadResponse, ...errors },
      },
    },
    async (r) => {
      const upload = presentUpload(await uploads.remove(r.coveOwner, r.params.upload_id));
      return { success: true as const, deleted: true, ...upload, upload };
    },
  );
}
