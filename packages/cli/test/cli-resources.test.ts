// `cove ws resize` and `cove ws meta`, run as users run them, against a real stack (process driver: sizes recorded).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read parsed JSON field by field and assert on it
const json = (stdout: Buffer): any => JSON.parse(stdout.toString());

describe('cove ws resize and meta', () => {
  it('resize shows and changes sizes; a smaller disk is refused', { timeout: 120_000 }, async () => {
    const created = await stack.run(['ws', 'create', '--name', 'cli-size', '--cpus', '1', '--memory', '512', '--disk', '2048', '--json']);
    expect(created.code).toBe(0);
    const shown = await stack.run(['ws', 'resize', 'cli-size', '--json']);
    expect(json(shown.stdout)).toMatchObject({ cpus: 1, memory_mb: 512, disk_size_mb: 2048 });
    const changed = await stack.run(['ws', 'resize', 'cli-size', '--cpus', '2', '--memory', '1024', '--disk', '4096', '--json']);
    expect(changed.code).toBe(0);
    expect(json(changed.stdout)).toMatchObject({
      cpus: 2,
      memory_mb: 1024,
      disk_size_mb: 4096,
      changes: { cpus: { from: 1, to: 2, applied: false, applies_on: null }, disk_size_mb: { from: 2048, to: 4096 } },
    });
    const text = (await stack.run(['ws', 'resize', 'cli-size', '--memory', '2048'])).stdout.toString();
    expect(text).toMatch(/memory: +1024 → 2048 MiB \(recorded only: the process driver applies no resource limits\)/);
    expect(text).toMatch(/disk: +4096 MiB/);
    const shrink = await stack.run(['ws', 'resize', 'cli-size', '--disk', '1024']);
    expect(shrink.code).not.toBe(0);
    expect(shrink.stderr.toString()).toMatch(/never shrinks/);
    const bad = await stack.run(['ws', 'resize', 'cli-size', '--cpus', 'two']);
    expect(bad.code).toBe(2);
    await stack.run(['ws', 'rm', 'cli-size']);
  });

  it('meta sets, merges, unsets, replaces and shows', { timeout: 120_000 }, async () => {
    expect((await stack.run(['ws', 'create', '--name', 'cli-meta', '--json'])).code).toBe(0);
    expect((await stack.run(['ws', 'meta', 'cli-meta'])).stdout.toString()).toBe('no metadata\n');
    const set = await stack.run(['ws', 'meta', 'cli-meta', 'env=prod', 'team=backend', 'url=http://x/?a=b', '--json']);
    expect(json(set.stdout)).toEqual({ env: 'prod', team: 'backend', url: 'http://x/?a=b' });
    const unset = await stack.run(['ws', 'meta', 'cli-meta', 'env=dev', '--unset', 'team', '--json']);
    expect(json(unset.stdout)).toEqual({ env: 'dev', url: 'http://x/?a=b' });
    const table = (await stack.run(['ws', 'meta', 'cli-meta'])).stdout.toString();
    expect(table).toMatch(/^KEY +VALUE\nenv +dev\nurl +http:\/\/x\/\?a=b\n$/);
    const replaced = await stack.run(['ws', 'meta', 'cli-meta', '--replace', 'owner=ci', '--json']);
    expect(json(replaced.stdout)).toEqual({ owner: 'ci' });
    const bad = await stack.run(['ws', 'meta', 'cli-meta', 'novalue']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.toString()).toMatch(/expected KEY=VALUE/);
    const refused = await stack.run(['ws', 'meta', 'cli-meta', 'bad key=v']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.toString()).toMatch(/metadata key 'bad key' is invalid/);
    await stack.run(['ws', 'rm', 'cli-meta']);
  });
});
