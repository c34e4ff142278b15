// `cove workload` and `cove logs`, run as users run them, against a real stack (process driver).
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  expect((await stack.run(['ws', 'create', '--name', 'cli-wl', '--public-access'])).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe('cove workload', () => {
  it('run, ls, logs, stop', async () => {
    const run = await stack.run([
      'workload',
      'run',
      'cli-wl',
      '--name',
      'ticker',
      '--restart',
      'always',
      '--json',
      '--',
      'sh',
      '-c',
      'echo hello; exec sleep 1000',
    ]);
    expect(run.stderr.toString()).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout.toString())).toMatchObject({
      name: 'ticker',
      status: 'running',
      restart_policy: 'always',
      cmd: ['sh', '-c', 'echo hello; exec sleep 1000'],
    });

    const ls = await stack.run(['workload', 'ls', 'cli-wl']);
    expect(ls.code).toBe(0);
    const [header, row] = ls.stdout.toString().split('\n');
    expect(header).toMatch(/^ID +NAME +STATUS +PID +RESTARTS +COMMAND$/);
    expect(row).toMatch(/^wl_[0-9a-f]{12} +ticker +running +\d+ +0 +sh -c echo hello; exec sleep 1000$/);

    let logs = await stack.run(['workload', 'logs', 'cli-wl', 'ticker']);
    for (let i = 0; i < 50 && logs.stdout.toString() === ''; i++) {
      await delay(100);
      logs = await stack.run(['workload', 'logs', 'cli-wl', 'ticker']);
    }
    expect(logs.stdout.toString()).toBe('hello\n');

    const stop = await stack.run(['workload', 'stop', 'cli-wl', 'ticker', '--json']);
    expect(stop.code).toBe(0);
    expect(JSON.parse(stop.stdout.toString())).toMatchObject({ status: 'stopped', enabled: false, pid: null });

    const unknown = await stack.run(['workload', 'stop', 'cli-wl', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.toString()).toMatch(/workload 'nope' not found/);
  }, 60_000);
});

describe('cove logs', () => {
  it('shows the boot log and the command log', async () => {
    const exec = await stack.run(['exec', 'cli-wl', '--', 'sh', '-c', 'echo from-exec; exit 4']);
    expect(exec.code).toBe(4);
    const cmd = await stack.run(['logs', 'cli-wl', '--source', 'cmd', '--json']);
    expect(cmd.code).toBe(0);
    const records = JSON.parse(cmd.stdout.toString()).logs;
    expect(records.at(-1)).toMatchObject({
      command: ['sh', '-c', 'echo from-exec; exit 4'],
      exit_code: 4,
      stdout: 'from-exec\n',
      source: 'cmd',
    });
    const boot = await stack.run(['logs', 'cli-wl', '-n', '5']);
    expect(boot.code).toBe(0);
    expect(boot.stdout.toString().trim().split('\n').length).toBeGreaterThan(0);
    const bad = await stack.run(['logs', 'cli-wl', '--source', 'nope']);
    expect(bad.code).not.toBe(0);
  }, 60_000);
});
