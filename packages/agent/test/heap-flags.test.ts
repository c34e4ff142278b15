// The agent's node runs with a small young generation (bin/node-flags.json), yet compiles Node's own modules
// from Node's built-in code cache: bin/bundle-loader.js sets the heap-sizing flags back to their defaults once
// the heap is set up, and the heap keeps the size it was set up with.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const loader = fileURLToPath(new URL('../bin/bundle-loader.js', import.meta.url));
const flags: string[] = JSON.parse(readFileSync(new URL('../bin/node-flags.json', import.meta.url), 'utf8'));

/**
 * Runs node under the agent's flags: optionally settles them, then loads Node's HTTP modules and churns the
 * young generation; prints how many of Node's modules loaded after that point came from its code cache, and the
 * young generation's size.
 */
function probe(settle: boolean) {
  const script = `
    ${settle ? `require(${JSON.stringify(loader)}).settleHeapFlags();` : ''}
    const { internalBinding } = require('internal/test/binding');
    const usage = () => internalBinding('builtins').getCacheUsage();
    const before = new Set([...usage().compiledWithCache, ...usage().compiledWithoutCache]);
    require('node:http'); require('node:child_process'); require('node:dns');
    const fresh = (set) => [...set].filter((m) => !before.has(m)).length;
    let keep = [];
    for (let i = 0; i < 1e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 50000) keep = []; }
    const young = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    process.stdout.write(JSON.stringify({ withCache: fresh(usage().compiledWithCache), withoutCache: fresh(usage().compiledWithoutCache), young }));
  `;
  const run = spawnSync(process.execPath, [...flags, '--expose-internals', '--no-warnings', '-e', script], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as { withCache: number; withoutCache: number; young: number };
}

describe("the agent's heap flags", () => {
  it('keep the young generation at its --max-semi-space-size while Node modules load from its code cache', () => {
    const semi = flags.find((f) => f.startsWith('--max-semi-space-size='));
    expect(semi).toBeDefined();
    const maxYoung = 2 * Number(semi?.split('=')[1]) * 1024 * 1024;

    const settled = probe(true);
    expect(settled.withCache).toBeGreaterThan(5);
    expect(settled.withoutCache).toBe(0);
    expect(settled.young).toBeLessThanOrEqual(maxYoung);

    // Unsettled, V8 refuses Node's cache for every module (what the agent's start paid before).
    const unsettled = probe(false);
    expect(unsettled.withCache).toBe(0);
    expect(unsettled.withoutCache).toBeGreaterThan(5);
    expect(unsettled.young).toBeLessThanOrEqual(maxYoung);
  });
});
