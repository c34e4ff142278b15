import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';

let t: TestControlPlane;

beforeAll(async () => {
  t = await startTestControlPlane();
});
afterAll(async () => {
  await t?.close();
});

describe('workspaces', () => {
  it('creates with the SDK spelling (config.*) and answers the §2 envelope', async () => {
    const res = await t.json('POST', '/workspace', {
      body: { name: 'one', image: 'node:20', config: { cpus: 2, memory_mb: 2048, disk_size_mb: 8192 }, slug: 'x', wait_ready: false },
    });
    expect(res.status).toBe(201);
    const ws = res.body.workspace;
    expect(ws.id).toMatch(/^ws_[a-z0-9]{8,}$/);
    expect(ws).toMatchObject({
      name: 'one',
      image: 'node:20',
      status: 'running',
      ready: true,
      provisioning: null,
      info: { is_running: true, status: 'running' },
      config: { cpus: 2, memory_mb: 2048, disk_size_mb: 8192 },
      driver: 'process',
      internal_api_access: { enabled: false, running: false },
    });
    expect(Date.parse(ws.created_at)).not.toBeNaN();
    const got = await t.json('GET', `/workspace/${ws.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ success: true, workspace: ws });
  });

  it('accepts the MCP spelling (vcpus, ram_mb, disk_mb) and the reference one (cpu, memory, disk), with defaults', async () => {
    const mcp = await t.json('POST', '/workspace', { body: { vcpus: 3, ram_mb: 512, disk_mb: 1024, region: 'local' } });
    expect(mcp.body.workspace.config).toEqual({ cpus: 3, memory_mb: 512, disk_size_mb: 1024 });
    const ref = await t.json('POST', '/workspace', { body: { cpu: 4, memory: 256, disk: 2048 } });
    expect(ref.body.workspace.config).toEqual({ cpus: 4, memory_mb: 256, disk_size_mb: 2048 });
    const bare = await t.json('POST', '/workspace', { body: '', headers: { 'content-type': 'application/json' } });
    expect(bare.status).toBe(201);
    expect(bare.body.workspace).toMatchObject({ image: 'debian:12', config: { cpus: 1, memory_mb: 1024, disk_size_mb: 4096 } });
    expect(bare.body.workspace.name).toBe(bare.body.workspace.id);
  });

  it('an idempotency key returns the same workspace on retry', async () => {
    const a = await t.json('POST', '/workspace', { body: { idempotency_key: 'retry-1' } });
    const b = await t.json('POST', '/workspace', { body: { idempotency_key: 'retry-1' } });
    expect(b.body.workspace.id).toBe(a.body.workspace.id);
  });

  it('rejects hostile create bodies with 400 naming the parameter', async () => {
    const cases: Array<[unknown, string]> = [
      [{ cpus: 'many' }, "invalid parameter 'cpus': must be integer"],
      [{ cpus: 0 }, "invalid parameter 'cpus': must be >= 1"],
      [{ memory_mb: 1e12 }, "invalid parameter 'memory_mb': must be <= 1048576"],
      [{ config: { disk_size_mb: -1 } }, "invalid parameter 'config.disk_size_mb': must be >= 256"],
      [{ name: 'x'.repeat(10_000) }, "invalid parameter 'name': must NOT have more than 128 characters"],
      [{ name: { nested: true } }, "invalid parameter 'name': must be string"],
      [[1, 2], 'request body must be a JSON object'],
    ];
    for (const [body, error] of cases) {
      const res = await t.json('POST', '/workspace', { body });
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(res.body).toEqual({ success: false, code: 'bad_request', error });
    }
    const malformed = await t.json('POST', '/workspace', { body: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ success: false, code: 'invalid_json' });
    const huge = await t.json('POST', '/workspace', { body: JSON.stringify({ name: 'a'.repeat(2 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('payload_too_large');
    expect((await t.json('GET', '/health', { auth: null })).status).toBe(200);
  });

  it('lists with page, limit and status, newest last, with the total', async () => {
    const fresh = await startTestControlPlane();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await fresh.createWorkspace({ name: `w${i}` }));
      await fresh.json('POST', `/workspace/${ids[1]}/stop`);
      const all = await fresh.json('GET', '/workspace');
      expect(all.body).toMatchObject({ success: true, total: 3, page: 1, limit: 20 });
      expect(all.body.workspaces.map((w: { id: string }) => w.id)).toEqual(ids);
      const page2 = await fresh.json('GET', '/workspace?page=2&limit=2');
      expect(page2.body.workspaces.map((w: { id: string }) => w.id)).toEqual([ids[2]]);
      expect(page2.body.total).toBe(3);
      const stopped = await fresh.json('GET', '/workspace?status=stopped');
      expect(stopped.body.workspaces.map((w: { id: string }) => w.id)).toEqual([ids[1]]);
      expect(stopped.body.total).toBe(1);
      const bad = await fresh.json('GET', '/workspace?limit=1000');
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ success: false, code: 'bad_request', error: "invalid parameter 'limit': must be <= 100" });
      expect((await fresh.json('GET', '/workspace?status=exploded')).status).toBe(400);
      const bob = await fresh.newClient('bob');
      const theirs = await fresh.json('GET', '/workspace', { auth: bob });
      expect(theirs.body).toMatchObject({ workspaces: [], total: 0 });
      const quota = await fresh.json('GET', '/workspace/quota');
      expect(quota.body).toEqual({
        success: true,
        quota: { workspaces: { used: 3, limit: 100 }, running: 2, cpus: { used: 2 }, memory_mb: { used: 2048 }, disk_mb: { used: 12288 } },
      });
    } finally {
      await fresh.close();
    }
  });

  it('estimate is an honest zero for a self-hosted plane, and validates its query', async () => {
    const res = await t.json('GET', '/workspace/estimate?cpu=2&ram_mb=2048&disk_mb=4096');
    expect(res.body).toEqual({
      success: true,
      estimate: { cpus: 2, ram_mb: 2048, disk_mb: 4096, cost: 0, currency: null, billing: 'self-hosted' },
    });
    expect((await t.json('GET', '/workspace/estimate?cpu=lots')).status).toBe(400);
  });

  it('renames with PUT, ignores unknown fields, validates the name', async () => {
    const id = await t.createWorkspace({ name: 'before' });
    const res = await t.json('PUT', `/workspace/${id}`, { body: { name: 'after', logo: 'x', auto_stop_seconds: 60 } });
    expect(res.status).toBe(200);
    expect(res.body.workspace.name).toBe('after');
    expect((await t.json('PUT', `/workspace/${id}`, { body: { name: '' } })).status).toBe(400);
  });

  it('power verbs: stop and start are idempotent, restart cycles', async () => {
    const id = await t.createWorkspace();
    const stop = await t.json('POST', `/workspace/${id}/stop`);
    expect(stop.body).toMatchObject({
      success: true,
      action: 'stop',
      status: 'stopped',
      workspace: { status: 'stopped', ready: false, info: { is_running: false } },
    });
    expect((await t.json('POST', `/workspace/${id}/stop`)).body.status).toBe('stopped');
    const start = await t.json('POST', `/workspace/${id}/start`, { body: { force: true } });
    expect(start.body).toMatchObject({ action: 'start', status: 'running', workspace: { ready: true } });
    expect((await t.json('POST', `/workspace/${id}/start`)).body.status).toBe('running');
    expect((await t.json('POST', `/workspace/${id}/restart`)).body).toMatchObject({ action: 'restart', status: 'running' });
    const ping = await t.json('POST', `/workspace/${id}/ping`, { body: { ttl_seconds: 60 } });
    expect(ping.status).toBe(200);
    expect(Date.parse(ping.body.pinged_at)).not.toBeNaN();
    expect((await t.json('POST', `/workspace/${id}/ping`, { body: { ttl_seconds: -5 } })).status).toBe(400);
    const details = await t.json('GET', `/workspace/${id}/details`);
    expect(details.body).toMatchObject({
      success: true,
      workspace: { id },
      network: { public_access: false },
      internal_api_access: { enabled: false },
    });
  });

  it('pause freezes the workspace where it is (its agent answers nothing), resume lets it run on', async () => {
    const id = await t.createWorkspace();
    expect((await t.json('POST', `/workspace/${id}/internal-api-access/enable`)).status).toBe(200);
    const raw = (await t.json('GET', `/workspace/${id}/internal-api-access/token/raw`)).body;
    const agent = (ms: number) =>
      fetch(`http://${raw.ip}:${raw.port}/files?path=.`, {
        headers: { authorization: `Bearer ${raw.token}` },
        signal: AbortSignal.timeout(ms),
      })
        .then((r) => r.status)
        .catch(() => 'no answer');
    expect(await agent(5_000)).toBe(200);
    // A command the agent runs (a process below it) counts into a file, for as long as its stream is open.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-pause-'));
    const counter = path.join(dir, 'count');
    const task = new AbortController();
    const stream = await fetch(`http://${raw.ip}:${raw.port}/exec/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${raw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['sh', '-c', `i=0; while :; do i=$((i+1)); echo $i > ${counter}; sleep 0.02; done`] }),
      signal: task.signal,
    });
    expect(stream.status).toBe(200);
    const count = async () => Number((await readFile(counter, 'utf8').catch(() => '0')).trim() || 0);
    while ((await count()) < 3) await sleep(20);

    const paused = await t.json('POST', `/workspace/${id}/pause`);
    expect(paused.body).toMatchObject({ success: true, status: 'paused', workspace: { status: 'paused', ready: false } });
    expect((await t.json('POST', `/workspace/${id}/pause`)).body.status).toBe('paused');
    expect(await agent(300)).toBe('no answer');
    // The command is frozen too, not only the agent.
    const frozenAt = await count();
    await sleep(300);
    expect(await count()).toBe(frozenAt);
    expect((await t.json('GET', `/workspace?status=paused`)).body.workspaces.map((w: { id: string }) => w.id)).toContain(id);
    const token = await t.json('POST', `/workspace/${id}/internal-api-access/token`);
    expect(token.body).toMatchObject({ code: 'conflict', error: `workspace '${id}' is paused; resume it first` });

    const resumed = await t.json('POST', `/workspace/${id}/resume`);
    expect(resumed.body).toMatchObject({ status: 'running', workspace: { status: 'running', ready: true } });
    expect((await t.json('POST', `/workspace/${id}/resume`)).body.status).toBe('running');
    expect(await agent(5_000)).toBe(200);
    // The same process counts on from where it stopped.
    const resumedAt = await count();
    expect(resumedAt).toBeGreaterThanOrEqual(frozenAt);
    while ((await count()) <= resumedAt) await sleep(20);
    task.abort();
    await rm(dir, { recursive: true, force: true });

    // start resumes a paused workspace; stop works on one; a stopped one cannot be paused.
    await t.json('POST', `/workspace/${id}/pause`);
    expect((await t.json('POST', `/workspace/${id}/start`)).body.status).toBe('running');
    expect(await agent(5_000)).toBe(200);
    await t.json('POST', `/workspace/${id}/pause`);
    expect((await t.json('POST', `/workspace/${id}/stop`)).body.status).toBe('stopped');
    expect(await agent(1_000)).toBe('no answer');
    const refused = await t.json('POST', `/workspace/${id}/pause`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe(`workspace '${id}' is stopped; start it instead`);
  });
  it('delete stops the agent, removes the workspace and returns the whole body', async () => {
    const id = await t.createWorkspace();
    const enabled = await t.json('POST', `/workspace/${id}/internal-api-access/enable`);
    const port = enabled.body.port as number;
    const res = await t.json('DELETE', `/workspace/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, id, deleted: true, workspace: { id, status: 'stopped' } });
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect((await t.json('GET', `/workspace/${id}`)).status).toBe(404);
    expect((await t.json('DELETE', `/workspace/${id}`)).status).toBe(404);
    expect(await t.store.getRoute(id)).toBeUndefined();
  });

  it('unknown, malformed and foreign ids are 404; wrong methods 405; unknown paths 404', async () => {
    const id = await t.createWorkspace();
    const bob = await t.newClient('bob');
    for (const [method, path] of [
      ['GET', `/workspace/${id}`],
      ['PUT', `/workspace/${id}`],
      ['DELETE', `/workspace/${id}`],
      ['POST', `/workspace/${id}/stop`],
      ['GET', `/workspace/${id}/network`],
    ] as const) {
      const res = await t.json(method, path, { auth: bob, ...(method === 'PUT' ? { body: { name: 'mine' } } : {}) });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body).toEqual({ success: false, code: 'not_found', error: `workspace '${id}' not found` });
    }
    expect((await t.json('GET', `/workspace/${id}`)).body.workspace.name).not.toBe('mine');
    expect((await t.json('GET', '/workspace/ws_doesnotexist')).status).toBe(404);
    expect((await t.json('GET', '/workspace/..%2F..%2Fetc')).status).toBe(404);
    expect((await t.json('GET', `/workspace/${'x'.repeat(200)}`)).status).toBe(400);
    const wrong = await t.json('PATCH', `/workspace/${id}`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('DELETE, GET, PUT');
    expect((await t.json('GET', '/nope')).body).toEqual({ success: false, code: 'not_found', error: 'no such endpoint: GET /nope' });
  });

  it('serves /health without credentials and an OpenAPI document', async () => {
    const health = await t.json('GET', '/health', { auth: null });
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    const doc = await t.json('GET', '/openapi.json', { auth: null });
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/workspace',
        '/workspace/{id}',
        '/workspace/{id}/internal-api-access/enable',
        '/workspace/{id}/runtime-api-access/token/raw',
        '/workspace/{id}/network',
      ]),
    );
  });
});
