// A workspace that fills its own disk (dd until ENOSPC) or exhausts its processes (a fork bomb) hurts only itself:
// a neighbour keeps answering correctly while it happens (its exec latency before and during is printed, not
// asserted: timing thresholds are not tests), the filler's agent keeps answering, and deleting the filler leaves the
// neighbour untouched.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type FaultWorkspace, faultDriver } from './helpers/fault-workspaces.js';
import { skipReason } from './helpers.js';

const SLOT = 99;
const skip = skipReason();
const TOKEN = 'e'.repeat(64);

describe.skipIf(skip)('a workspace exhausting itself, seen from its neighbour (sandbox driver)', () => {
  const sandbox = faultDriver(SLOT, TOKEN, 60_000);
  const up = (diskMb: number) => sandbox.up({ memoryMb: 256, diskMb });
  type Up = FaultWorkspace;

  /** The neighbour's exec latencies (ms) over `rounds` calls, each checked for the right answer. */
  async function probe(n: Up, rounds: number): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const start = performance.now();
      const res = await n.exec(['cat', '/data/mark']);
      times.push(performance.now() - start);
      expect(res.status).toBe(200);
      expect(res.body.stdout).toBe('neighbour\n');
    }
    return times;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

  /** Probes the neighbour until `fault` settles (at least `min` rounds); prints before/during medians. */
  async function during(what: string, n: Up, before: number[], fault: Promise<unknown>): Promise<void> {
    let settled = false;
    void fault.finally(() => {
      settled = true;
    });
    const times: number[] = [];
    while (!settled || times.length < 5) times.push(...(await probe(n, 1)));
    await fault;
    const ratio = median(times) / median(before);
    console.log(
      `${what}: neighbour exec median ${median(before).toFixed(1)} ms before, ${median(times).toFixed(1)} ms during ` +
        `(${times.length} calls), ratio ${ratio.toFixed(2)}`,
    );
  }

  async function neighbour(): Promise<{ n: Up; before: number[] }> {
    const n = await up(64);
    const mark = await n.exec(['sh', '-c', 'mkdir -p /data && echo neighbour > /data/mark && sync']);
    expect(mark.body.exit_code).toBe(0);
    await probe(n, 3); // warm-up
    return { n, before: await probe(n, 10) };
  }

  it('a full disk: ENOSPC inside the filler only; the neighbour answers; deleting the filler leaves it whole', async () => {
    const { n, before } = await neighbour();
    const f = await up(128);
    const fill = f.exec(['sh', '-c', 'dd if=/dev/zero of=/fill bs=1M conv=fsync; echo "dd=$?"']);
    await during('disk fill', n, before, fill);
    const filled = await fill;
    expect(filled.status).toBe(200);
    expect(filled.body.stderr).toMatch(/No space left on device/);
    expect(filled.body.stdout).toMatch(/dd=[1-9]/);
    // The filler's agent keeps answering, with its disk full.
    expect((await f.exec(['echo', 'alive'])).body.stdout).toBe('alive\n');
    expect(await sandbox.destroy(f.ws.id)).toEqual([]);
    await probe(n, 3);
    expect(sandbox.driver.agentRunning(n.ws.id)).toBe(true);
    await sandbox.driver.destroy(n.ws.id);
  }, 240_000);

  it('a fork bomb: the neighbour answers; the filler agent answers; deleting it leaves the neighbour whole', async () => {
    const { n, before } = await neighbour();
    const f = await up(64);
    const bomb = await f.exec(['sh', '-c', 'b() { b | b & }; (b) >/dev/null 2>&1 </dev/null & echo started']);
    expect(bomb.body.stdout).toContain('started');
    await during('fork bomb', n, before, sleep(3000));
    // Its process table is full, yet its agent answers (a request that needs no new process).
    const files = await f.agent('/files?path=/');
    expect(files.status).toBe(200);
    await files.body?.cancel();
    expect(sandbox.driver.agentRunning(f.ws.id)).toBe(true);
    expect(await sandbox.destroy(f.ws.id)).toEqual([]);
    await probe(n, 3);
    expect(sandbox.driver.agentRunning(n.ws.id)).toBe(true);
    await sandbox.driver.destroy(n.ws.id);
  }, 240_000);
});
