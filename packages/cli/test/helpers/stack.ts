import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_BIN } from '@cove/agent/main';
import {
  type ControlPlane,
  createApiLogger,
  createControlPlane,
  createCredential,
  loadGatewaySecret,
  openStore,
  type Store,
} from '@cove/api';
import { createGateway, createGatewayLogger, type Gateway } from '@cove/gateway';
import { ProcessDriver } from '@cove/process-driver';

/** The real `cove` program, as users run it (built by `npm run build`: tsc, then the bundle). */
export const COVE_BIN = fileURLToPath(new URL('../../bin/cove.js', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Bytes for stdin, then end of input; without it stdin is /dev/null. */
  input?: string | Buffer;
  cwd?: string;
  /** Kills it (SIGTERM) after this long: for a command that should end at once but might serve on. */
  timeoutMs?: number;
}

/**
 * A whole Cove installation for CLI tests: control plane (process driver,
 * SQLite in a temp dir), gateway sharing its store and secret, one client
 * credential, and an environment that points `cove` at them.
 */
export interface Stack {
  apiUrl: string;
  gatewayUrl: string;
  clientId: string;
  clientSecret: string;
  dataDir: string;
  store: Store;
  cp: ControlPlane;
  /** COVE_* variables for the CLI (COVE_DATA_DIR is an empty config dir unless overridden). */
  env: Record<string, string>;
  /** Runs `cove ARGS…` to completion. */
  run(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts `cove ARGS…` and leaves it running. */
  start(args: readonly string[], options?: RunOptions): ChildProcess;
  /** A temp dir removed at close. */
  tempDir(): Promise<string>;
  close(): Promise<void>;
}

/** The environment without anything that could point the CLI elsewhere. */
export function cleanEnv(): Record<string, string | undefined> {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('COVE_') || key.startsWith('OBLIEN_')) delete env[key];
  delete env.FORCE_COLOR;
  return env;
}

/** Starts the real `cove ARGS…` in a clean environment (plus `options.env`), without a stack. */
export function startCove(args: readonly string[], options: RunOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [COVE_BIN, ...args], {
    env: { ...cleanEnv(), ...options.env } as NodeJS.ProcessEnv,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  return child;
}

/** Runs the real `cove ARGS…` to its end, without a stack. */
export function runCove(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return collect(startCove(args, options));
}

function collect(child: ChildProcess): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr }));
  });
}

export async function startStack(): Promise<Stack> {
  if (!existsSync(fileURLToPath(new URL('../../dist/main.js', import.meta.url)))) {
    throw new Error('packages/cli/dist is missing: run `npm run build` first');
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cove-cli-stack-'));
  const store = await openStore({ kind: 'sqlite', file: path.join(dataDir, 'cove.db') });
  const log = createApiLogger(process.env.COVE_TEST_LOG ?? 'silent');
  const driver = new ProcessDriver({ root: path.join(dataDir, 'workspaces'), agentCommand: [process.execPath, AGENT_BIN], log });
  // The gateway first, as `cove up` does: public port URLs take its port.
  const gateway: Gateway = createGateway({
    routes: store,
    secret: await loadGatewaySecret(store),
    routeCacheMs: 0,
    logger: createGatewayLogger(process.env.COVE_TEST_LOG ?? 'silent'),
  });
  const gatewayUrl = await gateway.listen('127.0.0.1', 0);
  const cp = await createControlPlane({ store, driver, logger: log, gatewayUrl });
  const apiUrl = await cp.listen('127.0.0.1', 0);
  const issued = await createCredential(store, 'alice', 'cli-test');
  const configDir = path.join(dataDir, 'config');
  await mkdir(configDir);
  const env = {
    COVE_API_URL: apiUrl,
    COVE_GATEWAY_URL: gatewayUrl,
    COVE_CLIENT_ID: issued.clientId,
    COVE_CLIENT_SECRET: issued.clientSecret,
    COVE_DATA_DIR: configDir,
  };
  const children = new Set<ChildProcess>();
  const temps: string[] = [];

  const start: Stack['start'] = (args, options = {}) => {
    const child = startCove(args, { ...options, env: { ...env, ...options.env } });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };

  const run: Stack['run'] = (args, options) => collect(start(args, options));

  return {
    apiUrl,
    gatewayUrl,
    clientId: issued.clientId,
    clientSecret: issued.clientSecret,
    dataDir,
    store,
    cp,
    env,
    run,
    start,
    async tempDir() {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-cli-'));
      temps.push(dir);
      return dir;
    },
    async close() {
      for (const child of children) child.kill('SIGKILL');
      await gateway.close();
      await cp.close();
      await store.close();
      for (const dir of temps) await rm(dir, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
