export type { RouteSource, WorkspaceRoute } from './route-source.js';
