#!/usr/bin/env node
// Bundles the built agent (dist/main.js) with its JavaScript dependencies into one CommonJS file,
// dist/bundle/agent.cjs, and writes V8's code cache for it beside it (agent.cjs.cache; see
// bin/cove-agent.js). Node then reads and compiles one file instead of some 400 modules through the ES
// module loader, and most functions the start runs come compiled from the cache: the agent answers
// /health several times sooner (bench/results/agent-start.md). Native addons (node-pty, @cove/inotify)
// stay outside and load from their real paths. Run by `npm run build` after `tsc -b`; bin/cove-agent.js
// falls back to dist/main.js when the bundle is older than a tsc build.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
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
 * Node's own modules the agent needs for some requests only (crypto, zlib, TLS, worker threads, assert...) are
 * loaded on first use: the bundle's modules import ~50 of Node's modules at load, and each costs its compile
 * and evaluation at every start. Each such import resolves to a stand-in with the module's exports as getters
 * (the names listed here at build time, by the node that builds and runs the bundle), which requires the real
 * module the first time one is read. A module that reads an export at load (`const { x } = require(...)`)
 * loads it then, as before.
 */
const LAZY_BUILTINS = ['assert', 'crypto', 'dns', 'http2', 'https', 'perf_hooks', 'querystring', 'tls', 'tty', 'worker_threads', 'zlib'];
const nodeRequire = createRequire(import.meta.url);
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
    b.onResolve({ filter }, (args) => {
      const name = args.path.replace(/^node:/, '');
      // The stand-in's own require is the real module.
      if (args.namespace === 'lazy-builtin') return { path: `node:${name}`, external: true };
      return { path: name, namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: standIn(nodeRequire(`node:${args.path}`), `node:${args.path}`),
      loader: 'js',
    }));
  },
};

/**
 * A module whose exports are getters that require `specifier` the first time one is read (`real`: the module,
 * loaded here at build time for its export names).
 */
function standIn(real, specifier) {
  // Own names, not only enumerable ones: zlib's legacy constants (`zlib.Z_SYNC_FLUSH`, read by ws) are not.
  const own = ['default', '__esModule', 'length', 'name', 'prototype', 'caller', 'arguments'];
  const keys = Object.getOwnPropertyNames(real).filter((k) => !own.includes(k));
  // assert is a function with properties: its stand-in is a function too.
  const base = typeof real === 'function' ? 'function (...a) { return load().apply(this, a); }' : '{}';
  return [
    'let real;',
    `const load = () => (real ??= require(${JSON.stringify(specifier)}));`,
    `module.exports = ${base};`,
    `for (const key of ${JSON.stringify(keys)}) Object.defineProperty(module.exports, key, { enumerable: true, get: () => load()[key], set: (v) => { load()[key] = v; } });`,
  ].join('\n');
}

/**
 * Packages of the bundle that a start loads but no start uses, loaded on first use in the same way: `yaml`
 * (@fastify/swagger's, for an OpenAPI document asked for as YAML, which the agent never serves; ~40 modules).
 */
const LAZY_PACKAGES = ['yaml'];
const lazyPackages = {
  name: 'lazy-packages',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${LAZY_PACKAGES.join('|')})$`) }, (args) => {
      // The stand-in's own require: the real package, bundled as usual.
      if (args.namespace === 'lazy-package') return undefined;
      return { path: args.path, namespace: 'lazy-package', pluginData: { resolveDir: args.resolveDir } };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => {
      const { resolveDir } = args.pluginData;
      const real = createRequire(path.join(resolveDir, 'index.js'))(args.path);
      return { contents: standIn(real, args.path), loader: 'js', resolveDir };
    });
  },
};

/**
 * esbuild's `__toESM` copies every export of a CommonJS module into a new object for each module that imports
 * it: Node's `fs` or `path`, imported by dozens of the bundle's modules, was copied dozens of times at every
 * start. The copy is made once per module and kept (it holds getters only: every importer sees the same values).
 */
const TO_ESM = 'var __toESM=(mod,isNodeMode,target)=>(';
function memoizeToEsm(text) {
  if (!text.includes(TO_ESM)) throw new Error(`esbuild's output no longer has "${TO_ESM}": update scripts/bundle.mjs`);
  return text.replace(
    TO_ESM,
    'var __toESMKept=[new WeakMap,new WeakMap],__toESM=(mod,isNodeMode)=>{if(mod==null||typeof mod!="object"&&typeof mod!="function")return __toESMOnce(mod,isNodeMode);let kept=__toESMKept[isNodeMode?1:0],copy=kept.get(mod);return copy===void 0&&kept.set(mod,copy=__toESMOnce(mod,isNodeMode)),copy};var __toESMOnce=(mod,isNodeMode,target)=>(',
  );
}

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
  plugins: [lazyBuiltins, lazyPackages, importMetaUrl],
  // Less to read and hash at every start; identifiers are kept, so stack traces still name functions.
  minifyWhitespace: true,
  minifySyntax: true,
  // ASCII only (the default, made explicit): the loader reads it as latin1, with no UTF-8 decoding.
  charset: 'ascii',
  legalComments: 'none',
  logLevel: 'warning',
});
await writeFile(outfile, memoizeToEsm(await readFile(outfile, 'latin1')), 'latin1');

// The code cache: made by starting the bundled agent once (scripts/code-cache.mjs), with the V8 flags it runs
// with in a workspace (bin/node-flags.json, which the sandbox driver passes), so that V8 accepts it there: it
// refuses a cache made under other flags.
const flags = JSON.parse(await readFile(path.join(root, 'bin/node-flags.json'), 'utf8'));
execFileSync(process.execPath, [...flags, path.join(root, 'scripts/code-cache.mjs'), outfile], { stdio: 'inherit' });
