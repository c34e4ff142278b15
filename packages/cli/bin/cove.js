#!/usr/bin/env node
// The `cove` command. The program is built by `npm ci` / `npm run build`: tsc writes ../dist, then
// scripts/bundle.mjs bundles it into ../dist/bundle, which starts several times faster.
import { statSync } from 'node:fs';

const mtime = (relative) => {
  try {
    return statSync(new URL(relative, import.meta.url)).mtimeMs;
  } catch {
    return -1;
  }
};
// A tsc build of the CLI, the SDK or the protocol newer than the bundle (`tsc -b` without the bundling step)
// means the bundle is stale: the plain build runs instead. An installed package has neither file: it uses
// the bundle.
const bundle = mtime('../dist/bundle/main.js');
const fresh =
  bundle > 0 &&
  ['../tsconfig.tsbuildinfo', '../../sdk/tsconfig.tsbuildinfo', '../../protocol/tsconfig.tsbuildinfo'].every((f) => mtime(f) <= bundle);
const { main } = await import(fresh ? '../dist/bundle/main.js' : '../dist/main.js');

// A reader that goes away (`cove ls dev | head`) ends the output, not the program with a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

/**
 * Once `main` is done, so is cove (servers and `watch` return only when they stop): exit as soon as stdout
 * and stderr have taken everything written, instead of waiting for fetch's kept-alive connections to go
 * idle, which held every `cove exec` 30 to 100 ms longer.
 */
function exitFlushed() {
  process.stdout.write('', () => process.stderr.write('', () => process.exit()));
}

main(process.argv).then(exitFlushed, (err) => {
  process.stderr.write(`cove: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
