// The firewall table changed in place when a change only adds (firewall-update.ts), checked against the kernel:
// after each change the table nft lists is the one a whole replacement of the same rendering gives.
import { afterAll, describe, expect, it } from 'vitest';
import { type FirewallEntry, removeTable, renderTable } from '../src/firewall.js';
import { type AppliedTable, additions, applyTable } from '../src/firewall-update.js';
import { run } from '../src/run-command.js';
import { skipReason } from './helpers.js';

const skip = skipReason();
const TABLE = `cove_fwu${process.pid.toString(36)}`.slice(0, 20);
const OTHER = `${TABLE}x`;
// A subnet no test routes: the table's drops for it touch no other test's traffic.
const OPTIONS = { table: TABLE, subnet: '10.87.254.0/24', hostAddress: '10.87.254.1', agentPort: 9990 };

function entry(id: string, ip: string, overrides: Partial<FirewallEntry> = {}): FirewallEntry {
  return {
    id,
    ip,
    publicAccess: false,
    exposesPorts: false,
    allowInternet: true,
    linkedIps: [],
    ingressPorts: [],
    egress: null,
    resolvers: ['10.255.255.53'],
    ...overrides,
  };
}

/** The table as nft lists it, without handles and under one name (two tables of the same rules compare equal). */
async function listed(table: string): Promise<string> {
  const out = (await run(['nft', 'list', 'table', 'inet', table])).stdout;
  return out.replaceAll(table, 'T');
}

/** What a whole replacement of the same entries gives, in a table of its own. */
async function replaced(entries: FirewallEntry[]): Promise<string> {
  const model = renderTable({ ...OPTIONS, table: OTHER }, entries);
  await applyTable(model, undefined);
  return listed(OTHER);
}

describe.skipIf(skip)('firewall table changed in place', () => {
  afterAll(async () => {
    await removeTable(TABLE);
    await removeTable(OTHER);
  });

  it('adds a workspace, opens its network and adds a set in place; the kernel table is what a replacement gives', async () => {
    const a = entry('ws_a', '10.87.254.2');
    let applied: AppliedTable = await applyTable(renderTable(OPTIONS, [a]), undefined);
    expect(applied.handles).toBeDefined();

    const steps: FirewallEntry[][] = [
      // A second workspace (its rules go between the first's and the chains' closing drops).
      [a, entry('ws_b', '10.87.254.3')],
      // Its network opened: public access, ingress ports, a link to the first.
      [a, entry('ws_b', '10.87.254.3', { publicAccess: true, ingressPorts: [8080], linkedIps: ['10.87.254.2'] })],
      // A third with an egress allow-list: a new set and rules using it.
      [
        a,
        entry('ws_b', '10.87.254.3', { publicAccess: true, ingressPorts: [8080], linkedIps: ['10.87.254.2'] }),
        entry('ws_0', '10.87.254.4', { egress: ['203.0.113.0/24'] }),
      ],
    ];
    for (const entries of steps) {
      const next = renderTable(OPTIONS, entries);
      // Each of these only adds: no replacement.
      expect(additions(applied, next)).toBeDefined();
      const handlesBefore = [...(applied.handles?.values() ?? [])].flat();
      applied = await applyTable(next, applied);
      expect(applied.handles).toBeDefined();
      // The rules applied before kept their handles: they were not made again.
      const handlesAfter = new Set([...(applied.handles?.values() ?? [])].flat());
      for (const h of handlesBefore) expect(handlesAfter.has(h)).toBe(true);
      expect(await listed(TABLE)).toBe(await replaced(entries));
    }
  });

  it('replaces the table when a change removes a rule or changes a set, and when the table was changed by hand', async () => {
    const a = entry('ws_a', '10.87.254.2', { egress: ['203.0.113.0/24'] });
    const b = entry('ws_b', '10.87.254.3', { publicAccess: true });
    let applied = await applyTable(renderTable(OPTIONS, [a, b]), undefined);

    // ws_b deleted: its rules go (a removal cannot be made by additions).
    const removal = renderTable(OPTIONS, [a]);
    expect(additions(applied, removal)).toBeUndefined();
    applied = await applyTable(removal, applied);
    expect(await listed(TABLE)).toBe(await replaced([a]));

    // The allow-list's answer changed: the set changes.
    const changed = [entry('ws_a', '10.87.254.2', { egress: ['198.51.100.0/24'] })];
    expect(additions(applied, renderTable(OPTIONS, changed))).toBeUndefined();
    applied = await applyTable(renderTable(OPTIONS, changed), applied);
    expect(await listed(TABLE)).toBe(await replaced(changed));

    // Someone flushed a chain by hand: the insert next to a rule that is gone fails, the table is replaced whole.
    await run(['nft', 'flush', 'chain', 'inet', TABLE, 'output']);
    const grown = [...changed, entry('ws_b', '10.87.254.3', { publicAccess: true })];
    applied = await applyTable(renderTable(OPTIONS, grown), applied);
    expect(applied.handles).toBeDefined();
    expect(await listed(TABLE)).toBe(await replaced(grown));
  });
});
