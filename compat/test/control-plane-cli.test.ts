// The official `oblien` CLI (local bin of oblien 2.4.0) against Cove's control plane,
// configured only through OBLIEN_CLIENT_ID / OBLIEN_CLIENT_SECRET / OBLIEN_BASE_URL and a temp HOME; on each driver.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from '../../packages/api/test/helpers/driver-stack.js';

const OBLIEN = fileURLToPath(new URL('../node_modules/.bin/oblien', import.meta.url));
const SLOT = 29;
let t: TestStack;
let home: string;

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

// biome-ignore lint/suspicious/noExplicitAny: CLI output is read field by field
async function json(...args: string[]): Promise<Record<string, any>> {
  const res = await oblien(...args, '--json');
  if (res.code !== 0) throw new Error(`oblien ${args.join(' ')} failed (${res.code}): ${res.stderr}${res.stdout}`);
  return JSON.parse(res.stdout);
}

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`official oblien CLI against the control plane (${variant.title})`, () => {
    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
      home = await mkdtemp(path.join(os.tmpdir(), 'cove-oblien-home-'));
    }, 120_000);
    afterAll(async () => {
      await t?.close();
      await rm(home, { recursive: true, force: true });
    }, 120_000);
    /** Where the agents listen: loopback for processes, the sandbox's private subnet. */
    const agentIp = variant.kind === 'sandbox' ? expect.stringMatching(/^10\.85\.29\.\d+$/) : '127.0.0.1';

    it('ws create/list/get/stop/start/delete, api-access and network', async () => {
      const image = variant.image ? ['--image', variant.image] : [];
      const created = await json('ws', 'create', '--name', 'cli', ...image, '--cpus', '2', '--memory', '512', '--disk', '1024');
      const id = (created.workspace?.id ?? created.id) as string;
      expect(id).toMatch(/^ws_[a-z0-9]{8,}$/);

      const list = await json('ws', 'list');
      expect(list.total).toBe(1);
      expect(list.workspaces[0].id).toBe(id);
      const got = await json('ws', 'get', id);
      expect(got).toMatchObject({ id, name: 'cli', config: { cpus: 2, memory_mb: 512, disk_size_mb: 1024 } });

      expect(await json('api-access', 'status', id)).toMatchObject({ enabled: false });
      const enabled = await json('api-access', 'enable', id);
      expect(enabled).toMatchObject({ enabled: true, token: expect.stringMatching(/^eyJ/) });
      const raw = await json('api-access', 'raw-token', id);
      expect(raw).toMatchObject({ ip: agentIp, token: expect.stringMatching(/^[0-9a-f]{64}$/) });
      const rotated = await json('api-access', 'rotate', id);
      expect(rotated.token).toMatch(/^eyJ/);
      expect((await json('api-access', 'raw-token', id)).token).not.toBe(raw.token);

      expect(await json('network', 'get', id)).toMatchObject({ public_access: false, allow_internet: true });
      const update = await oblien('network', 'update', id, '--public-access', '--ingress-ports', '8080');
      expect(update.code).toBe(0);
      expect(await json('network', 'get', id)).toMatchObject({ public_access: true, ingress_ports: [8080] });

      expect((await oblien('ws', 'stop', id)).code).toBe(0);
      expect((await json('ws', 'get', id)).status).toBe('stopped');
      expect((await oblien('ws', 'start', id)).code).toBe(0);
      expect((await json('ws', 'get', id)).status).toBe('running');
      expect((await oblien('ws', 'pause', id)).code).toBe(0);
      expect((await json('ws', 'get', id)).status).toBe('paused');
      expect((await oblien('ws', 'resume', id)).code).toBe(0);
      expect((await json('ws', 'get', id)).status).toBe('running');
      expect((await oblien('ws', 'delete', id)).code).toBe(0);
      expect((await json('ws', 'list')).total).toBe(0);
    });
  });
}
