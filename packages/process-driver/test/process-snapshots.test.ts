// The process driver's snapshots against a workspace that writes while they are taken: each is one instant
// (its processes stopped for the copy), and the workspace runs on afterwards.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AGENT_BIN } from '@cove/agent/main';
import { ProcessDriver } from '@cove/process-driver';
import type { WorkspaceSpec } from '@cove/protocol';
import { afterEach, describe, expect, it } from 'vitest';

const log = { info() {}, warn() {} };
let driver: ProcessDriver | undefined;
let root = '';

afterEach(async () => {
  await driver?.shutdown();
  if (root) await rm(root, { recursive: true, force: true });
});

const spec: WorkspaceSpec = { id: 'ws_snap0001', name: 'snap', image: 'host', cpus: 1, memoryMb: 512, diskMb: 1024 };

/** Lines in the file (each one whole write: a stopped process is never half-way through one). */
async function counter(file: string): Promise<number> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').length - 1;
}

describe('process driver snapshots', () => {
  it('a snapshot taken while a process writes is one instant, and the process runs on', async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'cove-process-snapshots-'));
    driver = new ProcessDriver({ root, agentCommand: [process.execPath, AGENT_BIN], log, startTimeoutMs: 20_000 });
    await driver.start(spec);
    const { port } = await driver.startAgent(spec.id, 'snap-token');
    // The writer appends a line to `a`, then one to `b`, as fast as it can: in any one instant `a` has as many
    // lines as `b` or one more; a copy made while it runs would find `b` ahead, or `a` further ahead.
    const started = await fetch(`http://127.0.0.1:${port}/exec`, {
      method: 'POST',
      headers: { authorization: 'Bearer snap-token', 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i >> a; echo $i >> b; done'], stream: true }),
    });
    await started.body?.cancel();
    const home = path.join(root, spec.id, 'home');
    for (let i = 0; i < 200 && (await counter(path.join(home, 'a'))) < 100; i++) await new Promise((r) => setTimeout(r, 25));

    let previous = 0;
    for (let round = 0; round < 5; round++) {
      const info = await driver.snapshots.snapshot(spec.id);
      expect(info.workspaceId).toBe(spec.id);
      const copy = path.join(root, spec.id, 'snapshot', 'home');
      const [a, b] = [await counter(path.join(copy, 'a')), await counter(path.join(copy, 'b'))];
      expect(a - b, `a=${a} b=${b}`).toBeGreaterThanOrEqual(0);
      expect(a - b, `a=${a} b=${b}`).toBeLessThanOrEqual(1);
      expect(a).toBeGreaterThan(previous);
      previous = a;
      // It runs again: the count passes the snapshot's.
      for (let i = 0; i < 200 && (await counter(path.join(home, 'a'))) <= a; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await counter(path.join(home, 'a'))).toBeGreaterThan(a);
    }
    expect(driver.snapshots.constantTimeFork).toBe(false);
  });
});
