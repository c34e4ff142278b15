// Loads the agent's bundle (dist/bundle/agent.cjs, made by scripts/bundle.mjs) as a CommonJS module with V8's
// code cache beside it: the functions a start runs come compiled instead of being parsed and compiled again
// in every workspace. A cache V8 refuses (another node, other flags, another bundle) only costs the compile.
// CommonJS (bin/package.json), like the entry: an ES module entry makes node load its ES module loader first.
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

/**
 * V8 flags that size the heap, read once when V8 sets the heap up (bin/node-flags.json's
 * `--max-semi-space-size`, which keeps an idle agent's young generation small).
 */
const HEAP_SETUP_FLAGS = ['--max-semi-space-size', '--min-semi-space-size'];

/**
 * Sets the heap-sizing flags back to their defaults once the heap is set up (it keeps the size it was given).
 * V8 hashes every flag that is not at its default into the check of each code cache it reads, so while such a
 * flag is set it refuses Node's own built-in code cache (made under default flags) and compiles every Node
 * module the agent loads from source: ~25 ms of CPU per start (bench/results/agent-start.md). Runs before
 * anything else the agent loads; the bundle's own cache is made after it too (scripts/code-cache.mjs), under
 * the flags that then remain.
 */
function settleHeapFlags() {
  const names = process.execArgv.map((a) => a.split('=', 1)[0].replaceAll('_', '-'));
  if (!HEAP_SETUP_FLAGS.some((f) => names.includes(f))) return;
  const v8 = require('node:v8');
  for (const flag of HEAP_SETUP_FLAGS) v8.setFlagsFromString(`${flag}=0`);
}

/**
 * @param {string} file the bundle's path
 * @returns {{ exports: Record<string, unknown>, script: vm.Script, cacheRejected: boolean | undefined }}
 */
function loadBundle(file) {
  settleHeapFlags();
  // ASCII (scripts/bundle.mjs escapes everything else): read without UTF-8 decoding.
  const source = readFileSync(file, 'latin1');
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    // No cache (yet): compiled as usual.
  }
  // Node's own CommonJS wrapper, so that the bundle sees what a module sees.
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new vm.Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
  return { exports: module.exports, script, cacheRejected: cachedData ? script.cachedDataRejected : undefined };
}

module.exports = { loadBundle, settleHeapFlags };
