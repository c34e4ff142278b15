import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/run-command.js';
import { connectFrom, network, nftRules, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 9;
const skip = skipReason();

// An "outside" network of the test's own: a namespace behind a veth pair whose host side is routed like any
// other host link (its name does not start with "cv", so workspaces' traffic is masqueraded onto it). All
// traffic here stays between namespaces this test made and the host side of their links. Its names are this
// run's (prefix `cte`, "cove test egress"), and so is its /24, so that runs side by side never touch each other's.
const RUN = randomBytes(3).toString('hex');
const NS = `cte-${RUN}`;
const HOST_DEV = `cte${RUN}h`;
const NS_DEV = `cte${RUN}n`;
const OCTET = randomInt(0, 255);
const NET = `10.250.${OCTET}`;
/** A /24 next to it that holds none of its addresses. */
const OTHER_NET = `10.250.${OCTET + 1}.0/24`;
const HOST_SIDE = `${NET}.1`;
const OUTSIDE = `${NET}.2`;
/** Reachable by nothing: only ever a destination the firewall is told to allow instead. */
const ELSEWHERE = `${NET}.6`;
const PORT = 8080;
const NAME = 'outside.egress.test';

/** Removes this run's outside network (and nothing of another run's). */
async function removeOutside(): Promise<void> {
  await run(['ip', 'link', 'del', HOST_DEV], { allowFailure: true });
  await run(['ip', 'netns', 'del', NS], { allowFailure: true });
}

describe.skipIf(skip)(`sandbox egress allow-lists${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestDriver;
  let listener: ChildProcess | undefined;
  const w = spec();
  // The injected resolver: the test's name resolves to whatever `answer` says, every other name to nothing.
  let answer = [OUTSIDE];
  const lookup = async (name: string) => {
    if (name === NAME) return answer;
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };

  beforeAll(async () => {
    await run(['ip', 'netns', 'add', NS]);
    await run(['ip', 'link', 'add', HOST_DEV, 'type', 'veth', 'peer', 'name', NS_DEV, 'netns', NS]);
    await run(['ip', 'addr', 'add', `${HOST_SIDE}/30`, 'dev', HOST_DEV]);
    await run(['ip', 'link', 'set', HOST_DEV, 'up']);
    await run(['ip', '-n', NS, 'addr', 'add', `${OUTSIDE}/30`, 'dev', NS_DEV]);
    await run(['ip', '-n', NS, 'link', 'set', NS_DEV, 'up']);
    await run(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
    // A TCP listener on the outside address: port 8080, and port 53 (a would-be resolver the workspace is not given).
    // (A client closing at once resets its socket: that error is not the listener's end.)
    const script = `const net=require('net');let n=0;for(const p of [${PORT},53])net.createServer(s=>{s.on('error',()=>{});s.end('hi')}).listen(p,'${OUTSIDE}',()=>{if(++n===2)console.log('ready')})`;
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    listener = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`the outside listener exited (${code})`)));
    });
    t = await openTestDriver(SLOT, { egressLookup: lookup, egressRefreshMs: 200 });
    await t.driver.create(w);
    await t.driver.start(w);
  }, 300_000);

  afterAll(async () => {
    await t?.close();
    listener?.kill();
    await removeOutside();
  }, 120_000);

  const reach = (ip = OUTSIDE, port = PORT) => connectFrom(t.driver, w.id, ip, port);

  it('without a list the outside is reachable; with one, only the listed addresses are', async () => {
    await t.driver.applyNetwork(w.id, network());
    expect(await reach()).toBe(0);
    await t.driver.applyNetwork(w.id, network({ egress: [OUTSIDE] }));
    expect(await reach()).toBe(0);
    await t.driver.applyNetwork(w.id, network({ egress: [ELSEWHERE] }));
    expect(await reach()).toBe(124);
    // Invalid entries are ignored: they open nothing (and the list still restricts).
    await t.driver.applyNetwork(w.id, network({ egress: ['not an address', `${OUTSIDE}/40`, `${OUTSIDE}:8080`] }));
    expect(await reach()).toBe(124);
  }, 60_000);

  it('CIDR ranges allow the addresses they contain', async () => {
    await t.driver.applyNetwork(w.id, network({ egress: [ELSEWHERE, `${NET}.0/30`] }));
    expect(await reach()).toBe(0);
    await t.driver.applyNetwork(w.id, network({ egress: [OTHER_NET, `${NET}.4/30`] }));
    expect(await reach()).toBe(124);
    await t.driver.applyNetwork(w.id, network({ egress: ['10.250.0.0/16'] }));
    expect(await reach()).toBe(0);
  }, 60_000);

  it('host names follow their answers: resolved when applied, again periodically', async () => {
    answer = [OUTSIDE];
    await t.driver.applyNetwork(w.id, network({ egress: [NAME] }));
    expect(await reach()).toBe(0);
    answer = [ELSEWHERE];
    // The periodic re-resolution (every 200 ms here) replaces the set's elements.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await nftRules(t.driver.table)).includes(OUTSIDE)) await delay(100);
    expect(await nftRules(t.driver.table)).toContain(ELSEWHERE);
    expect(await reach()).toBe(124);
    // A name that does not resolve allows nothing, and does not fail the apply.
    answer = [OUTSIDE];
    await t.driver.applyNetwork(w.id, network({ egress: ['nowhere.egress.test'] }));
    expect(await reach()).toBe(124);
  }, 60_000);

  it("DNS stays open only to the workspace's own resolvers", async () => {
    await t.driver.applyNetwork(w.id, network({ egress: [ELSEWHERE] }));
    // The outside's port 53 is no resolver of the workspace's.
    expect(await reach(OUTSIDE, 53)).toBe(124);
    const resolvConf = await readFile(`${t.dataDir}/workspaces/${t.driver.slotOf(w.id)}/resolv.conf`, 'utf8');
    const resolvers = [...resolvConf.matchAll(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)/gm)].map((m) => m[1] as string);
    expect(resolvers.length).toBeGreaterThan(0);
    const rules = await nftRules(t.driver.table);
    for (const ip of resolvers)
      expect(rules).toMatch(new RegExp(`ip daddr [{ ]*[^}\\n]*${ip.replace(/\./g, '\\.')}[^\\n]*th dport 53 accept`));
    // Without a list, port 53 anywhere is as open as the rest.
    await t.driver.applyNetwork(w.id, network());
    expect(await reach(OUTSIDE, 53)).toBe(0);
  }, 60_000);

  it('without internet access nothing leaves, whatever the list says', async () => {
    await t.driver.applyNetwork(w.id, network({ allowInternet: false, egress: [OUTSIDE] }));
    expect(await reach()).toBe(124);
    await t.driver.applyNetwork(w.id, network({ allowInternet: false }));
    expect(await reach()).toBe(124);
    // Back on, the list applies again.
    await t.driver.applyNetwork(w.id, network({ egress: [ELSEWHERE] }));
    expect(await reach()).toBe(124);
    await t.driver.applyNetwork(w.id, network({ egress: [OUTSIDE] }));
    expect(await reach()).toBe(0);
  }, 60_000);
});
