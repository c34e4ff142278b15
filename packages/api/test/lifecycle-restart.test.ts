// Lifecycle deadlines live in the store: a control plane that restarts re-arms them, and does at start what fell
// due while it was down.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';
import { lifecycleOf, statusOf, untilStatus } from './helpers/lifecycle.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-lifecycle-'));
  dirs.push(dir);
  return dir;
}

describe('lifecycle across a control-plane restart (process driver)', () => {
  it('a TTL still pending at the restart runs out on time afterwards', async () => {
    const dir = await dataDir();
    let t: TestControlPlane = await startTestControlPlane({ dataDir: dir, keepDataDir: true });
    const id = await t.createWorkspace({ mode: 'temporary', ttl: 3, ttl_action: 'remove' });
    const expiresAt = (await lifecycleOf(t, id)).expires_at;
    await t.close();

    t = await startTestControlPlane({ dataDir: dir, keepDataDir: true });
    try {
      expect(await statusOf(t, id)).toBe('running');
      expect((await lifecycleOf(t, id)).expires_at).toBe(expiresAt);
      await untilStatus(t, id, 'gone');
    } finally {
      await t.close();
    }
  });

  it('what expired while the control plane was down happens at start', async () => {
    const dir = await dataDir();
    let t: TestControlPlane = await startTestControlPlane({ dataDir: dir, keepDataDir: true });
    const removed = await t.createWorkspace({ mode: 'temporary', ttl: 1, ttl_action: 'remove' });
    const stopped = await t.createWorkspace({ mode: 'temporary', ttl: 1, ttl_action: 'stop' });
    const kept = await t.createWorkspace({ mode: 'temporary', ttl: '1h' });
    await t.close();
    await new Promise((r) => setTimeout(r, 1500));

    t = await startTestControlPlane({ dataDir: dir, keepDataDir: true });
    try {
      await untilStatus(t, removed, 'gone');
      await untilStatus(t, stopped, 'stopped');
      expect(await lifecycleOf(t, stopped)).toMatchObject({ stopped_by: 'ttl' });
      expect(await statusOf(t, kept)).toBe('running');
    } finally {
      await t.close();
    }
  });
});
