import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ResolvedNetwork, WorkspaceSpec } from '@cove/protocol';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { cgroupDirs, cgroupMode } from '../src/cgroups.js';
import { defaultAgentFiles, netnsName, SandboxDriver, type SandboxDriverOptions, sandboxSupport, vethName } from '../src/index.js';
import { run } from '../src/run-command.js';
import { nsHelperMissing } from '../src/userns.js';

/** CI is on when `CI` is set to anything but an empty string, `0` or `false` (as vitest.config.ts reads it). */
export const IN_CI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

/**
 * Outside CI, the reason given back (the caller skips, naming it); in CI, where a test that cannot run must
 * fail rather than vanish, an error with the reason.
 */
export function skipOutsideCi(reason: string | undefined): string | undefined {
  if (reason !== undefined && IN_CI) throw new Error(`CI=true, and this cannot run here: ${reason}`);
  return reason;
}

/**
 * Why these tests cannot run here (undefined when they can): they need root, runc, nft and a built agent.
 * Under CI=true a missing need throws instead, failing the test file with the reason.
 */
export function skipReason(): string | undefined {
  return skipOutsideCi(unmetNeed());
}

function unmetNeed(): string | undefined {
  const support = sandboxSupport();
  if (!support.ok) return support.reasons.join('; ');
  const files = defaultAgentFiles();
  if (!existsSync(path.join(files.appDir, 'packages/cli/dist/commands/agent.js')))
    return 'the agent is not built (npx tsc -b packages/cli)';
  if (!existsSync(files.tini)) return 'tini-static missing (bash scripts/system-deps.sh)';
  return nsHelperMissing();
}

/** The cgroup layout the tests ran on, for their titles. */
export const CGROUPS = `cgroup ${cgroupMode()}`;

/** Every workspace id `spec()` makes in this test file starts with it (the file's process id): its own resources. */
export const ID_PREFIX = `ws_t${process.pid.toString(36)}`;

/** Images are built once per machine and shared by every test file (and CI run). */
export const IMAGES_DIR = process.env.COVE_SANDBOX_IMAGES ?? '/var/cache/cove/images';

export interface TestDriver {
  driver: SandboxDriver;
  dataDir: string;
  /** Stops and deletes everything the driver made, then its data directory. */
  close(): Promise<void>;
}

/**
 * A driver with its own data directory, subnet and nftables table, so test
 * files running in parallel never see each other's workspaces or rules.
 * `derived`: the subnet and table are left to the driver (derived from the data directory), as `cove up` does.
 */
export async function openTestDriver(
  slot: number,
  extra: Partial<SandboxDriverOptions> = {},
  network: 'per-file' | 'derived' = 'per-file',
): Promise<TestDriver> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `cove-sandbox-${slot}-`));
  const options = {
    dataDir,
    imagesDir: IMAGES_DIR,
    ...(network === 'per-file' ? { subnet: `10.87.${slot}.0/24`, nftTable: `cove_test${slot}` } : {}),
    cgroupParent: `cove-test${slot}`,
    // A crashed run's claim on the file's subnet and table must not block the next run.
    ephemeralNetwork: true,
    stopTimeoutMs: 2000,
    log: pino({ level: process.env.COVE_TEST_LOG ?? 'silent' }),
    ...extra,
  };
  const driver = await SandboxDriver.open(options);
  return {
    driver,
    dataDir,
    async close() {
      await driver.destroyAll().catch(() => {});
      await rm(dataDir, { recursive: true, force: true }).catch(() => {});
      // The per-driver cgroup parents runc made (empty once the workspaces are deleted).
      for (const dir of cgroupDirs(`cove-test${slot}`)) await rmdir(dir).catch(() => {});
    },
  };
}

/**
 * The test file's driver: opened before its tests, closed (with everything it made) after them. Call it
 * inside the file's `describe`; the fields read the opened driver.
 */
export function useTestDriver(slot: number, extra: Partial<SandboxDriverOptions> = {}): TestDriver {
  let opened: TestDriver | undefined;
  beforeAll(async () => {
    opened = await openTestDriver(slot, extra);
  }, 300_000);
  afterAll(async () => {
    await opened?.close();
  }, 120_000);
  const current = (): TestDriver => {
    if (opened === undefined) throw new Error('the test driver is not open yet');
    return opened;
  };
  return {
    get driver() {
      return current().driver;
    },
    get dataDir() {
      return current().dataDir;
    },
    close: () => current().close(),
  };
}

/** Reopens a driver on the same data directory (a control-plane restart). */
export function reopen(t: TestDriver, slot: number): Promise<SandboxDriver> {
  return SandboxDriver.open({
    dataDir: t.dataDir,
    imagesDir: IMAGES_DIR,
    subnet: `10.87.${slot}.0/24`,
    nftTable: `cove_test${slot}`,
    cgroupParent: `cove-test${slot}`,
    ephemeralNetwork: true,
    stopTimeoutMs: 2000,
    log: pino({ level: 'silent' }),
  });
}

let counter = 0;
export function spec(overrides: Partial<WorkspaceSpec> = {}): WorkspaceSpec {
  counter++;
  const id = `${ID_PREFIX}${counter.toString(36)}`.slice(0, 15).padEnd(15, '0');
  return { id, name: id, image: 'host', cpus: 1, memoryMb: 256, diskMb: 64, ...overrides };
}

export function network(overrides: Partial<ResolvedNetwork> = {}): ResolvedNetwork {
  return { publicAccess: false, allowInternet: true, privateLinkIds: [], ingressPorts: [], egress: [], privateLinks: [], ...overrides };
}

/** Runs a command inside a running workspace (runc exec: out of band, not through the agent or the network). */
export async function execIn(driver: SandboxDriver, id: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return run([driver.runtime.binary, '--root', driver.runtime.root, 'exec', driver.slotOf(id) ?? id, '/bin/sh', '-c', script], {
    allowFailure: true,
    timeoutMs: 60_000,
  });
}

/** Opens a TCP connection from inside workspace `id`: 0 connected, 124 no answer (dropped), other: refused. */
export async function connectFrom(driver: SandboxDriver, id: string, ip: string, port: number): Promise<number> {
  const res = await execIn(driver, id, `timeout 3 bash -c 'exec 3<>/dev/tcp/${ip}/${port}'`);
  return res.code;
}

/** Opens a TCP connection from the host side: 'connected', 'timeout' (dropped) or the error code. */
export function connectFromHost(ip: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: ip, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? 'error');
    });
  });
}

/** Everything on the host that names a workspace (by its slot: its id, or a pool slot's name): what delete must leave none of. */
export function leftovers(driver: SandboxDriver, dataDir: string, id: string, cgroupParent: string): string[] {
  const found: string[] = [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  if (mounts.includes(id)) found.push('mount');
  if (existsSync(`/run/netns/${netnsName(id)}`)) found.push('netns');
  if (existsSync(`/sys/class/net/${vethName(id)}`)) found.push('veth');
  for (const dir of cgroupDirs(`${cgroupParent}/${id}`)) if (existsSync(dir)) found.push(`cgroup ${dir}`);
  if (existsSync(path.join(dataDir, 'workspaces', id))) found.push('files');
  if (existsSync(path.join(driver.runtime.root, id))) found.push('runc state');
  return found;
}

export async function nftRules(table: string): Promise<string> {
  return (await run(['nft', 'list', 'table', 'inet', table], { allowFailure: true })).stdout;
}

/**
 * Loop devices backed by files under `dir`. A slot's disk image is in the data directory's disk pool
 * (`<data>/disks/workspaces/<slot>.ext4`): a slot directory (`<data>/workspaces/<slot>/`) names it too. The pool's
 * own file (`<data>/disks.xfs`) is the driver's, not a workspace's: it goes with `destroyAll`.
 */
export async function loopsUnder(dir: string): Promise<string[]> {
  const slot = /^(.*)\/workspaces\/([^/]+)\/$/.exec(dir);
  const prefixes = slot ? [dir, `${slot[1]}/disks/workspaces/${slot[2]}.ext4`] : [dir];
  const out = (await run(['losetup', '-l', '-n', '-O', 'BACK-FILE'], { allowFailure: true })).stdout;
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => prefixes.some((p) => l.startsWith(p)) && !l.endsWith('/disks.xfs'));
}
