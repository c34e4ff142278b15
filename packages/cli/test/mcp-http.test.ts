// `cove mcp --listen`: MCP over streamable HTTP with a bearer token, driven by the MCP SDK's own client
// against a real control plane, gateway and process-driver workspace.
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectHttp, type McpSession } from './helpers/mcp-client.js';
import { type Stack, startStack } from './helpers/stack.js';

let stack: Stack;

/** Starts `cove mcp --listen 127.0.0.1:0 ARGS…` and reads the URL (and the token, when generated) it prints. */
async function serve(
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string; printed: string }> {
  const child = stack.start(['mcp', '--listen', '127.0.0.1:0', ...args], { env });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^token: .+\n/m.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`cove mcp exited ${code}: ${err}`)));
  });
  const url = /serving MCP at (\S+)/.exec(out)?.[1] as string;
  return { child, url, printed: /^token: (.+)$/m.exec(out)?.[1] as string };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

beforeAll(async () => {
  stack = await startStack();
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe('cove mcp --listen', () => {
  it('generates and prints a token; with it the SDK client runs tools, without it every request is refused', {
    timeout: 120_000,
  }, async () => {
    const { child, url, printed: token } = await serve();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    let mcp: McpSession | undefined;
    try {
      mcp = await connectHttp(url, token);
      const { tools } = await mcp.client.listTools();
      expect(tools.map((t) => t.name)).toContain('workspace_edit_file');
      const created = await mcp.ok('workspace_create', { name: 'mcp-http' });
      const id = created.workspace.id;
      await mcp.ok('workspace_write_file', { workspace: id, path: '/tmp/mcp-http/note.txt', content: 'over http\n' });
      const run = await mcp.ok('workspace_exec', { workspace: 'mcp-http', cmd: 'cat /tmp/mcp-http/note.txt' });
      expect(run).toMatchObject({ exit_code: 0, stdout: 'over http\n' });
      // Progress notifications travel in the call's own response stream.
      const seen: Progress[] = [];
      const slow = (await mcp.client.callTool(
        { name: 'workspace_exec', arguments: { workspace: id, cmd: 'echo one; sleep 0.5; echo two' } },
        undefined,
        { onprogress: (p) => seen.push(p) },
      )) as unknown as { structuredContent: { stdout: string } };
      expect(slow.structuredContent.stdout).toBe('one\ntwo\n');
      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]?.message).toMatch(/bytes on stdout/);
      const workload = await mcp.ok('workload_run', { workspace: id, name: 'echoer', cmd: ['sh', '-c', 'echo from workload; sleep 60'] });
      expect(workload.workload.status).toBe('running');
      await expect
        .poll(async () => (await mcp?.ok('workload_logs', { workspace: id, workload: 'echoer' }))?.lines, { timeout: 30_000 })
        .toEqual(['from workload']);
      const bad = await mcp.call('workspace_exec', { workspace: id });
      expect(bad.isError).toBe(true);
      expect(bad.structured.error.code).toBe('bad_request');
      await mcp.ok('workspace_delete', { workspace: id });
    } finally {
      await mcp?.close();
    }

    // The SDK's client without a token, and with a wrong one: refused at connect.
    await expect(connectHttp(url, undefined)).rejects.toThrow(/401|unauthorized/i);
    await expect(connectHttp(url, `${token}x`)).rejects.toThrow(/401|unauthorized/i);

    // The same over plain HTTP: 401 with a challenge, and nothing but /mcp is served.
    const init = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const anonymous = await fetch(url, { method: 'POST', headers, body: JSON.stringify(init) });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="cove-mcp"');
    expect(((await anonymous.json()) as { error: { message: string } }).error.message).toMatch(/Authorization: Bearer/);
    const elsewhere = await fetch(new URL('/other', url), { headers: { authorization: `Bearer ${token}` } });
    expect(elsewhere.status).toBe(404);
    // Garbage with the right token: a JSON-RPC error, and the server still serves.
    const garbage = await fetch(url, { method: 'POST', headers: { ...headers, authorization: `Bearer ${token}` }, body: '{not json' });
    expect(garbage.status).toBe(400);
    const again = await connectHttp(url, token);
    expect((await again.client.listTools()).tools.length).toBeGreaterThan(10);
    await again.close();

    expect(await stop(child)).toBe(0);
  });

  it('takes the token from --token, COVE_MCP_TOKEN or config.json, and does not print it', { timeout: 60_000 }, async () => {
    const fromFlag = await serve(['--token', 'flag-token-123']);
    expect(fromFlag.printed).toBe('from --token');
    const viaFlag = await connectHttp(fromFlag.url, 'flag-token-123');
    expect((await viaFlag.ok('workspace_list')).workspaces).toBeInstanceOf(Array);
    await viaFlag.close();
    await stop(fromFlag.child);

    const fromEnv = await serve([], { COVE_MCP_TOKEN: 'env-token-456' });
    expect(fromEnv.printed).toBe('from COVE_MCP_TOKEN');
    await expect(connectHttp(fromEnv.url, 'flag-token-123')).rejects.toThrow(/401|unauthorized/i);
    const viaEnv = await connectHttp(fromEnv.url, 'env-token-456');
    expect((await viaEnv.client.listTools()).tools.length).toBeGreaterThan(10);
    await viaEnv.close();
    await stop(fromEnv.child);

    // mcp_token in config.json, below the environment.
    const dataDir = await stack.tempDir();
    await writeFile(path.join(dataDir, 'config.json'), JSON.stringify({ mcp_token: 'file-token-789' }));
    const fromFile = await serve([], { COVE_DATA_DIR: dataDir });
    expect(fromFile.printed).toBe(`from mcp_token in ${path.join(dataDir, 'config.json')}`);
    const viaFile = await connectHttp(fromFile.url, 'file-token-789');
    expect((await viaFile.client.listTools()).tools.length).toBeGreaterThan(10);
    await viaFile.close();
    await stop(fromFile.child);
  });

  it('refuses a bad --listen with a usage error', async () => {
    const res = await stack.run(['mcp', '--listen', 'nowhere']);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("cove: invalid --listen 'nowhere': expected HOST:PORT\n");
  });
});
