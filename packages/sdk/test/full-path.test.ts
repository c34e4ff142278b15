// The reference's control-plane examples, transcribed, against real servers: control plane + gateway +
// agents, all on port 0, on each driver (processes; sandboxed workspaces where the sandbox can run).
import { createGateway, type Gateway } from '@cove/gateway';
import { Oblien, OblienClient, Runtime } from '@cove/sdk';
import { Workspace } from '@cove/sdk/workspace';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from '../../api/test/helpers/driver-stack.js';

const SLOT = 26;

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`@cove/sdk over the control plane and gateway (${variant.title})`, () => {
    let t: TestStack;
    let gateway: Gateway;
    let gatewayURL: string;
    /** What each create adds on this driver (the sandbox's image). */
    const image = variant.image ? { image: variant.image } : {};
    /** Control-plane requests the SDK made, as `METHOD /path`. */
    const calls: string[] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      if (url.origin === t.url) calls.push(`${init?.method ?? 'GET'} ${url.pathname}`);
      return fetch(input, init);
    };

    /** A gateway on `port` in place of the stack's (the restart test). */
    async function restartGateway(port: number): Promise<void> {
      gateway = createGateway({ routes: t.store, secret: t.cp.context.jwtSecret, routeCacheMs: 0, logger: pino({ level: 'silent' }) });
      gatewayURL = await gateway.listen('127.0.0.1', port);
    }

    function client(): Oblien {
      return new Oblien({ ...t.client, baseURL: t.url, gatewayURL, fetch: recordingFetch });
    }

    beforeAll(async () => {
      // Session tokens live 125 s: with the SDK's 120 s refresh margin they count as stale after 5 s.
      t = await startTestStack(variant.kind, SLOT, { limits: { sessionTokenTtlSeconds: 125 } });
      gateway = t.gateway;
      gatewayURL = t.gatewayURL;
    }, 120_000);
    afterAll(async () => {
      await gateway?.close();
      await t?.close();
    }, 120_000);

    describe('Connection & Authentication examples', () => {
      it('enables the server, sets public_access and uses the runtime through the gateway', async () => {
        const c = client();
        const ws = await c.workspaces.create({ name: 'sdk-full-path', ...image });
        expect(ws.id).toMatch(/^ws_[a-z0-9]{8,}$/);

        const access = await c.workspaces.apiAccess.enable(ws.id);
        expect(access.token.split('.')).toHaveLength(3);
        expect(access.enabled).toBe(true);

        await c.workspaces.network.update(ws.id, { public_access: true });
        const rt = await c.workspaces.runtime(ws.id);
        await rt.files.write({ fullPath: 'app/main.go', content: 'package main\n', createDirs: true });
        const files = await rt.files.list({ dirPath: 'app' });
        expect(files.entries.map((e) => e.name)).toEqual(['main.go']);
        const result = await rt.exec.run(['ls', '-la']);
        expect(result.exit_code).toBe(0);
        const term = await rt.terminal.create({ shell: '/bin/sh' });
        expect(term.id).toMatch(/^\d+$/);
        await rt.terminal.close(term.id);
      });

      it('connects directly with the raw token over a private link', async () => {
        const c = client();
        const target = await c.workspaces.create({ name: 'target', ...image });
        const caller = await c.workspaces.create({ name: 'caller', ...image });
        await c.workspaces.apiAccess.enable(target.id);
        await c.workspaces.network.update(target.id, { private_link_ids: [caller.id] });
        const raw = await c.workspaces.apiAccess.rawToken(target.id);
        expect(raw.token).toMatch(/^[0-9a-f]+$/);
        if (variant.kind === 'process') {
          // Processes share the host's network: the SDK here stands for the caller.
          const direct = new Runtime({ baseURL: `http://${raw.ip}:${raw.port}`, token: raw.token });
          expect((await direct.exec.run(['echo', 'direct'])).stdout).toBe('direct\n');
          await c.workspaces.apiAccess.disable(target.id);
          await expect(direct.exec.run(['true'], {}, { timeout: 2_000 })).rejects.toBeDefined();
        } else {
          // Sandboxes are network-dark but for their links: the call goes out from inside the caller.
          await c.workspaces.apiAccess.enable(caller.id);
          await c.workspaces.network.update(caller.id, { public_access: true });
          const inside = await c.workspaces.runtime(caller.id);
          const body = JSON.stringify({ cmd: ['echo', 'direct'] });
          const url = `http://${raw.ip}:${raw.port}/exec`;
          const curl = [
            'curl',
            '-sS',
            '-m',
            '5',
            '-H',
            `Authorization: Bearer ${raw.token}`,
            '-H',
            'Content-Type: application/json',
            '-d',
            body,
            url,
          ];
          const answered = await inside.exec.run(curl);
          expect(answered.exit_code).toBe(0);
          expect(JSON.parse(answered.stdout ?? '')).toMatchObject({ stdout: 'direct\n' });
          // The host itself is not linked: the firewall drops its connection.
          await expect(
            new Runtime({ baseURL: `http://${raw.ip}:${raw.port}`, token: raw.token, maxRetries: 0 }).exec.run(
              ['true'],
              {},
              { timeout: 2_000 },
            ),
          ).rejects.toBeDefined();
          await c.workspaces.apiAccess.disable(target.id);
          expect((await inside.exec.run(curl)).exit_code).not.toBe(0);
        }
      });

      it('runs the older client shape unchanged', async () => {
        const ws = new Workspace(new OblienClient({ ...t.client, baseURL: t.url, gatewayURL }));
        const created = await ws.create({ name: 'legacy', ...image });
        const access = await ws.apiAccess.enable(created.id);
        expect(access.enabled).toBe(true);
        await ws.network.update(created.id, { public_access: true });
        const listing = await ws.files.list(created.id, { dirPath: '.' });
        expect(listing.success).toBe(true);
        const result = await ws.exec.run(created.id, { cmd: ['echo', 'legacy'] });
        expect(result.stdout).toBe('legacy\n');
        const term = await ws.terminal.create(created.id, { shell: '/bin/sh' });
        expect(term.success).toBe(true);
      });
    });

    describe('gateway tokens: caching, refresh and revocation', () => {
      it('refreshes a token before it expires, and once after a 401', async () => {
        const c = client();
        const ws = await c.workspaces.create({ name: 'refresh', ...image });
        await c.workspaces.apiAccess.enable(ws.id);
        await c.workspaces.network.update(ws.id, { public_access: true });
        const rt = await c.workspaces.runtime(ws.id);
        expect(await c.workspaces.runtime(ws.id)).toBe(rt);

        // Stale after 5 s: the next call mints a fresh token first.
        calls.length = 0;
        await new Promise((resolve) => setTimeout(resolve, 5_500));
        await rt.exec.run(['true']);
        expect(calls).toContain(`GET /workspace/${ws.id}/internal-api-access/token`);

        // Rotated behind the SDK's back: the cached JWT is refused (401), the SDK refreshes once and retries.
        await fetch(`${t.url}/workspace/${ws.id}/internal-api-access/token`, {
          method: 'POST',
          headers: { 'x-client-id': t.client.clientId, 'x-client-secret': t.client.clientSecret },
        });
        calls.length = 0;
        expect((await rt.exec.run(['echo', 'after-rotation'])).stdout).toBe('after-rotation\n');
        expect(calls.filter((call) => call.endsWith('/internal-api-access/token'))).toHaveLength(1);
      });

      it('reconnects rt.ws() after the gateway restarts, and replays the terminal', async () => {
        const c = client();
        const ws = await c.workspaces.create({ name: 'reconnect', ...image });
        await c.workspaces.apiAccess.enable(ws.id);
        await c.workspaces.network.update(ws.id, { public_access: true });
        const rt = await c.workspaces.runtime(ws.id);
        const term = await rt.terminal.create({ shell: '/bin/sh' });

        const socket = rt.ws({ reconnectDelay: 100 });
        let opens = 0;
        let screen = '';
        socket.onOpen(() => {
          opens++;
        });
        socket.onTerminalOutput((id, data) => {
          if (id === term.id) screen += new TextDecoder().decode(data);
        });
        await socket.connect();
        socket.writeTerminalInput(term.id, 'echo before-$((1+1))\n');
        await expect.poll(() => screen, { timeout: 10_000 }).toContain('before-2');

        const port = Number(new URL(gatewayURL).port);
        await gateway.close();
        screen = '';
        await restartGateway(port);
        await expect.poll(() => opens, { timeout: 15_000 }).toBe(2);
        // The on-connect replay brings the earlier screen back.
        await expect.poll(() => screen, { timeout: 10_000 }).toContain('before-2');
        socket.writeTerminalInput(term.id, 'echo after-$((2+2))\n');
        await expect.poll(() => screen, { timeout: 10_000 }).toContain('after-4');
        socket.close();
      });
    });
  });
}
