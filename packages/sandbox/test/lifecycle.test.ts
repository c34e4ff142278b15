import { describe, expect, it } from 'vitest';
import { execIn, leftovers, loopsUnder, network, nftRules, reopen, skipReason, spec, useTestDriver } from './helpers.js';

const SLOT = 1;
const skip = skipReason();

describe.skipIf(skip)(`sandbox lifecycle${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTestDriver(SLOT);

  it('keeps files written inside across stop and start, in /root by default', async () => {
    const s = spec();
    await t.driver.create(s);
    await t.driver.start(s);
    await t.driver.startAgent(s.id, 'a'.repeat(64));
    const write = await execIn(t.driver, s.id, 'pwd; echo kept > note.txt; echo sys > /etc/cove-marker');
    expect(write).toMatchObject({ code: 0, stdout: '/root\n' });
    await t.driver.stop(s.id);
    expect(t.driver.agentRunning(s.id)).toBe(false);
    await t.driver.start(s);
    await t.driver.startAgent(s.id, 'b'.repeat(64));
    const read = await execIn(t.driver, s.id, 'cat /root/note.txt /etc/cove-marker');
    expect(read).toMatchObject({ code: 0, stdout: 'kept\nsys\n' });
    await t.driver.destroy(s.id);
  }, 120_000);

  it('serves the Internal API with the current token only, and rotates it by file and SIGHUP', async () => {
    const s = spec();
    await t.driver.create(s);
    const { ip } = await t.driver.start(s);
    const first = 'c'.repeat(64);
    const endpoint = await t.driver.startAgent(s.id, first);
    expect(endpoint).toEqual({ ip, port: 9990 });
    await t.driver.applyNetwork(s.id, network({ publicAccess: true }));
    const call = (token: string) =>
      fetch(`http://${ip}:9990/exec`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ cmd: ['cat', '/proc/1/cmdline'] }),
      });
    const res = await call(first);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { exit_code: number; stdout: string };
    expect(body.exit_code).toBe(0);
    // PID 1 is tini running the agent; the token is in a file, never on the command line.
    expect(body.stdout).toContain('/opt/cove/bin/tini');
    expect(body.stdout).toContain('--token-file');
    expect(body.stdout).not.toContain(first);
    const second = 'd'.repeat(64);
    await t.driver.setAgentToken(s.id, second);
    expect((await call(first)).status).toBe(401);
    expect((await call(second)).status).toBe(200);
    // The agent and the node binary are read-only inside.
    const ro = await execIn(
      t.driver,
      s.id,
      "touch /opt/cove/app/packages/x 2>&1; grep ' /opt/cove/' /proc/self/mountinfo | cut -d' ' -f5,6",
    );
    expect(ro.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        "touch: cannot touch '/opt/cove/app/packages/x': Read-only file system",
        '/opt/cove/app/node_modules ro,nosuid,nodev,relatime',
        '/opt/cove/app/packages ro,nosuid,nodev,relatime',
        // The agent's runtime: node, tini, the helpers and their libraries (agent-runtime.ts).
        '/opt/cove/bin ro,nosuid,nodev,relatime',
        '/opt/cove/lib ro,nosuid,nodev,relatime',
      ].sort(),
    );
    await t.driver.destroy(s.id);
  }, 120_000);

  it('recovers running workspaces after the control plane restarts', async () => {
    const s = spec();
    await t.driver.create(s);
    const { ip } = await t.driver.start(s);
    await t.driver.startAgent(s.id, 'e'.repeat(64));
    await t.driver.applyNetwork(s.id, network({ publicAccess: true }));
    const again = await reopen(t, SLOT);
    expect(again.agentRunning(s.id)).toBe(true);
    expect(again.addressOf(s.id)).toBe(ip);
    // start and startAgent are idempotent on a running workspace (what the control plane calls on recovery).
    expect(await again.start(s)).toEqual({ ip });
    expect(await again.startAgent(s.id, 'f'.repeat(64))).toEqual({ ip, port: 9990 });
    const res = await fetch(`http://${ip}:9990/runtime`, { headers: { authorization: `Bearer ${'f'.repeat(64)}` } });
    expect(res.status).toBe(200);
    await again.destroy(s.id);
    expect(t.driver.agentRunning(s.id)).toBe(false);
  }, 120_000);

  it('stopAgent stops the agent but keeps the workspace up; startAgent brings it back', async () => {
    const s = spec();
    await t.driver.create(s);
    await t.driver.start(s);
    await t.driver.startAgent(s.id, 'g'.repeat(64));
    await t.driver.stopAgent(s.id);
    expect(t.driver.agentRunning(s.id)).toBe(false);
    expect((await t.driver.runtime.state(s.id))?.status).toBe('created');
    await t.driver.startAgent(s.id, 'h'.repeat(64));
    expect(t.driver.agentRunning(s.id)).toBe(true);
    await t.driver.destroy(s.id);
  }, 120_000);

  it('delete leaves nothing behind: mounts, loop devices, namespace, veth, cgroups, rules, files', async () => {
    const s = spec();
    await t.driver.create(s);
    await t.driver.start(s);
    await t.driver.startAgent(s.id, 'i'.repeat(64));
    await t.driver.applyNetwork(s.id, network({ publicAccess: true, ingressPorts: [8080] }));
    expect(leftovers(t.driver, t.dataDir, s.id, `cove-test${SLOT}`).length).toBeGreaterThan(3);
    expect(await nftRules(t.driver.table)).toContain('8080');
    await t.driver.destroy(s.id);
    expect(leftovers(t.driver, t.dataDir, s.id, `cove-test${SLOT}`)).toEqual([]);
    expect(await loopsUnder(`${t.dataDir}/workspaces/${s.id}/`)).toEqual([]);
    expect(await nftRules(t.driver.table)).not.toContain('8080');
  }, 120_000);

  it('refuses an image the store does not have', async () => {
    await expect(t.driver.create(spec({ image: 'nope:1' }))).rejects.toMatchObject({ code: 'not_found' });
  });
});
