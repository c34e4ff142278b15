import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 14;
const skip = skipReason();

/** The pooled slots (running, not adopted by any of `ids`): what the pool holds ready. */
async function pooled(t: TestDriver, ids: readonly string[]): Promise<number> {
  const taken = new Set(ids.map((id) => t.driver.slotOf(id)));
  return (await t.driver.runtime.list()).filter((c) => c.id.startsWith('wp_') && !taken.has(c.id) && c.status === 'running').length;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await delay(100);
  }
}

describe.skipIf(skip)(`sandbox warm pool sized to demand${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestDriver;
  beforeAll(async () => {
    // A short demand window, so that the test sees the pool grow and shrink back.
    t = await openTestDriver(SLOT, { warmPool: { size: 1, image: 'host', diskMb: 64, demandWindowMs: 6000, otherImagesAfter: 2 } });
    await t.driver.poolReady();
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  it('a burst larger than the pool is served by it, the pool grows to the demand, then shrinks back to its size', async () => {
    const burst = [spec(), spec(), spec()];
    await Promise.all(burst.map((s) => t.driver.create(s)));
    // Every create took a pool slot (the one ready, then the ones made for the waiting creates).
    for (const s of burst) expect(t.driver.slotOf(s.id)).toMatch(/^wp_[0-9a-f]{12}$/);
    const ids = burst.map((s) => s.id);
    for (const s of burst) {
      await t.driver.start(s);
      await t.driver.startAgent(s.id, 'd'.repeat(64));
      expect(await execIn(t.driver, s.id, 'echo ok')).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    }
    // Three creates in the window: three ready, where the pool's size is one.
    await until(async () => (await pooled(t, ids)) === 3, 120_000);
    // Once the window has passed, it shrinks back to its size.
    await until(async () => (await pooled(t, ids)) === 1, 60_000);
    for (const id of ids) await t.driver.destroy(id);
  }, 300_000);

  it('another disk size gets a pool of its own once creates ask for it often', async () => {
    const first = spec({ diskMb: 32 });
    await t.driver.create(first);
    // Once: made cold, under its own id.
    expect(t.driver.slotOf(first.id)).toBe(first.id);
    const second = spec({ diskMb: 32 });
    // Twice (`otherImagesAfter`): this one and the next are served by the new pool.
    await t.driver.create(second);
    expect(t.driver.slotOf(second.id)).toMatch(/^wp_/);
    await t.driver.start(second);
    await t.driver.startAgent(second.id, 'e'.repeat(64));
    expect(await execIn(t.driver, second.id, 'echo ok')).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    await t.driver.destroy(first.id);
    await t.driver.destroy(second.id);
  }, 300_000);
});
