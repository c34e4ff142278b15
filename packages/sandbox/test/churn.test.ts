import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { leftovers, loopsUnder, nftRules, skipReason, spec, useTestDriver } from './helpers.js';

const SLOT = 5;
const skip = skipReason();

function hostCounts() {
  return {
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length,
    links: readdirSync('/sys/class/net').length,
    netns: readdirSync('/run/netns').length,
  };
}

describe.skipIf(skip)(`sandbox churn${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTestDriver(SLOT);

  it('20 workspaces created, started and deleted in a loop leak nothing', async () => {
    // One workspace first, so that one-time set-up (the image, the cgroup parent) is not counted.
    const warm = spec();
    await t.driver.create(warm);
    await t.driver.destroy(warm.id);
    const before = hostCounts();
    const rulesBefore = await nftRules(t.driver.table);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const s = spec();
      ids.push(s.id);
      await t.driver.create(s);
      await t.driver.start(s);
      // Every fifth runs its agent too (a full start); the others stop at the created container.
      if (i % 5 === 0) await t.driver.startAgent(s.id, 'z'.repeat(64));
      await t.driver.destroy(s.id);
    }
    expect(hostCounts()).toEqual(before);
    expect(await nftRules(t.driver.table)).toBe(rulesBefore);
    for (const id of ids) expect(leftovers(t.driver, t.dataDir, id, `cove-test${SLOT}`)).toEqual([]);
    expect(await loopsUnder(t.dataDir)).toEqual([]);
    expect(await t.driver.runtime.list()).toEqual([]);
  }, 240_000);
});
