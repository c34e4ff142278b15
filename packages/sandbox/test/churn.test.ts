import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { netnsName, vethName } from '../src/index.js';
import { CGROUPS, ID_PREFIX, leftovers, loopsUnder, nftRules, skipReason, spec, useTestDriver } from './helpers.js';

const SLOT = 5;
const skip = skipReason();

describe.skipIf(skip)(`sandbox churn (${CGROUPS})${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTestDriver(SLOT);

  /**
   * What on the host carries this test's names: mounts under its data directory or of its namespaces, its
   * workspaces' links and namespaces. (Other test files and benchmarks change the host's totals meanwhile.)
   */
  function own(ids: readonly string[]) {
    return {
      mounts: readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        // The data directory's disk pool (the driver's, not a workspace's) stays mounted until destroyAll.
        .filter((l) => !l.includes(` ${t.dataDir}/disks `))
        .filter((l) => l.includes(t.dataDir) || l.includes(`/run/netns/${netnsName(ID_PREFIX)}`)),
      links: ids.map(vethName).filter((dev) => existsSync(`/sys/class/net/${dev}`)),
      netns: readdirSync('/run/netns').filter((ns) => ns.startsWith(netnsName(ID_PREFIX))),
    };
  }

  it('20 workspaces created, started and deleted in a loop leak nothing', async () => {
    const rulesBefore = await nftRules(t.driver.table);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const s = spec();
      ids.push(s.id);
      await t.driver.create(s);
      await t.driver.start(s);
      // Every fifth runs its agent too (a full start); the others stop at the created container.
      if (i % 5 === 0) await t.driver.startAgent(s.id, 'z'.repeat(64));
      if (i === 0) {
        // While it exists, the counts below see it: they would not miss a leak.
        const present = own(ids);
        expect(present).toMatchObject({ links: [vethName(s.id)], netns: [netnsName(s.id)] });
        expect(present.mounts.length).toBeGreaterThan(1);
      }
      await t.driver.destroy(s.id);
    }
    expect(own(ids)).toEqual({ mounts: [], links: [], netns: [] });
    expect(await nftRules(t.driver.table)).toBe(rulesBefore);
    for (const id of ids) expect(leftovers(t.driver, t.dataDir, id, `cove-test${SLOT}`)).toEqual([]);
    expect(await loopsUnder(t.dataDir)).toEqual([]);
    expect(await t.driver.runtime.list()).toEqual([]);
  }, 240_000);
});
