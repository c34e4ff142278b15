// The official `oblien` SDK's `workspaces.publicAccess` (list, expose, updateSlug, revoke) as a black-box
// client of Cove's control plane, on each driver; and the network consequence: an exposed port makes the
// agent reachable from the host (the gateway's way in through /proxy), public access or not.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../../packages/api/test/helpers/driver-stack.js';
import { createWorkspace, describeOfficialStack } from './helpers/official-stack.js';

const SLOT = 41;
const OBLIEN = fileURLToPath(new URL('../node_modules/.bin/oblien', import.meta.url));

describeOfficialStack(
  SLOT,
  (variant) => `official SDK publicAccess (${variant.title})`,
  (cp, variant) => {
    const create = async (name: string) => await createWorkspace(cp.client, variant, { name });

    it('list, expose (idempotent), updateSlug, revoke: the fields the SDK types name', async () => {
      const id = await create('pa');
      expect(await cp.client.workspaces.publicAccess.list(id)).toEqual([]);
      const port = await cp.client.workspaces.publicAccess.expose(id, { port: 3000, label: 'web' });
      expect(port).toMatchObject({
        port: 3000,
        label: 'web',
        domain: 'localhost',
        hash: port.slug,
        url: `http://${port.slug}.localhost:9080/`,
      });
      expect(await cp.client.workspaces.publicAccess.expose(id, { port: 3000, label: 'web' })).toEqual(port);
      const handle = cp.client.workspace(id);
      expect(await handle.publicAccess.list()).toEqual([port]);

      const slug = `sdk-${id.slice(3)}`;
      const renamed = await cp.client.workspaces.publicAccess.updateSlug(id, 3000, { slug });
      expect(renamed).toMatchObject({ port: 3000, slug, hash: slug, url: `http://${slug}.localhost:9080/`, label: 'web' });
      expect((await cp.t.store.getPublicPort(slug))?.workspaceId).toBe(id);

      const revoked = await cp.client.workspaces.publicAccess.revoke(id, 3000);
      expect(revoked).toMatchObject({ success: true, revoked: true, port: 3000 });
      expect(await cp.client.workspaces.publicAccess.list(id)).toEqual([]);
      await expect(cp.client.workspaces.publicAccess.revoke(id, 3000)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    });

    it('errors surface as the SDK error classes: 400 for the agent port, 409 for a taken slug', async () => {
      const id = await create('pa-errors');
      const other = await create('pa-other');
      await expect(cp.client.workspaces.publicAccess.expose(id, { port: 9990 })).rejects.toMatchObject({
        status: 400,
        code: 'bad_request',
      });
      await expect(cp.client.workspaces.publicAccess.expose(id, { port: 3000, domain: 'opsh.io' })).rejects.toMatchObject({ status: 400 });
      await cp.client.workspaces.publicAccess.expose(id, { port: 3000, slug: `taken-${id.slice(3)}` });
      await expect(cp.client.workspaces.publicAccess.expose(other, { port: 3000, slug: `taken-${id.slice(3)}` })).rejects.toMatchObject({
        status: 409,
        code: 'conflict',
        name: 'ConflictError',
      });
    });

    it('an exposed port makes the agent reachable from the host without public access (and serves its token)', async () => {
      const id = await create('pa-reach');
      expect((await cp.client.workspaces.network.get(id)).public_access).toBe(false);
      await cp.client.workspaces.publicAccess.expose(id, { port: 8080 });
      const route = await cp.t.store.getRoute(id);
      expect(route).toMatchObject({ enabled: true, running: true, publicAccess: false });
      // The sandbox's firewall drops host connections to an agent without public access: the exposure opens it.
      const res = await fetch(`http://${route?.ip}:${route?.port}/runtime`, { headers: { authorization: `Bearer ${route?.rawToken}` } });
      expect(res.status).toBe(200);
    });
  },
);

describe('official oblien CLI: public-access list, expose, update-slug, revoke (process driver)', () => {
  let t: TestStack;
  let home: string;
  beforeAll(async () => {
    t = await startTestStack('process', SLOT);
    home = await mkdtemp(path.join(os.tmpdir(), 'cove-oblien-home-'));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await rm(home, { recursive: true, force: true });
  });

  function oblien(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      OBLIEN_CLIENT_ID: t.client.clientId,
      OBLIEN_CLIENT_SECRET: t.client.clientSecret,
      OBLIEN_BASE_URL: t.url,
    };
    return new Promise((resolve) => {
      execFile(process.execPath, [OBLIEN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  it('exposes, lists (its table shows `hash` as the slug), renames and revokes', async () => {
    const id = await t.createWorkspace({ name: 'cli-pa' });
    const exposed = await oblien('public-access', 'expose', id, '--port', '3000', '--slug', 'oblien-cli-app', '--label', 'web', '--json');
    expect(exposed.code).toBe(0);
    expect(JSON.parse(exposed.stdout)).toMatchObject({ port: 3000, slug: 'oblien-cli-app', url: 'http://oblien-cli-app.localhost:9080/' });
    const table = await oblien('public-access', 'list', id);
    expect(table.stdout).toMatch(/3000\s+oblien-cli-app\s+http:\/\/oblien-cli-app\.localhost:9080\/\s+web/);
    const renamed = await oblien('public-access', 'update-slug', id, '--port', '3000', '--slug', 'oblien-cli-two', '--json');
    expect(JSON.parse(renamed.stdout)).toMatchObject({ slug: 'oblien-cli-two' });
    const revoked = await oblien('public-access', 'revoke', id, '3000');
    expect(revoked.code).toBe(0);
    expect((await oblien('public-access', 'list', id)).stdout).toMatch(/No exposed ports/);
  });
});
