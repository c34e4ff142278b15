import type { RawBodyConfig } from '@cove/http';
import {
  AppError,
  ErrorResponse,
  ImageDeleteQuery,
  ImageDeleteResponse,
  ImageImportQuery,
  ImageImportResponse,
  ImageListQuery,
  ImageListResponse,
  ImageProgressLine,
  ImagePullBody,
  ImageRefParams,
  ImageResponse,
} from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { checkArchiveType, checkDeclaredSize, DRAIN_LIMIT, discardRest, type ImportLimits, importImage } from '../service/image-import.js';
import { checkPull, getImage, listImages, presentImage, pullImage, removeImage } from '../service/images.js';

export interface ImageRouteOptions {
  /**
   * Accounts (owners) that may import and delete images. Images are host-wide: what one account removes
   * or adds, every account sees, so only these may; listing and pulling (which a create does anyway) are
   * open to every account.
   */
  operators: readonly string[];
  import: ImportLimits;
}

const tags = ['images'];
const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
/** Progress lines are dropped (never the final line) while this much is waiting to be sent to a slow client. */
const PROGRESS_BACKLOG = 256 * 1024;

function requireOperator(owner: string, options: ImageRouteOptions, action: string): void {
  if (!options.operators.includes(owner)) {
    throw new AppError(
      'forbidden',
      `${action} changes images for every account, so only operator accounts may (${options.operators.join(', ') || 'none configured'})`,
    );
  }
}

/** The reference of `/workspace/images/:ref` (decoded) or of the wildcard form. */
function referenceOf(params: { ref?: string | undefined; '*'?: string | undefined }): string {
  return params.ref ?? params['*'] ?? '';
}

/** Images: the official SDK's `workspaces.images.list`, and Cove's pull, import, get and delete beside it. */
export function imagesRoutes(app: ApiApp, ctx: ControlContext, options: ImageRouteOptions): void {
  app.get(
    '/workspace/images',
    {
      schema: {
        tags,
        summary: 'List the images workspaces can be created from',
        description:
          "The official SDK's `images.list({ search, category })`. Categories come from the repository name (debian, ubuntu, alpine… → os; python, node, golang… → runtime; postgres, redis… → database; nginx… → infra); builtin images are `os`, anything else `custom`.",
        querystring: ImageListQuery,
        response: { 200: ImageListResponse, ...errors },
      },
    },
    (request) => listImages(ctx.driver, request.query),
  );

  app.post(
    '/workspace/images/pull',
    {
      schema: {
        tags,
        summary: 'Pull an image from a registry',
        description:
          'With `Accept: application/x-ndjson` the answer streams one progress object per line (`phase`, `message`, `layer`, `current`, `total`), then a final line: `{"success": true, "image": …}` or the error body with the `status` it would have had. Otherwise it answers once the image is in the store. Registries on loopback may be plain HTTP.',
        body: ImagePullBody,
        response: { 200: ImageResponse, ...errors },
      },
    },
    async (request, reply) => {
      const streamed = /application\/x-ndjson/i.test(request.headers.accept ?? '');
      if (!streamed) return { success: true as const, image: await pullImage(ctx.driver, request.body) };

      // Checks that answer with a status come before the stream starts.
      checkPull(ctx.driver, request.body);
      const abort = new AbortController();
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-request-id': request.id });
      raw.flushHeaders();
      raw.on('close', () => {
        if (!raw.writableFinished) abort.abort();
      });
      const line = (value: unknown) => raw.write(`${JSON.stringify(value)}\n`);
      let final: unknown;
      try {
        const image = await pullImage(ctx.driver, request.body, {
          signal: abort.signal,
          onProgress: (p) => {
            if (!raw.destroyed && raw.writableLength < PROGRESS_BACKLOG) line(p);
          },
        });
        final = { success: true, image };
      } catch (err) {
        // The status the error would have had, since the stream's own is already 200.
        final =
          err instanceof AppError
            ? { ...err.toBody(), status: err.status }
            : { success: false, error: (err as Error).message, code: 'internal_error', status: 500 };
        if (!(err instanceof AppError)) request.log.error({ err }, 'image pull failed');
      }
      if (!raw.destroyed) raw.end(`${JSON.stringify(final)}\n`);
    },
  );
  // The streamed form's line schema, for the OpenAPI document (no route answers it alone).
  app.addSchema({ $id: 'ImageProgressLine', ...ImageProgressLine });

  const importConfig: RawBodyConfig = { rawBody: true };
  app.post(
    '/workspace/images/import',
    {
      config: importConfig,
      bodyLimit: Number.MAX_SAFE_INTEGER,
      schema: {
        tags,
        summary: 'Import an image archive (docker save, or a tar of an OCI layout; possibly gzipped)',
        description: `The archive is the request body (\`application/x-tar\` or \`application/octet-stream\`), at most ${options.import.maxBytes} bytes. \`name\` (\`NAME:TAG\`) names the image; else the archive's own reference does. Operator accounts only.`,
        querystring: ImageImportQuery,
        response: { 200: ImageImportResponse, 413: ErrorResponse, 415: ErrorResponse, ...errors },
      },
    },
    async (request, reply) => {
      try {
        requireOperator(request.coveOwner, options, 'importing an image');
        checkArchiveType(request.headers['content-type']);
        checkDeclaredSize(request.headers['content-length'], options.import);
      } catch (err) {
        // Refused before a byte is read: a body too large to drain is not waited for.
        const declared = Number(request.headers['content-length'] ?? 0);
        if (declared > DRAIN_LIMIT) reply.header('connection', 'close');
        else discardRest(request.raw);
        throw err;
      }
      const abort = new AbortController();
      request.raw.on('close', () => {
        if (!request.raw.complete) abort.abort();
      });
      try {
        const imported = await importImage(ctx.driver, request.raw, {
          name: request.query.name,
          limits: options.import,
          signal: abort.signal,
        });
        return { success: true as const, images: imported.map(presentImage) };
      } catch (err) {
        // What the client still sends of a refused archive is read and dropped, so that it reads the answer.
        discardRest(request.raw);
        throw err;
      }
    },
  );

  // `:ref` is the documented form (the reference URL-encoded); a hidden wildcard takes one with its slashes as they are.
  for (const [url, hide] of [
    ['/workspace/images/:ref', false],
    ['/workspace/images/*', true],
  ] as const) {
    app.get(
      url,
      {
        schema: {
          hide,
          tags,
          summary: 'Get an image by reference (URL-encoded) or id',
          params: ImageRefParams,
          response: { 200: ImageResponse, ...errors },
        },
      },
      async (request) => ({ success: true as const, image: await getImage(ctx.driver, referenceOf(request.params)) }),
    );

    app.delete(
      url,
      {
        schema: {
          hide,
          tags,
          summary: 'Remove an image reference; its layers go once no image uses them',
          description: 'An image a workspace uses is 409 unless `force=true`. Operator accounts only.',
          params: ImageRefParams,
          querystring: ImageDeleteQuery,
          response: { 200: ImageDeleteResponse, ...errors },
        },
      },
      async (request) => {
        requireOperator(request.coveOwner, options, 'deleting an image');
        const reference = referenceOf(request.params);
        await removeImage(ctx.driver, reference, request.query.force === true);
        return { success: true as const, image: reference, deleted: true as const };
      },
    );
  }
}
