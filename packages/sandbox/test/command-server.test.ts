// The driver's commands run by the long-lived `ns-helper serve` (command-server.ts): what run() gives back through
// it is what a spawn gave (output, input, exit codes, timeouts, missing programs), answers match their requests
// when many run at once, and a helper that cannot serve leaves commands to direct spawns.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandServer } from '../src/command-server.js';
import { NS_HELPER } from '../src/ns-helper-path.js';
import { run } from '../src/run-command.js';
import { skipReason } from './helpers.js';

const skip = skipReason();
const HELPER = process.env.COVE_TEST_HELPER ?? NS_HELPER;
const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

describe.skipIf(skip)('commands through the command helper', () => {
  let server: CommandServer;
  let dir: string;

  beforeAll(async () => {
    server = new CommandServer(HELPER, ENV);
    dir = await mkdtemp(path.join(os.tmpdir(), 'cove-command-server-'));
  });

  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives back output, exit code and what stdin carried, with the minimal environment', async () => {
    expect(await server.run({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'], timeoutMs: 10_000 })).toEqual({
      code: 3,
      stdout: 'out\n',
      stderr: 'err\n',
    });
    // More than a pipe's buffer each way.
    const input = 'x'.repeat(300_000);
    const echoed = await server.run({ argv: ['cat'], input, timeoutMs: 10_000 });
    expect(echoed?.stdout).toBe(input);
    const env = await server.run({ argv: ['env'], timeoutMs: 10_000 });
    expect(env?.stdout.trim().split('\n').sort()).toEqual(expect.arrayContaining(['LANG=C.UTF-8', `PATH=${ENV.PATH}`]));
    expect(env?.stdout).not.toContain('HOME=');
    // No stdin given: it reads /dev/null (ends at once).
    expect((await server.run({ argv: ['cat'], timeoutMs: 10_000 }))?.stdout).toBe('');
  });

  it('answers each of many commands running at once with its own result', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        server.run({ argv: ['sh', '-c', `sleep 0.0${i % 10}; echo ${i}; exit ${i % 7}`], timeoutMs: 10_000 }),
      ),
    );
    results.forEach((r, i) => {
      expect(r).toEqual({ code: i % 7, stdout: `${i}\n`, stderr: '' });
    });
  });

  it('takes new commands while others run, their output still coming', async () => {
    // Commands that read, write, wait and write again, sent at staggered times: requests arrive while earlier
    // commands' pipes are open and being read.
    const long = server.run({ argv: ['sh', '-c', 'echo first; sleep 0.3; echo last'], timeoutMs: 10_000 });
    const staggered = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, (i % 10) * 7));
        // Each waits for its input first (as `ip -batch -` does): it writes nothing until the helper gave it that.
        return server.run({ argv: ['sh', '-c', `read n; echo $n; sleep 0.0${i % 5}; echo $n`], input: `${i}\n`, timeoutMs: 10_000 });
      }),
    );
    staggered.forEach((r, i) => {
      expect(r?.stdout).toBe(`${i}\n${i}\n`);
    });
    expect((await long)?.stdout).toBe('first\nlast\n');
  }, 20_000);

  it('ends a command at its timeout with SIGTERM and appends to an output file', async () => {
    const started = Date.now();
    const slow = await server.run({ argv: ['sleep', '30'], timeoutMs: 200 });
    expect(slow?.code).toBe(128 + 15);
    expect(Date.now() - started).toBeLessThan(20_000);
    const log = path.join(dir, 'log');
    await writeFile(log, 'before\n');
    const logged = await server.run({ argv: ['sh', '-c', 'echo one; echo two >&2'], timeoutMs: 10_000, outputFile: log });
    expect(logged).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await readFile(log, 'utf8')).toBe('before\none\ntwo\n');
  });

  it('run() reports a missing program as a spawn does, and a failure with the command and its stderr', async () => {
    await expect(run([path.join(dir, 'absent')])).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(run(['sh', '-c', 'echo nope >&2; exit 4'])).rejects.toThrow(/sh -c .*failed \(4\): nope/);
    expect((await run(['sh', '-c', 'exit 4'], { allowFailure: true })).code).toBe(4);
  });

  it('leaves commands to direct spawns when the helper cannot serve', async () => {
    // A program that exits at once without the greeting (as a helper built before `serve` does).
    const broken = new CommandServer('/bin/false', ENV);
    expect(await broken.run({ argv: ['true'], timeoutMs: 1000 })).toBeUndefined();
    expect(broken.usable).toBe(false);
    const missing = new CommandServer(path.join(dir, 'no-helper'), ENV);
    expect(await missing.run({ argv: ['true'], timeoutMs: 1000 })).toBeUndefined();
  });
});
