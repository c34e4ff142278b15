import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { WorkspaceSpec } from './driver.js';

/**
 * Snapshots, versioned archives and forks (`/workspace/:id/snapshot|restore|archives|fork`): the official SDK's
 * `client.workspaces.snapshots` calls, and Cove's fork beside them. A snapshot is the workspace's whole file
 * system at one instant (the workspace frozen while it is taken); its memory is not part of it.
 */

const Opt = <T extends TSchema>(schema: T) => Type.Optional(schema);

/** Why memory is never in a snapshot: said in every answer that describes one. */
export const SNAPSHOT_MEMORY_REASON =
  "memory is not snapshotted: CRIU (3.17) fails on this kernel's vDSO, so a snapshot holds the file system only; " +
  'processes do not survive a restore';

/** `POST /workspace/:id/snapshot`: how to leave the workspace afterwards (default `resume`: as it was). */
export const SnapshotBody = Type.Object(
  { after: Opt(Type.Union([Type.Literal('resume'), Type.Literal('paused'), Type.Literal('stop')])) },
  { additionalProperties: true },
);
export type SnapshotBody = Static<typeof SnapshotBody>;

/** Archive versions name files: letters, digits, `.`, `_`, `-`, not starting with a dot. */
export const ARCHIVE_VERSION_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$';
export const ARCHIVE_FORMATS = ['tar.zst', 'tar.gz'] as const;
export type ArchiveFormat = (typeof ARCHIVE_FORMATS)[number];
/** Absolute paths inside the workspace (no `..` component: checked by the service with a clear message). */
const VmPath = Type.String({ minLength: 1, maxLength: 4096 });

/** `POST /workspace/:id/archives`. */
export const ArchiveCreateBody = Type.Object(
  {
    version: Opt(Type.String({ minLength: 1, maxLength: 64 })),
    format: Opt(Type.String({ minLength: 1, maxLength: 16 })),
    vm_paths: Opt(Type.Array(VmPath, { maxItems: 256 })),
    exclude_vm_paths: Opt(Type.Array(VmPath, { maxItems: 256 })),
  },
  { additionalProperties: true },
);
export type ArchiveCreateBody = Static<typeof ArchiveCreateBody>;

export const ArchiveParams = Type.Object({ id: Type.String({ maxLength: 128 }), version: Type.String({ maxLength: 128 }) });
export const ArchiveDeleteQuery = Type.Object({ delete_file: Opt(Type.String({ maxLength: 8 })) }, { additionalProperties: true });
export const ArchivesDeleteQuery = Type.Object({ delete_files: Opt(Type.String({ maxLength: 8 })) }, { additionalProperties: true });

/** `POST /workspace/:id/fork`: `count` children (default 1), named `name` (numbered when more than one). */
export const ForkBody = Type.Object(
  {
    name: Opt(Type.String({ minLength: 1, maxLength: 120 })),
    count: Opt(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: true },
);
export type ForkBody = Static<typeof ForkBody>;

/**
 * `POST /workspace {"from_archive": …}`: an archive of this Cove, by its workspace and version; or one uploaded
 * (from another Cove, or made anywhere) by `POST /workspace/archives/upload`, by its `upload_id`.
 */
export const FromArchive = Type.Union([
  Type.Object({ workspace_id: Type.String({ maxLength: 128 }), version: Type.String({ maxLength: 128 }) }, { additionalProperties: false }),
  Type.Object({ upload_id: Type.String({ maxLength: 128 }) }, { additionalProperties: false }),
]);
export type FromArchive = Static<typeof FromArchive>;

/** An uploaded archive, waiting to fill new workspaces (`from_archive: {upload_id}`) until it expires. */
export const ArchiveUploadWire = Type.Object(
  {
    upload_id: Type.String(),
    /** What its first bytes say: `tar`, `tar.gz` or `tar.zst` (its entries are checked when a workspace uses it). */
    format: Type.String(),
    size: Type.Integer(),
    sha256: Type.String(),
    created_at: Type.String(),
    expires_at: Type.String(),
  },
  { additionalProperties: true },
);
export const ArchiveUploadParams = Type.Object({ upload_id: Type.String({ maxLength: 128 }) });

/** A snapshot as answers describe it. */
export const SnapshotWire = Type.Object(
  {
    workspace_id: Type.String(),
    created_at: Type.String(),
    /** Bytes of the workspace's own disk it holds (the image below it is not counted). */
    size_bytes: Type.Integer(),
    memory: Type.Boolean(),
    memory_reason: Type.String(),
  },
  { additionalProperties: true },
);

/** An archive as answers describe it (the official SDK reads `version`). */
export const ArchiveWire = Type.Object(
  {
    version: Type.String(),
    workspace_id: Type.String(),
    format: Type.String(),
    size: Type.Integer(),
    sha256: Type.String(),
    created_at: Type.String(),
    vm_paths: Type.Array(Type.String()),
    exclude_vm_paths: Type.Array(Type.String()),
    image: Type.String(),
    download_path: Type.String(),
    memory: Type.Boolean(),
  },
  { additionalProperties: true },
);

// What the drivers implement (camelCase, like the rest of the driver contract).

export interface SnapshotInfo {
  workspaceId: string;
  createdAt: string;
  sizeBytes: number;
}

export interface ArchiveRequest {
  version: string;
  format: ArchiveFormat;
  /** Absolute, normalised paths to include (empty: the whole file system). */
  vmPaths: string[];
  excludeVmPaths: string[];
}

export interface ArchiveInfo extends ArchiveRequest {
  workspaceId: string;
  sizeBytes: number;
  sha256: string;
  createdAt: string;
  /** The image the workspace ran (a workspace made from the archive on this Cove gets it by default). */
  image: string;
}

/**
 * A driver's snapshots, archives and forks (`WorkspaceDriver.snapshots`). Every call runs on a workspace the
 * control plane holds the lock of.
 */
export interface WorkspaceSnapshots {
  /** Whether a fork costs the same whatever the parent holds (false: its disk is copied). */
  readonly constantTimeFork: boolean;
  /**
   * Takes the workspace's snapshot (replacing the previous one): its processes are frozen while it is taken and
   * left as they were. Works on a stopped workspace too.
   */
  snapshot(id: string): Promise<SnapshotInfo>;
  /** The snapshot `restore` would bring back, or null. */
  latestSnapshot(id: string): Promise<SnapshotInfo | null>;
  /** Brings the file system back to the latest snapshot (`conflict` without one). The workspace must be stopped. */
  restore(id: string): Promise<SnapshotInfo>;
  /**
   * Creates each child (like `create`) with the parent's file system at one instant: the parent is frozen
   * briefly and left as it was. The children are created, not started.
   */
  fork(parentId: string, children: WorkspaceSpec[]): Promise<void>;
  createArchive(id: string, request: ArchiveRequest): Promise<ArchiveInfo>;
  listArchives(id: string): Promise<ArchiveInfo[]>;
  /** The archive and its file (`not_found` when either is gone). */
  archiveFile(id: string, version: string): Promise<{ info: ArchiveInfo; file: string }>;
  /** Unlists the archive; its file goes too with `deleteFile` (else it stays until the workspace is deleted). */
  deleteArchive(id: string, version: string, deleteFile: boolean): Promise<ArchiveInfo>;
  /**
   * Fills a created, never started workspace's file system from an archive file (tar, tar.gz or tar.zst of a
   * file system as seen inside: owners inside ids). Hostile input is refused with `bad_request`.
   */
  unpackArchive(id: string, file: string): Promise<void>;
}

// Answers (the workspace, where one is given, is the control plane's `Workspace`).

const Loose = { additionalProperties: true };
export const SnapshotResponse = Type.Object(
  { success: Type.Literal(true), snapshot: Type.Union([SnapshotWire, Type.Null()]), memory: Type.Boolean(), memory_reason: Type.String() },
  Loose,
);
export const ArchiveResponse = Type.Object({ success: Type.Literal(true), version: Type.String(), archive: ArchiveWire }, Loose);
export const ArchiveListResponse = Type.Object({ success: Type.Literal(true), archives: Type.Array(ArchiveWire) }, Loose);
export const ArchiveUploadResponse = Type.Object({ success: Type.Literal(true), upload: ArchiveUploadWire }, Loose);
export const ArchiveDeleteResponse = Type.Object({ success: Type.Literal(true) }, Loose);
export const ForkResponse = Type.Object(
  {
    success: Type.Literal(true),
    workspace: Type.Object({}, Loose),
    workspaces: Type.Array(Type.Object({}, Loose)),
    parent_id: Type.String(),
  },
  Loose,
);
