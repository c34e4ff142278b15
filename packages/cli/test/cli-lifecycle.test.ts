// `cove ws create --ttl/--idle-suspend`, `cove ws ttl|idle|ping|lifecycle`, run as users run them, against a real stack.
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

describe('cove ws lifecycle commands', () => {
  it('create with a TTL and an idle policy, then ttl, idle, ping and lifecycle', { timeout: 120_000 }, async () => {
    const created = await stack.run([
      'ws',
      'create',
      '--name',
      'cli-life',
      '--ttl',
      '1h',
      '--idle-suspend',
      '10m',
      '--idle-stop',
      '1d',
      '--json',
    ]);
    expect(created.code).toBe(0);
    const id = json(created.stdout).id as string;

    const shown = await stack.run(['ws', 'lifecycle', 'cli-life', '--json']);
    expect(json(shown.stdout)).toMatchObject({
      mode: 'temporary',
      ttl: 3600,
      ttl_action: 'stop',
      idle: { suspend_after: 600, stop_after: 86_400 },
    });
    const table = (await stack.run(['ws', 'lifecycle', 'cli-life'])).stdout.toString();
    expect(table).toMatch(/mode: +temporary/);
    expect(table).toMatch(/idle: +suspend after 600 s, stop 86400 s later/);

    const ttl = await stack.run(['ws', 'ttl', id, '30m', '--action', 'remove', '--json']);
    expect(json(ttl.stdout)).toMatchObject({ ttl: 1800, ttl_action: 'remove' });
    const ping = await stack.run(['ws', 'ping', 'cli-life']);
    expect(ping.stdout.toString()).toMatch(new RegExp(`^${id} running, expires \\S+Z\\n$`));
    const off = await stack.run(['ws', 'idle', 'cli-life', '0', '--json']);
    expect(json(off.stdout).idle).toBeNull();
    const permanent = await stack.run(['ws', 'ttl', 'cli-life', '--permanent', '--json']);
    expect(json(permanent.stdout)).toMatchObject({ mode: 'permanent' });

    const bad = await stack.run(['ws', 'ttl', 'cli-life', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.toString()).toMatch(/invalid ttl 'soon'/);
    await stack.run(['ws', 'rm', id]);
  });
});
