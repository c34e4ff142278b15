// A whole small coding task through `cove mcp` (stdio, the MCP SDK's client) on the sandbox driver: create a
// workspace, write a program, edit it, run it, search it, delete the workspace. Then what needs the sandbox's store:
// snapshot, fork, restore and archives, and an image pulled from a registry on loopback with progress.
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DriverVariant, driverVariants, startTestStack, type TestStack } from '../../api/test/helpers/driver-stack.js';
import { makeTestImages, type TestImages } from '../../api/test/helpers/test-images.js';
import { connectStdio, type Json, type McpSession } from './helpers/mcp-client.js';

const SLOT = 81;
const sandbox = driverVariants().find((v) => v.kind === 'sandbox') as DriverVariant;

describe.skipIf(sandbox.skip)(`cove mcp on the sandbox (${sandbox.title})`, () => {
  let s: TestStack;
  let mcp: McpSession;
  let images: TestImages;

  beforeAll(async () => {
    images = await makeTestImages();
    s = await startTestStack('sandbox', SLOT, { imagesDir: `${images.dir}/store` });
    mcp = await connectStdio({
      COVE_API_URL: s.url,
      COVE_GATEWAY_URL: s.gatewayURL,
      COVE_CLIENT_ID: s.client.clientId,
      COVE_CLIENT_SECRET: s.client.clientSecret,
      COVE_DATA_DIR: s.dataDir,
    });
  }, 300_000);
  afterAll(async () => {
    await mcp?.close();
    await s?.close();
    await images?.close();
  }, 120_000);

  it('create, write, edit, exec, search, delete', { timeout: 300_000 }, async () => {
    const created = await mcp.ok('workspace_create', { name: 'mcp-sandbox', image: 'host', memory_mb: 512, disk_size_mb: 256 });
    const id = created.workspace.id;
    expect(created.workspace).toMatchObject({ status: 'running', driver: 'sandbox' });
    expect(created.public_access).toBe(true);

    const script = '#!/bin/sh\n# count the words of a line\necho "$1" | wc -w\n';
    await mcp.ok('workspace_write_file', { workspace: id, path: '/work/words.sh', content: script, mode: '0755' });
    const edited = await mcp.ok('workspace_edit_file', {
      workspace: 'mcp-sandbox',
      path: '/work/words.sh',
      old_string: 'echo "$1" | wc -w',
      new_string: 'printf "%s\\n" "$@" | wc -w',
    });
    expect(edited.replacements).toBe(1);

    const run = await mcp.ok('workspace_exec', { workspace: id, cmd: ['/work/words.sh', 'one two', 'three'], cwd: '/work' });
    expect(run).toMatchObject({ exit_code: 0, stdout: '3\n', stderr: '' });
    // The file kept the mode it was written with through the edit.
    const info = await mcp.ok('workspace_exec', { workspace: id, cmd: 'stat -c %a /work/words.sh' });
    expect(info.stdout).toBe('755\n');

    const found = await mcp.ok('workspace_search', { workspace: id, query: 'wc -w', path: '/work' });
    expect(found.total_matches).toBe(1);
    expect(Object.keys(found.results)).toEqual(['words.sh']);
    const named = await mcp.ok('workspace_find_files', { workspace: id, query: 'words', path: '/work' });
    expect(named.files).toEqual(['words.sh']);

    const removed = await mcp.ok('workspace_delete', { workspace: id });
    expect(removed.workspace_id).toBe(id);
    const after = await mcp.call('workspace_exec', { workspace: id, cmd: 'true' });
    expect(after.isError).toBe(true);
    expect(after.structured.error.code).toBe('not_found');
  });

  it('snapshot, fork (two copies), restore, archives', { timeout: 300_000 }, async () => {
    const created = await mcp.ok('workspace_create', { name: 'mcp-snap', image: 'host', memory_mb: 512, disk_size_mb: 256 });
    const id = created.workspace.id;
    const cat = async (ws: string) => (await mcp.ok('workspace_exec', { workspace: ws, cmd: 'cat /work/state.txt' })).stdout;
    await mcp.ok('workspace_write_file', { workspace: id, path: '/work/state.txt', content: 'one\n' });

    const snap = await mcp.call('workspace_snapshot', { workspace: 'mcp-snap' });
    expect(snap.isError).toBe(false);
    expect(snap.structured.snapshot).toMatchObject({ workspace_id: id, memory: false });
    expect(snap.text).toContain('memory not included');

    await mcp.ok('workspace_write_file', { workspace: id, path: '/work/state.txt', content: 'two\n' });
    const forked = await mcp.call('workspace_fork', { workspace: id, name: 'mcp-child', count: 2 });
    expect(forked.isError).toBe(false);
    const children = forked.structured.workspaces as Json[];
    expect(children.map((c) => c.name)).toEqual(['mcp-child-1', 'mcp-child-2']);
    expect(children.map((c) => c.status)).toEqual(['running', 'running']);
    expect(forked.text).toMatch(/^forked ws_\w+ into 2 workspaces:\n/);
    // The copies have the file system as it was at the fork, and their own from then on.
    expect(await cat('mcp-child-1')).toBe('two\n');
    await mcp.ok('workspace_write_file', { workspace: 'mcp-child-1', path: '/work/state.txt', content: 'child\n' });
    expect(await cat('mcp-child-2')).toBe('two\n');
    expect(await cat(id)).toBe('two\n');

    const restored = await mcp.call('workspace_restore', { workspace: id });
    expect(restored.isError).toBe(false);
    expect(restored.structured.snapshot.workspace_id).toBe(id);
    expect(await cat(id)).toBe('one\n');
    expect(await cat('mcp-child-1')).toBe('child\n');

    const archived = await mcp.ok('workspace_archive_create', { workspace: id, version: 'v1', vm_paths: ['/work'] });
    expect(archived.archive).toMatchObject({ version: 'v1', workspace_id: id, format: 'tar.zst', vm_paths: ['/work'] });
    const listed = await mcp.call('workspace_archive_list', { workspace: id });
    expect(listed.structured.archives.map((a: Json) => a.version)).toEqual(['v1']);
    expect(listed.text).toMatch(/^v1 {2}tar\.zst {2}/);
    const badVersion = await mcp.call('workspace_archive_create', { workspace: id, version: '../escape' });
    expect(badVersion.structured.error).toMatchObject({ code: 'bad_request', status: 400 });

    for (const ws of [...children.map((c) => c.id), id]) await mcp.ok('workspace_delete', { workspace: ws });
    const gone = await mcp.call('workspace_restore', { workspace: id });
    expect(gone.structured.error.code).toBe('not_found');
  });

  it('pulls an image with progress notifications, then lists it', { timeout: 300_000 }, async () => {
    const ref = await images.push('mcp/app:1');
    const seen: Progress[] = [];
    const res = (await mcp.client.callTool({ name: 'image_pull', arguments: { image: ref } }, undefined, {
      onprogress: (p) => seen.push(p),
      timeout: 300_000,
    })) as Json;
    expect(res.isError).toBeFalsy();
    expect(res.structuredContent.image).toMatchObject({ name: ref, source: 'pulled' });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]?.message).toMatch(/^(resolving|downloading|unpacking|done): /);
    const listed = await mcp.ok('image_list', { search: 'mcp/app' });
    expect(listed.images.map((i: Json) => i.name)).toEqual([ref]);
  });
});
