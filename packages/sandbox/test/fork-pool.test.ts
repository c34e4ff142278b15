// A fork's child taking a warm pooled container (warm-pool.ts `adoptForFork`): the container, its namespaces
// and its agent's node were started before the child's disk existed; the disk replaces the pooled one under
// the running container (ns-helper switch-root) and the agent then starts on it. The child must be exactly
// what a cold child is: its parent's files with their owners as seen inside, its own id range on the host, the
// container's mounts (/proc masks, binds) and nothing of the pooled root, an agent started on the child's files
// (the parent's saved workloads run) that works across restarts; and its deletion leaves nothing (the pooled
// disk's log included).
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { WorkspaceSpec } from '@cove/protocol';
import { describe, expect, it } from 'vitest';
import { execIn, leftovers, loopsUnder, network, reopen, skipReason, spec, useTestDriver } from './helpers.js';

const SLOT = 23;
const skip = skipReason();
const TOKEN = 'k'.repeat(64);

describe.skipIf(skip)(`sandbox forks from the warm pool${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTestDriver(SLOT, { warmPool: { size: 0, image: 'host', diskMb: 64 } });

  async function sh(id: string, script: string): Promise<string> {
    const res = await execIn(t.driver, id, script);
    if (res.code !== 0) throw new Error(`exit ${res.code}: ${res.stderr}`);
    return res.stdout;
  }

  /** The agent's answer to one command over the workspace's address. */
  async function agentExec(id: string, token: string, script: string): Promise<{ stdout: string; exit_code: number }> {
    const res = await fetch(`http://${t.driver.addressOf(id)}:9990/exec`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['sh', '-c', script] }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { stdout: string; exit_code: number };
  }

  /** Waits until the pool of containers for forks holds `ready` of them. */
  async function forkPoolReady(ready = 1): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (!t.driver.poolSizes().some((p) => p.forks && p.ready >= ready)) {
      if (Date.now() > deadline) throw new Error('no pooled container for forks');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Starts a child, its agent and its network, as the control plane does after a fork. */
  async function boot(child: WorkspaceSpec): Promise<void> {
    await t.driver.start(child);
    await t.driver.startAgent(child.id, TOKEN);
    await t.driver.applyNetwork(child.id, network({ publicAccess: true }));
  }

  /** Mount points inside, sorted (what a workspace's container carries, whichever way it was made). */
  const MOUNTS = "awk '{print $5}' /proc/self/mountinfo | sort";
  const LIST = "find /root/data -printf '%p %y %m %U:%G %l\\n' | sort; cat /root/data/file";

  it("a child takes a pooled container: its parent's files, its own range, a cold child's mounts, and nothing left after", async () => {
    const parent: WorkspaceSpec = spec();
    await t.driver.create(parent);
    await t.driver.start(parent);
    await sh(
      parent.id,
      'mkdir -p /root/data/sub && printf hello > /root/data/file && chown 1000:1001 /root/data/file && ln -s file /root/data/link && rm /etc/os-release',
    );
    const listed = await sh(parent.id, LIST);
    // The first fork of an image is made cold; it gives the image a pool of containers for forks.
    const cold = spec();
    await t.driver.snapshots.fork(parent.id, [cold]);
    expect(t.driver.slotOf(cold.id)).toBe(cold.id);
    await t.driver.start(cold);
    await t.driver.startAgent(cold.id, TOKEN);
    const coldMounts = await sh(cold.id, MOUNTS);
    await forkPoolReady();

    const child = spec({ memoryMb: 200 });
    await t.driver.snapshots.fork(parent.id, [child]);
    const slot = t.driver.slotOf(child.id) ?? '';
    expect(slot).toMatch(/^wp_[0-9a-f]{12}$/);
    // Its agent waits to start: it serves nobody until startAgent.
    expect(t.driver.agentRunning(child.id)).toBe(false);
    const { ip } = await t.driver.start(child);
    expect(await t.driver.startAgent(child.id, TOKEN)).toEqual({ ip, port: 9990 });
    expect(t.driver.agentRunning(child.id)).toBe(true);
    await t.driver.applyNetwork(child.id, network({ publicAccess: true }));

    // The parent's files, owners as seen inside; the agent's commands run in the image's working directory.
    expect(await sh(child.id, LIST)).toBe(listed);
    const res = await agentExec(child.id, TOKEN, `${LIST}; echo; pwd; id -u; [ -e /etc/os-release ] && echo present || echo gone`);
    expect(res.stdout).toBe(`${listed}\n/root\n0\ngone\n`);
    // The container's mounts are a cold child's (the /proc masks and binds carried over); no trace of the pooled root.
    expect(await sh(child.id, MOUNTS)).toBe(coldMounts);
    expect(await sh(child.id, 'readlink /proc/1/root /proc/1/cwd; ls -a / | grep -c cove-next || true')).toBe('/\n/\n0\n');
    // The child's limits are its own.
    expect(await sh(child.id, 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max')).toBe(
      `${200 * 1024 * 1024}\n`,
    );
    // On the host, its files are its own range's (not its parent's), and its root writes as its range's root.
    const range = t.driver.idRangeOf(child.id);
    expect(range?.base).not.toBe(t.driver.idRangeOf(parent.id)?.base);
    expect((await stat(path.join(t.driver.rootfsOf(child.id) ?? '', 'root/data/file'))).uid).toBe((range?.base ?? 0) + 1000);
    await sh(child.id, 'echo child > /root/new && chown 1003 /root/data/file');
    expect(await sh(child.id, "stat -c '%U %u' /root/new; stat -c %u /root/data/file")).toBe('root 0\n1003\n');
    expect(await sh(parent.id, 'cat /root/data/file; [ -e /root/new ] && echo leaked || echo apart')).toBe('helloapart\n');

    // A new token reaches the released agent; a restart of the workspace starts it cold on the same disk.
    await t.driver.setAgentToken(child.id, 'n'.repeat(64));
    expect((await agentExec(child.id, 'n'.repeat(64), 'cat /root/new')).stdout).toBe('child\n');
    await t.driver.stop(child.id);
    await t.driver.start(child);
    await t.driver.startAgent(child.id, TOKEN);
    expect((await agentExec(child.id, TOKEN, 'cat /root/new; pwd')).stdout).toBe('child\n/root\n');

    await t.driver.destroy(child.id);
    expect(leftovers(t.driver, t.dataDir, slot, `cove-test${SLOT}`)).toEqual([]);
    expect(await loopsUnder(`${t.dataDir}/workspaces/${slot}/`)).toEqual([]);
    expect(existsSync(path.join(t.dataDir, 'disks', 'workspaces', `${slot}.ext4`))).toBe(false);
    await t.driver.destroy(cold.id);
    await t.driver.destroy(parent.id);
  }, 300_000);

  it('several children: as many take pooled containers as are ready, the others are made; deleted with their agents never started, they leave nothing', async () => {
    const parent = spec();
    await t.driver.create(parent);
    await t.driver.start(parent);
    await sh(parent.id, 'echo shared > /root/f');
    await forkPoolReady(2);
    const children = [spec(), spec(), spec()];
    await t.driver.snapshots.fork(parent.id, children);
    const slots = children.map((c) => t.driver.slotOf(c.id) ?? '');
    expect(slots.filter((s) => s.startsWith('wp_')).length).toBe(2);
    for (const c of children) {
      await t.driver.start(c);
      expect(await sh(c.id, 'cat /root/f')).toBe('shared\n');
    }
    for (const [i, c] of children.entries()) {
      await t.driver.destroy(c.id);
      expect(leftovers(t.driver, t.dataDir, slots[i] ?? '', `cove-test${SLOT}`)).toEqual([]);
      expect(await loopsUnder(`${t.dataDir}/workspaces/${slots[i]}/`)).toEqual([]);
    }
    await t.driver.destroy(parent.id);
  }, 300_000);

  it("the child's agent starts on the child's files: the parent's saved workloads run in it, as in a cold child", async () => {
    const parent = spec();
    await t.driver.create(parent);
    const { ip } = await t.driver.start(parent);
    await t.driver.startAgent(parent.id, TOKEN);
    await t.driver.applyNetwork(parent.id, network({ publicAccess: true }));
    const made = await fetch(`http://${ip}:9990/workloads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'ticker', cmd: ['sh', '-c', 'while :; do date +%s >> /root/ticks; sleep 0.2; done'] }),
    });
    expect(made.status).toBe(201);
    await forkPoolReady();
    const child = spec();
    await t.driver.snapshots.fork(parent.id, [child]);
    expect(t.driver.slotOf(child.id)).toMatch(/^wp_/);
    await boot(child);
    const res = await fetch(`http://${t.driver.addressOf(child.id)}:9990/workloads`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { workloads: Array<{ id: string; status: string }> };
    expect(body.workloads.map((w) => [w.id, w.status])).toEqual([['ticker', 'running']]);
    // It runs in the child: its ticks grow on the child's disk.
    const count = async () => Number((await sh(child.id, 'wc -l < /root/ticks')).trim());
    const before = await count();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await count()).toBeGreaterThan(before);
    await t.driver.destroy(child.id);
    await t.driver.destroy(parent.id);
  }, 300_000);

  it("a never-started parent's child: the container's mount points are made in its root, owned by its root", async () => {
    const parent = spec();
    await t.driver.create(parent);
    await forkPoolReady();
    const child = spec();
    await t.driver.snapshots.fork(parent.id, [child]);
    expect(t.driver.slotOf(child.id)).toMatch(/^wp_/);
    await boot(child);
    const res = await agentExec(child.id, TOKEN, "stat -c '%U %G' /opt/cove /opt/cove/bin /etc/resolv.conf; pwd");
    // /opt/cove was made (by root inside); the binds on the mount points show their host owners, as in any workspace.
    expect(res.stdout).toBe('root root\nnobody nogroup\nnobody nogroup\n/root\n');
    await t.driver.destroy(child.id);
    await t.driver.destroy(parent.id);
  }, 300_000);

  // Last: the second driver on the same data directory removes the first one's pooled containers (stale to it).
  it('a driver started again between the fork and startAgent starts the waiting agent', async () => {
    const parent = spec();
    await t.driver.create(parent);
    await t.driver.start(parent);
    await sh(parent.id, 'echo kept > /root/f');
    await forkPoolReady();
    const child = spec();
    await t.driver.snapshots.fork(parent.id, [child]);
    expect(t.driver.slotOf(child.id)).toMatch(/^wp_/);
    const again = await reopen(t, SLOT);
    expect(again.agentRunning(child.id)).toBe(false);
    const { ip } = await again.start(child);
    expect(await again.startAgent(child.id, TOKEN)).toEqual({ ip, port: 9990 });
    await again.applyNetwork(child.id, network({ publicAccess: true }));
    expect((await agentExec(child.id, TOKEN, 'cat /root/f')).stdout).toBe('kept\n');
    await again.destroy(child.id);
    await again.destroy(parent.id);
  }, 300_000);
});
