// What the lifecycle tests share: waiting for a workspace to reach a state (real timers, short durations), and
// reaching its agent directly.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SandboxDriver } from '@cove/sandbox';
import { expect } from 'vitest';
import type { TestControlPlane } from './control-plane.js';

/** Polls `check` every 100 ms until it returns a value other than undefined; fails after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The workspace's status, or 'gone' once it was removed. */
export async function statusOf(t: TestControlPlane, id: string): Promise<string> {
  const res = await t.json('GET', `/workspace/${id}`);
  if (res.status === 404) return 'gone';
  return res.body.workspace.status as string;
}

export async function untilStatus(t: TestControlPlane, id: string, status: string, timeoutMs?: number): Promise<void> {
  await until(`${id} ${status}`, async () => ((await statusOf(t, id)) === status ? true : undefined), timeoutMs);
}

/** The lifecycle as GET /workspace/:id/lifecycle shows it. */
// biome-ignore lint/suspicious/noExplicitAny: tests read the answer field by field
export async function lifecycleOf(t: TestControlPlane, id: string): Promise<Record<string, any>> {
  const res = await t.json('GET', `/workspace/${id}/lifecycle`);
  if (res.status !== 200) throw new Error(`GET lifecycle: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** How many times the workspace was woken (its lifecycle's `wake` events). */
export async function wakesOf(t: TestControlPlane, id: string): Promise<number> {
  return (await lifecycleOf(t, id)).events.filter((e: { type: string }) => e.type === 'wake').length;
}

/**
 * Pauses a workspace whose agent `runtime` reaches (a GET of `/runtime` through a gateway), then checks that the
 * next request is answered by the agent, woken once for it; removes the workspace after.
 */
export async function expectRequestWakesPaused(t: TestControlPlane, id: string, runtime: () => Promise<Response>): Promise<void> {
  expect((await t.json('POST', `/workspace/${id}/pause`)).body.status).toBe('paused');
  const res = await runtime();
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ success: true });
  expect(await statusOf(t, id)).toBe('running');
  expect(await wakesOf(t, id)).toBe(1);
  await t.json('DELETE', `/workspace/${id}`);
}

/** Enables Internal API access and public access (the host reaches a sandbox's agent only then). */
export async function openAgent(t: TestControlPlane, id: string): Promise<{ url: string; token: string; jwt: string }> {
  const enabled = await t.json('POST', `/workspace/${id}/runtime-api-access/enable`);
  if (enabled.status !== 200) throw new Error(`enable: ${enabled.status} ${JSON.stringify(enabled.body)}`);
  const network = await t.json('POST', `/workspace/${id}/network`, { body: { public_access: true } });
  if (network.status !== 200) throw new Error(`network: ${network.status}`);
  const raw = await t.json('GET', `/workspace/${id}/runtime-api-access/token/raw`);
  const jwt = await t.json('GET', `/workspace/${id}/runtime-api-access/token`);
  return { url: `http://${raw.body.ip}:${raw.body.port}`, token: raw.body.token, jwt: jwt.body.token };
}

/** Kills the workspace's agent from outside, as a crash would: SIGKILL to the agent (process) or the container's first process (sandbox). */
export async function killAgent(t: TestControlPlane, kind: 'process' | 'sandbox', id: string): Promise<void> {
  let pid: number;
  if (kind === 'process') {
    pid = Number((await readFile(path.join(t.dataDir, 'workspaces', id, 'agent.pid'), 'utf8')).trim());
  } else {
    const driver = t.cp.context.driver as SandboxDriver;
    const state = await driver.runtime.state(driver.slotOf(id) as string);
    if (!state) throw new Error(`no container for ${id}`);
    pid = state.pid;
  }
  process.kill(pid, 'SIGKILL');
}
