export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { createGatewayLogger } from './logger.js';
export type { RouteSource, WorkspaceRoute } from './route-source.js';
export { StaticRouteSource } from './static-routes.js';
export type { UpstreamTimeouts } from './wire/upstream-pools.js';
