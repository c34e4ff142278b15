// The official `oblien-mcp` server (stdio JSON-RPC) against Cove's control plane: initialize, then tools/call;
// on each driver.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from '../../packages/api/test/helpers/driver-stack.js';

const MCP = fileURLToPath(new URL('../node_modules/.bin/oblien-mcp', import.meta.url));
const SLOT = 30;
let t: TestStack;
let home: string;
let child: ChildProcessWithoutNullStreams;
const pending = new Map<number, (msg: Record<string, unknown>) => void>();
let nextId = 1;

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC replies are read field by field
function rpc(method: string, params: unknown): Promise<Record<string, any>> {
  const id = nextId++;
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
  return new Promise((resolve) => pending.set(id, resolve));
}

// biome-ignore lint/suspicious/noExplicitAny: tool results are read field by field
async function tool(name: string, args: Record<string, unknown>): Promise<{ isError: boolean; body: any; text: string }> {
  const res = await rpc('tools/call', { name, arguments: args });
  const text = (res.result?.content?.[0]?.text as string) ?? '';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { isError: Boolean(res.result?.isError), body, text };
}

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`official oblien-mcp against the control plane (${variant.title})`, () => {
    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
      home = await mkdtemp(path.join(os.tmpdir(), 'cove-mcp-home-'));
      child = spawn(process.execPath, [MCP], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          OBLIEN_CLIENT_ID: t.client.clientId,
          OBLIEN_CLIENT_SECRET: t.client.clientSecret,
          OBLIEN_BASE_URL: t.url,
        },
      });
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) {
            const msg = JSON.parse(line) as { id?: number };
            if (typeof msg.id === 'number') pending.get(msg.id)?.(msg);
          }
          nl = buffered.indexOf('\n');
        }
      });
      const init = await rpc('initialize', {
        protocolVersion: '2024-11-05',
        capabilities: {},
        clientInfo: { name: 'cove-test', version: '0' },
      });
      expect(init.result?.serverInfo).toBeDefined();
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    }, 120_000);
    afterAll(async () => {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await t?.close();
      await rm(home, { recursive: true, force: true });
    }, 120_000);
    const image = variant.image ? { image: variant.image } : {};
    /** Where the agents listen: loopback for processes, the sandbox's private subnet. */
    const agentIp = variant.kind === 'sandbox' ? expect.stringMatching(/^10\.85\.30\.\d+$/) : '127.0.0.1';

    it('workspace tools: create, get, list, network, api access, power, delete', async () => {
      const created = await tool('workspace_create', { name: 'mcp', ...image, vcpus: 2, ram_mb: 512, disk_mb: 1024 });
      expect(created.isError).toBe(false);
      const id = (created.body.id ?? created.body.workspace?.id) as string;
      expect(id).toMatch(/^ws_[a-z0-9]{8,}$/);
      expect((await tool('workspace_get', { workspace_id: id })).body).toMatchObject({
        id,
        config: { cpus: 2, memory_mb: 512, disk_size_mb: 1024 },
      });
      expect((await tool('workspace_list', {})).body).toMatchObject({ total: 1 });

      const net = await tool('workspace_network_update', { workspace_id: id, allow_internet: false, ingress_ports: [3000] });
      expect(net.body).toMatchObject({ allow_internet: false, ingress_ports: [3000], public_access: false });
      expect((await tool('workspace_network_get', { workspace_id: id })).body).toMatchObject({ allow_internet: false });

      expect((await tool('workspace_api_access_enable', { workspace_id: id })).body).toMatchObject({ enabled: true });
      expect((await tool('workspace_api_access_status', { workspace_id: id })).body).toMatchObject({ enabled: true });
      expect((await tool('workspace_api_access_token_raw', { workspace_id: id })).body).toMatchObject({ ip: agentIp });
      expect((await tool('workspace_api_access_token_rotate', { workspace_id: id })).body.token).toMatch(/^eyJ/);
      expect((await tool('workspace_api_access_disable', { workspace_id: id })).body).toMatchObject({ enabled: false });

      expect((await tool('workspace_pause', { workspace_id: id })).body).toMatchObject({ status: 'paused' });
      expect((await tool('workspace_resume', { workspace_id: id })).body).toMatchObject({ status: 'running' });
      expect((await tool('workspace_stop', { workspace_id: id })).body).toMatchObject({ status: 'stopped' });
      // A stopped workspace cannot be paused: the official tool reports the control plane's refusal.
      const paused = await tool('workspace_pause', { workspace_id: id });
      expect(paused.isError).toBe(true);
      expect(paused.text).toContain('is stopped; start it instead');
      expect((await tool('workspace_quota', {})).body).toMatchObject({ quota: { workspaces: { used: 1 } } });
      expect((await tool('workspace_delete', { workspace_id: id })).body).toMatchObject({ deleted: true });
      const missing = await tool('workspace_get', { workspace_id: id });
      expect(missing.isError).toBe(true);
    });
  });
}
