import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ptyReaderPath } from '../../src/terminals/pty-reader.js';
import { TerminalSession } from '../../src/terminals/session.js';
import { type PtyInternals, spawnPty } from '../../src/terminals/spawn-pty.js';

// The native reader's life next to its terminal's: killed from outside (OOM, a user's `pkill`), many
// terminals opened and closed at once, and what the programs in the terminals can see of it.
const READER = ptyReaderPath();
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cove-pty-reader-life-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The children of `parent` running `name` (live, or not yet reaped). */
async function childrenNamed(parent: number, name: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (stat.includes(`(${name})`) && Number(fields[1]) === parent) pids.push(Number(entry));
  }
  return pids;
}

/** The reader children left once Node has had a moment to reap the ones that exited. */
async function readersLeft(): Promise<number[]> {
  let left = await childrenNamed(process.pid, 'pty-reader');
  for (let i = 0; i < 100 && left.length > 0; i++) {
    await sleep(20);
    left = await childrenNamed(process.pid, 'pty-reader');
  }
  return left;
}

function startSession(script: string, id = 9) {
  const pty = spawnPty({ file: '/bin/sh', args: ['-c', script], cwd: dir, env: ENV, cols: 80, rows: 24 });
  const frames: Buffer[] = [];
  let exitCode: number | undefined;
  const session = new TerminalSession({
    id,
    command: ['sh'],
    cols: 80,
    rows: 24,
    scrollbackSize: 64 * 1024,
    pty,
    reader: READER,
    events: {
      output: (frame) => frames.push(Buffer.from(frame.subarray(1))),
      exit: (code) => {
        exitCode = code;
      },
    },
  });
  return {
    session,
    /** Whether the agent's copy of the master is closed (node-pty's socket on it destroyed). */
    masterClosed: () => (pty as unknown as PtyInternals)._socket?.destroyed === true,
    text: () => Buffer.concat(frames).toString(),
    exited: session.exited.then(() => exitCode),
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the native PTY reader, killed or many', () => {
  it('killed from outside: the terminal hangs up, the exit is reported, and nothing touches the closed master', async () => {
    const s = startSession('echo ready; read _; echo after');
    await until(() => s.text().includes('ready'), 'the prompt');
    const [reader] = await childrenNamed(process.pid, 'pty-reader');
    process.kill(reader as number, 'SIGKILL');
    // The hang-up ends the program's read (EIO) and sends it SIGHUP: it exits, and that is reported.
    expect(await s.exited).toBe(129);
    expect(s.session.alive).toBe(false);
    expect(await readersLeft()).toEqual([]);
  });

  it('killed from outside under a program that ignores the hang-up: input and resizing are dropped, not sent to a closed fd', async () => {
    const pidFile = path.join(dir, 'ignorer');
    // `sleep` keeps SIGHUP ignored and never touches the terminal: the session stays alive after the hang-up.
    const s = startSession(`trap "" HUP; echo $$ > '${pidFile}'; echo ready; exec sleep 60`);
    await until(() => s.text().includes('ready'), 'the prompt');
    const [reader] = await childrenNamed(process.pid, 'pty-reader');
    process.kill(reader as number, 'SIGTERM'); // what `pkill pty-reader` sends
    await until(async () => (await childrenNamed(process.pid, 'pty-reader')).length === 0, 'the reader to be gone');
    await until(() => s.masterClosed(), "the agent's copy of the master to be closed");
    expect(s.session.alive).toBe(true);
    // The agent's copy of the master is closed by now: its fd number may already name another file
    // (another terminal's master). Resizing or writing must neither throw nor reach that file.
    const other = startSession('stty -echo; echo ready; read line; stty size; echo "got:$line"', 10);
    await until(() => other.text().includes('ready'), 'the other prompt');
    expect(() => s.session.resize(120, 40)).not.toThrow();
    expect(() => s.session.write(Buffer.from('not for you\r'))).not.toThrow();
    other.session.write(Buffer.from('mine\r'));
    expect(await other.exited).toBe(0);
    expect(other.text()).toBe('ready\r\n24 80\r\ngot:mine\r\n');
    await s.session.terminate(200);
    expect(s.session.alive).toBe(false);
  });

  it('50 terminals opened and closed at once leave no reader, no descriptor in the agent, and share nothing', async () => {
    const fdsBefore = (await readdir('/proc/self/fd')).length;
    const sessions = Array.from({ length: 50 }, (_, i) => startSession('echo ready; read _', i + 1));
    await until(() => sessions.every((s) => s.text().includes('ready')), 'every prompt');
    const readers = await childrenNamed(process.pid, 'pty-reader');
    expect(readers).toHaveLength(50);
    // Each reader holds its own master and its output, and nothing of the agent's.
    for (const pid of readers.slice(0, 10)) {
      expect((await readdir(`/proc/${pid}/fd`)).map(Number).sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
      expect(await readlink(`/proc/${pid}/fd/1`)).toMatch(/^socket:/);
    }
    // The programs hold their terminal only: no reader's socket, no master, no agent descriptor.
    for (const s of sessions.slice(0, 10)) {
      const fds = await readdir(`/proc/${s.session.pid}/fd`);
      for (const fd of fds) expect(await readlink(`/proc/${s.session.pid}/fd/${fd}`)).toMatch(/^\/dev\/pts\/\d+$/);
    }
    // Half closed by the agent, half by their programs ending, interleaved with input and resizes.
    await Promise.all(
      sessions.map(async (s, i) => {
        if (i % 2 === 0) {
          const closed = s.session.terminate(2000);
          s.session.resize(100, 30);
          s.session.write(Buffer.from('\r'));
          await closed;
        } else {
          s.session.write(Buffer.from('\r'));
          s.session.resize(100, 30);
          await s.exited;
        }
      }),
    );
    expect(await readersLeft()).toEqual([]);
    await until(async () => (await readdir('/proc/self/fd')).length <= fdsBefore, 'the descriptors to be closed');
    expect((await readdir('/proc/self/fd')).length).toBeLessThanOrEqual(fdsBefore);
  }, 30_000);
});

describe('the native PTY reader while output is held', () => {
  it('a terminal closed while its output is paused (clients backed up) still ends and reports its exit', async () => {
    const s = startSession('stty -echo; echo ready; yes');
    await until(() => s.text().includes('ready'), 'the output');
    s.session.pause();
    const [reader] = await childrenNamed(process.pid, 'pty-reader');
    // Closing must not wait for clients to catch up: agent shutdown closes every terminal this way.
    await s.session.terminate(2000);
    expect(s.session.alive).toBe(false);
    expect(await readersLeft()).toEqual([]);
    expect(await readFile(`/proc/${reader}/stat`, 'utf8').catch(() => 'gone')).toBe('gone');
  });

  it('a program that exits while a background child floods the terminal: the exit is reported and the flood stops', async () => {
    const pidFile = path.join(dir, 'flooder');
    const s = startSession(`stty -echo; yes & echo $! > '${pidFile}'; sleep 0.2; exit 3`);
    expect(await s.exited).toBe(3);
    expect(s.text()).toContain('y\r\ny\r\n');
    expect(await readersLeft()).toEqual([]);
    // The hang-up (every copy of the master closed) ends the flooder.
    const flooder = Number(await readFile(pidFile, 'utf8'));
    await until(async () => {
      const stat = await readFile(`/proc/${flooder}/stat`, 'utf8').catch(() => undefined);
      return stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    }, 'the flooder to be gone');
  });
});
