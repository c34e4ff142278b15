import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkspaceSpec } from '@cove/protocol';
import { describe, expect, it } from 'vitest';
import { isFrozen, type SandboxDriver } from '../src/index.js';
import { CGROUPS, execIn, leftovers, loopsUnder, network, reopen, skipReason, spec, useTestDriver } from './helpers.js';

const SLOT = 8;
const skip = skipReason();

/** Asks the agent for its runtime: the HTTP status, 'no answer' within `timeoutMs`, or 'refused'. */
async function ask(ip: string, token: string, timeoutMs = 2000): Promise<number | 'no answer' | 'refused'> {
  try {
    const res = await fetch(`http://${ip}:9990/runtime`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    return (err as Error).name === 'TimeoutError' ? 'no answer' : 'refused';
  }
}

describe.skipIf(skip)(`sandbox pause and resume (${CGROUPS} freezer)${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTestDriver(SLOT);

  /** A workspace with its agent running and reachable from the host. */
  async function running(token: string): Promise<{ s: WorkspaceSpec; ip: string }> {
    const s = spec();
    await t.driver.create(s);
    const { ip } = await t.driver.start(s);
    await t.driver.startAgent(s.id, token);
    await t.driver.applyNetwork(s.id, network({ publicAccess: true }));
    return { s, ip };
  }

  const status = async (driver: SandboxDriver, id: string) => (await driver.runtime.state(driver.slotOf(id) ?? id))?.status;

  /** Whether the workspace's cgroup is frozen, read from the host (v1: freezer.state; v2: cgroup.events). */
  const frozen = (id: string) => isFrozen(`cove-test${SLOT}/${t.driver.slotOf(id) ?? id}`);

  /** The token file the agent reads, from the host. */
  const tokenFile = (id: string) => readFileSync(path.join(t.dataDir, 'workspaces', t.driver.slotOf(id) ?? id, 'token/token'), 'utf8');

  /**
   * Starts a shell loop inside that appends "<its pid> <its counter>" to /root/counter every 20 ms. The
   * counter lives in the shell's memory: a loop that restarted would count from 1 again.
   */
  async function startCounter(id: string): Promise<void> {
    const loop = 'i=0; while :; do i=$((i+1)); echo "$$ $i" >> /root/counter; sleep 0.02; done';
    const res = await execIn(t.driver, id, `nohup sh -c '${loop}' >/dev/null 2>&1 &`);
    expect(res.code).toBe(0);
    await until(() => counted(id).length >= 5);
  }

  /** The loop's lines, read from the host through the workspace's mounted root (no process inside needed). */
  function counted(id: string): string[] {
    const file = path.join(t.driver.rootfsOf(id) ?? '', 'root/counter');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  }

  /** Every line is one loop's (same pid), counting 1, 2, 3… without a gap or a restart. */
  function expectOneLoop(lines: string[]): void {
    const pid = lines[0]?.split(' ')[0];
    expect(lines).toEqual(lines.map((_, i) => `${pid} ${i + 1}`));
  }

  async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await delay(20);
    }
  }

  it('freezes everything inside (agent included) and resumes it where it stopped, memory kept', async () => {
    const token = 'p'.repeat(64);
    const { s, ip } = await running(token);
    await startCounter(s.id);
    expect(await ask(ip, token)).toBe(200);

    expect(await frozen(s.id)).toBe(false);
    await t.driver.pause(s.id);
    expect(await status(t.driver, s.id)).toBe('paused');
    expect(await frozen(s.id)).toBe(true);
    const stopped = counted(s.id).length;
    await delay(300);
    expect(counted(s.id).length).toBe(stopped);
    expect(await ask(ip, token, 500)).toBe('no answer');
    expect(counted(s.id).length).toBe(stopped);

    await t.driver.resume(s.id);
    expect(await status(t.driver, s.id)).toBe('running');
    expect(await frozen(s.id)).toBe(false);
    await until(() => counted(s.id).length >= stopped + 5);
    // The same process counting on from where it stopped: nothing restarted.
    expectOneLoop(counted(s.id));
    expect(await ask(ip, token)).toBe(200);
    await t.driver.destroy(s.id);
  }, 120_000);

  it('pause and resume are idempotent; a paused agent is refused a token before it is written or signalled; only a running workspace pauses', async () => {
    const token = 'q'.repeat(64);
    const { s, ip } = await running(token);
    await t.driver.pause(s.id);
    await t.driver.pause(s.id);
    expect(await status(t.driver, s.id)).toBe('paused');
    // Frozen but alive with its token and sessions: it answers again on resume.
    expect(t.driver.agentRunning(s.id)).toBe(true);
    // A frozen agent cannot act on a new token: the calls are refused before the token file is written or the
    // agent signalled, so they never wait for a log line it cannot print.
    await expect(t.driver.setAgentToken(s.id, 'r'.repeat(64))).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/paused; resume it first/),
    });
    await expect(t.driver.startAgent(s.id, 'r'.repeat(64))).rejects.toThrow(/paused; resume it first/);
    expect(tokenFile(s.id)).toBe(`${token}\n`);
    // start is idempotent on a paused workspace and leaves it paused.
    expect(await t.driver.start(s)).toEqual({ ip });
    expect(await status(t.driver, s.id)).toBe('paused');

    await t.driver.resume(s.id);
    await t.driver.resume(s.id);
    expect(await status(t.driver, s.id)).toBe('running');
    // The old token is still the one (the refused rotation changed nothing); rotation works again.
    expect(await ask(ip, token)).toBe(200);
    await t.driver.setAgentToken(s.id, 'r'.repeat(64));
    expect(await ask(ip, 'r'.repeat(64))).toBe(200);

    await t.driver.stop(s.id);
    await expect(t.driver.pause(s.id)).rejects.toThrow(/is not running/);
    // Nothing to thaw on a stopped workspace (its container is gone, as after a reboot): resume does nothing.
    await t.driver.resume(s.id);
    await expect(t.driver.pause('ws_unknown00000')).rejects.toThrow(/no workspace/);
    await expect(t.driver.resume('ws_unknown00000')).rejects.toThrow(/no workspace/);
    await t.driver.destroy(s.id);
  }, 120_000);

  it('stopAgent on a paused workspace stops its agent and keeps the workspace paused', async () => {
    const token = 's'.repeat(64);
    const { s, ip } = await running(token);
    await t.driver.pause(s.id);
    await t.driver.stopAgent(s.id);
    expect(t.driver.agentRunning(s.id)).toBe(false);
    expect(await status(t.driver, s.id)).toBe('paused');
    await t.driver.resume(s.id);
    // The old agent is gone (it never answers again with its old token); a new one starts.
    expect(await status(t.driver, s.id)).toBe('created');
    expect(await ask(ip, token, 1000)).toBe('refused');
    await t.driver.startAgent(s.id, 't'.repeat(64));
    expect(await ask(ip, 't'.repeat(64))).toBe(200);
    await t.driver.destroy(s.id);
  }, 120_000);

  it('stops and deletes a paused workspace, leaving nothing behind', async () => {
    const { s } = await running('u'.repeat(64));
    expect((await execIn(t.driver, s.id, 'echo kept > /root/note.txt')).code).toBe(0);
    await startCounter(s.id);
    await t.driver.pause(s.id);
    await t.driver.stop(s.id);
    expect(await status(t.driver, s.id)).toBeUndefined();
    expect(t.driver.agentRunning(s.id)).toBe(false);
    // Stopped: no container, cgroup, root or disk mount left; the slot's files, namespaces (network, and the user
    // namespace pinned in its directory) and link stay for the next start.
    const left = leftovers(t.driver, t.dataDir, s.id, `cove-test${SLOT}`);
    expect(left.filter((l) => l.startsWith('cgroup') || l === 'runc state')).toEqual([]);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    expect(mounts.filter((l) => l.includes(`/${s.id}/`) && !l.includes(`/workspaces/${s.id}/userns `))).toEqual([]);
    expect(await loopsUnder(`${t.dataDir}/workspaces/${s.id}/`)).toEqual([]);

    await t.driver.start(s);
    await t.driver.startAgent(s.id, 'v'.repeat(64));
    expect(await execIn(t.driver, s.id, 'cat /root/note.txt')).toMatchObject({ code: 0, stdout: 'kept\n' });
    await t.driver.pause(s.id);
    await t.driver.destroy(s.id);
    expect(leftovers(t.driver, t.dataDir, s.id, `cove-test${SLOT}`)).toEqual([]);
    expect(await loopsUnder(`${t.dataDir}/workspaces/${s.id}/`)).toEqual([]);
  }, 120_000);

  it('a restarted driver adopts paused workspaces as paused, with or without their agent', async () => {
    const token = 'w'.repeat(64);
    const { s, ip } = await running(token);
    await startCounter(s.id);
    // Paused before its agent ever started (Internal API access disabled): its first process is the runtime's init.
    const bare = spec();
    await t.driver.create(bare);
    await t.driver.start(bare);
    await t.driver.pause(s.id);
    await t.driver.pause(bare.id);
    const stopped = counted(s.id).length;

    const again = await reopen(t, SLOT);
    expect(await status(again, s.id)).toBe('paused');
    expect(await status(again, bare.id)).toBe('paused');
    expect([await frozen(s.id), await frozen(bare.id)]).toEqual([true, true]);
    expect(again.agentRunning(s.id)).toBe(true);
    expect(again.agentRunning(bare.id)).toBe(false);
    await delay(300);
    expect(counted(s.id).length).toBe(stopped);
    expect(await ask(ip, token, 500)).toBe('no answer');
    // Known paused after the restart: a token cannot be given, and start leaves it paused.
    await expect(again.setAgentToken(s.id, 'x'.repeat(64))).rejects.toThrow(/paused/);
    expect(await again.start(s)).toEqual({ ip });
    await again.pause(s.id);
    expect(await status(again, s.id)).toBe('paused');

    await again.resume(s.id);
    await again.resume(bare.id);
    await until(() => counted(s.id).length >= stopped + 5);
    expectOneLoop(counted(s.id));
    expect(await ask(ip, token)).toBe(200);
    // What the control plane calls after a resume: the running agent keeps running with its token.
    await again.startAgent(s.id, token);
    expect(await ask(ip, token)).toBe(200);
    expect(await status(again, bare.id)).toBe('created');
    await again.startAgent(bare.id, 'y'.repeat(64));
    expect(again.agentRunning(bare.id)).toBe(true);
    await again.destroy(s.id);
    await again.destroy(bare.id);
  }, 120_000);
});
