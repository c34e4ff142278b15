// A whole small coding task through `cove mcp` (stdio, the MCP SDK's client) on the sandbox driver: create a
// workspace, write a program, edit it, run it, search it, delete the workspace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DriverVariant, driverVariants, startTestStack, type TestStack } from '../../api/test/helpers/driver-stack.js';
import { connectStdio, type McpSession } from './helpers/mcp-client.js';

const SLOT = 81;
const sandbox = driverVariants().find((v) => v.kind === 'sandbox') as DriverVariant;

describe.skipIf(sandbox.skip)(`cove mcp: a coding task (${sandbox.title})`, () => {
  let s: TestStack;
  let mcp: McpSession;

  beforeAll(async () => {
    s = await startTestStack('sandbox', SLOT);
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
});
