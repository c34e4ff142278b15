// kill -9 of `cove up` (sandbox driver) in the middle of creates, a delete and a fork: after a restart no
// workspace is half made — each listed one runs and answers, every other one is gone from the host too (slot
// directory, marks, mounts, containers) — and the firewall holds the listed workspaces' rules before the first
// request is served.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execThroughGateway, gatewayToken, hostView, idOf, restartableUp, sandboxDir, skipReason, type Up, until } from './cove-up.js';
import { expectConsistent } from './host-agrees.js';

const SLOT = 94;
const skip = skipReason();

describe.skipIf(skip)('kill -9 of cove up mid-operation (sandbox driver)', () => {
  const cove = restartableUp(SLOT);
  const wsDir = () => path.join(sandboxDir(cove.dataDir()), 'workspaces');
  const start = cove.start;
  const create = (u: Up, name: string) => u.api('POST', '/workspace', { name, image: 'host', disk_mb: 256, memory_mb: 256 });

  it('creates: each is finished or gone with everything it had on the host', async () => {
    let u = await start();
    const before = await create(u, 'done');
    expect(before.status, JSON.stringify(before.body)).toBe(201);
    // Five creates; cove up dies as soon as one of them is part-way through making its slot.
    const creates = ['a', 'b', 'c', 'd', 'e'].map((n) => create(u, n).catch(() => undefined));
    await until('a create in progress', async () => {
      const dir = wsDir();
      return existsSync(dir) && (await hostView(u.dataDir)).marked.length > 0;
    });
    await u.kill9();
    await Promise.all(creates);
    u = await start();
    // The crash was noticed and repaired: the half-made slot went at the driver's open, its row at the control plane's.
    expect(u.log()).toMatch(/removed a workspace left half-made/);
    expect(u.log()).toMatch(/store and driver reconciled/);
    const items = await expectConsistent(u, SLOT);
    expect(items.map((w) => w.name)).toContain('done');
    // Every survivor works: a command runs in each, through the gateway.
    for (const ws of items) {
      const res = await execThroughGateway(u, await gatewayToken(u, ws.id), ['echo', `alive ${ws.name}`]);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(JSON.stringify(res.body)).toContain(`alive ${ws.name}`);
    }
    // And the host takes new work: a create after the restart succeeds.
    expect((await create(u, 'after')).status).toBe(201);
    await expectConsistent(u, SLOT);
  }, 180_000);

  it('a delete: the workspace is gone from the store and the host', async () => {
    let u = cove.current();
    const made = await create(u, 'doomed');
    expect(made.status).toBe(201);
    const id = idOf(made);
    const deleting = u.api('DELETE', `/workspace/${id}`).catch(() => undefined);
    await until(
      'the delete in progress',
      async () => existsSync(path.join(wsDir(), id, 'removing')) || !existsSync(path.join(wsDir(), id)),
    );
    await u.kill9();
    await deleting;
    u = await start();
    const items = await expectConsistent(u, SLOT);
    expect(items.map((w) => w.id)).not.toContain(id);
  }, 180_000);

  it('a fork: each child exists whole or not at all, and the parent runs on (not left frozen)', async () => {
    let u = cove.current();
    const parent = await create(u, 'parent');
    expect(parent.status, JSON.stringify(parent.body)).toBe(201);
    const id = idOf(parent);
    const forking = u.api('POST', `/workspace/${id}/fork`, { count: 3 }).catch(() => undefined);
    await until('a fork child being made', async () => (await hostView(u.dataDir)).marked.length > 0);
    await u.kill9();
    await forking;
    u = await start();
    const items = await expectConsistent(u, SLOT);
    expect(items.map((w) => w.id)).toContain(id);
    // The parent's disk was frozen for the clone: it takes writes again.
    const exec = await execThroughGateway(u, await gatewayToken(u, id), [
      'sh',
      '-c',
      'echo ok > /root/after-crash && cat /root/after-crash',
    ]);
    expect(exec.status, JSON.stringify(exec.body)).toBe(200);
    expect(JSON.stringify(exec.body)).toContain('ok');
  }, 180_000);
});
