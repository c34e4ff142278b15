// Wake on traffic through a gateway in another process: `cove gateway` on the control plane's SQLite file, told
// the control plane's URL (`--api-url`), wakes a paused workspace through `POST /internal/wake/:id` signed with
// the secret both read from the store; concurrent requests share one wake; forged wakes are refused; without
// the URL (or with one it cannot reach) the same gateway answers 503.
import { type ChildProcess, spawn } from 'node:child_process';
import { signWake } from '@cove/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COVE_BIN } from './helpers/control-plane.js';
import { startTestStack, type TestStack } from './helpers/driver-stack.js';
import { lifecycleOf, openAgent, statusOf } from './helpers/lifecycle.js';

const children: ChildProcess[] = [];

/** `cove gateway` on the stack's store, in its own process; resolves to its URL once it is ready. */
function startGateway(t: TestStack, args: string[]): Promise<{ url: string; output: () => string }> {
  const child = spawn(process.execPath, [COVE_BIN, 'gateway', '--listen', '127.0.0.1:0', '--data-dir', t.dataDir, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: t.dataDir, COVE_LOG_LEVEL: process.env.COVE_TEST_GW_LOG ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stderr?.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /cove gateway ready on (http:\/\/\S+) /.exec(out);
      if (m?.[1]) resolve({ url: m[1], output: () => out });
    });
    child.on('exit', (code) => reject(new Error(`cove gateway exited (${code}): ${out}`)));
  });
}

describe('wake on traffic through a separate gateway (cove gateway --api-url)', () => {
  let t: TestStack;
  let gatewayURL: string;
  let gatewayOutput: () => string;
  const wakes = async (id: string) => (await lifecycleOf(t, id)).events.filter((e: { type: string }) => e.type === 'wake').length;
  const runtime = (base: string, jwt: string) => fetch(`${base}/runtime`, { headers: { authorization: `Bearer ${jwt}` } });

  beforeAll(async () => {
    t = await startTestStack('process', 72);
    ({ url: gatewayURL, output: gatewayOutput } = await startGateway(t, ['--api-url', t.url]));
    expect(gatewayOutput()).toContain(`wakes sleeping workspaces through ${t.url}`);
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await t?.close();
  }, 120_000);

  it('a request to a paused workspace wakes it and gets its answer; ten at once share one wake', async () => {
    const id = await t.createWorkspace();
    const { jwt } = await openAgent(t, id);
    expect((await t.json('POST', `/workspace/${id}/pause`)).body.status).toBe('paused');
    const res = await runtime(gatewayURL, jwt);
    expect(res.status, gatewayOutput()).toBe(200);
    expect(await res.json()).toMatchObject({ success: true });
    expect(await statusOf(t, id)).toBe('running');
    expect(await wakes(id)).toBe(1);

    await t.json('POST', `/workspace/${id}/pause`);
    // The gateway keeps a route for 500 ms (its route cache): past that it sees the workspace asleep again.
    await new Promise((r) => setTimeout(r, 600));
    const answers = await Promise.all(Array.from({ length: 10 }, () => runtime(gatewayURL, jwt)));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    await Promise.all(answers.map((r) => r.body?.cancel()));
    expect(await wakes(id)).toBe(2);
    await t.json('DELETE', `/workspace/${id}`);
  });

  it('a user-stopped workspace is not started through it', async () => {
    const id = await t.createWorkspace();
    const { jwt } = await openAgent(t, id);
    await t.json('POST', `/workspace/${id}/stop`);
    const refused = await runtime(gatewayURL, jwt);
    expect(refused.status).not.toBe(200);
    expect(await refused.json()).toMatchObject({ success: false });
    expect(await statusOf(t, id)).toBe('stopped');
    await t.json('DELETE', `/workspace/${id}`);
  });

  it('forged wake calls are refused and wake nothing', async () => {
    const id = await t.createWorkspace();
    await openAgent(t, id);
    await t.json('POST', `/workspace/${id}/pause`);
    const wake = (headers: Record<string, string>) => t.request('POST', `/internal/wake/${id}`, { auth: null, headers });
    const attempts = [
      {},
      { 'x-cove-wake-signature': 'garbage' },
      // Signed with another secret.
      { 'x-cove-wake-signature': signWake(new Uint8Array(32).fill(7), id) },
      // Signed for another workspace.
      { 'x-cove-wake-signature': signWake(t.cp.context.jwtSecret, 'ws_000000000000') },
      // Signed too long ago.
      { 'x-cove-wake-signature': signWake(t.cp.context.jwtSecret, id, Date.now() - 10 * 60_000) },
      // Client credentials are not what this route takes.
      { 'x-client-id': t.client.clientId, 'x-client-secret': t.client.clientSecret },
    ];
    for (const headers of attempts) {
      const res = await wake(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(await res.json()).toMatchObject({ success: false, code: 'unauthorized' });
    }
    expect(await statusOf(t, id)).toBe('paused');
    expect(await wakes(id)).toBe(0);
    // The real signature wakes it (what the gateway sends).
    const real = await wake({ 'x-cove-wake-signature': signWake(t.cp.context.jwtSecret, id) });
    expect(real.status).toBe(200);
    expect(await statusOf(t, id)).toBe('running');
    await t.json('DELETE', `/workspace/${id}`);
  });

  it('without --api-url, or with one it cannot reach, a gateway answers 503 for a sleeping workspace', async () => {
    const plain = await startGateway(t, []);
    const id = await t.createWorkspace();
    const { jwt } = await openAgent(t, id);
    await t.json('POST', `/workspace/${id}/pause`);
    const res = await runtime(plain.url, jwt);
    expect(res.status).toBe(503);
    expect(await statusOf(t, id)).toBe('paused');
    // A control plane it cannot reach: 503 too, saying so, and the gateway goes on serving.
    const lost = await startGateway(t, ['--api-url', 'http://127.0.0.1:1']);
    const unreachable = await runtime(lost.url, jwt);
    expect(unreachable.status).toBe(503);
    expect(await unreachable.json()).toMatchObject({ success: false, code: 'service_unavailable' });
    expect((await runtime(lost.url, jwt)).status).toBe(503);
    expect(await statusOf(t, id)).toBe('paused');
    await t.json('DELETE', `/workspace/${id}`);
  });
});
