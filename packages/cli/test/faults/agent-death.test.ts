// kill -9 of a workspace's agent (the container's first process) under `cove up` with the sandbox driver: the
// control plane notices and says so (no restart policy: stopped by failure; `always`: restarted), the gateway
// answers 503 with a code rather than a 502, and an open WebSocket ends with a close instead of hanging.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { run } from '../../../sandbox/src/run-command.js';
import { createWorkspace, execThroughGateway, gatewayToken, runcRoot, skipReason, until, upForSuite } from './cove-up.js';

const SLOT = 95;
const skip = skipReason();

describe.skipIf(skip)('kill -9 of a workspace agent (cove up, sandbox driver)', () => {
  const up = upForSuite(SLOT);

  /** SIGKILL to the container's first process (tini, the agent's parent): the container dies with it. */
  async function killAgent(id: string): Promise<void> {
    const state = JSON.parse((await run(['runc', '--root', runcRoot(up()), 'state', id])).stdout) as { pid: number };
    process.kill(state.pid, 'SIGKILL');
  }

  it('no restart policy: reported stopped by failure; the gateway answers 503 with a code; a WebSocket closes', async () => {
    const id = await createWorkspace(up());
    const token = await gatewayToken(up(), id);
    expect((await execThroughGateway(up(), token, ['true'])).status).toBe(200);
    const ws = new WebSocket(`${up().gatewayUrl.replace('http', 'ws')}/ws?token=${token}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    await killAgent(id);
    // The socket ends (the agent's side is gone), it does not hang.
    expect(await closed).toBeGreaterThan(0);
    // Until the control plane has noticed, and after: never a 502; a 503 that says why.
    const seen = new Set<string>();
    await until('the workspace reported stopped', async () => {
      const res = await execThroughGateway(up(), token, ['true']);
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      seen.add(res.body.code);
      const details = await up().api('GET', `/workspace/${id}`);
      return details.body.workspace.status === 'stopped';
    });
    for (const code of seen) expect(['agent_unavailable', 'service_unavailable']).toContain(code);
    const lifecycle = await up().api('GET', `/workspace/${id}/lifecycle`);
    expect(lifecycle.body).toMatchObject({ stopped_by: 'failure' });
    expect(JSON.stringify(lifecycle.body.events)).toContain('agent_exited');
    // A start runs it again, with its token.
    expect((await up().api('POST', `/workspace/${id}/start`)).status).toBe(200);
    await until('the agent back', async () => (await execThroughGateway(up(), token, ['true'])).status === 200);
  }, 120_000);

  it('restart policy always: restarted, and the events say so', async () => {
    const id = await createWorkspace(up(), { restart_policy: 'always' });
    const token = await gatewayToken(up(), id);
    expect((await execThroughGateway(up(), token, ['true'])).status).toBe(200);
    await killAgent(id);
    await sleep(100);
    const during = await execThroughGateway(up(), token, ['true']);
    if (during.status !== 200) expect(during.status).toBe(503);
    await until('the restart', async () => {
      const lc = await up().api('GET', `/workspace/${id}/lifecycle`);
      return lc.body.restart_info?.count >= 1 && (await execThroughGateway(up(), token, ['echo', 'back'])).status === 200;
    });
    expect((await up().api('GET', `/workspace/${id}`)).body.workspace.status).toBe('running');
  }, 120_000);
});
