import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ptyReaderPath, usableReader } from '../../src/terminals/pty-reader.js';
import { TerminalSession } from '../../src/terminals/session.js';
import { spawnPty } from '../../src/terminals/spawn-pty.js';

const READER = ptyReaderPath();
const require = createRequire(import.meta.url);
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cove-pty-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The pty-reader processes that are children of this process (live, or not yet reaped). */
async function readerChildren(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (stat.includes('(pty-reader)') && Number(fields[1]) === process.pid) pids.push(Number(entry));
  }
  return pids;
}

/** The reader children left once Node has had a moment to reap the ones that exited (a leak stays listed). */
async function readersLeft(): Promise<number[]> {
  let left = await readerChildren();
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    left = await readerChildren();
  }
  return left;
}

/** Resolves once `pid` is gone (or a zombie nobody reaps: it then counts as exited, and the test says so). */
async function gone(pid: number): Promise<'gone' | 'zombie'> {
  for (;;) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return 'gone';
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) {
      // Node reaps its children on SIGCHLD; give it a moment before calling this a leak.
      await new Promise((r) => setTimeout(r, 200));
      return (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)) === undefined ? 'gone' : 'zombie';
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A session on a real PTY running `sh -c script`; its frames and exit code are collected. */
function startSession(script: string, reader: string | null, options: { graceMs?: number } = {}) {
  const pty = spawnPty({ file: '/bin/sh', args: ['-c', script], cwd: dir, env: ENV, cols: 80, rows: 24 });
  const frames: Buffer[] = [];
  let exitCode: number | undefined;
  let outputAfterExit = false;
  const session = new TerminalSession({
    id: 7,
    command: ['sh'],
    cols: 80,
    rows: 24,
    scrollbackSize: 64 * 1024,
    pty,
    reader,
    events: {
      output: (frame) => {
        expect(frame[0]).toBe(7);
        if (exitCode !== undefined) outputAfterExit = true;
        frames.push(Buffer.from(frame.subarray(1)));
      },
      exit: (code) => {
        exitCode = code;
      },
    },
  });
  return {
    session,
    text: () => Buffer.concat(frames).toString(),
    exited: session.exited.then(() => ({ code: exitCode, outputAfterExit })),
    terminate: () => session.terminate(options.graceMs ?? 5000),
  };
}

describe('the native PTY reader', () => {
  it('was built, and a missing one counts as none', () => {
    expect(READER).not.toBeNull();
    expect(usableReader(path.join(dir, 'no-such-reader'))).toBeNull();
    expect(usableReader(dir)).toBeNull();
  });

  it.each([
    ['the native reader', READER],
    ['the agent itself (no reader)', null],
  ])('reading by %s hands over every byte in order before the exit, with the exit code and the scrollback', async (_, reader) => {
    const s = startSession('stty -echo; seq 1 100000; exit 3', reader);
    const { code, outputAfterExit } = await s.exited;
    const expected = `${Array.from({ length: 100000 }, (_, i) => String(i + 1)).join('\r\n')}\r\n`;
    expect(s.text()).toBe(expected);
    expect(code).toBe(3);
    expect(outputAfterExit).toBe(false);
    expect(s.session.scrollback.tail().toString()).toBe(expected.slice(-64 * 1024));
    expect(await readersLeft()).toEqual([]);
  });

  it("runs per terminal with the master as its fd 3 and nothing else of the agent's (no other terminal's master)", async () => {
    const a = startSession('read _', READER);
    const b = startSession('read _', READER);
    const readers = await readerChildren();
    expect(readers).toHaveLength(2);
    for (const pid of readers) {
      const fds = (await readdir(`/proc/${pid}/fd`)).map(Number).sort();
      expect(fds).toEqual([0, 1, 2, 3]);
      expect(await readlink(`/proc/${pid}/fd/3`)).toBe('/dev/ptmx');
    }
    a.session.write(Buffer.from('\r'));
    b.session.write(Buffer.from('\r'));
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);
    for (const pid of readers) expect(await gone(pid)).toBe('gone');
  });

  it('takes input and resizes through the agent while the reader reads', async () => {
    const s = startSession('stty -echo; echo ready; read line; stty size; echo "got:$line"', READER);
    // Typed once echo is off (typed earlier, the line discipline would echo it).
    while (!s.text().includes('ready')) await new Promise((r) => setTimeout(r, 5));
    s.session.resize(100, 30);
    s.session.write(Buffer.from('hello\r'));
    expect((await s.exited).code).toBe(0);
    expect(s.text()).toBe('ready\r\n30 100\r\ngot:hello\r\n');
  });

  it('holds output in the kernel while paused and loses nothing on resume', async () => {
    const s = startSession('stty -echo; seq 1 300000', READER);
    // Pause once output streams, check that no frame arrives while paused, then resume.
    while (s.text().length === 0) await new Promise((r) => setTimeout(r, 5));
    s.session.pause();
    await new Promise((r) => setTimeout(r, 200)); // what was in flight arrives
    const held = s.text().length;
    await new Promise((r) => setTimeout(r, 300));
    expect(s.text().length).toBe(held);
    expect(s.session.alive).toBe(true);
    s.session.resume();
    await s.exited;
    expect(s.text()).toBe(`${Array.from({ length: 300000 }, (_, i) => String(i + 1)).join('\r\n')}\r\n`);
  });

  it('hangs up the terminal when it is closed: a program that ignores SIGHUP sees its terminal end', async () => {
    // SIGHUP is ignored, so only the hang-up (every copy of the master closed) ends the read; SIGKILL
    // would come only after 5 s and leave no file.
    const marker = path.join(dir, 'hung-up');
    const s = startSession(`trap "" HUP; echo ready; read _; echo "read-ended" > '${marker}'`, READER);
    while (!s.text().includes('ready')) await new Promise((r) => setTimeout(r, 5));
    const [reader] = await readerChildren();
    await s.terminate();
    expect(await readFile(marker, 'utf8')).toBe('read-ended\n');
    expect(await gone(reader as number)).toBe('gone');
  });

  it('reports the exit of a program whose background child still holds the terminal, output first', async () => {
    const pidFile = path.join(dir, 'background');
    const s = startSession(`sleep 30 & echo $! > '${pidFile}'; echo done; exit 5`, READER);
    const { code } = await s.exited;
    expect(code).toBe(5);
    expect(s.text()).toContain('done');
    expect(await readersLeft()).toEqual([]);
    const background = Number(await readFile(pidFile, 'utf8'));
    try {
      process.kill(background, 'SIGKILL');
    } catch {
      // Already gone with the hang-up.
    }
  });

  it('exits when the agent closes its end, with the program still running', async () => {
    const pty = spawnPty({ file: '/bin/sh', args: ['-c', 'read _'], cwd: dir, env: ENV, cols: 80, rows: 24 });
    // Started as NativePtyReader starts it; then the agent's end of its output is closed.
    const reader = spawn(READER as string, [], { stdio: ['ignore', 'pipe', 'ignore', (pty as unknown as { _fd: number })._fd] });
    const exited = new Promise<number | null>((r) => reader.once('exit', (code) => r(code)));
    reader.stdout?.destroy();
    expect(await exited).toBe(1);
    pty.kill('SIGKILL');
    await new Promise<void>((r) => pty.onExit(() => r()));
  });

  it('exits, and the program sees the hang-up, when the agent dies', async () => {
    const marker = path.join(dir, 'agent-died');
    const program = `trap "" HUP; echo ready; read _; echo "read-ended" > '${marker}'`;
    // An agent stand-in: a node process that starts a terminal with its reader, prints both pids and waits.
    // An agent stand-in: a node process that starts a program on a PTY and its reader as NativePtyReader does,
    // prints both pids once the program is ready (SIGHUP ignored) and waits.
    const script = `
      const { spawn: spawnPty } = require(${JSON.stringify(require.resolve('node-pty'))});
      const { spawn } = require('node:child_process');
      const pty = spawnPty('/bin/sh', ['-c', ${JSON.stringify(program)}], { cwd: ${JSON.stringify(dir)}, env: ${JSON.stringify(ENV)} });
      pty._socket._read = () => {};
      const reader = spawn(${JSON.stringify(READER)}, [], { stdio: ['ignore', 'pipe', 'ignore', pty._fd] });
      let seen = '';
      const onOutput = (d) => {
        seen += d;
        if (!seen.includes('ready')) return;
        reader.stdout.off('data', onOutput);
        console.log(JSON.stringify({ reader: reader.pid, program: pty.pid }));
      };
      reader.stdout.on('data', onOutput);
    `;
    const agent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      agent.stdout.once('data', (d: Buffer) => resolve(d.toString()));
      agent.once('exit', (code) => reject(new Error(`stand-in exited ${code}`)));
    });
    const pids = JSON.parse(line) as { reader: number; program: number };
    agent.kill('SIGKILL');
    await new Promise((r) => agent.once('exit', r));
    // Orphans are reparented (to init or a subreaper) and reaped there, or linger as zombies: either is an exit.
    for (const pid of [pids.reader, pids.program]) {
      for (;;) {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
        if (stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(await readFile(marker, 'utf8')).toBe('read-ended\n');
  }, 20_000);
});
