// The process driver against the real agent entry (built): start, token rotation confirmed by the agent's
// lifecycle message, pause, and an agent that never gets ready.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AGENT_BIN } from '@cove/agent/main';
import { ProcessDriver } from '@cove/process-driver';
import { AppError, type WorkspaceSpec } from '@cove/protocol';
import { afterEach, describe, expect, it } from 'vitest';

const log = { info() {}, warn() {} };
const drivers: ProcessDriver[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.shutdown();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function open(agentCommand: readonly string[] = [process.execPath, AGENT_BIN]): Promise<ProcessDriver> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cove-process-driver-'));
  dirs.push(root);
  const driver = new ProcessDriver({ root, agentCommand, log, startTimeoutMs: 20_000 });
  drivers.push(driver);
  return driver;
}

const spec: WorkspaceSpec = { id: 'ws_a1b2c3d4', name: 'dev', image: 'host', cpus: 1, memoryMb: 512, diskMb: 1024 };

const status = (port: number, token: string) =>
  fetch(`http://127.0.0.1:${port}/runtime`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}

describe('process driver', () => {
  it('rotates a token: once setAgentToken resolves, the agent refuses the old one', async () => {
    const driver = await open();
    await driver.start(spec);
    const { ip, port } = await driver.startAgent(spec.id, 'first-token');
    expect(ip).toBe('127.0.0.1');
    expect(driver.agentRunning(spec.id)).toBe(true);
    expect(await status(port, 'first-token')).toBe(200);

    await driver.setAgentToken(spec.id, 'second-token');
    expect(await status(port, 'first-token')).toBe(401);
    expect(await status(port, 'second-token')).toBe(200);

    // startAgent on a running agent installs the token the same way and keeps the address.
    expect(await driver.startAgent(spec.id, 'third-token')).toEqual({ ip, port });
    expect(await status(port, 'second-token')).toBe(401);
    expect(await status(port, 'third-token')).toBe(200);

    await driver.stopAgent(spec.id);
    expect(driver.agentRunning(spec.id)).toBe(false);
  });

  it('reports a token the agent could not take, which keeps the previous one', async () => {
    const driver = await open();
    await driver.start(spec);
    const { port } = await driver.startAgent(spec.id, 'good-token');
    const err = await rejection(driver.setAgentToken(spec.id, 'has white space'));
    expect(err.code).toBe('service_unavailable');
    expect(err.message).toMatch(/^the workspace agent could not read its new token: token file .* contains white space$/);
    expect(await status(port, 'good-token')).toBe(200);
  });

  it('refuses a rotation while paused, and takes it after resume', async () => {
    const driver = await open();
    await driver.start(spec);
    const { port } = await driver.startAgent(spec.id, 'first-token');
    await driver.pause(spec.id);
    expect((await rejection(driver.setAgentToken(spec.id, 'second-token'))).code).toBe('conflict');
    await driver.resume(spec.id);
    await driver.setAgentToken(spec.id, 'second-token');
    expect(await status(port, 'second-token')).toBe(200);
  });

  it('fails to start an agent that exits before it is ready', async () => {
    const driver = await open([process.execPath, '-e', 'process.exit(3)', '--']);
    await driver.start(spec);
    const err = await rejection(driver.startAgent(spec.id, 'token'));
    expect(err.code).toBe('failed_to_start');
    expect(err.message).toBe('the workspace agent did not start: exited with code 3');
    expect(driver.agentRunning(spec.id)).toBe(false);
  });
});
