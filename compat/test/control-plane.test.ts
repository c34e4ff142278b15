// The official `oblien` SDK (2.4.0) as a black-box client of Cove's control plane:
// `new Oblien({ clientId, clientSecret, baseUrl })` → workspaces, apiAccess, network; on each driver.
import { Oblien } from 'oblien';
import { expect, it } from 'vitest';
import { createWorkspace, describeOfficialStack } from './helpers/official-stack.js';

const SLOT = 21;

describeOfficialStack(
  SLOT,
  (variant) => `official SDK against the control plane (${variant.title})`,
  (cp, variant) => {
    /** The sandbox runs only the images it has (`host` here); the process driver takes any name. */
    const image = variant.kind === 'sandbox' ? 'host' : 'node:20';
    /** Where the agents listen: loopback for processes, the sandbox's private subnet. */
    const agentIp = variant.kind === 'sandbox' ? expect.stringMatching(/^10\.85\.21\.\d+$/) : '127.0.0.1';

    it('workspaces: create (waits for ready), get, list, update, stop, start, delete', async () => {
      const created = await cp.client.workspaces.create({ name: 'sdk', image, cpus: 2, memory_mb: 512, disk_size_mb: 2048 } as never);
      const ws = created as unknown as { id: string; ready: boolean; config: unknown; status: string };
      expect(ws.id).toMatch(/^ws_[a-z0-9]{8,}$/);
      expect(ws.ready).toBe(true);
      expect(ws.config).toEqual({ cpus: 2, memory_mb: 512, disk_size_mb: 2048 });

      const got = (await cp.client.workspaces.get(ws.id)) as unknown as { id: string; name: string };
      expect(got).toMatchObject({ id: ws.id, name: 'sdk' });
      const list = (await cp.client.workspaces.list({ page: 1, limit: 10 })) as unknown as {
        workspaces: Array<{ id: string }>;
        total: number;
      };
      expect(list.total).toBe(1);
      expect(list.workspaces.map((w) => w.id)).toEqual([ws.id]);
      const updated = (await cp.client.workspaces.update(ws.id, { name: 'renamed' } as never)) as unknown as { name: string };
      expect(updated.name).toBe('renamed');

      const stopped = (await cp.client.workspaces.stop(ws.id)) as unknown as { success: boolean; status: string };
      expect(stopped).toMatchObject({ success: true, status: 'stopped' });
      const started = (await cp.client.workspaces.start(ws.id)) as unknown as { status: string };
      expect(started.status).toBe('running');
      const removed = (await cp.client.workspaces.delete(ws.id)) as unknown as { success: boolean; deleted: boolean };
      expect(removed).toMatchObject({ success: true, deleted: true });
      await expect(cp.client.workspaces.get(ws.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    });

    it('apiAccess: status, enable, getToken, rawToken, rotateToken, disable', async () => {
      const ws = { id: await createWorkspace(cp.client, variant, { name: 'access' }) };
      expect((await cp.client.workspaces.apiAccess.status(ws.id)).enabled).toBe(false);
      const enabled = await cp.client.workspaces.apiAccess.enable(ws.id);
      expect(enabled.enabled).toBe(true);
      expect(enabled.token).toMatch(/^eyJ/);
      expect((await cp.client.workspaces.apiAccess.status(ws.id)).enabled).toBe(true);
      const current = await cp.client.workspaces.apiAccess.getToken(ws.id);
      expect(current.token).toMatch(/^eyJ/);
      const raw = await cp.client.workspaces.apiAccess.rawToken(ws.id);
      expect(raw).toMatchObject({ ip: agentIp, token: expect.stringMatching(/^[0-9a-f]{64}$/) });
      // The host reaches a sandboxed agent only with public access (the firewall drops the rest).
      await cp.client.workspaces.network.update(ws.id, { public_access: true });
      const direct = await fetch(`http://${raw.ip}:${raw.port}/runtime`, { headers: { authorization: `Bearer ${raw.token}` } });
      expect(direct.status).toBe(200);
      const rotated = await cp.client.workspaces.apiAccess.rotateToken(ws.id);
      expect(rotated.token).toMatch(/^eyJ/);
      const old = await fetch(`http://${raw.ip}:${raw.port}/runtime`, { headers: { authorization: `Bearer ${raw.token}` } });
      expect(old.status).toBe(401);
      await cp.client.workspaces.apiAccess.disable(ws.id);
      expect((await cp.client.workspaces.apiAccess.status(ws.id)).enabled).toBe(false);
      await expect(cp.client.workspaces.apiAccess.rawToken(ws.id)).rejects.toMatchObject({ status: 409, code: 'conflict' });
    });

    it('network: get and partial update', async () => {
      const ws = { id: await createWorkspace(cp.client, variant, { name: 'net' }) };
      const peer = { id: await createWorkspace(cp.client, variant, { name: 'peer' }) };
      const before = await cp.client.workspaces.network.get(ws.id);
      expect(before).toMatchObject({ public_access: false, allow_internet: true, private_links: [], outbound_mode: 'managed' });
      const after = await cp.client.workspaces.network.update(ws.id, { public_access: true, private_link_ids: [peer.id] });
      expect(after).toMatchObject({ public_access: true, allow_internet: true, private_links: [{ workspace_id: peer.id, ip: agentIp }] });
      await expect(cp.client.workspaces.network.update(ws.id, { outbound_mode: 'custom' })).rejects.toMatchObject({
        status: 400,
        code: 'bad_request',
      });
    });

    it('wrong credentials surface as the SDK AuthenticationError (401)', async () => {
      const bad = new Oblien({ clientId: cp.t.client.clientId, clientSecret: 'cs_wrong', baseUrl: cp.t.url });
      await expect(bad.workspaces.list()).rejects.toMatchObject({ status: 401, code: 'unauthorized', name: 'AuthenticationError' });
    });
  },
);
