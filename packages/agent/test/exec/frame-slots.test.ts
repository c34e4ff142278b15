import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FrameSlots, type WasmApi } from '../../src/exec/frames/frame-slots.js';

const HEADS = [Buffer.from('event: stdout\ndata: {"data":"'), Buffer.from('event: stderr\ndata: {"data":"')] as const;
const TAIL = Buffer.from('"}\n\n');

function slots(): FrameSlots {
  const made = FrameSlots.create();
  if (made === undefined) throw new Error('this Node has WebAssembly SIMD: the encoder must load');
  return made;
}

describe('WebAssembly frame slots', () => {
  it('build the same bytes as Buffer base64 framing, for every chunk size 0..70 KiB', () => {
    const frames = slots();
    const source = randomBytes(70 * 1024 + 64);
    // base64 of the source from each start: the text of `size` bytes from there is its first
    // 4 * floor(size / 3) characters, then the last group (with padding) of the 0..2 bytes left.
    const texts = Array.from({ length: 64 }, (_, start) => Buffer.from(source.subarray(start).toString('base64'), 'latin1'));
    for (let size = 0; size <= 70 * 1024; size++) {
      // A start that moves with the size: every alignment of the input is met.
      const start = (size * 7) % 64;
      const data = source.subarray(start, start + size);
      const head = HEADS[size % 2] as Buffer;
      const frame = frames.frame(head, TAIL, data);
      if (frame === undefined) throw new Error(`no frame for ${size} bytes`);
      const whole = Math.floor(size / 3) * 4;
      const last = data.subarray(size - (size % 3)).toString('base64');
      const same =
        frame.length === head.length + whole + last.length + TAIL.length &&
        frame.compare(head, 0, head.length, 0, head.length) === 0 &&
        frame.compare(texts[start] as Buffer, 0, whole, head.length, head.length + whole) === 0 &&
        frame.toString('latin1', head.length + whole) === last + TAIL.toString('latin1');
      if (!same) expect.fail(`frame of ${size} bytes (start ${start}) differs`);
      frames.release(frame);
    }
    expect(frames.free).toBe(FrameSlots.SLOT_COUNT);
  });

  it('give each busy frame its own slot, and none once all are busy', () => {
    const frames = slots();
    const chunks = Array.from({ length: FrameSlots.SLOT_COUNT }, (_, i) => randomBytes(FrameSlots.MAX_CHUNK - i));
    const held = chunks.map((chunk) => frames.frame(HEADS[0], TAIL, chunk) as Buffer);
    expect(frames.free).toBe(0);
    expect(frames.frame(HEADS[0], TAIL, Buffer.from('x'))).toBeUndefined();
    // Every frame still holds its own chunk after all the others were written.
    held.forEach((frame, i) => {
      expect(frame.equals(Buffer.concat([HEADS[0], Buffer.from((chunks[i] as Buffer).toString('base64')), TAIL]))).toBe(true);
    });
    frames.release(held[5] as Buffer);
    frames.release(held[5] as Buffer); // a second release of the same slot changes nothing
    frames.release(Buffer.alloc(10)); // nor does a Buffer that is not a slot's
    expect(frames.free).toBe(1);
    const again = frames.frame(HEADS[1], TAIL, Buffer.from('hi'));
    expect(again?.toString()).toBe('event: stderr\ndata: {"data":"aGk="}\n\n');
    expect(again?.byteOffset).toBe(held[5]?.byteOffset);
  });

  it('leave a chunk larger than a slot to the copying path', () => {
    const frames = slots();
    expect(frames.frame(HEADS[0], TAIL, Buffer.alloc(FrameSlots.MAX_CHUNK))).toBeDefined();
    expect(frames.frame(HEADS[0], TAIL, Buffer.alloc(FrameSlots.MAX_CHUNK + 1))).toBeUndefined();
    expect(frames.free).toBe(FrameSlots.SLOT_COUNT - 1);
  });

  it('are not made where WebAssembly is missing or refuses the module', () => {
    expect(FrameSlots.create({})).toBeUndefined();
    // An engine without WebAssembly SIMD refuses to compile the module.
    const real = (globalThis as unknown as { WebAssembly: WasmApi & { CompileError: new (message: string) => Error } }).WebAssembly;
    const noSimd: WasmApi = {
      Memory: real.Memory,
      Instance: real.Instance,
      Module: class {
        constructor() {
          throw new real.CompileError('WebAssembly.Module(): Wasm SIMD unsupported');
        }
      },
    };
    expect(FrameSlots.create({ WebAssembly: noSimd })).toBeUndefined();
  });
});
