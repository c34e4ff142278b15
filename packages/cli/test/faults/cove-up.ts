// The real `cove up` with the sandbox driver, as a process the fault tests can kill -9 and start again on the same
// data directory; and what the host holds for that data directory (slot directories, marks, mounts, containers,
// firewall), to compare with what the control plane lists.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupDirs, instanceId, SandboxDriver } from '@cove/sandbox';
import pino from 'pino';
import { afterAll, beforeAll, expect } from 'vitest';
import { run } from '../../../sandbox/src/run-command.js';
import { skipReason } from '../../../sandbox/test/helpers.js';
import { COVE_BIN, cleanEnv } from '../helpers/stack.js';

export { skipReason };

// biome-ignore lint/suspicious/noExplicitAny: tests read parsed JSON field by field and assert on it
export type Json = any;

export const IMAGES_DIR = process.env.COVE_SANDBOX_IMAGES ?? '/var/cache/cove/images';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Up {
  dataDir: string;
  apiUrl: string;
  gatewayUrl: string;
  child: ChildProcess;
  /** Everything it printed on stderr (its log). */
  log(): string;
  /** A control-plane call with the credential `cove up` made. */
  api(method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }>;
  /** kill -9: no shutdown step runs. */
  kill9(): Promise<void>;
  /** SIGTERM: the orderly stop. */
  stop(): Promise<void>;
}

export interface UpOptions {
  slot: number;
  dataDir: string;
  env?: Record<string, string>;
  args?: string[];
}

/** The sandbox driver's data directory inside `cove up`'s. */
export const sandboxDir = (dataDir: string) => path.join(dataDir, 'sandbox');

/** Starts `cove up` and waits until it serves (credentials written, control plane healthy). */
export async function startUp(opts: UpOptions): Promise<Up> {
  const apiPort = await freePort();
  const gatewayPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      COVE_BIN,
      'up',
      '--driver',
      'sandbox',
      '--data-dir',
      opts.dataDir,
      '--api-listen',
      `127.0.0.1:${apiPort}`,
      '--gateway-listen',
      `127.0.0.1:${gatewayPort}`,
      '--subnet',
      `10.87.${opts.slot}.0/24`,
      '--nft-table',
      `cove_test${opts.slot}`,
      '--images-dir',
      IMAGES_DIR,
      '--warm-pool',
      '0',
      ...(opts.args ?? []),
    ],
    { env: { ...cleanEnv(), COVE_LOG_LEVEL: 'info', ...opts.env } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`cove up exited (${child.exitCode}): ${stderr.slice(-2000)}`);
    const ok = await fetch(`${apiUrl}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok && existsSync(path.join(opts.dataDir, 'credentials.json'))) break;
    if (Date.now() > deadline) throw new Error(`cove up did not start: ${stderr.slice(-2000)}`);
    await sleep(100);
  }
  const creds = JSON.parse(readFileSync(path.join(opts.dataDir, 'credentials.json'), 'utf8'));
  return {
    dataDir: opts.dataDir,
    apiUrl,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    child,
    log: () => stderr,
    async api(method, route, body) {
      const res = await fetch(`${apiUrl}${route}`, {
        method,
        headers: {
          'x-client-id': creds.client_id,
          'x-client-secret': creds.client_secret,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: Json = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed };
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A data directory for one test file, and the removal of everything `cove up` made in it, whatever state it is in. */
export async function dataDirFor(slot: number): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `cove-faults-${slot}-`));
  return {
    dir,
    async cleanup() {
      if (existsSync(sandboxDir(dir))) {
        const driver = await SandboxDriver.open({
          dataDir: sandboxDir(dir),
          imagesDir: IMAGES_DIR,
          subnet: `10.87.${slot}.0/24`,
          nftTable: `cove_test${slot}`,
          ephemeralNetwork: true,
          stopTimeoutMs: 2000,
          log: pino({ level: 'silent' }),
        }).catch(() => undefined);
        await driver?.destroyAll().catch(() => {});
      }
      await rm(dir, { recursive: true, force: true });
      for (const d of cgroupDirs('cove')) await rmdir(d).catch(() => {});
    },
  };
}

/**
 * One `cove up` for a whole test file: started in `beforeAll` on a data directory of its own, stopped and cleaned up
 * in `afterAll` (after `beforeStop`, for what the file itself added to the host). Returns a getter of the running one.
 */
export function upForSuite(slot: number, beforeStop?: () => Promise<unknown>): () => Up {
  let data: Awaited<ReturnType<typeof dataDirFor>> | undefined;
  let up: Up | undefined;
  beforeAll(async () => {
    data = await dataDirFor(slot);
    up = await startUp({ slot, dataDir: data.dir });
  }, 180_000);
  afterAll(async () => {
    await beforeStop?.();
    await up?.stop();
    await data?.cleanup();
  }, 120_000);
  return () => {
    if (!up) throw new Error('cove up has not started');
    return up;
  };
}

/**
 * A `cove up` a test file kills and starts again on one data directory (made in `beforeAll`; in `afterAll` the last
 * one is stopped and the directory cleaned up). `start` starts a new one and makes it the current one.
 */
export function restartableUp(slot: number): { dataDir(): string; start(): Promise<Up>; current(): Up } {
  let data: Awaited<ReturnType<typeof dataDirFor>> | undefined;
  let up: Up | undefined;
  beforeAll(async () => {
    data = await dataDirFor(slot);
  });
  afterAll(async () => {
    await up?.stop();
    await data?.cleanup();
  }, 120_000);
  const dataDir = () => {
    if (!data) throw new Error('the data directory is made in beforeAll');
    return data.dir;
  };
  return {
    dataDir,
    async start() {
      up = await startUp({ slot, dataDir: dataDir() });
      return up;
    },
    current() {
      if (!up) throw new Error('cove up has not started');
      return up;
    },
  };
}

/** The runc root of a `cove up`'s sandbox instance (for `runc state`, `runc kill`). */
export const runcRoot = (u: Up): string => `/run/cove/${instanceId(sandboxDir(u.dataDir))}`;

/** A small workspace of the `host` image, created through the control plane; its id. */
export async function createWorkspace(u: Up, body: object = {}): Promise<string> {
  const res = await u.api('POST', '/workspace', { image: 'host', disk_mb: 256, memory_mb: 256, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return idOf(res);
}

/** Waits until `check` holds (or throws with `what` after `ms`). */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** What the host holds for `cove up`'s data directory. */
export interface HostView {
  /** Slot directories under the sandbox's workspaces/ (the slot is the workspace id for cold creates). */
  slots: string[];
  /** Slots carrying a making/removing mark. */
  marked: string[];
  /** Mounts under the data directory or its roots directory. */
  mounts: string[];
  /** Containers the runtime knows for this data directory. */
  containers: string[];
}

export async function hostView(dataDir: string): Promise<HostView> {
  const sandbox = sandboxDir(dataDir);
  const wsDir = path.join(sandbox, 'workspaces');
  const slots = existsSync(wsDir) ? readdirSync(wsDir) : [];
  const marked = slots.filter((s) => existsSync(path.join(wsDir, s, 'making')) || existsSync(path.join(wsDir, s, 'removing')));
  const id = instanceId(sandbox);
  const mounts = (await run(['findmnt', '-rn', '-o', 'TARGET'])).stdout
    .split('\n')
    .filter((m) => (m.startsWith(`${sandbox}/workspaces/`) || m.startsWith(`/run/cove/roots/${id}/`)) && m !== '');
  const list = await run(['runc', '--root', `/run/cove/${id}`, 'list', '--format', 'json'], { allowFailure: true });
  const containers = ((JSON.parse(list.stdout || 'null') as Array<{ id: string }> | null) ?? []).map((c) => c.id);
  return { slots, marked, mounts, containers };
}

/** The slot a mount or container path belongs to. */
export function slotOfPath(p: string): string | undefined {
  return p.match(/\/(ws_[a-z0-9]+|wp_[a-f0-9]+)(\/|$)/)?.[1];
}

/** The workspace's id from a create's answer. */
export const idOf = (res: { body: Json }): string => res.body.workspace?.id ?? res.body.id;

/** Opens the workspace to the gateway (public access, Internal API access) and resolves to a gateway JWT. */
export async function gatewayToken(u: Up, id: string): Promise<string> {
  const net = await u.api('POST', `/workspace/${id}/network`, { public_access: true });
  if (net.status !== 200) throw new Error(`network: ${net.status} ${JSON.stringify(net.body)}`);
  const access = await u.api('POST', `/workspace/${id}/internal-api-access/enable`);
  if (access.status !== 200) throw new Error(`access: ${access.status} ${JSON.stringify(access.body)}`);
  return access.body.token;
}

/** Runs a command in the workspace through the gateway: status and body. */
export async function execThroughGateway(u: Up, token: string, cmd: string[]): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${u.gatewayUrl}/exec`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cmd }),
  });
  const text = await res.text();
  let body: Json = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}
