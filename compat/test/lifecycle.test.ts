import { expect, it } from 'vitest';
import { createWorkspace, describeOfficialStack } from './helpers/official-stack.js';

const SLOT = 72;

/** Polls an async condition every 100 ms (real timers); fails after `ms`. */
async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeOfficialStack(
  SLOT,
  (variant) => `official SDK lifecycle calls (${variant.title})`,
  (cp, variant) => {
    const create = (extra: Record<string, unknown> = {}) => createWorkspace(cp.client, variant, { name: 'lifecycle', ...extra });
    const statusOf = async (id: string) =>
      ((await cp.client.workspaces.get(id).catch(() => ({ status: 'gone' }))) as unknown as { status: string }).status;

    it('get, makeTemporary, updateTtl, setIdle (and null), makePermanent, destroy', async () => {
      const id = await create();
      const lifecycle = cp.client.workspaces.lifecycle;
      expect(await lifecycle.get(id)).toMatchObject({ success: true, mode: 'permanent', idle: null, snapshot_supported: false });

      const temporary = await lifecycle.makeTemporary(id, { ttl: '2h', ttl_action: 'suspend', remove_on_exit: false });
      expect(temporary).toMatchObject({ mode: 'temporary', ttl: 7200, ttl_action: 'suspend', remove_on_exit: false });
      expect(typeof temporary.expires_at).toBe('string');
      expect(await lifecycle.updateTtl(id, { ttl: 90 })).toMatchObject({ ttl: 90, ttl_action: 'suspend' });
      expect(await lifecycle.updateTtl(id, { ttl_action: 'stop' })).toMatchObject({ ttl: 90, ttl_action: 'stop' });

      expect(await lifecycle.setIdle(id, { suspend_after: '10m', stop_after: '1h' })).toMatchObject({
        idle: { suspend_after: 600, stop_after: 3600 },
      });
      expect(await lifecycle.setIdle(id, null)).toMatchObject({ idle: null });

      const permanent = await lifecycle.makePermanent(id, { restart_policy: 'on-failure' } as never);
      expect(permanent).toMatchObject({ mode: 'permanent', restart_policy: 'on-failure' });
      expect(permanent.expires_at).toBeUndefined();
      expect(await lifecycle.destroy(id)).toMatchObject({ mode: 'permanent', restart_policy: 'never' });
      await cp.client.workspaces.delete(id);
    });

    it('errors: a garbage TTL is a 400 the SDK throws', async () => {
      const id = await create();
      await expect(cp.client.workspaces.lifecycle.updateTtl(id, { ttl: 'forever' })).rejects.toMatchObject({
        status: 400,
        code: 'bad_request',
      });
      await expect(cp.client.workspaces.lifecycle.get('ws_doesnotexist')).rejects.toMatchObject({ status: 404, code: 'not_found' });
      await cp.client.workspaces.delete(id);
    });

    it('a temporary workspace created with a TTL stops when it runs out; lifecycle.ping and workspaces.ping renew it', async () => {
      const id = await create({ mode: 'temporary', ttl: 2, ttl_action: 'stop' });
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 700));
        const pinged = (await (i % 2 === 0 ? cp.client.workspaces.lifecycle.ping(id) : cp.client.workspaces.ping(id))) as {
          expires_at?: string;
        };
        expect(Date.parse(pinged.expires_at as string)).toBeGreaterThan(Date.now());
      }
      expect(await statusOf(id)).toBe('running');
      await until(async () => (await statusOf(id)) === 'stopped', 20_000);
      expect(await cp.client.workspaces.lifecycle.get(id)).toMatchObject({ stopped_by: 'ttl', status: 'stopped' });
      await cp.client.workspaces.delete(id);
    });

    it('ttl_action remove deletes the workspace', async () => {
      const id = await create({ mode: 'temporary', ttl: '1s', ttl_action: 'remove' });
      await until(async () => (await statusOf(id)) === 'gone', 20_000);
    });
  },
);
