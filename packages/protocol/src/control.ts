import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { WORKSPACE_ID_PATTERN } from './ids.js';
import { LifecycleCreateFields } from './lifecycle.js';
import { MetadataReplaceBody } from './metadata.js';

/**
 * The control plane's wire contract (`cove api`): workspaces, Internal API
 * access and network settings, in the envelope the official SDK reads
 * (`{"success": true, "workspace": {…}}`). Request schemas allow extra keys
 * because the SDK, its CLI and its MCP server send fields Cove does not use
 * (slug, namespace, region, …).
 */

const Opt = <T extends TSchema>(schema: T) => Type.Optional(schema);

// The id grammar lives in ids.ts, which clients load without the schemas.
export { WORKSPACE_ID_PATTERN };

/** Resource limits a workspace may ask for. */
export const LIMITS = {
  cpus: { min: 1, max: 64 },
  memoryMb: { min: 128, max: 1_048_576 },
  diskMb: { min: 256, max: 16_777_216 },
  nameLength: 128,
  imageLength: 256,
} as const;

const Cpus = Type.Integer({ minimum: LIMITS.cpus.min, maximum: LIMITS.cpus.max, description: 'vCPUs' });
const MemoryMb = Type.Integer({ minimum: LIMITS.memoryMb.min, maximum: LIMITS.memoryMb.max, description: 'memory in MiB' });
const DiskMb = Type.Integer({ minimum: LIMITS.diskMb.min, maximum: LIMITS.diskMb.max, description: 'disk in MiB' });
const Name = Type.String({ minLength: 1, maxLength: LIMITS.nameLength });

export const WorkspaceIdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

/** `POST /workspace`. Sizes may come in any of the spellings the SDK, MCP server and reference use. */
export const WorkspaceCreateBody = Type.Object(
  {
    name: Opt(Name),
    image: Opt(Type.String({ minLength: 1, maxLength: LIMITS.imageLength })),
    config: Opt(Type.Object({ cpus: Opt(Cpus), memory_mb: Opt(MemoryMb), disk_size_mb: Opt(DiskMb) }, { additionalProperties: true })),
    cpus: Opt(Cpus),
    vcpus: Opt(Cpus),
    cpu: Opt(Cpus),
    memory_mb: Opt(MemoryMb),
    ram_mb: Opt(MemoryMb),
    memory: Opt(MemoryMb),
    disk_size_mb: Opt(DiskMb),
    disk_mb: Opt(DiskMb),
    disk: Opt(DiskMb),
    idempotency_key: Opt(Type.String({ minLength: 1, maxLength: 200 })),
    wait_ready: Opt(Type.Boolean()),
    /** Metadata to start with (metadata.ts: the bounds). */
    metadata: Opt(MetadataReplaceBody.properties.metadata),
    // Lifecycle: mode, ttl, ttl_action, remove_on_exit, idle, restart_policy, max_restarts.
    ...LifecycleCreateFields,
  },
  { additionalProperties: true },
);
export type WorkspaceCreateBody = Static<typeof WorkspaceCreateBody>;

/** `PUT /workspace/:id`: only `name` changes anything; other keys are accepted and ignored. */
export const WorkspaceUpdateBody = Type.Object({ name: Opt(Name) }, { additionalProperties: true });

export const WorkspaceStatus = Type.Union([Type.Literal('running'), Type.Literal('stopped'), Type.Literal('paused')]);

export const WorkspaceListQuery = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    status: Opt(WorkspaceStatus),
  },
  { additionalProperties: true },
);

export const Provisioning = Type.Object({
  state: Type.String(),
  phase: Type.String(),
  message: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
});

/** A workspace as the control plane describes it. */
export const Workspace = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    image: Type.String(),
    status: WorkspaceStatus,
    ready: Type.Boolean(),
    provisioning: Type.Union([Provisioning, Type.Null()]),
    info: Type.Object({ is_running: Type.Boolean(), status: WorkspaceStatus }),
    config: Type.Object({ cpus: Type.Integer(), memory_mb: Type.Integer(), disk_size_mb: Type.Integer() }),
    driver: Type.String(),
    internal_api_access: Type.Object({ enabled: Type.Boolean() }),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { additionalProperties: true },
);

export const WorkspaceEnvelope = Type.Object({ success: Type.Literal(true), workspace: Workspace }, { additionalProperties: true });

export const WorkspaceListResponse = Type.Object({
  success: Type.Literal(true),
  workspaces: Type.Array(Workspace),
  total: Type.Integer(),
  page: Type.Integer(),
  limit: Type.Integer(),
});

export const PingBody = Type.Object({ ttl_seconds: Opt(Type.Integer({ minimum: 1, maximum: 86_400 })) }, { additionalProperties: true });

export const EstimateQuery = Type.Object(
  { cpu: Opt(Cpus), cpus: Opt(Cpus), ram_mb: Opt(MemoryMb), memory_mb: Opt(MemoryMb), disk_mb: Opt(DiskMb) },
  { additionalProperties: true },
);

export const QuotaResponse = Type.Object(
  {
    success: Type.Literal(true),
    quota: Type.Object({
      workspaces: Type.Object({ used: Type.Integer(), limit: Type.Integer() }),
      running: Type.Integer(),
      cpus: Type.Object({ used: Type.Integer() }),
      memory_mb: Type.Object({ used: Type.Integer() }),
      disk_mb: Type.Object({ used: Type.Integer() }),
    }),
  },
  { additionalProperties: true },
);

export const EstimateResponse = Type.Object(
  {
    success: Type.Literal(true),
    estimate: Type.Object({
      cpus: Type.Integer(),
      ram_mb: Type.Integer(),
      disk_mb: Type.Integer(),
      cost: Type.Number(),
      currency: Type.Null(),
    }),
  },
  { additionalProperties: true },
);

/** `GET …/internal-api-access` (and `/runtime-api-access`). */
export const ApiAccessStatusResponse = Type.Object(
  {
    success: Type.Literal(true),
    workspace_id: Type.String(),
    enabled: Type.Boolean(),
    running: Type.Boolean(),
    token_type: Type.Literal('gateway'),
    token_generation: Type.Integer(),
    token_expires_at: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    port: Type.Union([Type.Integer(), Type.Null()]),
  },
  { additionalProperties: true },
);

/** A gateway JWT as `enable`, `token` (POST and GET), `reconnect` and `workspace` return it. */
export const GatewayTokenResponse = Type.Object(
  {
    success: Type.Literal(true),
    workspace_id: Type.String(),
    enabled: Type.Literal(true),
    token: Type.String(),
    token_type: Type.Literal('gateway'),
    kind: Type.Union([Type.Literal('session'), Type.Literal('workspace')]),
    expires_in: Type.Integer(),
    expires_at: Type.String(),
    token_expires_at: Type.String(),
  },
  { additionalProperties: true },
);

/** `GET …/token/raw`: the agent's own bearer token and address, for direct connections. */
export const RawTokenResponse = Type.Object({
  success: Type.Literal(true),
  workspace_id: Type.String(),
  token: Type.String(),
  ip: Type.String(),
  port: Type.Integer(),
});

/** `POST|PATCH /workspace/:id/network`: a partial update. */
export const NetworkUpdateBody = Type.Object(
  {
    public_access: Opt(Type.Boolean()),
    allow_internet: Opt(Type.Boolean()),
    private_link_ids: Opt(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 64 })),
    ingress_ports: Opt(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { maxItems: 64 })),
    egress: Opt(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 256 })),
    outbound_mode: Opt(Type.Union([Type.Literal('managed'), Type.Literal('custom')])),
    custom_proxy: Opt(Type.Unknown()),
  },
  { additionalProperties: false },
);
export type NetworkUpdateBody = Static<typeof NetworkUpdateBody>;

export const NetworkResponse = Type.Object(
  {
    success: Type.Literal(true),
    workspace_id: Type.String(),
    ip: Type.Union([Type.String(), Type.Null()]),
    gateway: Type.Union([Type.String(), Type.Null()]),
    public_access: Type.Boolean(),
    allow_internet: Type.Boolean(),
    private_links: Type.Array(Type.Object({ workspace_id: Type.String(), ip: Type.Union([Type.String(), Type.Null()]) })),
    private_link_ids: Type.Array(Type.String()),
    ingress_ports: Type.Array(Type.Integer()),
    egress: Type.Array(Type.String()),
    outbound_mode: Type.Literal('managed'),
    outbound_proxy: Type.Null(),
  },
  { additionalProperties: true },
);
