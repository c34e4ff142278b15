import { type Static, Type } from '@sinclair/typebox';

/**
 * The control plane's image routes (`/workspace/images…`): the list the official SDK's
 * `client.workspaces.images.list({ search, category })` reads, and Cove's pull, import, get and delete
 * beside it. An image entry carries the official SDK's catalog fields (`id`, `image`, `label`, `desc`,
 * `category`) and the store's own (`ImageSummary` in images.ts, snake_case).
 */

// Docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest], the path in
// lowercase components. Checked here so that a malformed or hostile reference (`../x`, spaces, control
// characters) is a 400 before any store sees it; the store's own parser stays the authority on meaning.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
// As Docker tells a registry from a path: a first component with a dot or a port, `localhost`, or an IPv6 address.
const PORT = '(?::[0-9]{1,5})?';
const DOMAIN = `(?:${LABEL}(?:\\.${LABEL})+${PORT}|${LABEL}:[0-9]{1,5}|localhost${PORT}|\\[[a-fA-F0-9:]+\\]${PORT})`;
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

/** An image reference: `python:3.12-slim`, `ghcr.io/org/app:tag`, `127.0.0.1:5000/team/base:1`, `repo@sha256:…`. */
export const IMAGE_REFERENCE_PATTERN = `^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`;
/** Longest reference accepted (Docker's limit on a name is 255 characters). */
export const IMAGE_REFERENCE_MAX = 256;

const IMAGE_REFERENCE = new RegExp(IMAGE_REFERENCE_PATTERN);

/** Whether `text` is a well-formed image reference (the schemas' check, for clients). */
export function isImageReference(text: string): boolean {
  return text.length > 0 && text.length <= IMAGE_REFERENCE_MAX && IMAGE_REFERENCE.test(text);
}

/**
 * A reference in a request. Its grammar (`IMAGE_REFERENCE_PATTERN`) is checked by the server with a message
 * that shows an example, rather than by the schema, whose message would quote the whole expression.
 */
export const ImageReference = Type.String({
  minLength: 1,
  maxLength: IMAGE_REFERENCE_MAX,
  description:
    'an image reference, `[registry/]name[:tag][@digest]`, normalised as Docker does (`python` is `docker.io/library/python:latest`)',
});

/** The categories of the list, in the order it shows them (how an image gets one: the control plane's images service). */
export const IMAGE_CATEGORIES = [
  { id: 'os', label: 'Operating systems' },
  { id: 'runtime', label: 'Language runtimes' },
  { id: 'database', label: 'Databases' },
  { id: 'infra', label: 'Web servers and infrastructure' },
  { id: 'devtools', label: 'Developer tools' },
  { id: 'custom', label: 'Other images' },
] as const;

export type ImageCategory = (typeof IMAGE_CATEGORIES)[number]['id'];

/** `GET /workspace/images`: both filters optional; `category=all` is no filter. */
export const ImageListQuery = Type.Object(
  {
    search: Type.Optional(
      Type.String({ maxLength: 200, description: 'case-insensitive text in the id, references, label or description' }),
    ),
    category: Type.Optional(Type.String({ maxLength: 32, description: 'a category id (`os`, `runtime`, …), or `all`' })),
  },
  { additionalProperties: true },
);
export type ImageListQuery = Static<typeof ImageListQuery>;

export const ImageConfigSchema = Type.Object({
  env: Type.Array(Type.String()),
  working_dir: Type.Union([Type.String(), Type.Null()]),
  user: Type.Union([Type.String(), Type.Null()]),
  entrypoint: Type.Union([Type.Array(Type.String()), Type.Null()]),
  cmd: Type.Union([Type.Array(Type.String()), Type.Null()]),
});

/** An image as the routes show it. */
export const ImageEntry = Type.Object(
  {
    /** The official SDK's fields. */
    id: Type.String({ description: '`sha256:…` of the image config (builtin images: their name)' }),
    image: Type.String({ description: 'the reference a create names it by (`POST /workspace {"image": …}`)' }),
    label: Type.String({ description: 'the short reference, as Docker shows it' }),
    desc: Type.String(),
    category: Type.String(),
    /** Cove's fields. */
    name: Type.String({ description: 'the canonical reference' }),
    references: Type.Array(Type.String()),
    digest: Type.Union([Type.String(), Type.Null()]),
    source: Type.Union([Type.Literal('builtin'), Type.Literal('pulled'), Type.Literal('imported'), Type.Literal('built')]),
    size: Type.Integer({ description: 'unpacked size in bytes, shared layers counted once' }),
    layers: Type.Integer(),
    created: Type.String(),
    config: ImageConfigSchema,
  },
  { additionalProperties: true },
);

export const ImageListResponse = Type.Object({
  success: Type.Literal(true),
  images: Type.Array(ImageEntry),
  categories: Type.Array(Type.Object({ id: Type.String(), label: Type.String() })),
});

export const ImageResponse = Type.Object({ success: Type.Literal(true), image: ImageEntry });

/** `GET|DELETE /workspace/images/:ref`: the reference URL-encoded (the server also takes it with its slashes as they are). */
export const ImageRefParams = Type.Object({
  ref: Type.Optional(Type.String({ maxLength: 1024, description: 'an image reference or id, URL-encoded' })),
  '*': Type.Optional(Type.String({ maxLength: 1024 })),
});

/** `POST /workspace/images/pull`. */
export const ImagePullBody = Type.Object(
  {
    image: ImageReference,
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    insecure: Type.Optional(Type.Boolean({ description: 'plain HTTP or unverified TLS (loopback registries get it without asking)' })),
  },
  { additionalProperties: false },
);
export type ImagePullBody = Static<typeof ImagePullBody>;

/** One line of a streamed pull (`Accept: application/x-ndjson`) before the final result line. */
export const ImageProgressLine = Type.Object({
  phase: Type.Union([
    Type.Literal('resolving'),
    Type.Literal('downloading'),
    Type.Literal('unpacking'),
    Type.Literal('building'),
    Type.Literal('done'),
  ]),
  message: Type.String(),
  layer: Type.Optional(Type.String()),
  current: Type.Optional(Type.Integer()),
  total: Type.Optional(Type.Integer()),
});

/** `POST /workspace/images/import?name=NAME:TAG`, the archive as the body. */
export const ImageImportQuery = Type.Object({ name: Type.Optional(ImageReference) }, { additionalProperties: false });

export const ImageImportResponse = Type.Object({ success: Type.Literal(true), images: Type.Array(ImageEntry) });

export const ImageDeleteQuery = Type.Object(
  { force: Type.Optional(Type.Boolean({ description: 'remove it even while workspaces use it' })) },
  { additionalProperties: false },
);

export const ImageDeleteResponse = Type.Object({ success: Type.Literal(true), image: Type.String(), deleted: Type.Literal(true) });
