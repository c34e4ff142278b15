// `cove mcp` over stdio, driven by the MCP SDK's own client, against a real control plane, gateway and
// process-driver workspaces: the tool list, a whole coding task, and hostile input.
import { ExecRunBody, FileReadQuery } from '@cove/protocol';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStdio, type Json, type McpSession } from './helpers/mcp-client.js';
import { runCove, type Stack, startStack } from './helpers/stack.js';

let stack: Stack;
let mcp: McpSession;
let ws: string;

beforeAll(async () => {
  stack = await startStack();
  mcp = await connectStdio(stack.env);
  const created = await mcp.ok('workspace_create', { name: 'mcp-task' });
  ws = created.workspace.id;
}, 120_000);
afterAll(async () => {
  await mcp?.close();
  await stack?.close();
});

describe('cove mcp over stdio', () => {
  it('lists every tool, with the protocol schemas as input schemas and hints', async () => {
    const { tools } = await mcp.client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      'workspace_list',
      'workspace_create',
      'workspace_delete',
      'workspace_start',
      'workspace_stop',
      'workspace_network',
      'workspace_exec',
      'workspace_read_file',
      'workspace_write_file',
      'workspace_edit_file',
      'workspace_list_files',
      'workspace_search',
      'workspace_find_files',
      'workspace_expose_port',
      'workspace_list_ports',
      'workspace_unexpose_port',
      'workspace_snapshot',
      'workspace_restore',
      'workspace_fork',
      'workspace_archive_create',
      'workspace_archive_list',
      'workspace_logs',
      'workload_run',
      'workload_list',
      'workload_logs',
      'workload_stop',
      'workspace_stats',
      'workspace_set_ttl',
      'workspace_ping',
      'image_list',
      'image_pull',
    ]);
    const byName = new Map(tools.map((t) => [t.name, t]));
    const exec = byName.get('workspace_exec') as Json;
    expect(exec.inputSchema.required).toEqual(expect.arrayContaining(['workspace', 'cmd']));
    expect(exec.inputSchema.additionalProperties).toBe(false);
    // The protocol's own schema for cmd (an argv array or one string), with a description for models.
    expect(exec.inputSchema.properties.cmd.anyOf).toEqual(JSON.parse(JSON.stringify(ExecRunBody.properties.cmd.anyOf)));
    const read = byName.get('workspace_read_file') as Json;
    expect(read.inputSchema.properties.start_line).toEqual(JSON.parse(JSON.stringify(FileReadQuery.properties.start_line)));
    // An argument with a default need not be given: the server fills it in.
    expect(exec.inputSchema.properties.timeout.default).toBe(300);
    expect(exec.inputSchema.required).not.toContain('timeout');
    const fork = byName.get('workspace_fork') as Json;
    expect(fork.inputSchema.properties.count).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
    const workload = byName.get('workload_run') as Json;
    expect(workload.inputSchema.required).toEqual(['workspace', 'cmd']);
    expect(workload.inputSchema.properties.restart_policy.anyOf.map((s: Json) => s.const)).toEqual(['never', 'on-failure', 'always']);
    expect(byName.get('workspace_restore')?.annotations).toMatchObject({ destructiveHint: true });
    expect(byName.get('workspace_delete')?.annotations).toMatchObject({ destructiveHint: true });
    expect(byName.get('workspace_list')?.annotations).toMatchObject({ readOnlyHint: true });
    expect(mcp.client.getInstructions()).toMatch(/workspace_create/);
  });

  it('a coding task: write, read a range, edit, run, search, find, list, expose', { timeout: 120_000 }, async () => {
    const listed = await mcp.ok('workspace_list');
    expect(listed.workspaces.map((w: Json) => w.id)).toContain(ws);

    const dir = `/tmp/mcp-${ws}`;
    const program = "function greet(name) {\n  return 'Hello, ' + name;\n}\nconsole.log(greet('world'));\n";
    const wrote = await mcp.ok('workspace_write_file', { workspace: 'mcp-task', path: `${dir}/src/app.js`, content: program });
    expect(wrote).toMatchObject({ path: `${dir}/src/app.js`, size: Buffer.byteLength(program) });

    const range = await mcp.call('workspace_read_file', { workspace: ws, path: `${dir}/src/app.js`, start_line: 2, end_line: 3 });
    expect(range.isError).toBe(false);
    expect(range.text).toBe("  return 'Hello, ' + name;\n}\n");
    expect(range.structured).toMatchObject({ start_line: 2, lines: 2, truncated: false });

    const edited = await mcp.call('workspace_edit_file', {
      workspace: ws,
      path: `${dir}/src/app.js`,
      old_string: "'Hello, ' + name",
      new_string: "'Hi, ' + name + '!'",
    });
    expect(edited.isError).toBe(false);
    expect(edited.structured).toMatchObject({ replacements: 1, lines: [2] });

    const run = await mcp.ok('workspace_exec', { workspace: ws, cmd: `node ${dir}/src/app.js`, cwd: dir });
    expect(run).toMatchObject({ exit_code: 0, stdout: 'Hi, world!\n', stderr: '', stdout_truncated: false, timed_out: false });

    const failing = await mcp.call('workspace_exec', { workspace: ws, cmd: ['sh', '-c', 'echo oops >&2; exit 3'], env: { A: '1' } });
    // A command that fails is a result, not a tool error.
    expect(failing.isError).toBe(false);
    expect(failing.structured).toMatchObject({ exit_code: 3, stderr: 'oops\n' });
    expect(failing.text).toMatch(/^exit code 3\n--- stderr ---\noops/);

    const stdin = await mcp.ok('workspace_exec', { workspace: ws, cmd: 'wc -l', stdin: 'a\nb\nc\n' });
    expect(stdin.stdout.trim()).toBe('3');

    const found = await mcp.call('workspace_search', { workspace: ws, query: 'greet', path: dir });
    expect(found.isError).toBe(false);
    expect(found.text).toContain('src/app.js:1:10:function greet(name) {');
    expect(found.structured).toMatchObject({ total_matches: 2, total_files: 1 });

    const files = await mcp.ok('workspace_find_files', { workspace: ws, query: 'app', path: dir });
    expect(files.files).toEqual(['src/app.js']);

    const listing = await mcp.call('workspace_list_files', { workspace: ws, path: dir, nested: true });
    expect(listing.text).toContain(`${dir}/src/`);
    expect(listing.text).toContain(`${dir}/src/app.js  `);

    const exposed = await mcp.ok('workspace_expose_port', { workspace: ws, port: 3000 });
    expect(exposed).toMatchObject({ port: 3000, workspace_id: ws });
    expect(exposed.url).toMatch(/^http:\/\//);
  });

  it('edit fails clearly, changing nothing, when old_string is missing or not unique; replace_all replaces each', async () => {
    const file = `/tmp/mcp-${ws}/dup.txt`;
    await mcp.ok('workspace_write_file', { workspace: ws, path: file, content: 'a = 1\nb = 1\nc = 2\n' });

    const missing = await mcp.call('workspace_edit_file', { workspace: ws, path: file, old_string: 'd = 4', new_string: 'x' });
    expect(missing.isError).toBe(true);
    expect(missing.structured.error.code).toBe('not_found');
    expect(missing.text).toMatch(/old_string was not found in .*dup\.txt/);

    const twice = await mcp.call('workspace_edit_file', { workspace: ws, path: file, old_string: '= 1', new_string: '= 9' });
    expect(twice.isError).toBe(true);
    expect(twice.structured.error.code).toBe('conflict');
    expect(twice.text).toContain('occurs 2 times');
    expect(twice.text).toContain('lines 1, 2');
    expect((await mcp.ok('workspace_read_file', { workspace: ws, path: file })).content).toBe('a = 1\nb = 1\nc = 2\n');

    const same = await mcp.call('workspace_edit_file', { workspace: ws, path: file, old_string: 'c', new_string: 'c' });
    expect(same.structured.error.code).toBe('bad_request');

    const all = await mcp.ok('workspace_edit_file', { workspace: ws, path: file, old_string: '= 1', new_string: '= 9', replace_all: true });
    expect(all).toMatchObject({ replacements: 2, lines: [1, 2] });
    expect((await mcp.ok('workspace_read_file', { workspace: ws, path: file })).content).toBe('a = 9\nb = 9\nc = 2\n');
  });

  it('bounds huge output and says how much was cut', { timeout: 60_000 }, async () => {
    const big = await mcp.ok('workspace_exec', {
      workspace: ws,
      cmd: "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo END",
      max_output_bytes: 10_000,
    });
    expect(big.exit_code).toBe(0);
    expect(big.stdout_truncated).toBe(true);
    expect(big.stdout_bytes).toBe(3_000_005);
    expect(big.stdout_omitted_bytes).toBe(3_000_005 - 10_000);
    expect(big.stdout.startsWith('x'.repeat(5000))).toBe(true);
    expect(big.stdout.endsWith('x\nEND\n')).toBe(true);
    expect(big.stdout).toContain(`[… ${3_000_005 - 10_000} bytes cut …]`);

    // A file read longer than one answer stops at a line break and says where to go on.
    const lines = Array.from({ length: 40_000 }, (_, i) => `line ${i + 1} ${'y'.repeat(20)}`).join('\n');
    const file = `/tmp/mcp-${ws}/long.txt`;
    await mcp.ok('workspace_write_file', { workspace: ws, path: file, content: lines });
    const read = await mcp.call('workspace_read_file', { workspace: ws, path: file });
    expect(read.structured.truncated).toBe(true);
    const next = read.structured.next_start_line;
    expect(read.text).toContain(`read on with start_line=${next}`);
    expect(read.structured.content.endsWith(`line ${next - 1} ${'y'.repeat(20)}\n`)).toBe(true);
    const rest = await mcp.ok('workspace_read_file', { workspace: ws, path: file, start_line: next, end_line: next });
    expect(rest.content).toBe(`line ${next} ${'y'.repeat(20)}\n`);
  });

  it('hostile input: tool errors with the server code, and the server keeps serving', async () => {
    const unknownId = await mcp.call('workspace_exec', { workspace: 'ws_00000000', cmd: 'true' });
    expect(unknownId.isError).toBe(true);
    expect(unknownId.structured.error).toMatchObject({ code: 'not_found', status: 404 });

    const unknownName = await mcp.call('workspace_read_file', { workspace: 'no-such-workspace', path: '/etc/hostname' });
    expect(unknownName.isError).toBe(true);
    expect(unknownName.structured.error.code).toBe('not_found');
    expect(unknownName.text).toContain("no workspace with id or name 'no-such-workspace'");

    const badArgs = await mcp.call('workspace_exec', { workspace: ws, cmd: 5, timeout: -1, surprise: true });
    expect(badArgs.isError).toBe(true);
    expect(badArgs.structured.error.code).toBe('bad_request');
    expect(badArgs.text).toMatch(/invalid arguments for workspace_exec: .*cmd/);
    expect(badArgs.text).toContain('timeout');

    const missingArg = await mcp.call('workspace_write_file', { workspace: ws, content: 'x' });
    expect(missingArg.structured.error.code).toBe('bad_request');
    expect(missingArg.text).toContain('path');

    const noTool = await mcp.call('workspace_teleport', { workspace: ws });
    expect(noTool.isError).toBe(true);
    expect(noTool.structured.error.code).toBe('not_found');

    const noFile = await mcp.call('workspace_read_file', { workspace: ws, path: '/nonexistent/file' });
    expect(noFile.structured.error).toMatchObject({ code: 'not_found', status: 404 });

    const badPort = await mcp.call('workspace_expose_port', { workspace: ws, port: 70000 });
    expect(badPort.structured.error.code).toBe('bad_request');

    // Still serving.
    expect((await mcp.ok('workspace_exec', { workspace: ws, cmd: 'echo alive' })).stdout).toBe('alive\n');
  });

  it('a workspace without public_access: the error says how to fix it, and the fix works', { timeout: 60_000 }, async () => {
    const dark = await mcp.ok('workspace_create', { name: 'mcp-dark', public_access: false });
    const id = dark.workspace.id;
    expect(dark.public_access).toBe(false);
    const refused = await mcp.call('workspace_exec', { workspace: 'mcp-dark', cmd: 'true' });
    expect(refused.isError).toBe(true);
    expect(refused.structured.error).toMatchObject({ code: 'forbidden', status: 403 });
    expect(refused.text).toContain('public_access');
    expect(refused.text).toContain(`workspace_network tool ({"workspace": "mcp-dark", "public_access": true})`);

    const fixed = await mcp.ok('workspace_network', { workspace: id, public_access: true });
    expect(fixed.public_access).toBe(true);
    expect((await mcp.ok('workspace_exec', { workspace: id, cmd: 'echo reachable' })).stdout).toBe('reachable\n');

    expect(await mcp.ok('workspace_stop', { workspace: id })).toMatchObject({ workspace_id: id });
    const stopped = await mcp.ok('workspace_list', { status: 'stopped' });
    expect(stopped.workspaces.map((w: Json) => w.id)).toContain(id);
    await mcp.ok('workspace_start', { workspace: id });
    await mcp.ok('workspace_delete', { workspace: id });
    const gone = await mcp.call('workspace_start', { workspace: id });
    expect(gone.structured.error.code).toBe('not_found');
  });

  it('a cancelled exec call kills its command', { timeout: 60_000 }, async () => {
    const marker = `/tmp/mcp-cancel-${ws}`;
    // A duration no other process uses; the bracket keeps pgrep's own shell from matching.
    const seconds = `37.${process.pid}`;
    const pattern = `sleep 3[7].${process.pid}`;
    const controller = new AbortController();
    const call = mcp.client.callTool(
      { name: 'workspace_exec', arguments: { workspace: ws, cmd: `touch ${marker}; exec sleep ${seconds}` } },
      undefined,
      { signal: controller.signal },
    );
    call.catch(() => {});
    const running = async () => (await mcp.ok('workspace_exec', { workspace: ws, cmd: `pgrep -f '${pattern}' || true` })).stdout !== '';
    while ((await mcp.ok('workspace_exec', { workspace: ws, cmd: `test -e ${marker} && echo yes || true` })).stdout !== 'yes\n') {}
    expect(await running()).toBe(true);
    controller.abort();
    await expect(call).rejects.toThrow(/abort/i);
    while (await running()) {}
  });

  it('lists exposed ports and revokes one', async () => {
    await mcp.ok('workspace_expose_port', { workspace: ws, port: 3001, label: 'api' });
    const listed = await mcp.call('workspace_list_ports', { workspace: 'mcp-task' });
    expect(listed.isError).toBe(false);
    expect(listed.structured.ports.map((p: Json) => p.port)).toContain(3001);
    expect(listed.text).toMatch(/^3001 {2}http:\/\/\S+ {2}public {2}api$/m);
    expect(await mcp.ok('workspace_unexpose_port', { workspace: ws, port: 3001 })).toMatchObject({ port: 3001, revoked: true });
    expect((await mcp.ok('workspace_list_ports', { workspace: ws })).ports.map((p: Json) => p.port)).not.toContain(3001);
    const again = await mcp.call('workspace_unexpose_port', { workspace: ws, port: 3001 });
    expect(again.isError).toBe(true);
    expect(again.structured.error.code).toBe('not_found');
  });

  it('workloads: run one, read its output, list it, stop it, remove it', { timeout: 60_000 }, async () => {
    const started = await mcp.ok('workload_run', {
      workspace: ws,
      name: 'ticker',
      cmd: "echo ticker up; head -c 2000 /dev/zero | tr '\\0' z; echo; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done",
      restart_policy: 'on-failure',
    });
    expect(started.workload).toMatchObject({ name: 'ticker', status: 'running', restart_policy: 'on-failure' });
    const wid = started.workload.id;

    await expect
      .poll(async () => (await mcp.ok('workload_logs', { workspace: ws, workload: 'ticker' })).lines.length, { timeout: 30_000 })
      .toBeGreaterThan(3);
    const out = await mcp.call('workload_logs', { workspace: ws, workload: wid });
    expect(out.text.split('\n')[0]).toBe('ticker up');
    expect(out.text).toMatch(/^tick 1$/m);
    // Bounded from the end: the newest lines are kept, and the answer says how many older ones were not.
    const cut = await mcp.call('workload_logs', { workspace: ws, workload: 'ticker', max_bytes: 1024 });
    expect(cut.structured.truncated).toBe(true);
    expect(cut.text).toMatch(/^\[… \d+ older lines left out/);
    expect(cut.text).not.toContain('zzzz');
    expect(cut.structured.lines.at(-1)).toMatch(/^tick \d+$/);

    const listed = await mcp.call('workload_list', { workspace: ws, states: 'running' });
    expect(listed.structured.workloads.map((w: Json) => w.id)).toEqual([wid]);
    expect(listed.text).toContain(`${wid}  ticker  running (pid `);

    const stopped = await mcp.ok('workload_stop', { workspace: ws, workload: 'ticker' });
    expect(stopped).toMatchObject({ removed: false, workload: { id: wid, status: 'stopped' } });
    expect((await mcp.ok('workload_list', { workspace: ws, states: 'running' })).workloads).toEqual([]);
    expect((await mcp.ok('workload_stop', { workspace: ws, workload: wid, remove: true })).removed).toBe(true);
    expect((await mcp.ok('workload_list', { workspace: ws })).workloads).toEqual([]);

    const missing = await mcp.call('workload_logs', { workspace: ws, workload: 'ticker' });
    expect(missing.isError).toBe(true);
    expect(missing.structured.error.code).toBe('not_found');
    const noCmd = await mcp.call('workload_run', { workspace: ws, cmd: [] });
    expect(noCmd.structured.error.code).toBe('bad_request');
  });

  it('logs: the command log has the commands run, with their output; bounded from the end', { timeout: 60_000 }, async () => {
    await mcp.ok('workspace_exec', { workspace: ws, cmd: "echo cmd-log-marker; head -c 3000 /dev/zero | tr '\\0' y; exit 4" });
    const cmd = await mcp.call('workspace_logs', { workspace: ws, source: 'cmd', tail_lines: 50 });
    expect(cmd.isError).toBe(false);
    expect(cmd.structured.source).toBe('cmd');
    const record = (cmd.structured.logs as Json[]).find((l) => String(l.message).includes('cmd-log-marker'));
    expect(record).toMatchObject({ exit_code: 4 });
    expect(cmd.text).toMatch(/cmd-log-marker.*\n {2}stdout:\n {4}cmd-log-marker/);

    const cut = await mcp.call('workspace_logs', { workspace: ws, source: 'cmd', tail_lines: 50, max_bytes: 1024 });
    expect(cut.structured.truncated).toBe(true);
    expect(cut.structured.omitted_entries).toBeGreaterThan(0);
    expect(cut.text).toMatch(/^\[… \d+ older entries left out/);

    const boot = await mcp.call('workspace_logs', { workspace: ws });
    expect(boot.isError).toBe(false);
    expect(boot.structured.source).toBe('boot');
    expect(boot.structured.logs.length).toBeGreaterThan(0);
  });

  it('stats, ttl and ping', async () => {
    const stats = await mcp.call('workspace_stats', { workspace: ws });
    expect(stats.isError).toBe(false);
    expect(stats.structured).toMatchObject({ workspace_id: ws, status: 'running' });
    expect(stats.structured.memory.current_bytes).toBeGreaterThan(0);
    expect(stats.text).toMatch(/^memory: \d/m);

    const temp = await mcp.ok('workspace_set_ttl', { workspace: ws, ttl: '2h', ttl_action: 'stop' });
    expect(temp).toMatchObject({ workspace_id: ws, mode: 'temporary', ttl: 7200, ttl_action: 'stop' });
    const expires = Date.parse(temp.expires_at);
    expect(expires).toBeGreaterThan(Date.now() + 3600_000);
    const pinged = await mcp.call('workspace_ping', { workspace: ws, ttl_seconds: 600 });
    expect(pinged.isError).toBe(false);
    expect(Date.parse(pinged.structured.expires_at)).toBeLessThan(expires);
    expect(pinged.text).toContain('runs out at');

    const forever = await mcp.ok('workspace_set_ttl', { workspace: ws, permanent: true });
    expect(forever.mode).toBe('permanent');
    expect((await mcp.ok('workspace_ping', { workspace: ws })).expires_at).toBeUndefined();

    const nothing = await mcp.call('workspace_set_ttl', { workspace: ws });
    expect(nothing.structured.error.code).toBe('bad_request');
    const bogus = await mcp.call('workspace_set_ttl', { workspace: ws, ttl: 'soon' });
    expect(bogus.structured.error).toMatchObject({ code: 'bad_request', status: 400 });
    expect(bogus.text).toContain('ttl');
  });

  it('images: the list; a pull the server refuses is a tool error', async () => {
    const images = await mcp.ok('image_list');
    expect(images.images.map((i: Json) => i.image)).toContain('host');
    expect((await mcp.ok('image_list', { search: 'nothing-like-this' })).images).toEqual([]);
    const pull = await mcp.call('image_pull', { image: '127.0.0.1:1/none:1' });
    expect(pull.isError).toBe(true);
    expect(pull.structured.error.status).toBeGreaterThanOrEqual(400);
    // Still serving.
    expect((await mcp.ok('workspace_exec', { workspace: ws, cmd: 'echo alive' })).stdout).toBe('alive\n');
  });

  it('reports exec progress to a client that asks for it', { timeout: 60_000 }, async () => {
    const seen: Progress[] = [];
    const res = (await mcp.client.callTool(
      { name: 'workspace_exec', arguments: { workspace: ws, cmd: 'for i in 1 2 3 4; do echo line $i; sleep 0.3; done' } },
      undefined,
      { onprogress: (p) => seen.push(p) },
    )) as Json;
    expect(res.structuredContent).toMatchObject({ exit_code: 0, stdout: 'line 1\nline 2\nline 3\nline 4\n' });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]?.message).toMatch(/^\d+ bytes on stdout, 0 on stderr$/);
    const figures = seen.map((p) => p.progress);
    expect([...figures].sort((a, b) => a - b)).toEqual(figures);
    expect(new Set(figures).size).toBe(figures.length);
  });

  it('exits 2 with the reason when no credentials are configured', async () => {
    const res = await runCove(['mcp'], { env: { COVE_DATA_DIR: await stack.tempDir() }, input: '' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^cove: no client credentials/);
    expect(res.stdout.length).toBe(0);
  });
});
