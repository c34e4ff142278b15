// Snapshots, restore, archives and forks over HTTP on the sandbox driver: the shapes the official SDK reads,
// `after`, restore restarting a running workspace, archives listed, downloaded and used by a create, forks with
// their own address and token that diverge from their parent and outlive it; hostile input answered clearly.
// The process driver has none of them: 409 naming it.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from './helpers/driver-stack.js';

const SLOT = 80;
const sandbox = driverVariants().find((v) => v.kind === 'sandbox');

describe.skipIf(sandbox?.skip)(`snapshots, archives and forks over HTTP (${sandbox?.title})`, () => {
  let t: TestStack;
  let id: string;
  let tmp: string;

  async function exec(ws: string, script: string): Promise<string> {
    const jwt = (await t.json('POST', `/workspace/${ws}/runtime-api-access/enable`)).body.token as string;
    const res = await fetch(`${t.gatewayURL}/exec`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['sh', '-c', script], timeout_seconds: 60 }),
    });
    const body = (await res.json()) as { exit_code: number; stdout: string; stderr: string };
    expect(body.exit_code, body.stderr).toBe(0);
    return body.stdout;
  }

  beforeAll(async () => {
    t = await startTestStack('sandbox', SLOT);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cove-api-snapshots-'));
    id = await t.createWorkspace({ name: 'origin', ...sandbox?.workspace });
    expect((await t.json('PATCH', `/workspace/${id}/network`, { body: { public_access: true } })).status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  }, 120_000);

  it('snapshot and restore: the file system comes back, memory is said not to', async () => {
    await exec(id, 'echo one > /root/v && chown 1000 /root/v');
    const none = await t.json('GET', `/workspace/${id}/snapshot`);
    expect(none.body).toMatchObject({ success: true, snapshot: null, memory: false });
    expect((await t.json('POST', `/workspace/${id}/restore`)).status).toBe(409);
    const snap = await t.json('POST', `/workspace/${id}/snapshot`, { body: {} });
    expect(snap.status, JSON.stringify(snap.body)).toBe(200);
    expect(snap.body).toMatchObject({ success: true, after: 'resume', memory: false, workspace: { id, status: 'running' } });
    expect(snap.body.snapshot).toMatchObject({ workspace_id: id, memory: false });
    expect(snap.body.memory_reason).toMatch(/CRIU/);
    await exec(id, 'echo two > /root/v && touch /root/later');
    const restored = await t.json('POST', `/workspace/${id}/restore`);
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect(restored.body).toMatchObject({ success: true, restored: true, memory: false, workspace: { status: 'running' } });
    expect(restored.body.snapshot.created_at).toBe(snap.body.snapshot.created_at);
    expect(await exec(id, 'cat /root/v; stat -c %u /root/v; ls /root')).toBe('one\n1000\nv\n');
  });

  it('snapshot after: paused and stop leave the workspace so', async () => {
    const paused = await t.json('POST', `/workspace/${id}/snapshot`, { body: { after: 'paused' } });
    expect(paused.body.workspace.status).toBe('paused');
    const resumed = await t.json('POST', `/workspace/${id}/snapshot`, { body: { after: 'resume' } });
    expect(resumed.body.workspace.status).toBe('running');
    const stopped = await t.json('POST', `/workspace/${id}/snapshot`, { body: { after: 'stop' } });
    expect(stopped.body.workspace.status).toBe('stopped');
    // Restoring a stopped workspace leaves it stopped.
    const restored = await t.json('POST', `/workspace/${id}/restore`);
    expect(restored.body.workspace.status).toBe('stopped');
    expect((await t.json('POST', `/workspace/${id}/start`)).status).toBe(200);
    expect((await t.json('POST', `/workspace/${id}/snapshot`, { body: { after: 'later' } })).status).toBe(400);
  });

  it('archives: created, listed, fetched, downloaded, used by a create, deleted', async () => {
    await exec(id, 'mkdir -p /root/app && echo code > /root/app/main && echo junk > /root/app/tmp && chown -R 1000:1000 /root/app');
    const created = await t.json('POST', `/workspace/${id}/archives`, {
      body: { version: 'v1', format: 'tar.gz', vm_paths: ['/root/app/'], exclude_vm_paths: ['/root/app/tmp'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ success: true, version: 'v1', format: 'tar.gz', vm_paths: ['/root/app'], memory: false });
    const whole = await t.json('POST', `/workspace/${id}/archives`, { body: {} });
    expect(whole.body.version).toMatch(/^v\d{8}-/);
    expect(whole.body.format).toBe('tar.zst');
    const list = await t.json('GET', `/workspace/${id}/archives`);
    expect(list.body.archives.map((a: { version: string }) => a.version)).toEqual(['v1', whole.body.version]);
    expect((await t.json('GET', `/workspace/${id}/archives/v1`)).body).toMatchObject({ version: 'v1', sha256: created.body.sha256 });
    const download = await t.request('GET', `/workspace/${id}/archives/v1/download`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/gzip');
    const file = path.join(tmp, 'v1.tar.gz');
    await writeFile(file, Buffer.from(await download.arrayBuffer()));
    const entries = execFileSync('tar', ['-tvzf', file, '--numeric-owner'], { encoding: 'utf8' });
    expect(entries).toMatch(/1000\/1000 .* \.\/root\/app\/main/);
    expect(entries).not.toContain('tmp');
    // A new workspace from the archive.
    const made = await t.json('POST', '/workspace', {
      body: { name: 'from-archive', ...sandbox?.workspace, from_archive: { workspace_id: id, version: 'v1' } },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const other = made.body.workspace.id as string;
    expect(made.body.workspace.image).toBe('host');
    expect((await t.json('PATCH', `/workspace/${other}/network`, { body: { public_access: true } })).status).toBe(200);
    expect(await exec(other, 'cat /root/app/main; stat -c %u /root/app/main; ls /root/app')).toBe('code\n1000\nmain\n');
    // Hostile and wrong input.
    expect((await t.json('POST', `/workspace/${id}/archives`, { body: { version: '../x' } })).status).toBe(400);
    expect((await t.json('POST', `/workspace/${id}/archives`, { body: { version: 'v1' } })).status).toBe(409);
    expect((await t.json('POST', `/workspace/${id}/archives`, { body: { format: 'rar' } })).status).toBe(400);
    expect((await t.json('POST', `/workspace/${id}/archives`, { body: { vm_paths: ['/root/../etc'] } })).status).toBe(400);
    expect((await t.json('POST', `/workspace/${id}/archives`, { body: { vm_paths: ['relative'] } })).status).toBe(400);
    expect((await t.json('POST', `/workspace/${id}/archives`, { body: { vm_paths: ['/missing'] } })).status).toBe(400);
    expect((await t.json('GET', `/workspace/${id}/archives/nope`)).status).toBe(404);
    expect((await t.json('POST', '/workspace', { body: { from_archive: { workspace_id: id, version: 'nope' } } })).status).toBe(404);
    expect((await t.json('POST', '/workspace', { body: { from_archive: 'v1' } })).status).toBe(400);
    // Another account sees none of it.
    const eve = await t.newClient('eve');
    expect((await t.json('GET', `/workspace/${id}/archives`, { auth: eve })).status).toBe(404);
    expect((await t.json('POST', '/workspace', { auth: eve, body: { from_archive: { workspace_id: id, version: 'v1' } } })).status).toBe(404);
    // Deletion, one and all.
    expect((await t.json('DELETE', `/workspace/${id}/archives/v1?delete_file=true`)).body).toMatchObject({ success: true, file_deleted: true });
    expect((await t.json('DELETE', `/workspace/${id}/archives`)).body).toMatchObject({ success: true, deleted: 1 });
    expect((await t.json('GET', `/workspace/${id}/archives`)).body.archives).toEqual([]);
    expect((await t.json('DELETE', `/workspace/${other}`)).status).toBe(200);
  });

  it('fork: children with their own address and token, diverging from the parent, outliving it', async () => {
    const parent = await t.createWorkspace({ name: 'parent', ...sandbox?.workspace });
    await t.json('PATCH', `/workspace/${parent}/network`, { body: { public_access: true } });
    await exec(parent, 'echo from-parent > /root/state');
    const forked = await t.json('POST', `/workspace/${parent}/fork`, { body: { name: 'kid', count: 3 } });
    expect(forked.status, JSON.stringify(forked.body)).toBe(201);
    expect(forked.body.workspaces.map((w: { name: string }) => w.name)).toEqual(['kid-1', 'kid-2', 'kid-3']);
    const kids = forked.body.workspaces.map((w: { id: string }) => w.id) as string[];
    expect(forked.body.workspaces.every((w: { status: string; image: string }) => w.status === 'running' && w.image === 'host')).toBe(true);
    const ips = new Set(forked.body.workspaces.map((w: { ip: string }) => w.ip));
    expect(ips.size).toBe(3);
    for (const kid of kids) {
      // The parent's network settings (public access) came with it.
      expect((await t.json('GET', `/workspace/${kid}/network`)).body.public_access).toBe(true);
      expect(await exec(kid, `cat /root/state && echo ${kid} > /root/state && cat /root/state`)).toBe(`from-parent\n${kid}\n`);
    }
    const tokens = new Set<string>();
    for (const ws of [parent, ...kids]) tokens.add((await t.json('GET', `/workspace/${ws}/runtime-api-access/token/raw`)).body.token);
    expect(tokens.size).toBe(4);
    expect(await exec(parent, 'cat /root/state')).toBe('from-parent\n');
    expect((await t.json('DELETE', `/workspace/${parent}`)).status).toBe(200);
    expect(await exec(kids[0] ?? '', 'cat /root/state')).toBe(`${kids[0]}\n`);
    const named = await t.json('POST', `/workspace/${kids[0]}/fork`, { body: {} });
    expect(named.body.workspace.name).toBe('kid-1-fork');
    for (const ws of [...kids, named.body.workspace.id]) expect((await t.json('DELETE', `/workspace/${ws}`)).status).toBe(200);
    expect((await t.json('POST', `/workspace/${id}/fork`, { body: { count: 0 } })).status).toBe(400);
    expect((await t.json('POST', `/workspace/${id}/fork`, { body: { count: 101 } })).status).toBe(400);
    expect((await t.json('POST', '/workspace/ws_000000000000/fork', { body: {} })).status).toBe(404);
  });
});

const processVariant = driverVariants().find((v) => v.kind === 'process');
describe(`snapshots on the ${processVariant?.title}`, () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack('process', SLOT);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('answers 409 naming the driver', async () => {
    const id = await t.createWorkspace({ name: 'plain' });
    for (const [method, p, body] of [
      ['POST', `/workspace/${id}/snapshot`, {}],
      ['POST', `/workspace/${id}/restore`, undefined],
      ['POST', `/workspace/${id}/fork`, {}],
      ['POST', `/workspace/${id}/archives`, {}],
      ['GET', `/workspace/${id}/archives`, undefined],
    ] as const) {
      const r = await t.json(method, p, body === undefined ? {} : { body });
      expect(r.status).toBe(409);
      expect(r.body.error).toContain('process driver');
    }
  });
});
