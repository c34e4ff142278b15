import { createGateway, type Gateway, type GatewayOptions } from '@cove/gateway';
import pino from 'pino';
import { MemoryRouteSource } from './memory-routes.js';
import { SECRET } from './tokens.js';

export interface TestGateway {
  gateway: Gateway;
  url: string;
  routes: MemoryRouteSource;
  close(): Promise<void>;
}

/** Starts a gateway on 127.0.0.1:0 over an in-memory route source. */
export async function startTestGateway(options: Partial<GatewayOptions> & { routes?: MemoryRouteSource } = {}): Promise<TestGateway> {
  const routes = options.routes ?? new MemoryRouteSource();
  const gateway = createGateway({
    secret: SECRET,
    logger: pino({ level: process.env.COVE_TEST_LOG ?? 'silent' }),
    ...options,
    routes,
  });
  const url = await gateway.listen('127.0.0.1', 0);
  return { gateway, url, routes, close: () => gateway.close() };
}
