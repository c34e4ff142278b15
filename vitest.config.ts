import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import type { Reporter } from 'vitest/reporters';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

/** CI is on when `CI` is set to anything but an empty string, `0` or `false` (as CI services set it). */
const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

/**
 * In CI a test that cannot run must fail, not vanish: every skipped or todo test (`skip`, `skipIf`,
 * `runIf`, `ctx.skip()`, `todo`) fails the run, each named with its reason (the suite's name or the
 * `ctx.skip(note)` note). Outside CI skips stay skips, so a laptop without root still runs the rest.
 */
class SkipsFailInCI implements Reporter {
  onTestRunEnd(modules: Parameters<NonNullable<Reporter['onTestRunEnd']>>[0]): void {
    if (!inCI) return;
    const skipped: string[] = [];
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state !== 'skipped') continue;
        const note = result.note ? ` (${result.note})` : '';
        skipped.push(
          `  ${path.relative(process.cwd(), module.moduleId)}: ${test.fullName}${note}${test.options.mode === 'todo' ? ' [todo]' : ''}`,
        );
      }
    }
    if (skipped.length === 0) return;
    process.stderr.write(`\nCI=true: ${skipped.length} test(s) skipped; in CI every test must run:\n${skipped.join('\n')}\n`);
    process.exitCode = 1;
  }
}

export default defineConfig({
  resolve: {
    // Tests always run against the sources, never a stale build.
    alias: {
      // Subpaths before their package: an alias also matches everything below its name.
      '@cove/protocol/defaults': fileURLToPath(new URL('./packages/protocol/src/defaults.ts', import.meta.url)),
      '@cove/protocol/ids': fileURLToPath(new URL('./packages/protocol/src/ids.ts', import.meta.url)),
      '@cove/protocol': src('protocol'),
      '@cove/http': src('http'),
      '@cove/wire': src('wire'),
      '@cove/archive': src('archive'),
      '@cove/agent/main': fileURLToPath(new URL('./packages/agent/src/main.ts', import.meta.url)),
      '@cove/agent': src('agent'),
      '@cove/gateway': src('gateway'),
      '@cove/api': src('api'),
      '@cove/process-driver': src('process-driver'),
      '@cove/sandbox': src('sandbox'),
      '@cove/sdk/workspace': fileURLToPath(new URL('./packages/sdk/src/legacy/workspace.ts', import.meta.url)),
      '@cove/sdk/runtime': fileURLToPath(new URL('./packages/sdk/src/runtime/index.ts', import.meta.url)),
      '@cove/sdk': src('sdk'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'compat/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    reporters: ['default', new SkipsFailInCI()],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Route schemas are checked against the JSON Schema meta-schema in tests (servers skip it: @cove/http).
    env: { COVE_CHECK_SCHEMAS: '1' },
    pool: 'forks',
    // The official SDK's RuntimeWebSocket needs a global WebSocket, which Node 20 has behind this flag.
    poolOptions: { forks: { execArgv: ['--experimental-websocket'] } },
  },
});
