import { describe, expect, it } from 'vitest';
import { MatchCollector } from '../../src/search/match-collector.js';

const collector = (head = '') =>
  new MatchCollector({ maxResults: 1_000_000, contextLines: 0, maxTextChars: 1 << 25, head: Buffer.from(head) });

/** A deterministic shuffle (the order rg's threads finish files in). */
function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  let seed = 7;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('MatchCollector', () => {
  it('orders files by key in code units, however many and in whatever order they come', () => {
    for (const count of [10, 5000]) {
      const keys = Array.from({ length: count }, (_, i) => `dir${i % 13}/file${i}.go`);
      // Keys beyond the BMP sort by their surrogates (before U+E000–U+FFFF), as the default sort does.
      keys.push('\uFFFF.txt', '𝄞.txt', 'é.txt', 'Z.txt', 'a"quote.txt');
      const c = collector();
      const src = Buffer.from('x needle');
      for (const key of shuffled(keys)) expect(c.matchAscii(key, 1, 3, src, 0, src.length)).toBe('continue');
      c.finish();
      const results = JSON.parse(c.resultsJson()) as Record<string, unknown>;
      expect(Object.keys(results)).toEqual([...keys].sort());
      expect(c.totalFiles).toBe(keys.length);
    }
  });

  it('puts the matches of a key that comes back under one key', () => {
    const c = collector();
    const line = Buffer.from('needle');
    c.matchAscii('a.txt', 1, 1, line, 0, line.length);
    c.matchAscii('b.txt', 1, 1, line, 0, line.length);
    c.match('a.txt', 9, 'né needle', 4);
    c.finish();
    expect(JSON.parse(c.resultsJson())).toEqual({
      'a.txt': [
        { line: 1, column: 1, text: 'needle' },
        { line: 9, column: 4, text: 'né needle' },
      ],
      'b.txt': [{ line: 1, column: 1, text: 'needle' }],
    });
    expect(c.totalFiles).toBe(2);
  });

  it('writes the whole answer, and a finished answer stays intact while the next search reuses the scratch buffer', () => {
    const first = collector('{"results":');
    const line = Buffer.from('x'.repeat(2000));
    for (let i = 1; i <= 100; i++) first.matchAscii(`f${i}`, i, 1, line, 0, line.length);
    first.finish();
    const body = first.body();
    const text = body.toString();
    const parsed = JSON.parse(text);
    expect(parsed).toMatchObject({ total_matches: 100, total_files: 100, capped: false });
    expect(parsed.results.f1).toEqual([{ line: 1, column: 1, text: 'x'.repeat(1000), truncated: true }]);

    const second = collector('{"results":');
    const other = Buffer.from('y'.repeat(500));
    for (let i = 1; i <= 300; i++) second.matchAscii(`g${i}`, i, 7, other, 0, other.length);
    second.finish();
    expect(JSON.parse(second.body().toString())).toMatchObject({ total_matches: 300, total_files: 300 });
    expect(body.toString()).toBe(text);
  });

  it('writes the totals as they are when the answer is taken (capped set after the output ended)', () => {
    const c = collector('{"results":');
    c.match('k', 1, 'a', 1, true);
    c.finish();
    c.capped = true;
    expect(JSON.parse(c.body().toString())).toEqual({
      results: { k: [{ line: 1, column: 1, text: 'a' }] },
      total_matches: 1,
      total_files: 1,
      capped: true,
    });
  });
});
