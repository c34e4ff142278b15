// The command log keeps the end of a task's output: only that end is decoded, and it is the same text the
// whole output's decoding would end with, never over the byte bound.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputRing } from '../../src/exec/output-ring.js';

/** What the end of the whole output is, decoded in full and cut by bytes at a character boundary. */
function expectedTail(all: Buffer, max: number): string {
  const text = Buffer.from(all.toString('utf8'), 'utf8');
  if (text.length <= max) return all.toString('utf8');
  let start = text.length - max;
  while (start < text.length && ((text[start] as number) & 0xc0) === 0x80) start++;
  return text.subarray(start).toString('utf8');
}

function ringOf(chunks: Buffer[], cap = 1 << 20): OutputRing {
  const ring = new OutputRing(cap);
  for (const [i, c] of chunks.entries()) ring.push(i, c);
  return ring;
}

describe('OutputRing.tailText', () => {
  it('text output: the same end as decoding everything, cut at a character boundary', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 600 }),
        (parts, max) => {
          const chunks = parts.map((p) => Buffer.from(p, 'utf8'));
          const { text, cut } = ringOf(chunks).tailText(max);
          const all = Buffer.concat(chunks);
          expect(text).toBe(expectedTail(all, max));
          expect(cut).toBe(all.length > max);
          expect(Buffer.byteLength(text)).toBeLessThanOrEqual(max);
        },
      ),
    );
  });

  it('a multi-byte character cut by the bound is left out whole', () => {
    const { text, cut } = ringOf([Buffer.from('abc€', 'utf8')]).tailText(2);
    expect(cut).toBe(true);
    expect(text).toBe('');
    expect(ringOf([Buffer.from('ab€', 'utf8')]).tailText(3)).toEqual({ text: '€', cut: true });
  });

  it('reads only the end of megabytes of output', () => {
    const big = Buffer.alloc(4 << 20, 0x61);
    big.write('THE END', big.length - 7);
    const ring = ringOf([big.subarray(0, 1 << 20), big.subarray(1 << 20)], 8 << 20);
    expect(ring.tailText(7)).toEqual({ text: 'THE END', cut: true });
  });
});
