export { type AccessToken, ApiAccess } from './control/api-access.js';
export { Oblien, OblienClient, WorkspaceHandle } from './control/client.js';
export type { ClientOptions } from './control/control-http.js';
export {
  type ImageInfo,
  type ImageListParams,
  type ImageListResult,
  type ImageProgress,
  Images,
  type ImportImageOptions,
  type PullImageOptions,
} from './control/images.js';
export {
  type Duration,
  type IdlePolicy,
  Lifecycle,
  type LifecycleEvent,
  type LifecycleStatus,
  type TtlAction,
} from './control/lifecycle.js';
export { type LogFileInfo, type LogLine, type LogSource, Logs } from './control/logs.js';
export { Metadata, type MetadataResult, type WorkspaceMetadata } from './control/metadata.js';
export { Metrics, type MetricsConfig, type MetricsInfo, type StatsResponse, type StatsSample } from './control/metrics.js';
export { Network, type NetworkSettings } from './control/network.js';
export { type ExposePortParams, PublicAccess, type PublicAccessPort } from './control/public-access.js';
export { type ResourceChange, Resources, type UpdateResourcesParams, type WorkspaceResources } from './control/resources.js';
export { type ArchiveCreateParams, type ArchiveInfo, type ArchiveUpload, type SnapshotInfo, Snapshots } from './control/snapshots.js';
export { type WorkloadInfo, type WorkloadLogEntry, type WorkloadStats, type WorkloadStatusInfo, Workloads } from './control/workloads.js';
export { type CreateWorkspaceOptions, type WorkspaceInfo, Workspaces } from './control/workspaces.js';
export { Workspace } from './legacy/workspace.js';
export * from './runtime/index.js';
