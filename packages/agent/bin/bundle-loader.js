// Loads the agent's bundle (dist/bundle/agent.cjs, made by scripts/bundle.mjs) as a CommonJS module with V8's
// code cache beside it: the functions a start runs come compiled instead of being parsed and compiled again
// in every workspace. A cache V8 refuses (another node, other flags, another bundle) only costs the compile.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/**
 * @param {string} file the bundle's path
 * @returns {{ exports: Record<string, unknown>, script: vm.Script, cacheRejected: boolean | undefined }}
 */
export function loadBundle(file) {
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
