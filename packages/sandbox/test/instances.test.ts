import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxDriver } from '../src/index.js';
import { chooseNetwork, INSTANCES_DIR, type InstanceClaim, instanceClaims, instanceId, overlaps } from '../src/instance-network.js';
import { run } from '../src/run-command.js';
import { connectFromHost, IMAGES_DIR, network, nftRules, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 10;
const skip = skipReason();

const other = (o: Partial<InstanceClaim>): InstanceClaim => ({
  id: 'ffffffffffff',
  dataDir: '/srv/other',
  pid: 1,
  subnet: '10.70.0.0/16',
  table: 'cove_ffffffffffff',
  ...o,
});
const base = { id: '000000000000', legacy: false, others: [], routes: [], addresses: [] };

describe('choosing an instance network', () => {
  it("derives the table from the data directory's id and a free /16 of 10.64.0.0/10 from it", () => {
    const chosen = chooseNetwork(base);
    // Candidate 0 of 10.64…10.127 (but for 10.85–10.88: tests, benchmarks and the earlier default): 10.64.0.0/16.
    expect(chosen).toEqual({ table: 'cove_000000000000', subnet: '10.64.0.0/16' });
    // Candidate 0x15 = 21 comes after 10.84: 10.89, not one of those.
    expect(chooseNetwork({ ...base, id: '000000150000' }).subnet).toBe('10.89.0.0/16');
    // Taken by another instance or overlapping a host route: the next free one.
    const busy = chooseNetwork({
      ...base,
      others: [other({ subnet: '10.64.0.0/16' })],
      routes: [{ dst: '10.65.3.0/24', dev: 'docker0' }, { dst: 'default', dev: 'eth0' }, { dst: '10.66.0.9' }],
    });
    expect(busy.subnet).toBe('10.67.0.0/16');
  });

  it('keeps a recorded network, uses an explicit one, and the earlier defaults for an earlier data directory', () => {
    const recorded = { subnet: '10.99.0.0/20', table: 'cove_mine' };
    expect(chooseNetwork({ ...base, recorded })).toEqual(recorded);
    expect(chooseNetwork({ ...base, recorded, subnet: '10.98.0.0/24', table: 'cove_x' })).toEqual({
      subnet: '10.98.0.0/24',
      table: 'cove_x',
    });
    expect(chooseNetwork({ ...base, legacy: true, addresses: ['10.88.0.2', '10.88.1.7'] })).toEqual({
      subnet: '10.88.0.0/16',
      table: 'cove',
    });
  });

  it('refuses, naming the flag, what another instance or a host route has, or what does not hold the workspaces', () => {
    expect(() => chooseNetwork({ ...base, subnet: '10.70.4.0/24', others: [other({})] })).toThrow(
      'subnet 10.70.4.0/24 overlaps 10.70.0.0/16 of the Cove instance of /srv/other; choose another with --subnet',
    );
    expect(() => chooseNetwork({ ...base, subnet: '192.168.0.0/16', routes: [{ dst: '192.168.7.0/24', dev: 'wlan0' }] })).toThrow(
      'subnet 192.168.0.0/16 overlaps the host route 192.168.7.0/24 (dev wlan0); choose another with --subnet',
    );
    expect(() => chooseNetwork({ ...base, table: 'cove_ffffffffffff', others: [other({})] })).toThrow(
      "nftables table 'cove_ffffffffffff' belongs to the Cove instance of /srv/other; choose another with --nft-table",
    );
    // A recorded subnet taken meanwhile is refused too (the instance's workspaces would be unreachable).
    expect(() => chooseNetwork({ ...base, recorded: { subnet: '10.70.0.0/16', table: 'cove_a' }, others: [other({})] })).toThrow(
      /--subnet/,
    );
    expect(() => chooseNetwork({ ...base, subnet: '10.90.0.0/24', addresses: ['10.88.0.2'] })).toThrow(
      /does not hold 10\.88\.0\.2, an address of this data directory's workspaces; start with --subnet/,
    );
    expect(() => chooseNetwork({ ...base, table: 'Cove-1' })).toThrow(/invalid nftables table name/);
  });

  it('tells overlapping ranges apart', () => {
    expect(overlaps('10.64.0.0/16', '10.64.255.255')).toBe(true);
    expect(overlaps('10.64.0.0/16', '10.65.0.0/16')).toBe(false);
    expect(overlaps('10.0.0.0/8', '10.200.1.0/24')).toBe(true);
    expect(overlaps('0.0.0.0/0', '192.0.2.0/24')).toBe(true);
  });
});

// Two drivers on different data directories, as two `cove up` on one host: real nftables, runc and routes.
describe.skipIf(skip)(`two sandbox driver instances on one host${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let a: TestDriver;
  let b: TestDriver;
  const wa = spec();
  const wb = spec();
  const reach = async (ip: string, token: string) =>
    (await fetch(`http://${ip}:9990/runtime`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) })).status;
  /** A data directory for a driver that should never open: removed after the test. */
  let spare = '';

  beforeAll(async () => {
    // Neither gets a subnet or table: each derives its own from its data directory, as `cove up` does.
    a = await openTestDriver(SLOT, {}, 'derived');
    b = await openTestDriver(SLOT, {}, 'derived');
    spare = await mkdtemp(path.join(os.tmpdir(), `cove-sandbox-${SLOT}-`));
    for (const [t, w, token] of [
      [a, wa, 'a'.repeat(64)],
      [b, wb, 'b'.repeat(64)],
    ] as const) {
      await t.driver.create(w);
      await t.driver.start(w);
      await t.driver.startAgent(w.id, token);
    }
  }, 300_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    if (spare) await rm(spare, { recursive: true, force: true });
  }, 120_000);

  it('each has its own table and subnet, derived from its data directory and recorded in it', async () => {
    expect(a.driver.table).toBe(`cove_${instanceId(a.dataDir)}`);
    expect(b.driver.table).toBe(`cove_${instanceId(b.dataDir)}`);
    expect(a.driver.table).not.toBe(b.driver.table);
    expect(overlaps(a.driver.subnet, b.driver.subnet)).toBe(false);
    for (const t of [a, b]) {
      expect(t.driver.subnet).toMatch(/^10\.\d+\.0\.0\/16$/);
      expect(overlaps('10.64.0.0/10', t.driver.subnet)).toBe(true);
      expect(existsSync(path.join(t.dataDir, 'network.json'))).toBe(true);
      expect(overlaps(t.driver.subnet, t.driver.addressOf(t === a ? wa.id : wb.id) ?? '')).toBe(true);
    }
    const claims = await instanceClaims();
    expect(claims.find((c) => c.dataDir === a.dataDir)).toMatchObject({ subnet: a.driver.subnet, table: a.driver.table });
    expect(claims.find((c) => c.dataDir === b.dataDir)).toMatchObject({ subnet: b.driver.subnet, table: b.driver.table });
  });

  it("both work, and neither's network changes touch the other's table", async () => {
    const ipA = a.driver.addressOf(wa.id) ?? '';
    const ipB = b.driver.addressOf(wb.id) ?? '';
    await a.driver.applyNetwork(wa.id, network({ publicAccess: true }));
    const rulesA = await nftRules(a.driver.table);
    expect(rulesA).toContain(a.driver.subnet);
    await b.driver.applyNetwork(wb.id, network({ publicAccess: true, ingressPorts: [8080] }));
    expect(await nftRules(a.driver.table)).toBe(rulesA);
    expect(await nftRules(b.driver.table)).toContain('8080');
    expect(await reach(ipA, 'a'.repeat(64))).toBe(200);
    expect(await reach(ipB, 'b'.repeat(64))).toBe(200);
    // B goes dark: A stays reachable, B does not.
    await b.driver.applyNetwork(wb.id, network());
    expect(await nftRules(a.driver.table)).toBe(rulesA);
    expect(await reach(ipA, 'a'.repeat(64))).toBe(200);
    expect(await connectFromHost(ipB, 9990)).toBe('timeout');
  }, 60_000);

  it('a restart without a subnet or table keeps its own', async () => {
    const again = await SandboxDriver.open({
      dataDir: a.dataDir,
      imagesDir: IMAGES_DIR,
      cgroupParent: `cove-test${SLOT}`,
      ephemeralNetwork: true,
      log: pino({ level: 'silent' }),
    });
    expect([again.table, again.subnet]).toEqual([a.driver.table, a.driver.subnet]);
    expect(again.addressOf(wa.id)).toBe(a.driver.addressOf(wa.id));
    expect(again.agentRunning(wa.id)).toBe(true);
    expect(await reach(again.addressOf(wa.id) ?? '', 'a'.repeat(64))).toBe(200);
  }, 60_000);

  it("a subnet or table another instance has, or a host route overlaps, is refused with the flag's name", async () => {
    const open = (extra: { subnet?: string; nftTable?: string }) =>
      SandboxDriver.open({ dataDir: spare, imagesDir: IMAGES_DIR, ephemeralNetwork: true, log: pino({ level: 'silent' }), ...extra });
    await expect(open({ subnet: a.driver.subnet })).rejects.toThrow(
      `subnet ${a.driver.subnet} overlaps ${a.driver.subnet} of the Cove instance of ${a.dataDir}; choose another with --subnet`,
    );
    const inB = b.driver.subnet.replace(/\.0\.0\/16$/, '.7.0/24');
    await expect(open({ subnet: inB })).rejects.toThrow(`overlaps ${b.driver.subnet} of the Cove instance of ${b.dataDir}`);
    await expect(open({ subnet: '10.87.250.0/24', nftTable: b.driver.table })).rejects.toThrow(
      `nftables table '${b.driver.table}' belongs to the Cove instance of ${b.dataDir}; choose another with --nft-table`,
    );
    // A route of the host's own (a blackhole route of this test's: it carries no traffic).
    const routed = `10.251.${Math.floor(Math.random() * 256)}.0/24`;
    await run(['ip', 'route', 'add', 'blackhole', routed]);
    try {
      await expect(open({ subnet: routed })).rejects.toThrow(
        `subnet ${routed} overlaps the host route ${routed}; choose another with --subnet`,
      );
    } finally {
      await run(['ip', 'route', 'del', 'blackhole', routed], { allowFailure: true });
    }
    // Refused claims leave no record behind.
    expect(existsSync(path.join(spare, 'network.json'))).toBe(false);
    expect((await instanceClaims()).some((c) => c.dataDir === spare)).toBe(false);
  }, 60_000);

  it("a crashed test run's claim (ephemeral, its process gone) is dropped with its table", async () => {
    // What a crashed run leaves: its data directory's record, its index entry naming its dead process, its table.
    const dead = spawnSync('true').pid;
    const table = `cove_t${SLOT}crashed`;
    await writeFile(path.join(spare, 'network.json'), JSON.stringify({ subnet: '10.85.250.0/24', table }));
    const claim = { id: instanceId(spare), dataDir: spare, pid: dead, subnet: '10.85.250.0/24', table, ephemeral: true };
    await writeFile(path.join(INSTANCES_DIR, `${claim.id}.json`), JSON.stringify(claim));
    await run(['nft', 'add', 'table', 'inet', table]);
    expect(await nftRules(table)).toContain(table);
    expect((await instanceClaims()).some((c) => c.dataDir === spare)).toBe(false);
    expect(await nftRules(table)).toBe('');
    expect(existsSync(path.join(INSTANCES_DIR, `${claim.id}.json`))).toBe(false);
    await rm(path.join(spare, 'network.json'));
  });

  it("deleting one instance leaves the other's table and workspaces intact", async () => {
    const rulesA = await nftRules(a.driver.table);
    await b.driver.destroyAll();
    expect(await nftRules(b.driver.table)).toBe('');
    expect((await instanceClaims()).some((c) => c.dataDir === b.dataDir)).toBe(false);
    expect(await nftRules(a.driver.table)).toBe(rulesA);
    expect(await reach(a.driver.addressOf(wa.id) ?? '', 'a'.repeat(64))).toBe(200);
  }, 60_000);
});
