// The fault tests' frame: a driver of their own (one slot; a small pids limit keeps a fork bomb's cost to this
// shared host low, the mechanism is the same at 4096) and workspaces with their agent started and public access
// on, talked to over HTTP as a client would, each request with a deadline.
import type { WorkspaceSpec } from '@cove/protocol';
import { afterAll, beforeAll } from 'vitest';
import type { SandboxDriver } from '../../src/index.js';
import { leftovers, network, openTestDriver, spec, type TestDriver } from '../helpers.js';

export interface FaultWorkspace {
  ws: WorkspaceSpec;
  /** A request to its agent (the token in, JSON). */
  agent(path: string, init?: RequestInit): Promise<Response>;
  /** `POST /exec` of `cmd`, its answer read. */
  exec(cmd: string[]): Promise<{ status: number; body: { exit_code?: number; stdout?: string; stderr?: string; code?: string } }>;
}

export interface FaultDriver {
  /** The driver (opened in the suite's beforeAll, closed with all it made in its afterAll). */
  readonly driver: SandboxDriver;
  /** A started workspace of these limits (the rest the defaults of `spec`). */
  up(limits: { memoryMb: number; diskMb: number }): Promise<FaultWorkspace>;
  /** Deletes the workspace and gives what the host still holds of it (nothing, when all went well). */
  destroy(id: string): Promise<string[]>;
}

/** Registers the suite's hooks (call it in a describe); `token` is every workspace's agent token. */
export function faultDriver(slot: number, token: string, requestTimeoutMs: number): FaultDriver {
  let opened: TestDriver | undefined;
  beforeAll(async () => {
    opened = await openTestDriver(slot, { pidsLimit: 256 });
  }, 300_000);
  afterAll(async () => {
    await opened?.close();
  }, 120_000);
  const current = (): TestDriver => {
    if (!opened) throw new Error('the fault driver is not open (its beforeAll failed)');
    return opened;
  };
  return {
    get driver() {
      return current().driver;
    },
    async up(limits) {
      const { driver } = current();
      const ws = spec(limits);
      await driver.create(ws);
      const { ip } = await driver.start(ws);
      await driver.startAgent(ws.id, token);
      await driver.applyNetwork(ws.id, network({ publicAccess: true }));
      const agent = (path: string, init: RequestInit = {}) =>
        fetch(`http://${ip}:9990${path}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
      const exec = async (cmd: string[]) => {
        const res = await agent('/exec', { method: 'POST', body: JSON.stringify({ cmd }) });
        return { status: res.status, body: (await res.json()) as Awaited<ReturnType<FaultWorkspace['exec']>>['body'] };
      };
      return { ws, agent, exec };
    },
    async destroy(id) {
      const { driver, dataDir } = current();
      await driver.destroy(id);
      return leftovers(driver, dataDir, id, `cove-test${slot}`);
    },
  };
}
