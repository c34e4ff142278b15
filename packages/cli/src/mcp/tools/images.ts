// Images: what workspaces can be created from, and pulling a new one (with progress for clients that ask).
import { ImageListQuery, ImagePullBody } from '@cove/protocol';
import type { ImageInfo } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { defineTool, described, type Tool } from '../tool.js';

/** Lines of a listing at most: a store with hundreds of images would drown the answer. */
const MAX_LISTED = 200;

function line(i: ImageInfo): string {
  const size = i.size > 0 ? `  ${(i.size / 1024 / 1024).toFixed(1)} MiB` : '';
  return `${i.image}  ${i.category}  ${i.source}${size}${i.desc ? `  ${i.desc}` : ''}`;
}

const list = defineTool({
  name: 'image_list',
  title: 'List images',
  description:
    'List the images workspaces can be created from (workspace_create {"image": …}): reference, category, source, size. ' +
    'image_pull adds one from a registry.',
  input: Type.Object(
    {
      search: ImageListQuery.properties.search,
      category: described(ImageListQuery.properties.category, 'os, runtime, database, infra, devtools, custom, or all (default)'),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const res = await client.workspaces.images.list(args, { signal });
    const shown = res.images.slice(0, MAX_LISTED);
    const more = res.images.length > shown.length ? `\n[… ${res.images.length - shown.length} more: narrow with search or category]` : '';
    const text = shown.length === 0 ? 'no images match' : `${shown.map(line).join('\n')}${more}`;
    return {
      text,
      structured: { images: shown, total: res.images.length, truncated: shown.length < res.images.length, categories: res.categories },
    };
  },
});

const pull = defineTool({
  name: 'image_pull',
  title: 'Pull an image',
  description:
    'Pull an image from a registry into the store (layers it already has are not fetched again), so workspace_create can use ' +
    'it. Reports progress to clients that ask for it. Can take minutes for large images.',
  input: Type.Object(
    {
      image: ImagePullBody.properties.image,
      username: described(ImagePullBody.properties.username, "Registry user (default: the server's own credentials)"),
      password: ImagePullBody.properties.password,
      insecure: ImagePullBody.properties.insecure,
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(args, { client, signal, progress }) {
    const { image: reference, ...credentials } = args;
    let steps = 0;
    const image = await client.workspaces.images.pull(
      reference,
      {
        ...credentials,
        // The steps as they come: how far a layer is, when the server says.
        onProgress: (p) => {
          steps++;
          const amount = p.current !== undefined && p.total !== undefined ? ` (${p.current}/${p.total})` : '';
          progress(steps, `${p.phase}: ${p.message}${amount}`);
        },
      },
      { signal },
    );
    return {
      text: `pulled ${line(image)}\nid ${image.id}, ${image.layers} layers; create a workspace with {"image": "${image.image}"}`,
      structured: { image },
    };
  },
});

export const IMAGE_TOOLS: readonly Tool[] = [list, pull];
