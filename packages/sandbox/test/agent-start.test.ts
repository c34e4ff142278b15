// How a workspace's agent starts: from its bundle, with V8's code cache, which the runtime's node (the patched
// copy under /opt/cove) accepts under the flags the driver passes; under other flags it is refused, and the
// bundle still runs (compiled as usual).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentArgs } from '../src/agent-files.js';
import { execIn, leftovers, network, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 71;
const skip = skipReason();

/** The node flags of a workspace's agent: what the driver puts between the runtime's node and the agent's entry. */
function driverFlags(): string[] {
  const args = agentArgs({ port: 9990, workdir: '/root', tokenFile: '/t' });
  const node = args.findIndex((a) => a.endsWith('/bin/node'));
  const entry = args.findIndex((a) => a.endsWith('/bin/cove-agent.js'));
  return args.slice(node + 1, entry);
}

/** Loads the agent's bundle with the runtime's node inside the workspace; prints whether V8 refused its cache. */
const cacheCheck = (flags: string[]) =>
  `/opt/cove/bin/node ${flags.join(' ')} --input-type=module -e "
const { loadBundle } = await import('/opt/cove/app/packages/agent/bin/bundle-loader.js');
const { cacheRejected, exports } = loadBundle('/opt/cove/app/packages/agent/dist/bundle/agent.cjs');
console.log(cacheRejected, typeof exports.main);"`;

describe.skipIf(skip)(`sandbox agent start${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestDriver;
  beforeAll(async () => {
    t = await openTestDriver(SLOT);
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  }, 120_000);

  it("the runtime's node accepts the bundle's code cache under the agent's flags, and refuses it under others", async () => {
    const flags = driverFlags();
    expect(flags).toContain('--max-semi-space-size=2');
    const s = spec();
    await t.driver.create(s);
    const { ip } = await t.driver.start(s);
    const token = 'a'.repeat(64);
    await t.driver.startAgent(s.id, token);
    await t.driver.applyNetwork(s.id, network({ publicAccess: true }));

    expect(await execIn(t.driver, s.id, cacheCheck(flags))).toEqual({ code: 0, stdout: 'false function\n', stderr: '' });
    // Another flag that changes the code V8 makes: the cache is refused, the bundle loads all the same.
    expect(await execIn(t.driver, s.id, cacheCheck([...flags, '--no-opt']))).toEqual({ code: 0, stdout: 'true function\n', stderr: '' });

    // The agent itself (started by the driver with these flags) serves.
    const res = await fetch(`http://${ip}:9990/exec`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['echo', 'served'] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { stdout: string }).stdout).toBe('served\n');
    await t.driver.destroy(s.id);
    expect(leftovers(t.driver, t.dataDir, s.id, `cove-test${SLOT}`)).toEqual([]);
  }, 180_000);
});
