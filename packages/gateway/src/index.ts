export type { UpstreamTimeouts } from '@cove/wire';
export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { createGatewayLogger } from './logger.js';
export { StaticRouteSource } from './static-routes.js';
