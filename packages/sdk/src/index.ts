export { type AccessToken, ApiAccess } from './control/api-access.js';
export { Oblien, OblienClient, WorkspaceHandle } from './control/client.js';
export type { ClientOptions } from './control/control-http.js';
export { Network, type NetworkSettings } from './control/network.js';
export { type ExposePortParams, PublicAccess, type PublicAccessPort } from './control/public-access.js';
export { type CreateWorkspaceOptions, type WorkspaceInfo, Workspaces } from './control/workspaces.js';
export { Workspace } from './legacy/workspace.js';
export * from './runtime/index.js';
