#!/usr/bin/env node
// Bundles the built agent (dist/main.js) with its JavaScript dependencies into one CommonJS file,
// dist/bundle/agent.cjs, and writes V8's code cache for it beside it (agent.cjs.cache; see
// bin/cove-agent.js). Node then reads and compiles one file instead of some 400 modules through the ES
// module loader, and most functions the start runs come compiled from the cache: the agent answers
// /health several times sooner (bench/results/agent-start.md). Native addons (node-pty, @cove/inotify)
// stay outside and load from their real paths. Run by `npm run build` after `tsc -b`; bin/cove-agent.js
// falls back to dist/main.js when the bundle is older than a tsc build.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = path.join(root, 'dist/bundle');
const outfile = path.join(outdir, 'agent.cjs');

/**
 * Modules read files relative to their own place (`new URL('../../native/build/exec-as', import.meta.url)`):
 * each module's `import.meta.url` becomes its original file's URL, computed from the bundle's own directory at
 * run time, so that the paths hold wherever the tree is mounted (/opt/cove/app inside a workspace).
 */
const importMetaUrl = {
  name: 'import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.(m?js)$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const relative = path.relative(outdir, args.path).split(path.sep).join('/');
      const url = `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(relative)})).href`;
      return { contents: text.replaceAll('import.meta.url', `(${url})`), loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

/**
 * Fastify requires node:https and node:http2 (with node:tls) when it loads, for servers the agent never
 * makes: they are loaded on first use instead, which spares every start ~10 ms.
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onLoad({ filter: /[\\/]fastify[\\/]lib[\\/]server\.js$/ }, async (args) => {
      let text = await readFile(args.path, 'utf8');
      for (const name of ['https', 'http2']) {
        const eager = `const ${name} = require('node:${name}')`;
        if (!text.includes(eager)) throw new Error(`${args.path} no longer has "${eager}": update scripts/bundle.mjs`);
        text = text.replace(eager, `const ${name} = new Proxy({}, { get: (_, key) => require('node:${name}')[key] })`);
      }
      return { contents: text, loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
await build({
  entryPoints: [path.join(root, 'dist/main.js')],
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Native addons load from their real paths; ws's optional native helpers are absent and looked up at run time.
  external: ['node-pty', '@cove/inotify', 'bufferutil', 'utf-8-validate'],
  plugins: [lazyBuiltins, importMetaUrl],
  // Less to read and hash at every start; identifiers are kept, so stack traces still name functions.
  minifyWhitespace: true,
  minifySyntax: true,
  // ASCII only (the default, made explicit): the loader reads it as latin1, with no UTF-8 decoding.
  charset: 'ascii',
  legalComments: 'none',
  logLevel: 'warning',
});

// The code cache: made by starting the bundled agent once (scripts/code-cache.mjs), with the V8 flags it runs
// with in a workspace (bin/node-flags.json, which the sandbox driver passes), so that V8 accepts it there: it
// refuses a cache made under other flags.
const flags = JSON.parse(await readFile(path.join(root, 'bin/node-flags.json'), 'utf8'));
execFileSync(process.execPath, [...flags, path.join(root, 'scripts/code-cache.mjs'), outfile], { stdio: 'inherit' });
