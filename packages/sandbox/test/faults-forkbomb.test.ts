// A workspace that exhausts its memory or its processes (a fork bomb) hurts only itself: what the agent spawns is
// the workspace's first out-of-memory victim (oom_score_adj 1000, the agent keeps the container's 500), the agent
// answers through it, and delete removes the workspace whatever its processes are doing (forking, frozen).
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { faultDriver } from './helpers/fault-workspaces.js';
import { execIn, skipReason } from './helpers.js';

const SLOT = 97;
const skip = skipReason();
const TOKEN = 'f'.repeat(64);

describe.skipIf(skip)('a workspace exhausting itself (sandbox driver)', () => {
  const sandbox = faultDriver(SLOT, TOKEN, 30_000);
  const up = (memoryMb: number) => sandbox.up({ memoryMb, diskMb: 64 });

  it('memory: the hog is the OOM victim, never the agent', async () => {
    const { ws, exec } = await up(512);
    const score = await exec(['cat', '/proc/self/oom_score_adj']);
    expect(score.body.stdout?.trim()).toBe('1000');
    // The agent itself (under tini, the container's first process) keeps the container's base.
    const agentScore = await execIn(sandbox.driver, ws.id, 'cat /proc/1/oom_score_adj');
    expect(Number(agentScore.stdout.trim())).toBeLessThan(1000);
    const hog = await exec(['/opt/cove/bin/node', '-e', 'const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))']);
    expect(hog.status).toBe(200);
    // Killed by the cgroup's OOM killer (SIGKILL).
    expect(JSON.stringify(hog.body)).toMatch(/"exit_code":137|SIGKILL/);
    expect(sandbox.driver.agentRunning(ws.id)).toBe(true);
    expect((await exec(['echo', 'alive'])).body.stdout).toBe('alive\n');
    expect(await sandbox.destroy(ws.id)).toEqual([]);
  }, 180_000);

  it('a fork bomb: the agent answers through it, and delete removes the workspace while it forks', async () => {
    const { ws, agent, exec } = await up(512);
    const bomb = await exec(['sh', '-c', 'b() { b | b & }; (b) >/dev/null 2>&1 </dev/null & echo started']);
    expect(bomb.body.stdout).toContain('started');
    await sleep(2000);
    // Its process table is full, yet the agent answers (a request that needs no new process).
    const files = await agent('/files?path=/');
    expect(files.status).toBe(200);
    await files.body?.cancel();
    expect(sandbox.driver.agentRunning(ws.id)).toBe(true);
    expect(await sandbox.destroy(ws.id)).toEqual([]);
  }, 180_000);

  it('delete removes a frozen workspace', async () => {
    const { ws } = await up(256);
    await sandbox.driver.pause(ws.id);
    expect(await sandbox.destroy(ws.id)).toEqual([]);
  }, 120_000);
});
