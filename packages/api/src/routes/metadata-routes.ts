import { ErrorResponse, MetadataMap, MetadataPatchBody, MetadataReplaceBody, MetadataResponse, WorkspaceIdParams } from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { getMetadata, patchMetadata, presentMetadata, replaceMetadata } from '../service/metadata.js';

const tags = ['metadata'];
const params = WorkspaceIdParams;
const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

/** The official SDK's `metadata` resource: string keys and values on a workspace (bounds: METADATA_LIMITS). */
export function metadataRoutes(app: ApiApp, ctx: ControlContext): void {
  // The bare map, as the official SDK types `metadata.get` (Record<string, string>): what a caller iterates
  // is its metadata and nothing else.
  app.get(
    '/workspace/:id/metadata',
    { schema: { tags, summary: "The workspace's metadata, as a map of strings", params, response: { 200: MetadataMap, ...errors } } },
    async (r) => ({ ...(await getMetadata(ctx, r.coveOwner, r.params.id)).entries }),
  );

  app.put(
    '/workspace/:id/metadata',
    {
      schema: {
        tags,
        summary: 'Replace the metadata (keys not named are removed; {} clears it)',
        params,
        body: MetadataReplaceBody,
        response: { 200: MetadataResponse, ...errors },
      },
    },
    async (r) => presentMetadata(await replaceMetadata(ctx, r.coveOwner, r.params.id, r.body.metadata)),
  );

  app.patch(
    '/workspace/:id/metadata',
    {
      schema: {
        tags,
        summary: 'Merge into the metadata (keys named are set, a null value removes its key, others are kept)',
        params,
        body: MetadataPatchBody,
        response: { 200: MetadataResponse, ...errors },
      },
    },
    async (r) => presentMetadata(await patchMetadata(ctx, r.coveOwner, r.params.id, r.body.metadata)),
  );
}
