import { type Static, Type } from '@sinclair/typebox';

/**
 * Public port URLs (`client.workspaces.publicAccess` in the official SDK): a workspace port exposed at
 * `http://<slug>.<preview domain>:<gateway port>/`, served by the gateway by host name through the
 * workspace agent's `/proxy`. Field names follow the SDK's `PublicAccessPort` / `ExposePortParams` types;
 * `auth` and `token` are Cove's.
 */

/** A slug: one lowercase DNS label of 3–63 letters, digits and inner hyphens. */
export const PUBLIC_SLUG_PATTERN = '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$';

/** Slugs nobody may choose: names a deployment is likely to give its own services under the preview domain. */
export const RESERVED_SLUGS: readonly string[] = [
  'www',
  'api',
  'app',
  'admin',
  'gateway',
  'cove',
  'console',
  'dashboard',
  'docs',
  'status',
  'mail',
  'localhost',
  'workspace',
  'workspaces',
];

/** How a public port is protected: `public` (the URL is enough) or `token` (its token is required too). */
export const PublicPortAuth = Type.Union([Type.Literal('public'), Type.Literal('token')]);

const Port = Type.Integer({ minimum: 1, maximum: 65535, description: 'a port inside the workspace (not the agent’s 9990)' });
const Slug = Type.String({ pattern: PUBLIC_SLUG_PATTERN, maxLength: 63, description: 'lowercase DNS label, 3–63 characters' });
const Label = Type.String({ maxLength: 128 });

/** `POST /workspace/:id/public-access`: exposes a port, or updates an exposed one (idempotent). */
export const ExposePortBody = Type.Object(
  {
    port: Port,
    label: Type.Optional(Label),
    slug: Type.Optional(Slug),
    /** The SDK's base domain: only the configured preview domain is served. */
    domain: Type.Optional(Type.String({ maxLength: 253 })),
    auth: Type.Optional(PublicPortAuth),
  },
  { additionalProperties: false },
);
export type ExposePortBody = Static<typeof ExposePortBody>;

/** `PATCH /workspace/:id/public-access/:port`: a new slug (the SDK's `updateSlug`). */
export const UpdateSlugBody = Type.Object({ slug: Slug }, { additionalProperties: false });
export type UpdateSlugBody = Static<typeof UpdateSlugBody>;

export const PublicPortParams = Type.Object({ id: Type.String({ maxLength: 128 }), port: Type.String({ maxLength: 16 }) });

/** An exposed port as the SDK reads it (`PublicAccessPort`). */
export const PublicPort = Type.Object(
  {
    port: Type.Integer(),
    url: Type.String(),
    slug: Type.String(),
    /** The slug again: the official CLI shows `hash` as the slug. */
    hash: Type.String(),
    domain: Type.String(),
    label: Type.Optional(Type.String()),
    auth: PublicPortAuth,
    workspace_id: Type.String(),
    generation: Type.Integer(),
    created_at: Type.String(),
    updated_at: Type.String(),
    /** The port's token: only in the answer of the expose that created it (stored as a SHA-256 hash). */
    token: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export const PublicPortListResponse = Type.Object({
  success: Type.Literal(true),
  workspace_id: Type.String(),
  ports: Type.Array(PublicPort),
});

export const PublicPortResponse = Type.Object({
  success: Type.Literal(true),
  workspace_id: Type.String(),
  port: PublicPort,
  /** True when this call exposed the port, false when it was exposed already. */
  created: Type.Boolean(),
});

export const PublicPortRevokeResponse = Type.Object({
  success: Type.Literal(true),
  workspace_id: Type.String(),
  port: Type.Integer(),
  revoked: Type.Literal(true),
});
