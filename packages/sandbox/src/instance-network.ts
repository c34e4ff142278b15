// Each driver instance (one data directory) owns one nftables table and one subnet, so that several Cove instances
// on a host never rewrite each other's firewall. Unless given, both are derived from the data directory: the table
// `cove_<id>` and a free /16 of 10.64.0.0/10 picked from the id. The instance records its claim in
// `<dataDir>/network.json` (a restart keeps it) and in a host-wide index, `/var/lib/cove/instances/<id>.json`
// (persistent, so a stopped instance keeps its subnet too), which every instance checks under a lock.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AddressPlan, vethName } from './addresses.js';
import { removeTable } from './firewall.js';
import { withHostLock } from './host-lock.js';
import { processAlive } from './process-alive.js';
import { run } from './run-command.js';

/** The host-wide index of the instances' claims. */
export const INSTANCES_DIR = '/var/lib/cove/instances';

/** What data directories of versions before per-instance claims used (their workspaces' addresses are in it). */
export const LEGACY_NETWORK: InstanceNetwork = { subnet: '10.88.0.0/16', table: 'cove' };

/**
 * Derived subnets are /16s of 10.64.0.0/10 but for these: the control plane's and the sandbox's tests' (10.85,
 * 10.87), the benchmarks' (10.86) and the earlier default (10.88).
 */
const DERIVED_EXCLUDED = new Set([85, 86, 87, 88]);

export interface InstanceNetwork {
  subnet: string;
  table: string;
}

/** Another instance's claim, from the host-wide index. */
export interface InstanceClaim extends InstanceNetwork {
  id: string;
  dataDir: string;
  /** The process that last opened it (a claim outlives it: a stopped instance keeps its network). */
  pid: number;
  /** It lasts only while that process runs (tests, benchmarks). */
  ephemeral?: boolean;
}

/** A route or address of the host (`ip route show table all`): what a subnet must not overlap. */
export interface HostRoute {
  dst: string;
  dev?: string;
}

/** The instance's id: a short hash of its data directory (also its runtime root's name and its derived table's). */
export function instanceId(dataDir: string): string {
  return createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
}

export interface ChooseInput {
  id: string;
  /** Given by the operator (flags, options): never replaced, refused when taken. */
  subnet?: string | undefined;
  table?: string | undefined;
  /** What this instance recorded at an earlier open. */
  recorded?: InstanceNetwork | undefined;
  /** The data directory has workspaces of a version before claims (no record): they live in LEGACY_NETWORK. */
  legacy: boolean;
  /** Other instances' claims. */
  others: readonly InstanceClaim[];
  /** The host's routes, but this instance's own links'. */
  routes: readonly HostRoute[];
  /** This instance's workspaces' addresses: the subnet must hold them. */
  addresses: readonly string[];
}

/**
 * Picks the instance's table and subnet: given ones, else recorded ones, else the earlier version's defaults for
 * a data directory that has workspaces from it, else derived. Throws, naming the flag, when the result is taken
 * by another instance, overlaps a host route, or does not hold the workspaces' addresses.
 */
export function chooseNetwork(input: ChooseInput): InstanceNetwork {
  const fallback = input.legacy ? LEGACY_NETWORK : undefined;
  const table = input.table ?? input.recorded?.table ?? fallback?.table ?? `cove_${input.id}`;
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(table)) throw new Error(`invalid nftables table name '${table}'`);
  const owner = input.others.find((o) => o.table === table);
  if (owner) throw new Error(`nftables table '${table}' belongs to the Cove instance of ${owner.dataDir}; choose another with --nft-table`);
  const subnet = input.subnet ?? input.recorded?.subnet ?? fallback?.subnet ?? deriveSubnet(input);
  new AddressPlan(subnet); // validates it
  const taken = takenBy(subnet, input);
  if (taken) throw new Error(`subnet ${subnet} overlaps ${taken}; choose another with --subnet`);
  const outside = input.addresses.find((ip) => !overlaps(`${ip}/32`, subnet));
  if (outside)
    throw new Error(
      `subnet ${subnet} does not hold ${outside}, an address of this data directory's workspaces; start with --subnet set to the subnet they were made in`,
    );
  return { subnet, table };
}

/** What a subnet overlaps: another instance's subnet or a host route (undefined when free). */
function takenBy(subnet: string, input: ChooseInput): string | undefined {
  const other = input.others.find((o) => overlaps(o.subnet, subnet));
  if (other) return `${other.subnet} of the Cove instance of ${other.dataDir}`;
  const route = input.routes.find((r) => r.dst !== 'default' && overlaps(r.dst, subnet));
  if (route) return `the host route ${route.dst}${route.dev ? ` (dev ${route.dev})` : ''}`;
  return undefined;
}

/** The first free /16 of 10.64.0.0/10, starting at one picked by the instance's id (stable while it stays free). */
function deriveSubnet(input: ChooseInput): string {
  const candidates = Array.from({ length: 64 }, (_, i) => 64 + i).filter((b) => !DERIVED_EXCLUDED.has(b));
  const start = Number.parseInt(input.id.slice(0, 8), 16) % candidates.length;
  for (let i = 0; i < candidates.length; i++) {
    const subnet = `10.${candidates[(start + i) % candidates.length]}.0.0/16`;
    if (!takenBy(subnet, input)) return subnet;
  }
  throw new Error('no /16 of 10.64.0.0/10 is free (other Cove instances or host routes hold them all); choose a subnet with --subnet');
}

/** Whether two IPv4 CIDRs (or addresses) share an address. */
export function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  const prefix = Math.min(x.prefix, y.prefix);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (x.network & mask) >>> 0 === (y.network & mask) >>> 0;
}

function parseCidr(text: string): { network: number; prefix: number } | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const prefix = match[5] === undefined ? 32 : Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  return { network: octets.reduce((n, o) => ((n << 8) | o) >>> 0, 0), prefix };
}

/**
 * Claims the instance's table and subnet (see `chooseNetwork`) under the index's lock, and records them in the
 * data directory and the index. A restart finds its own record and its own links (which it does not conflict with).
 */
export async function claimNetwork(
  dataDir: string,
  given: { subnet?: string | undefined; table?: string | undefined },
  ephemeral = false,
): Promise<InstanceNetwork & { previousTable?: string }> {
  const id = instanceId(dataDir);
  return withIndexLock(async () => {
    const recorded = await readJson<InstanceNetwork>(recordFile(dataDir));
    const slots = await slotStates(dataDir);
    const own = new Set(slots.map((s) => vethName(s.slot)));
    const chosen = chooseNetwork({
      id,
      subnet: given.subnet,
      table: given.table,
      recorded,
      legacy: recorded === undefined && slots.length > 0,
      others: (await liveClaims()).filter((c) => c.id !== id),
      routes: (await hostRoutes()).filter((r) => r.dev === undefined || !own.has(r.dev)),
      addresses: slots.map((s) => s.ip),
    });
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // Rewritten only when it changes: a restart on a full data volume must not fail on a record it already has.
    if (recorded?.subnet !== chosen.subnet || recorded?.table !== chosen.table) await writeAtomic(recordFile(dataDir), chosen);
    const claim: InstanceClaim = { id, dataDir: path.resolve(dataDir), pid: process.pid, ...chosen, ...(ephemeral ? { ephemeral } : {}) };
    await writeAtomic(path.join(INSTANCES_DIR, `${id}.json`), claim);
    return recorded && recorded.table !== chosen.table ? { ...chosen, previousTable: recorded.table } : chosen;
  });
}

/** Gives the instance's claim up (its table is gone: every workspace deleted). */
export async function releaseNetwork(dataDir: string): Promise<void> {
  await withIndexLock(async () => {
    await unlink(path.join(INSTANCES_DIR, `${instanceId(dataDir)}.json`)).catch(() => {});
    await unlink(recordFile(dataDir)).catch(() => {});
  });
}

/**
 * The claims of the index whose data directory still holds its record (and, for an ephemeral one, whose process
 * runs). The others (data directory deleted without `destroyAll`, a test run that crashed) are dropped, with their
 * table: its drops for their subnet would hit the next instance to take it. Call under the lock.
 */
async function liveClaims(): Promise<InstanceClaim[]> {
  const claims: InstanceClaim[] = [];
  for (const name of await readdir(INSTANCES_DIR)) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(INSTANCES_DIR, name);
    const claim = await readJson<InstanceClaim>(file);
    if (claim && existsSync(recordFile(claim.dataDir)) && !(claim.ephemeral && !processAlive(claim.pid))) {
      claims.push(claim);
      continue;
    }
    if (claim && typeof claim.table === 'string') await removeTable(claim.table);
    await unlink(file).catch(() => {});
  }
  return claims;
}

/** The index's live claims (tests and tools). */
export async function instanceClaims(): Promise<InstanceClaim[]> {
  if (!existsSync(INSTANCES_DIR)) return [];
  return withIndexLock(liveClaims);
}

function recordFile(dataDir: string): string {
  return path.join(dataDir, 'network.json');
}

/** The slots on disk (`workspaces/<slot>/state.json`): their links are the instance's own, their addresses must stay in its subnet. */
async function slotStates(dataDir: string): Promise<Array<{ slot: string; ip: string }>> {
  const dir = path.join(dataDir, 'workspaces');
  const entries = await readdir(dir).catch(() => [] as string[]);
  const states = await Promise.all(
    entries.map((e) => readJson<{ slot?: string; id: string; ip: string }>(path.join(dir, e, 'state.json'))),
  );
  return states.flatMap((s) => (s && typeof s.ip === 'string' ? [{ slot: s.slot ?? s.id, ip: s.ip }] : []));
}

async function hostRoutes(): Promise<HostRoute[]> {
  const res = await run(['ip', '-j', '-4', 'route', 'show', 'table', 'all']);
  return (JSON.parse(res.stdout || '[]') as HostRoute[]).filter((r) => typeof r.dst === 'string');
}

async function readJson<T>(file: string): Promise<T | undefined> {
  return readFile(file, 'utf8')
    .then((t) => JSON.parse(t) as T)
    .catch(() => undefined);
}

async function writeAtomic(file: string, value: object): Promise<void> {
  await writeFile(`${file}.tmp`, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/** Runs `fn` holding the index's lock (see host-lock.ts). */
function withIndexLock<T>(fn: () => Promise<T>): Promise<T> {
  return withHostLock(INSTANCES_DIR, fn);
}
