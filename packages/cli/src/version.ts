import { readFileSync } from 'node:fs';

/** Written in by the bundler (scripts/bundle.mjs); absent in the sources and the plain tsc build. */
declare const COVE_CLI_VERSION: string | undefined;

/** The CLI's version, from packages/cli/package.json (one directory above both src/ and dist/). */
export function cliVersion(): string {
  if (typeof COVE_CLI_VERSION === 'string') return COVE_CLI_VERSION;
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
