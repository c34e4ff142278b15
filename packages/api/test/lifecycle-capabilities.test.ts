// The file-system capability in the lifecycle answer (`filesystem_snapshots`), which the web console offers
// snapshots, restore and forks by: what the driver has, and for a driver without them the same reason the
// routes' 409 gives. The answer stays the official SDK's shape (Cove's field is one more).
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ProcessDriver } from '@cove/process-driver';
import { LifecycleResponse, type WorkspaceDriver } from '@cove/protocol';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_COMMAND, startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';

let t: TestControlPlane | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('filesystem_snapshots in the lifecycle answer', () => {
  it("says what the process driver has: snapshots, forks that copy the workspace's files", async () => {
    t = await startTestControlPlane();
    const id = await t.createWorkspace();
    const answer = await t.json('GET', `/workspace/${id}/lifecycle`);
    expect(answer.status).toBe(200);
    expect(Value.Check(LifecycleResponse, answer.body)).toBe(true);
    expect(answer.body.filesystem_snapshots).toEqual({ supported: true, constant_time_fork: false, unavailable_reason: null });
    // Memory snapshots are another matter, and stay unsupported.
    expect(answer.body.snapshot_supported).toBe(false);
    expect((await t.json('GET', `/workspace/${id}/snapshot`)).status).toBe(200);
  });

  it('says a driver without them has none, with the reason its routes refuse them with', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cove-capabilities-'));
    const real = new ProcessDriver({ root: path.join(dataDir, 'workspaces'), agentCommand: AGENT_COMMAND, log: { info() {}, warn() {} } });
    // A real driver that does not offer `snapshots` (an optional part of the driver contract), under its own name.
    const limited = new Proxy(real, {
      get(target, key) {
        if (key === 'snapshots') return undefined;
        if (key === 'name') return 'limited';
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as WorkspaceDriver;
    t = await startTestControlPlane({ driver: limited, dataDir });
    const id = await t.createWorkspace();
    const answer = await t.json('GET', `/workspace/${id}/lifecycle`);
    expect(Value.Check(LifecycleResponse, answer.body)).toBe(true);
    const refused = await t.json('GET', `/workspace/${id}/snapshot`);
    expect(refused.status).toBe(409);
    expect(answer.body.filesystem_snapshots).toEqual({
      supported: false,
      constant_time_fork: false,
      unavailable_reason: 'the limited driver has no snapshots, archives or forks',
    });
    expect(refused.body.error).toBe(answer.body.filesystem_snapshots.unavailable_reason);
  });
});
