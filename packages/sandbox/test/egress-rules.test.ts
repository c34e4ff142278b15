import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { egressElements, hostnameOf } from '../src/egress.js';
import { type FirewallEntry, renderRuleset, vethName } from '../src/index.js';
import { nameservers } from '../src/resolv-conf.js';
import { skipOutsideCi } from './helpers.js';

const OPTIONS = { table: 'cove_egress_check', subnet: '10.87.20.0/24', hostAddress: '10.87.20.1', agentPort: 9990 };

function entry(overrides: Partial<FirewallEntry> = {}): FirewallEntry {
  return {
    id: 'ws_a',
    ip: '10.87.20.2',
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

/** The lines of a chain (or set) block of the rendered table. */
function block(ruleset: string, head: string): string[] {
  const start = ruleset.indexOf(`  ${head} {\n`);
  if (start < 0) return [];
  const end = ruleset.indexOf('\n  }\n', start);
  return ruleset
    .slice(start, end)
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => !l.startsWith('type filter hook'));
}

/** Why nft cannot check a ruleset here (undefined when it can): it needs root and nft. */
function nftUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'nft -c needs root';
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'nft not found (bash scripts/system-deps.sh installs it)';
  }
}
const NFT_UNAVAILABLE = nftUnavailable();

/** Whether nft accepts the ruleset (check mode: nothing is applied): true, or nft's complaint. */
function nftAccepts(ruleset: string): true | string {
  try {
    execFileSync('nft', ['-c', '-f', '-'], { input: ruleset, stdio: ['pipe', 'pipe', 'pipe'] });
    return true;
  } catch (err) {
    return (err as { stderr?: Buffer }).stderr?.toString() || String(err);
  }
}

const dev = vethName('ws_a');

describe('egress allow-list rules', () => {
  it('an empty list adds no set and no outbound rule (internet access unrestricted)', () => {
    const ruleset = renderRuleset(OPTIONS, [entry()]);
    expect(ruleset).not.toContain('set egress_');
    expect(block(ruleset, 'chain forward').filter((r) => r.startsWith(`iifname "${dev}"`))).toEqual([]);
  });

  it('a list puts its addresses and ranges in a per-workspace interval set and drops the rest', () => {
    const ruleset = renderRuleset(OPTIONS, [
      entry({ egress: ['203.0.113.5', '198.51.100.0/24', '198.51.100.7', '192.0.2.9/30', 'bogus', '1.2.3.256'] }),
    ]);
    expect(block(ruleset, `set egress_${dev}`)).toEqual([
      'type ipv4_addr; flags interval;',
      'elements = { 192.0.2.8-192.0.2.11, 198.51.100.0-198.51.100.255, 203.0.113.5 }',
    ]);
    const forward = block(ruleset, 'chain forward');
    const mine = forward.filter((r) => r.startsWith(`iifname "${dev}"`));
    expect(mine).toEqual([
      `iifname "${dev}" ip daddr { 10.255.255.53 } meta l4proto { tcp, udp } th dport 53 accept`,
      `iifname "${dev}" ip daddr @egress_${dev} accept`,
      `iifname "${dev}" drop`,
    ]);
    // After the subnet's drop: traffic inside the subnet keeps its own rules (the list opens nothing there).
    expect(forward.indexOf('ip daddr 10.87.20.0/24 drop')).toBeLessThan(forward.indexOf(mine[0] as string));
    expect(forward[0]).toBe('ct state established,related accept');
  });

  it('a list whose entries give no address still restricts (closed): an empty set', () => {
    const ruleset = renderRuleset(OPTIONS, [entry({ egress: [] })]);
    expect(block(ruleset, `set egress_${dev}`)).toEqual(['type ipv4_addr; flags interval;']);
    expect(block(ruleset, 'chain forward')).toContain(`iifname "${dev}" drop`);
  });

  it('without internet access nothing leaves, whatever the list', () => {
    const ruleset = renderRuleset(OPTIONS, [entry({ allowInternet: false, egress: ['203.0.113.5'] })]);
    expect(ruleset).not.toContain('set egress_');
    expect(ruleset).not.toContain('dport 53');
    expect(block(ruleset, 'chain forward').filter((r) => r.startsWith(`iifname "${dev}"`))).toEqual([`iifname "${dev}" drop`]);
  });

  it("the workspace's resolvers stay reachable on port 53 through the host too (a resolver may be the host's)", () => {
    const ruleset = renderRuleset(OPTIONS, [entry({ resolvers: ['192.0.2.2', 'fe80::1', '10.0.0.2'] })]);
    const input = block(ruleset, 'chain input');
    expect(input).toEqual([
      'ip saddr 10.87.20.0/24 ct state established,related accept',
      `iifname "${dev}" ip daddr { 192.0.2.2, 10.0.0.2 } meta l4proto { tcp, udp } th dport 53 accept`,
      'ip saddr 10.87.20.0/24 drop',
    ]);
  });

  it('every rule stays scoped to the workspace links or the subnet', () => {
    const ruleset = renderRuleset(OPTIONS, [
      entry({ egress: ['203.0.113.5'] }),
      entry({ id: 'ws_b', ip: '10.87.20.3', egress: ['0.0.0.0/0'] }),
    ]);
    for (const name of ['forward', 'input']) {
      // (Accepting what answers a connection, the first rule, changes nothing.)
      for (const rule of block(ruleset, `chain ${name}`).filter((r) => r !== 'ct state established,related accept'))
        expect(rule).toMatch(/^(iifname "cv[0-9a-f]{10}" |oifname "cv|ip (s|d)addr 10\.87\.20\.0\/24 )/);
    }
    expect(block(ruleset, `set egress_${vethName('ws_b')}`)).toContain('elements = { 0.0.0.0-255.255.255.255 }');
  });

  it('exposed ports open the agent port to the host, not the ports themselves (the gateway goes through /proxy)', () => {
    const hostRules = (e: Partial<FirewallEntry>) =>
      block(renderRuleset(OPTIONS, [entry(e)]), 'chain output').filter((r) => r.startsWith(`oifname "${dev}"`));
    expect(hostRules({})).toEqual([]);
    expect(hostRules({ exposesPorts: true })).toEqual([`oifname "${dev}" tcp dport 9990 accept`]);
    expect(hostRules({ exposesPorts: true, publicAccess: true })).toEqual([`oifname "${dev}" tcp dport 9990 accept`]);
    // Nothing else changes: linked workspaces and the outside reach what they reached before.
    const forward = (e: Partial<FirewallEntry>) => block(renderRuleset(OPTIONS, [entry(e)]), 'chain forward');
    expect(forward({ exposesPorts: true })).toEqual(forward({}));
  });

  it(`renders a table nft accepts${NFT_UNAVAILABLE ? ` (cannot run here: ${NFT_UNAVAILABLE})` : ''}`, (ctx) => {
    // Outside CI a skip, named with its reason; under CI=true a failure with it.
    const skip = skipOutsideCi(NFT_UNAVAILABLE);
    if (skip !== undefined) ctx.skip(skip);
    const ruleset = renderRuleset(OPTIONS, [
      entry({ egress: ['203.0.113.5', '198.51.100.0/24', '198.51.100.7'], linkedIps: ['10.87.20.3'], ingressPorts: [8080] }),
      entry({ id: 'ws_b', ip: '10.87.20.3', egress: [], publicAccess: true, exposesPorts: true }),
      entry({ id: 'ws_c', ip: '10.87.20.4', allowInternet: false, egress: ['203.0.113.5'] }),
      entry({ id: 'ws_d', ip: '10.87.20.5', egress: ['0.0.0.0/0'], resolvers: [] }),
    ]);
    expect(nftAccepts(ruleset)).toBe(true);
  });
});

describe('egress entries', () => {
  it('merges addresses and ranges into disjoint set elements', () => {
    expect(egressElements(['10.0.0.1', '10.0.0.2', '10.0.0.0/31', '10.0.1.0/24', '10.0.0.3'])).toEqual([
      '10.0.0.0-10.0.0.3',
      '10.0.1.0-10.0.1.255',
    ]);
    expect(egressElements(['203.0.113.5/32', ' 203.0.113.5 ', '1.2.3', '1.2.3.4/33', '01.2.3.4x', 'a.b.c.d'])).toEqual(['203.0.113.5']);
  });

  it('reads host names, not addresses, URLs or wildcards', () => {
    expect(hostnameOf('API.Example.com.')).toBe('api.example.com');
    for (const bad of ['1.2.3.4', '999.1.1.1', 'http://x.com', '*.example.com', 'a..b', '-a.com', 'x.com:443', ''])
      expect(hostnameOf(bad)).toBeUndefined();
  });

  it("reads a resolv.conf's IPv4 nameservers", () => {
    expect(
      nameservers('search x\nnameserver 10.0.0.2\nnameserver fe80::1\n# nameserver 9.9.9.9\nnameserver 10.0.0.2\nnameserver 1.1.1.1 \n'),
    ).toEqual(['10.0.0.2', '1.1.1.1']);
  });
});
