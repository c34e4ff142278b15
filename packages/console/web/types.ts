// The wire shapes the console reads, from the protocol's schemas (the single source of truth).
import type {
  ArchiveWire,
  ExecTaskJson,
  FileEntry,
  LifecycleResponse,
  LogLine,
  NetworkResponse as NetworkSchema,
  PublicPort as PublicPortSchema,
  SnapshotWire,
  StatsResponse,
  WorkloadInfo,
  WorkloadLogEntry,
  Workspace as WorkspaceSchema,
} from '@cove/protocol';
import type { Static } from '@sinclair/typebox';

/** A workspace as `GET /workspace` presents it (the schema's fields, plus the ones the presenter adds). */
export type Workspace = Static<typeof WorkspaceSchema> & {
  ip?: string | null;
  cpus?: number;
  memory_mb?: number;
  disk_size_mb?: number;
};
export type NetworkResponse = Static<typeof NetworkSchema>;
export type PublicPort = Static<typeof PublicPortSchema>;
export type Lifecycle = Static<typeof LifecycleResponse>;
export type Snapshot = Static<typeof SnapshotWire>;
export type Archive = Static<typeof ArchiveWire>;
export type { ExecTaskJson, FileEntry, LogLine, StatsResponse, WorkloadInfo, WorkloadLogEntry };
