import { type Static, Type } from '@sinclair/typebox';
import { LIMITS } from './control.js';

/**
 * A workspace's resources on the wire (the official SDK's `resources` resource): its CPUs, memory and disk,
 * read and changed after creation. CPU and memory change live on a running workspace where the driver can
 * (the sandbox: `runc update`); the disk only grows, online where the kernel allows it and otherwise at the
 * next start; every change is recorded, so the next start uses it whatever the driver applied now.
 */

const Opt = Type.Optional;

/** `PUT` and `PATCH /workspace/:id/resources`: both change only the sizes named (the official SDK's CLI sends a subset to PUT). */
export const ResourcesUpdateBody = Type.Object(
  {
    cpus: Opt(Type.Integer({ minimum: LIMITS.cpus.min, maximum: LIMITS.cpus.max, description: 'vCPUs' })),
    memory_mb: Opt(Type.Integer({ minimum: LIMITS.memoryMb.min, maximum: LIMITS.memoryMb.max, description: 'memory in MiB' })),
    disk_size_mb: Opt(
      Type.Integer({ minimum: LIMITS.diskMb.min, maximum: LIMITS.diskMb.max, description: 'disk in MiB; never smaller than it is' }),
    ),
    apply: Opt(
      Type.Boolean({
        description: 'apply to the running workspace now where the driver can (default true); false records the sizes for its next start',
      }),
    ),
  },
  { additionalProperties: true },
);
export type ResourcesUpdateBody = Static<typeof ResourcesUpdateBody>;

/** When a change takes effect: `now` (applied), `start` (a stopped workspace's next start), `restart` (a running one's). */
export const AppliesOn = Type.Union([Type.Literal('now'), Type.Literal('start'), Type.Literal('restart'), Type.Null()]);
export type AppliesOn = Static<typeof AppliesOn>;

/** One size's change, as `PUT`/`PATCH` answer it. */
export const ResourceChange = Type.Object({
  from: Type.Integer(),
  to: Type.Integer(),
  applied: Type.Boolean({ description: 'in effect on the workspace now' }),
  applies_on: AppliesOn,
  reason: Opt(Type.String({ description: 'why it is not applied now' })),
});
export type ResourceChange = Static<typeof ResourceChange>;

const Usage = Type.Object({ used: Type.Integer(), limit: Type.Union([Type.Integer(), Type.Null()]) });

/** `GET /workspace/:id/resources`, and the body of `PUT`/`PATCH` answers. */
export const ResourcesResponse = Type.Object(
  {
    success: Type.Literal(true),
    workspace_id: Type.String(),
    status: Type.String(),
    driver: Type.String(),
    cpus: Type.Integer(),
    memory_mb: Type.Integer(),
    disk_size_mb: Type.Integer(),
    resources: Type.Object({ cpus: Type.Integer(), memory_mb: Type.Integer(), disk_size_mb: Type.Integer() }),
    /** What the owner's workspaces have in all against the account's caps (null: no cap). */
    account: Type.Object({ cpus: Usage, memory_mb: Usage, disk_mb: Usage }),
    /** `PUT`/`PATCH` only: each size named, from what to what, and whether it is in effect now. */
    changes: Opt(
      Type.Object(
        { cpus: Opt(ResourceChange), memory_mb: Opt(ResourceChange), disk_size_mb: Opt(ResourceChange) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: true },
);

/** A workspace's sizes, in the drivers' (camelCase) shape. */
export interface ResourceSizes {
  cpus: number;
  memoryMb: number;
  diskMb: number;
}

/** What a driver did with one size of a resize. */
export interface ResizeOutcome {
  applied: boolean;
  /** When it takes effect if not now: the next `start`, or a restart of the running workspace; null: never (no limit to apply). */
  appliesOn: 'now' | 'start' | 'restart' | null;
  reason?: string;
}

/** A driver's answer to `resize`: one outcome per size it was given. */
export type ResizeResult = Partial<Record<keyof ResourceSizes, ResizeOutcome>>;
