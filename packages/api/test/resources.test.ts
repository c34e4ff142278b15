// Workspace resources over HTTP on both drivers: GET, PUT/PATCH of a subset, live CPU and memory on a sandbox
// (the cgroup changes, no restart), apply: false waiting for the restart, the disk growing (seen with df inside)
// and never shrinking, the process driver recording only, account caps, bad input.
import { readLimits, type SandboxDriver } from '@cove/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../../sandbox/test/helpers.js';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';
import { driverVariants, startTestStack, type TestStack } from './helpers/driver-stack.js';

const SLOT = 45;
const MiB = 1024 * 1024;
const res = (id: string) => `/workspace/${id}/resources`;

for (const variant of driverVariants()) {
  const sandbox = variant.kind === 'sandbox';
  describe.skipIf(variant.skip)(`resources (${variant.title})`, () => {
    let t: TestStack;
    let id: string;
    const driver = () => t.cp.context.driver as SandboxDriver;
    const limits = () => readLimits(`cove-stack${SLOT}/${driver().slotOf(id)}`);
    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
      id = await t.createWorkspace({ name: 'sized', ...variant.workspace, cpus: 1, memory_mb: 512 });
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    }, 120_000);

    it('GET: the sizes, in the SDK’s places too, and the account’s use', async () => {
      const disk = sandbox ? 256 : 4096;
      const got = await t.json('GET', res(id));
      expect(got.status).toBe(200);
      expect(got.body).toEqual({
        success: true,
        workspace_id: id,
        status: 'running',
        driver: variant.kind,
        cpus: 1,
        memory_mb: 512,
        disk_size_mb: disk,
        resources: { cpus: 1, memory_mb: 512, disk_size_mb: disk },
        account: { cpus: { used: 1, limit: null }, memory_mb: { used: 512, limit: null }, disk_mb: { used: disk, limit: null } },
      });
      expect((await t.json('GET', `/workspace/${id}`)).body.workspace.resources).toEqual({ cpus: 1, memory_mb: 512, disk_size_mb: disk });
    });

    it('PATCH CPUs and memory: live on a sandbox (its cgroup, no restart), recorded on both', async () => {
      const before = sandbox ? (await driver().runtime.state(driver().slotOf(id) ?? id))?.pid : undefined;
      const r = await t.json('PATCH', res(id), { body: { cpus: 2, memory_mb: 768 } });
      expect(r.status).toBe(200);
      const applied = sandbox
        ? { applied: true, applies_on: 'now' }
        : { applied: false, applies_on: null, reason: 'the process driver applies no resource limits' };
      expect(r.body.changes).toEqual({ cpus: { from: 1, to: 2, ...applied }, memory_mb: { from: 512, to: 768, ...applied } });
      expect(r.body).toMatchObject({ cpus: 2, memory_mb: 768, resources: { cpus: 2, memory_mb: 768 } });
      expect((await t.json('GET', `/workspace/${id}`)).body.workspace.config).toMatchObject({ cpus: 2, memory_mb: 768 });
      if (sandbox) {
        expect(await limits()).toMatchObject({ cpu: '200000 100000', memory: String(768 * MiB) });
        expect((await driver().runtime.state(driver().slotOf(id) ?? id))?.pid).toBe(before);
      }
      // PUT changes the sizes it names only; a size already in place is reported as applied.
      const same = await t.json('PUT', res(id), { body: { cpus: 2 } });
      expect(same.body.changes).toEqual({ cpus: { from: 2, to: 2, applied: true, applies_on: 'now' } });
      expect(same.body.memory_mb).toBe(768);
    });

    it('apply: false records for the restart; the restart applies it', async () => {
      const r = await t.json('PUT', res(id), { body: { memory_mb: 640, apply: false } });
      expect(r.status).toBe(200);
      expect(r.body.changes.memory_mb).toMatchObject({ from: 768, to: 640, applied: false });
      if (sandbox) {
        expect(r.body.changes.memory_mb).toMatchObject({ applies_on: 'restart', reason: 'apply: false' });
        expect((await limits()).memory).toBe(String(768 * MiB));
      }
      expect((await t.json('POST', `/workspace/${id}/restart`)).status).toBe(200);
      if (sandbox) expect((await limits()).memory).toBe(String(640 * MiB));
    });

    it('the disk grows (seen with df inside after the restart the answer names, if any) and never shrinks', async () => {
      const from = (await t.json('GET', res(id))).body.disk_size_mb as number;
      const grow = await t.json('PATCH', res(id), { body: { disk_size_mb: from + 128 } });
      expect(grow.status).toBe(200);
      expect(grow.body.disk_size_mb).toBe(from + 128);
      const change = grow.body.changes.disk_size_mb;
      if (!sandbox) expect(change).toMatchObject({ applied: false, applies_on: null });
      else if (!change.applied) expect(change).toMatchObject({ applies_on: 'restart', reason: expect.stringContaining('next start') });
      if (sandbox) {
        if (!change.applied) expect((await t.json('POST', `/workspace/${id}/restart`)).status).toBe(200);
        const df = await execIn(driver(), id, 'df -m / | tail -1');
        expect(Number(df.stdout.trim().split(/\s+/)[1])).toBeGreaterThan(from);
      }
      const shrink = await t.json('PATCH', res(id), { body: { disk_size_mb: from } });
      expect(shrink.status).toBe(409);
      expect(shrink.body).toMatchObject({ success: false, code: 'conflict', error: expect.stringContaining('never shrinks') });
      if (sandbox) expect(shrink.body.error).toMatch(/MiB of it in use/);
      // Stopped: a sandbox grows it at once, offline.
      await t.json('POST', `/workspace/${id}/stop`);
      const stopped = await t.json('PATCH', res(id), { body: { disk_size_mb: from + 256, cpus: 1 } });
      expect(stopped.body.changes).toEqual(
        sandbox
          ? {
              cpus: { from: 2, to: 1, applied: false, applies_on: 'start', reason: 'the workspace is stopped' },
              disk_size_mb: { from: from + 128, to: from + 256, applied: true, applies_on: 'now' },
            }
          : {
              cpus: { from: 2, to: 1, applied: false, applies_on: null, reason: 'the process driver applies no resource limits' },
              disk_size_mb: {
                from: from + 128,
                to: from + 256,
                applied: false,
                applies_on: null,
                reason: 'the process driver applies no resource limits',
              },
            },
      );
      await t.json('POST', `/workspace/${id}/start`);
      if (sandbox) {
        const df = await execIn(driver(), id, 'df -m / | tail -1');
        expect(Number(df.stdout.trim().split(/\s+/)[1])).toBeGreaterThan(from + 128);
        expect((await limits()).cpu).toBe('100000 100000');
      }
    }, 120_000);

    it('bad input: 400; unknown ids and other owners: 404', async () => {
      for (const body of [
        {},
        { apply: true },
        { cpus: 0 },
        { cpus: 1.5 },
        { cpus: 65 },
        { memory_mb: '1024' },
        { memory_mb: 64 },
        { disk_size_mb: -1 },
        [],
      ]) {
        const r = await t.json('PATCH', res(id), { body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body).toMatchObject({ success: false, code: 'bad_request' });
      }
      const mallory = await t.newClient('mallory');
      expect((await t.json('GET', res(id), { auth: mallory })).status).toBe(404);
      expect((await t.json('PUT', res(id), { auth: mallory, body: { cpus: 4 } })).status).toBe(404);
      expect((await t.json('GET', res('ws_doesnotexist0'))).status).toBe(404);
      expect((await t.json('GET', res(id))).body.cpus).toBe(1);
    });
  });
}

describe('account caps on CPUs, memory and disk', () => {
  let t: TestControlPlane;
  beforeAll(async () => {
    t = await startTestControlPlane({ limits: { accountCpus: 4, accountMemoryMb: 3072, accountDiskMb: 10_240 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('bound creates and resizes, counting stopped workspaces; GET shows use and caps', async () => {
    const a = await t.createWorkspace({ cpus: 2, memory_mb: 1024, disk_size_mb: 4096 });
    const b = await t.createWorkspace({ cpus: 1, memory_mb: 1024, disk_size_mb: 4096 });
    await t.json('POST', `/workspace/${b}/stop`);
    const refused = await t.json('POST', '/workspace', { body: { cpus: 2, memory_mb: 512, disk_size_mb: 1024 } });
    expect(refused).toMatchObject({ status: 409, body: { code: 'conflict', error: expect.stringContaining('4 CPUs in all') } });
    expect((await t.json('PATCH', res(a), { body: { cpus: 3 } })).status).toBe(200);
    const cpus = await t.json('PATCH', res(a), { body: { cpus: 4 } });
    expect(cpus).toMatchObject({ status: 409, body: { error: expect.stringContaining('the others have 1, this one would have 4') } });
    expect((await t.json('PATCH', res(b), { body: { memory_mb: 2560 } })).body.error).toContain('3072 MiB of memory in all');
    expect((await t.json('PATCH', res(b), { body: { disk_size_mb: 6145 } })).body.error).toContain('10240 MiB of disk in all');
    // Nothing refused was recorded.
    const got = await t.json('GET', res(b));
    expect(got.body).toMatchObject({
      cpus: 1,
      memory_mb: 1024,
      disk_size_mb: 4096,
      account: { cpus: { used: 4, limit: 4 }, memory_mb: { used: 2048, limit: 3072 }, disk_mb: { used: 8192, limit: 10_240 } },
    });
    // Within the caps, and after a delete frees its share.
    expect((await t.json('PATCH', res(b), { body: { memory_mb: 2048, disk_size_mb: 6144 } })).status).toBe(200);
    await t.json('DELETE', `/workspace/${a}`);
    expect((await t.json('PATCH', res(b), { body: { cpus: 4 } })).status).toBe(200);
  });
});
