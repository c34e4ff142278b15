// Wake on traffic: requests through the gateway (data plane and public port URLs) to sleeping workspaces, on
// both drivers, with the gateway reading the control plane's waking route source as `cove up` wires it.
import http from 'node:http';
import { createGateway, type Gateway } from '@cove/gateway';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from './helpers/driver-stack.js';
import { expectRequestWakesPaused, openAgent, statusOf, until, untilStatus, wakesOf } from './helpers/lifecycle.js';

const SLOT = 71;

/** A GET through the gateway with `Host` set (a public port URL), by node:http (fetch does not send a chosen Host). */
function getWithHost(base: string, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { headers: { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
  });
}

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`wake on traffic (${variant.title})`, () => {
    let t: TestStack;
    let gateway: Gateway;
    let gatewayURL: string;
    const create = (body: Record<string, unknown> = {}) => t.createWorkspace({ ...variant.workspace, ...body });
    const wakes = (id: string) => wakesOf(t, id);
    const runtime = (jwt: string) => fetch(`${gatewayURL}/runtime`, { headers: { authorization: `Bearer ${jwt}` } });

    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
      gateway = createGateway({ routes: t.cp.routes, secret: t.cp.context.jwtSecret, routeCacheMs: 0, logger: pino({ level: 'silent' }) });
      gatewayURL = await gateway.listen('127.0.0.1', 0);
    }, 120_000);
    afterAll(async () => {
      await gateway?.close();
      await t?.close();
    }, 120_000);

    it('a request to a paused workspace resumes it and gets its answer', async () => {
      const id = await create();
      const { jwt } = await openAgent(t, id);
      await expectRequestWakesPaused(t, id, () => runtime(jwt));
    });

    it('ten concurrent requests share one resume', async () => {
      const id = await create();
      const { jwt } = await openAgent(t, id);
      await t.json('POST', `/workspace/${id}/pause`);
      const answers = await Promise.all(Array.from({ length: 10 }, () => runtime(jwt)));
      expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
      await Promise.all(answers.map((r) => r.body?.cancel()));
      expect(await wakes(id)).toBe(1);
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('an idle-stopped workspace is started by a request; a user-stopped one is not', async () => {
      const id = await create();
      const { jwt } = await openAgent(t, id);
      await t.json('PUT', `/workspace/${id}/lifecycle/idle`, { body: { suspend_after: 1, stop_after: 1 } });
      await untilStatus(t, id, 'stopped');
      const res = await runtime(jwt);
      expect(res.status).toBe(200);
      await res.body?.cancel();
      expect(await statusOf(t, id)).toBe('running');

      await t.json('PUT', `/workspace/${id}/lifecycle/idle`, { body: { suspend_after: 0 } });
      await t.json('POST', `/workspace/${id}/stop`);
      // Refused as any stopped workspace is (its address is gone with it), and not started.
      const refused = await runtime(jwt);
      expect(refused.status).not.toBe(200);
      expect(await refused.json()).toMatchObject({ success: false });
      expect(await statusOf(t, id)).toBe('stopped');
      await t.json('DELETE', `/workspace/${id}`);
    });

    it('past the deadline a held request is answered 503 wake_timeout; the wake goes on', async () => {
      const impatient = createGateway({
        routes: t.cp.routes,
        secret: t.cp.context.jwtSecret,
        routeCacheMs: 0,
        wakeTimeoutMs: 1,
        logger: pino({ level: 'silent' }),
      });
      const url = await impatient.listen('127.0.0.1', 0);
      try {
        const id = await create();
        const { jwt } = await openAgent(t, id);
        await t.json('POST', `/workspace/${id}/pause`);
        const res = await fetch(`${url}/runtime`, { headers: { authorization: `Bearer ${jwt}` } });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
        expect(await res.json()).toMatchObject({ success: false, code: 'wake_timeout' });
        await untilStatus(t, id, 'running');
        await t.json('DELETE', `/workspace/${id}`);
      } finally {
        await impatient.close();
      }
    });

    it('a public port URL wakes its paused workspace and serves the app', async () => {
      const id = await create();
      const agent = await openAgent(t, id);
      const port = 18_000 + Math.floor(Math.random() * 1000);
      const started = await fetch(`${agent.url}/exec`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ cmd: ['python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1'], stream: true }),
      });
      await started.body?.cancel();
      const exposed = await t.json('POST', `/workspace/${id}/public-access`, { body: { port } });
      expect(exposed.status).toBe(200);
      const host = `${exposed.body.port.slug}.localhost`;
      await until('the app', async () => ((await getWithHost(gatewayURL, host, '/')).status === 200 ? true : undefined));
      await t.json('POST', `/workspace/${id}/pause`);
      const res = await getWithHost(gatewayURL, host, '/');
      expect(res.status).toBe(200);
      expect(res.body).toContain('Directory listing');
      expect(await statusOf(t, id)).toBe('running');
      expect(await wakes(id)).toBe(1);
      await t.json('DELETE', `/workspace/${id}`);
    });
  });
}
