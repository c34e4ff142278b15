// The frame boundaries the gateway follows to put a close frame of its own between two of the agent's.
import { describe, expect, it } from 'vitest';
import { closeFrame, FrameBoundaries } from '../src/ws-frames.js';

/** A frame as a server (unmasked) or a client (`mask`) sends it, with the shortest length encoding. */
function frame(opcode: number, payload: Buffer, mask?: Buffer): Buffer {
  const n = payload.length;
  const length = n < 126 ? Buffer.of(n) : n < 65_536 ? Buffer.of(126, n >> 8, n & 0xff) : Buffer.alloc(9);
  if (n >= 65_536) {
    length[0] = 127;
    length.writeUInt32BE(Math.floor(n / 2 ** 32), 1);
    length.writeUInt32BE(n % 2 ** 32, 5);
  }
  if (mask !== undefined) length[0] = (length[0] as number) | 0x80;
  return Buffer.concat([Buffer.of(0x80 | opcode), length, mask ?? Buffer.alloc(0), payload]);
}

/** Feeds `bytes` in pieces of `size`, noting after each piece whether it is between frames. */
function follow(bytes: Buffer, size: number): { boundaries: number[]; frames: FrameBoundaries } {
  const frames = new FrameBoundaries();
  const boundaries: number[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    frames.feed(bytes.subarray(at, at + size));
    if (frames.atBoundary) boundaries.push(Math.min(at + size, bytes.length));
  }
  return { boundaries, frames };
}

describe('FrameBoundaries', () => {
  const small = frame(0x1, Buffer.from('hi'));
  const medium = frame(0x2, Buffer.alloc(300, 7));
  const large = frame(0x2, Buffer.alloc(70_000, 1));
  const masked = frame(0x1, Buffer.from('masked'), Buffer.of(1, 2, 3, 4));
  const stream = Buffer.concat([small, medium, large, masked]);
  const ends = [small.length, small.length + medium.length, small.length + medium.length + large.length, stream.length];

  it('finds every frame end, whatever the pieces the bytes come in (7-, 16- and 64-bit lengths, masked or not)', () => {
    for (const size of [1, 3, 13, 1000, stream.length]) {
      const { boundaries, frames } = follow(stream, size);
      // Every boundary seen is a real frame end, and the stream ends on one.
      for (const b of boundaries) expect(ends).toContain(b);
      expect(frames.atBoundary).toBe(true);
      expect(frames.closeSeen).toBe(false);
    }
    expect(follow(stream, 1).boundaries).toEqual(ends);
  });

  it('is not at a boundary inside a header or a payload', () => {
    const frames = new FrameBoundaries();
    frames.feed(medium.subarray(0, 1));
    expect(frames.atBoundary).toBe(false);
    frames.feed(medium.subarray(1, 10));
    expect(frames.atBoundary).toBe(false);
    frames.feed(medium.subarray(10));
    expect(frames.atBoundary).toBe(true);
  });

  it('notices the close frame of the far side', () => {
    const frames = new FrameBoundaries();
    frames.feed(Buffer.concat([small, closeFrame(1000, 'bye')]));
    expect(frames.closeSeen).toBe(true);
    expect(frames.atBoundary).toBe(true);
  });

  it('builds a close frame with its code and reason', () => {
    expect([...closeFrame(1011, 'gone')]).toEqual([0x88, 6, 0x03, 0xf3, ...Buffer.from('gone')]);
  });
});
