import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests always run against the sources, never a stale build.
    alias: {
      '@cove/protocol': src('protocol'),
      '@cove/http': src('http'),
      '@cove/agent': src('agent'),
      '@cove/gateway': src('gateway'),
      '@cove/api': src('api'),
      '@cove/sandbox': src('sandbox'),
      '@cove/sdk/workspace': fileURLToPath(new URL('./packages/sdk/src/legacy/workspace.ts', import.meta.url)),
      '@cove/sdk/runtime': fileURLToPath(new URL('./packages/sdk/src/runtime/index.ts', import.meta.url)),
      '@cove/sdk': src('sdk'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'compat/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The official SDK's RuntimeWebSocket needs a global WebSocket, which Node 20 has behind this flag.
    poolOptions: { forks: { execArgv: ['--experimental-websocket'] } },
  },
});
