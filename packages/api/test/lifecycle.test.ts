// Lifecycle policies against real workspaces on both drivers, with real timers and durations of a second or two.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from './helpers/driver-stack.js';
import { killAgent, lifecycleOf, openAgent, statusOf, until, untilStatus } from './helpers/lifecycle.js';

const SLOT = 70;

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`lifecycle (${variant.title})`, () => {
    let t: TestStack;
    const create = (body: Record<string, unknown> = {}) => t.createWorkspace({ ...variant.workspace, ...body });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    }, 120_000);

    it('shows the defaults in the shape of the SDK’s LifecycleStatus', async () => {
      const id = await create();
      const lc = await lifecycleOf(t, id);
      expect(lc).toMatchObject({
        success: true,
        workspace_id: id,
        mode: 'permanent',
        status: 'running',
        ttl_action: 'stop',
        remove_on_exit: false,
        idle: null,
        restart_policy: 'never',
        max_restarts: 0,
        restart_info: { count: 0, last_restart_at: null },
        snapshot_supported: false,
        suspend_mode: 'pause',
        events: [],
      });
      expect(lc.snapshot_unavailable_reason).toMatch(/CRIU 3\.17.*vDSO/);
      expect(lc).not.toHaveProperty('expires_at');
      expect(typeof lc.uptime).toBe('number');
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('refuses garbage durations with 400 and creates nothing', async () => {
      const before = (await t.json('GET', '/workspace?limit=100')).body.total;
      for (const ttl of ['soon', '10x', '-5', '1.5h', 1.5, -1, 0, '0s', `${400 * 86_400}`]) {
        const res = await t.json('POST', '/workspace', { body: { ...variant.workspace, mode: 'temporary', ttl } });
        expect(res.status, JSON.stringify(ttl)).toBe(400);
        expect(res.body.success).toBe(false);
      }
      const refused = await t.json('POST', '/workspace', { body: { ...variant.workspace, mode: 'permanent', ttl: '1h' } });
      expect(refused.status).toBe(400);
      expect((await t.json('GET', '/workspace?limit=100')).body.total).toBe(before);

      const id = await create();
      const idle = await t.json('PUT', `/workspace/${id}/lifecycle/idle`, { body: { suspend_after: '10 minutes' } });
      expect(idle.status).toBe(400);
      expect(idle.body).toMatchObject({ success: false, code: 'bad_request' });
      const ttl = await t.json('PUT', `/workspace/${id}/lifecycle/ttl`, { body: { ttl: 'a while' } });
      expect(ttl.status).toBe(400);
      const action = await t.json('POST', `/workspace/${id}/lifecycle/temporary`, { body: { ttl_action: 'explode' } });
      expect(action.status).toBe(400);
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('reads durations as seconds or 30s, 10m, 2h, 1d; suspend_after 0 or null clears the idle policy', async () => {
      const id = await create();
      for (const [given, seconds] of [
        [90, 90],
        ['90', 90],
        ['30s', 30],
        ['10m', 600],
        ['2h', 7200],
        ['1d', 86_400],
      ] as const) {
        const res = await t.json('PUT', `/workspace/${id}/lifecycle/idle`, { body: { suspend_after: given, stop_after: '1h' } });
        expect(res.status).toBe(200);
        expect(res.body.idle).toEqual({ suspend_after: seconds, stop_after: 3600 });
      }
      for (const off of [{ suspend_after: 0 }, { suspend_after: null }]) {
        const res = await t.json('PUT', `/workspace/${id}/lifecycle/idle`, { body: off });
        expect(res.body.idle).toBeNull();
      }
      const temporary = await t.json('POST', `/workspace/${id}/lifecycle/temporary`, { body: { ttl: '2h', ttl_action: 'pause' } });
      expect(temporary.body).toMatchObject({ mode: 'temporary', ttl: 7200, ttl_action: 'pause', remove_on_exit: false });
      expect(Date.parse(temporary.body.expires_at) - Date.now()).toBeGreaterThan(7100_000);
      const permanent = await t.json('POST', `/workspace/${id}/lifecycle/permanent`, {
        body: { restart_policy: 'on-failure', max_restarts: 3 },
      });
      expect(permanent.body).toMatchObject({ mode: 'permanent', restart_policy: 'on-failure', max_restarts: 3 });
      expect(permanent.body).not.toHaveProperty('expires_at');
      const fromCreate = await create({ idle: { suspend_after: '10m', stop_after: '1d' }, restart_policy: 'on-failure' });
      expect(await lifecycleOf(t, fromCreate)).toMatchObject({
        mode: 'permanent',
        idle: { suspend_after: 600, stop_after: 86_400 },
        restart_policy: 'on-failure',
      });
      await t.json('DELETE', `/workspace/${fromCreate}`);
      const reset = await t.json('DELETE', `/workspace/${id}/lifecycle`);
      expect(reset.body).toMatchObject({ mode: 'permanent', restart_policy: 'never', idle: null });
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('TTL remove: the workspace is deleted when it runs out', async () => {
      const id = await create({ mode: 'temporary', ttl: 1, ttl_action: 'remove' });
      expect((await lifecycleOf(t, id)).ttl_action).toBe('remove');
      await untilStatus(t, id, 'gone');
    });

    it('TTL stop: stopped when it runs out, by the TTL, and not woken by traffic', async () => {
      const id = await create({ ttl: '1s' });
      await untilStatus(t, id, 'stopped');
      const lc = await lifecycleOf(t, id);
      expect(lc).toMatchObject({ mode: 'temporary', stopped_by: 'ttl', wake_on_traffic: false, uptime: 0 });
      expect(lc.events.map((e: { type: string }) => e.type)).toEqual(['ttl_expired']);
      // Started again, it gets a fresh TTL.
      await t.json('POST', `/workspace/${id}/start`);
      expect(Date.parse((await lifecycleOf(t, id)).expires_at)).toBeGreaterThan(Date.now());
      await untilStatus(t, id, 'stopped');
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('TTL pause: paused (memory kept) when it runs out', async () => {
      const id = await create({ mode: 'temporary', ttl: 1, ttl_action: 'pause' });
      await untilStatus(t, id, 'paused');
      expect(await lifecycleOf(t, id)).toMatchObject({ stopped_by: 'ttl', wake_on_traffic: true });
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('ping renews the TTL; without pings it runs out', async () => {
      const id = await create({ mode: 'temporary', ttl: 2 });
      for (let i = 0; i < 6; i++) {
        await sleep(500);
        const ping = await t.json('POST', `/workspace/${id}/ping`, { body: {} });
        expect(ping.status).toBe(200);
        expect(Date.parse(ping.body.expires_at)).toBeGreaterThan(Date.now() + 1000);
      }
      expect(await statusOf(t, id)).toBe('running');
      const longer = await t.json('POST', `/workspace/${id}/ping`, { body: { ttl_seconds: 3600 } });
      expect(Date.parse(longer.body.expires_at)).toBeGreaterThan(Date.now() + 3500_000);
      await t.json('PUT', `/workspace/${id}/lifecycle/ttl`, { body: { ttl: 1 } });
      await untilStatus(t, id, 'stopped');
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('idle: suspended after suspend_after without activity, then stopped after stop_after', async () => {
      const id = await create();
      await openAgent(t, id);
      await t.json('PUT', `/workspace/${id}/lifecycle/idle`, { body: { suspend_after: 1, stop_after: 1 } });
      await untilStatus(t, id, 'paused');
      expect(await lifecycleOf(t, id)).toMatchObject({ stopped_by: 'idle', wake_on_traffic: true });
      await untilStatus(t, id, 'stopped');
      const lc = await lifecycleOf(t, id);
      expect(lc).toMatchObject({ stopped_by: 'idle', wake_on_traffic: true });
      expect(lc.events.map((e: { type: string }) => e.type)).toEqual(['idle_suspend', 'idle_stop']);
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('idle: not suspended while a terminal is open or an exec runs', async () => {
      const id = await create();
      const agent = await openAgent(t, id);
      const call = (method: string, p: string, body?: unknown) =>
        fetch(agent.url + p, {
          method,
          headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      const terminal = (await (await call('POST', '/terminals', {})).json()) as { id: number };
      await t.json('PUT', `/workspace/${id}/lifecycle/idle`, { body: { suspend_after: 1 } });
      await sleep(3000);
      expect(await statusOf(t, id)).toBe('running');
      expect((await call('DELETE', `/terminals/${terminal.id}`)).status).toBe(200);

      // A task started in the background (the request answers at once, the task runs on).
      // A task whose stream the caller leaves: no request is open any more, the task runs on.
      const stream = await call('POST', '/exec', { cmd: ['sleep', '4'], stream: true });
      await stream.body?.cancel();
      await sleep(2500);
      expect(await statusOf(t, id)).toBe('running');
      // Once nothing runs, the policy takes it.
      await untilStatus(t, id, 'paused', 15_000);
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('restart policy: a workspace whose agent dies is restarted, and the events say so', async () => {
      const id = await create({ restart_policy: 'always', max_restarts: 5 });
      const agent = await openAgent(t, id);
      await killAgent(t, variant.kind, id);
      const lc = await until('a restart', async () => {
        const l = await lifecycleOf(t, id);
        return l.restart_info.count >= 1 && l.events.some((e: { type: string }) => e.type === 'restart') ? l : undefined;
      });
      expect(lc.events.map((e: { type: string }) => e.type)).toEqual(['agent_exited', 'restart']);
      expect(lc.restart_info.last_restart_at).toEqual(expect.any(String));
      // It serves again, with the same token.
      const raw = await t.json('GET', `/workspace/${id}/runtime-api-access/token/raw`);
      const res = await fetch(`http://${raw.body.ip}:${raw.body.port}/runtime`, { headers: { authorization: `Bearer ${agent.token}` } });
      expect(res.status).toBe(200);
      await res.body?.cancel();
      // A user's stop is not a death.
      await t.json('POST', `/workspace/${id}/stop`);
      await sleep(2500);
      expect(await statusOf(t, id)).toBe('stopped');
      expect((await lifecycleOf(t, id)).restart_info.count).toBe(1);
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('restart policy never: a dead agent stays dead', async () => {
      const id = await create();
      await openAgent(t, id);
      await killAgent(t, variant.kind, id);
      await sleep(2500);
      expect((await lifecycleOf(t, id)).restart_info.count).toBe(0);
      expect((await t.json('GET', `/workspace/${id}/details`)).body.internal_api_access.running).toBe(false);
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('remove_on_exit: a temporary workspace is removed when it stops', async () => {
      const id = await create({ mode: 'temporary', ttl: '1h', remove_on_exit: true });
      expect(await statusOf(t, id)).toBe('running');
      await t.json('POST', `/workspace/${id}/stop`);
      await untilStatus(t, id, 'gone');
    });
  });
}
