import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFrom, connectFromHost, network, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 2;
const skip = skipReason();
const TOKEN = 'n'.repeat(64);

// All traffic here stays between these namespaces and the host side of their links.
describe.skipIf(skip)(`sandbox network${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestDriver;
  const a = spec();
  const b = spec();
  const c = spec();
  let ipB = '';
  beforeAll(async () => {
    t = await openTestDriver(SLOT);
    for (const s of [a, b, c]) {
      await t.driver.create(s);
      await t.driver.start(s);
    }
    ipB = t.driver.addressOf(b.id) ?? '';
    await t.driver.startAgent(b.id, TOKEN);
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  }, 120_000);

  it('gives every workspace its own address in the subnet', () => {
    const ips = [a, b, c].map((s) => t.driver.addressOf(s.id));
    expect(new Set(ips).size).toBe(3);
    for (const ip of ips) expect(ip).toMatch(/^10\.87\.2\.\d+$/);
    expect(t.driver.gatewayAddress(a.id)).toBe('10.87.2.1');
  });

  it("is network-dark: no workspace reaches another's agent without a private link", async () => {
    expect(await connectFrom(t.driver, a.id, ipB, 9990)).toBe(124);
    expect(await connectFrom(t.driver, c.id, ipB, 9990)).toBe(124);
  }, 60_000);

  it('a private link opens the port to the linked workspace only, and removing it cuts it', async () => {
    await t.driver.applyNetwork(b.id, network({ privateLinkIds: [a.id], privateLinks: [{ workspaceId: a.id, ip: null }] }));
    expect(await connectFrom(t.driver, a.id, ipB, 9990)).toBe(0);
    expect(await connectFrom(t.driver, c.id, ipB, 9990)).toBe(124);
    // Only the agent's port: another port of B stays dark even for A.
    expect(await connectFrom(t.driver, a.id, ipB, 8080)).toBe(124);
    await t.driver.applyNetwork(b.id, network());
    expect(await connectFrom(t.driver, a.id, ipB, 9990)).toBe(124);
  }, 60_000);

  it('the gateway (host side) reaches the agent only with public access', async () => {
    expect(await connectFromHost(ipB, 9990)).toBe('timeout');
    await t.driver.applyNetwork(b.id, network({ publicAccess: true }));
    const res = await fetch(`http://${ipB}:9990/runtime`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    // Public access is the gateway's path, not other workspaces'.
    expect(await connectFrom(t.driver, a.id, ipB, 9990)).toBe(124);
    await t.driver.applyNetwork(b.id, network({ publicAccess: false }));
    expect(await connectFromHost(ipB, 9990)).toBe('timeout');
  }, 60_000);

  it("workspaces cannot open connections to the host's own services", async () => {
    // The host side address answers nothing a workspace starts (the control plane, sshd…).
    const server = (await import('node:net')).createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await connectFrom(t.driver, a.id, '10.87.2.1', port)).toBe(124);
      // The server itself answers (from the host's loopback).
      expect(await connectFromHost('127.0.0.1', port)).toBe('connected');
    } finally {
      server.close();
    }
  }, 60_000);
});
