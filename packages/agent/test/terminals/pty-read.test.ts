import { describe, expect, it } from 'vitest';
import { drainAtEnd, readIntoOneBuffer, spawnPty } from '../../src/terminals/spawn-pty.js';

describe('reading a PTY into one buffer', () => {
  it('is available on this Node, and hands over every byte, in order, across pause and resume', async () => {
    const pty = spawnPty({
      file: '/bin/sh',
      args: ['-c', 'stty -echo; seq 1 50000'],
      cwd: '/tmp',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm' },
      cols: 80,
      rows: 24,
    });
    const chunks: Buffer[] = [];
    let views = 0;
    const engaged = readIntoOneBuffer(pty, (view) => {
      views++;
      chunks.push(Buffer.from(view));
      // Pausing mid-stream must hold the output in the kernel, not lose it.
      if (views === 3) {
        pty.pause();
        setTimeout(() => pty.resume(), 50);
      }
    });
    expect(engaged).toBe(true);
    // What the kernel still holds when the program exits (see drainAtEnd), as the session reads it.
    drainAtEnd(pty, (chunk) => chunks.push(Buffer.from(chunk)));
    let dataEvents = 0;
    pty.onData(() => dataEvents++);
    await new Promise<void>((resolve) => pty.onExit(() => resolve()));
    const expected = `${Array.from({ length: 50000 }, (_, i) => String(i + 1)).join('\r\n')}\r\n`;
    expect(Buffer.concat(chunks).toString()).toBe(expected);
    expect(views).toBeGreaterThan(3);
    // The stream's own 'data' path is off: nothing is read twice.
    expect(dataEvents).toBe(0);
  });
});
