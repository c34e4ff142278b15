// @cove/sdk's `workspaces.publicAccess` and the handle's, against a real control plane: the requests it sends
// and what it returns, errors as the SDK's classes.
import { ConflictError, NotFoundError, Oblien } from '@cove/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../../api/test/helpers/control-plane.js';

let t: TestControlPlane;
let client: Oblien;
const calls: string[] = [];

beforeAll(async () => {
  t = await startTestControlPlane();
  const recordingFetch: typeof fetch = (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    calls.push(`${init?.method ?? 'GET'} ${url.pathname}`);
    return fetch(input, init);
  };
  client = new Oblien({ ...t.client, baseURL: t.url, fetch: recordingFetch });
});
afterAll(async () => {
  await t?.close();
});

describe('@cove/sdk publicAccess', () => {
  it('list, expose (token once), updateSlug, revoke, by id and through a handle', async () => {
    const id = (await client.workspaces.create({ name: 'sdk-pa' })).id;
    calls.length = 0;
    expect(await client.workspaces.publicAccess.list(id)).toEqual([]);
    const port = await client.workspaces.publicAccess.expose(id, { port: 3000, slug: 'sdk-app', auth: 'token', label: 'web' });
    expect(port).toMatchObject({ port: 3000, slug: 'sdk-app', url: 'http://sdk-app.localhost:9080/', auth: 'token', label: 'web' });
    expect(port.token).toMatch(/^cpt_[0-9a-f]{64}$/);
    const ws = client.workspace(id);
    const [listed] = await ws.publicAccess.list();
    expect(listed).toMatchObject({ port: 3000, slug: 'sdk-app' });
    expect(listed?.token).toBeUndefined();
    expect(await ws.publicAccess.updateSlug(3000, { slug: 'sdk-app-two' })).toMatchObject({ slug: 'sdk-app-two' });
    expect(await ws.publicAccess.revoke(3000)).toEqual({ success: true, workspace_id: id, port: 3000, revoked: true });
    expect(calls).toEqual([
      `GET /workspace/${id}/public-access`,
      `POST /workspace/${id}/public-access`,
      `GET /workspace/${id}/public-access`,
      `PATCH /workspace/${id}/public-access/3000`,
      `DELETE /workspace/${id}/public-access/3000`,
    ]);
  });

  it('refusals are the SDK error classes', async () => {
    const a = (await client.workspaces.create({ name: 'sdk-pa-a' })).id;
    const b = (await client.workspaces.create({ name: 'sdk-pa-b' })).id;
    await client.workspaces.publicAccess.expose(a, { port: 3000, slug: 'sdk-taken' });
    await expect(client.workspaces.publicAccess.expose(b, { port: 3000, slug: 'sdk-taken' })).rejects.toBeInstanceOf(ConflictError);
    await expect(client.workspaces.publicAccess.revoke(b, 3000)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.workspaces.publicAccess.expose(b, { port: 9990 })).rejects.toMatchObject({ status: 400, code: 'bad_request' });
  });
});
