import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MatchCollector } from '../../src/search/match-collector.js';
import { buildRgArgs, type ContentSearch, rgOutputFor } from '../../src/search/rg-args.js';
import { runRipgrep } from '../../src/search/rg-run.js';
import { RgTextReader } from '../../src/search/rg-text-reader.js';
import { defaultRgCandidates, RipgrepLocator } from '../../src/search/ripgrep-locator.js';

// The text output (RgTextReader) must give the same answer, byte for byte, as `--json` (RgJsonReader)
// for every input: both are run on the same hostile tree and their answers compared.

let rg: string;
let root: string;
const HEAD = Buffer.from('{"success":true,"results":');
const MAX_TEXT = 32 * 1024 * 1024;
const WARNING = ': WARNING: stopped searching binary file after match (found "\\0" byte around offset ';

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

beforeAll(async () => {
  const found = await new RipgrepLocator(defaultRgCandidates).find();
  if (!found) throw new Error('these tests need ripgrep (scripts/system-deps.sh installs it)');
  rg = found.path;
  root = await mkdtemp(path.join(os.tmpdir(), 'cove-rg-text-'));
  const files: Array<[string | Buffer, string | Buffer]> = [
    ['crlf.txt', 'needle one\r\nbar\r\nneedle two\r\nlast\r\n'],
    ['quotes.txt', 'say "needle" and \\needle\\\n\tneedle\twith tabs\nctrl \x01\x1f needle\nDEL \x7f needle\n'],
    ['unicode.txt', 'héllo ✓ 𝄞 needle\nnéedle needle\n𝄞needle\r\n'],
    ['noeol.txt', 'first needle\nno newline needle'],
    ['digits.txt', '12:34:needle\n5\x01needle\n'],
    ['mid\r.txt', 'needle with \r inside\n'],
    ['a:b-1:2.txt', 'needle\n'],
    ['-dash.txt', 'needle\n'],
    ['we"ird\\name.txt', 'needle\n'],
    ['sub dir/ünï.txt', 'needle\n'],
    [`new\nline.txt`, 'x needle\n'],
    [`two\n\nbreaks\n`, 'needle\n'],
    ['long.js', `${'x'.repeat(3000)}needle\n`],
    ['long-unicode.js', `${'é'.repeat(1500)} needle ${'ü'.repeat(900)}\n`],
    ['long-ascii-then-not.js', `${'y'.repeat(1200)}é needle\n`],
    ['cap/ctx.txt', `${Array.from({ length: 30 }, (_, i) => (i % 7 === 3 ? `needle ${i}` : `line ${i}`)).join('\n')}\n`],
    ['empty-lines.txt', '\n\nneedle\n\n\n'],
    // Binary: a NUL at once (skipped), and one after a match (rg prints the match, then a warning).
    ['bin-early.dat', bytes('needle\0\0\0 needle\n')],
    ['bin-late.dat', bytes('needle first\n', 'a'.repeat(70000), '\nneedle\0late needle\n')],
    [Buffer.from('latin1-\xe9.txt', 'latin1'), bytes([0x63, 0x61, 0x66, 0xe9, 0x20], 'needle ', [0xff, 0x0a])],
    [Buffer.from([0x62, 0xff, 0x2e, 0x74, 0x78, 0x74]), bytes([0xe2, 0x82], ' needle\n', [0xc3], 'needle', [0xe9, 0x0d, 0x0a])],
  ];
  for (const [name, content] of files) {
    const full = Buffer.isBuffer(name) ? Buffer.concat([Buffer.from(`${root}/`), name]) : path.join(root, name);
    await mkdir(path.dirname(full.toString()), { recursive: true });
    await writeFile(full, content);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function search(over: Partial<ContentSearch>): ContentSearch {
  return {
    query: 'needle',
    root,
    rootIsDir: true,
    caseSensitive: true,
    regex: false,
    wholeWord: false,
    maxResults: 1_000_000,
    timeoutMs: 30_000,
    contextLines: 0,
    fileTypes: [],
    includeHidden: false,
    noGitignore: false,
    ignorePatterns: [],
    ...over,
  };
}

async function answers(s: ContentSearch, maxTextChars = MAX_TEXT) {
  const json = await runRipgrep(rg, s, { maxTextChars, output: 'json', head: HEAD });
  const text = await runRipgrep(rg, s, { maxTextChars, output: 'text', head: HEAD });
  return { json: json.collector.body().toString('utf8'), text: text.collector.body().toString('utf8'), output: text.output };
}

describe('rg text output against --json', () => {
  const cases: Array<[string, Partial<ContentSearch>]> = [
    ['a literal', {}],
    ['ignoring case', { caseSensitive: false, query: 'NEEDLE' }],
    ['whole words', { wholeWord: true }],
    ['a multi-byte literal', { query: 'é' }],
    ['a regex for the end of lines (empty matches, some after a \\r, one without column)', { regex: true, query: '$' }],
    ['a regex for line starts', { regex: true, query: '^' }],
    ['a regex matching empty everywhere', { regex: true, query: 'z*' }],
    ['a regex for carriage returns', { regex: true, query: '\\r' }],
    ['a regex for digits and colons', { regex: true, query: '[0-9]+:' }],
    ['a regex for non-ASCII', { regex: true, query: '[^\\x00-\\x7f]+' }],
    ['a match starting inside a character (the second byte of é)', { regex: true, query: '(?-u:\\xA9)' }],
    ['a match of invalid UTF-8 bytes', { regex: true, query: '(?-u:\\xFF)' }],
    ['context lines', { contextLines: 2 }],
    ['context lines of an everywhere-match', { contextLines: 1, regex: true, query: 'e' }],
    ['hidden and ignored files', { includeHidden: true, noGitignore: true }],
  ];
  for (const [name, over] of cases) {
    it(`answers the same for ${name}`, async () => {
      const { json, text, output } = await answers(search(over));
      expect(output).toBe('text');
      expect(text).toBe(json);
      expect(JSON.parse(text).total_matches).toBeGreaterThan(0);
    });
  }

  it('covers what it means to: binary files, non-UTF-8 names and lines, a name with a line break', async () => {
    const { text } = await answers(search({}));
    const body = JSON.parse(text) as { results: Record<string, Array<{ line: number; column: number; text: string }>> };
    expect(body.results['bin-late.dat']).toEqual([{ line: 1, column: 1, text: 'needle first' }]);
    expect(body.results['bin-early.dat']).toBeUndefined();
    expect(body.results['new\nline.txt']).toEqual([{ line: 1, column: 3, text: 'x needle' }]);
    expect(body.results['b\uFFFD.txt']).toEqual([
      { line: 1, column: 3, text: '\uFFFD needle' },
      { line: 2, column: 2, text: '\uFFFDneedle\uFFFD' },
    ]);
    expect(body.results['unicode.txt']?.[2]).toEqual({ line: 3, column: 3, text: '𝄞needle' });
    expect(body.results['long-ascii-then-not.js']?.[0]).toMatchObject({ column: 1203, truncated: true });
  });

  it('gives the column of an empty match after a final \\r the same way for any line', async () => {
    const { json, text } = await answers(search({ regex: true, query: '$' }));
    expect(text).toBe(json);
    const results = JSON.parse(text).results;
    // 𝄞 (two code units) then `needle` and the \r: the end of the line is after the \r, at code unit 10,
    // as for an ASCII line (after `needle one\r`: 12).
    expect(results['unicode.txt']?.[2]).toEqual({ line: 3, column: 10, text: '𝄞needle' });
    expect(results['crlf.txt']?.[0]).toEqual({ line: 1, column: 12, text: 'needle one' });
  });

  it('answers the same when max_results or the text budget cuts the search', async () => {
    const one = search({ root: path.join(root, 'cap') });
    for (const over of [{ maxResults: 2 }, { maxResults: 2, contextLines: 3 }, { maxResults: 4 }, { maxResults: 5 }]) {
      const { json, text } = await answers({ ...one, ...over });
      expect(text).toBe(json);
      // Four lines match.
      expect(JSON.parse(text).capped).toBe(over.maxResults < 4);
    }
    const { json, text } = await answers(one, 20);
    expect(text).toBe(json);
    expect(JSON.parse(text).capped).toBe(true);
  });

  it("answers once the output ends with rg's summary, without waiting to hear that rg exited", async () => {
    const exits: number[] = [];
    for (const query of ['needle', 'no such text anywhere']) {
      for (const output of ['json', 'text'] as const) {
        const r = await runRipgrep(rg, search({ query }), { maxTextChars: MAX_TEXT, output, onExit: (pid) => exits.push(pid) });
        // The exit code is what a settled-on-exit answer carries; the summary came first.
        expect(r.exitCode).toBeNull();
        expect(r.collector.totalMatches > 0).toBe(query === 'needle');
      }
    }
    // rg's exit is still seen to (onExit), after the answer.
    await vi.waitFor(() => expect(exits).toHaveLength(4));
  });

  it('uses the text output for directories with ripgrep 13 or later only', () => {
    const dir = search({});
    expect(rgOutputFor(dir, 'ripgrep 13.0.0')).toBe('text');
    expect(rgOutputFor(dir, 'ripgrep 14.1.1 (rev 4649aa9700)')).toBe('text');
    expect(rgOutputFor(dir, 'ripgrep 12.1.1')).toBe('json');
    expect(rgOutputFor({ ...dir, rootIsDir: false }, 'ripgrep 14.1.1')).toBe('json');
  });
});

describe('file names that read like rg messages', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cove-rg-lookalike-'));
    await writeFile(path.join(dir, 'bin.dat'), bytes('needle first\n', 'a'.repeat(70000), '\n\0'));
    await writeFile(path.join(dir, 'plain.txt'), 'needle\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a real warning as a warning', async () => {
    const r = await runRipgrep(rg, search({ root: dir }), { maxTextChars: MAX_TEXT, output: 'text' });
    expect(r.output).toBe('text');
    expect(JSON.parse(r.collector.resultsJson())).toEqual({
      'bin.dat': [{ line: 1, column: 1, text: 'needle first' }],
      'plain.txt': [{ line: 1, column: 1, text: 'needle' }],
    });
  });

  it('runs the search again with --json when a name beside a binary file could pass for its warning', async () => {
    const sub = path.join(dir, `bin.dat${WARNING}70013)\n`);
    await mkdir(path.join(sub, dir), { recursive: true });
    await writeFile(path.join(sub, dir, 'plain.txt'), 'needle\n');
    try {
      const s = search({ root: dir });
      const r = await runRipgrep(rg, s, { maxTextChars: MAX_TEXT, output: 'text', head: HEAD });
      expect(r.output).toBe('json');
      const json = await runRipgrep(rg, s, { maxTextChars: MAX_TEXT, output: 'json', head: HEAD });
      expect(r.collector.body().toString()).toBe(json.collector.body().toString());
      expect(Object.keys(JSON.parse(r.collector.body().toString()).results)).toContain(`bin.dat${WARNING}70013)\n${dir}/plain.txt`);
    } finally {
      await rm(sub, { recursive: true, force: true });
    }
  });
});

describe('RgTextReader on crafted output', () => {
  // Paths under the test tree (`/w/` stands for it): the reader looks beside them for look-alike names.
  const b = (...parts: Array<string | number[]>) =>
    bytes(...parts.map((p) => (typeof p === 'string' ? p.replaceAll('/w/', `${root}/`) : p)));
  function read(output: Buffer, chunk = output.length, contextLines = 0) {
    const collector = new MatchCollector({ maxResults: 1000, contextLines, maxTextChars: MAX_TEXT });
    const reader = new RgTextReader(collector, root);
    let verdict = 'continue';
    for (let i = 0; i < output.length && verdict === 'continue'; i += chunk) verdict = reader.push(output.subarray(i, i + chunk));
    if (verdict === 'continue') collector.finish();
    return { reader, results: JSON.parse(collector.resultsJson()) as Record<string, unknown[]>, verdict };
  }

  const sample = () =>
    b(
      '/w/a.txt\x001\x005\x00abc needle\n',
      '/w/a.txt\x002\x01context line\r\n',
      '/w/a.txt\x003\x00needle at end\r\n',
      '--\n',
      '/w/a.txt\x0010\x0013\x00x "q" \\ ',
      [0xc3, 0xa9, 0xff],
      ' needle\n',
      '/w/a.txt: WARNING: stopped searching binary file after match (found "\\0" byte around offset 99)\n',
      '/w/b.txt\x007\x0012:ab\n',
      '/w/b.txt\x008\x00',
      'z'.repeat(1200),
      '\n',
      '\n3 matches\n3 matched lines\n/w/not-a-record\x001\x001\x00x\n',
    );
  const expected = {
    'a.txt': [
      { line: 1, column: 5, text: 'abc needle' },
      { line: 3, column: 1, text: 'needle at end' },
      { line: 10, column: 12, text: 'x "q" \\ é\uFFFD needle' },
    ],
    'b.txt': [
      { line: 7, column: 1, text: '12:ab' },
      { line: 8, column: 1, text: 'z'.repeat(1000), truncated: true },
    ],
  };

  it('reads every kind of line, split anywhere', () => {
    const out = sample();
    for (const chunk of [out.length, 1, 2, 3, 5, 7, 13, 64, 100]) {
      const { reader, results, verdict } = read(out, chunk);
      expect(verdict, `chunks of ${chunk}`).toBe('continue');
      expect(results, `chunks of ${chunk}`).toEqual(expected);
      expect(reader.sawSummary).toBe(true);
      expect(reader.ambiguous).toBe(false);
    }
  });

  it('keeps context lines and resets them between files', () => {
    const out = b('/w/a.txt\x001\x01before\n/w/a.txt\x002\x001\x00needle\n/w/b.txt\x001\x001\x00needle\n/w/b.txt\x002\x01after\r\n');
    for (const chunk of [out.length, 1, 4]) {
      expect(read(out, chunk, 1).results).toEqual({
        'a.txt': [{ line: 2, column: 1, text: 'needle', context_before: ['before'], context_after: [] }],
        'b.txt': [{ line: 1, column: 1, text: 'needle', context_before: [], context_after: ['after'] }],
      });
    }
  });

  it('says the output is ambiguous when a path with a line break does not exist', () => {
    const out = b('/w/a.txt\x001\x001\x00needle\n/w/some message\n/w/b.txt\x001\x001\x00needle\n');
    const { reader, verdict } = read(out);
    expect(verdict).toBe('stop');
    expect(reader.ambiguous).toBe(true);
  });

  it('skips a record longer than its limit without keeping it, and reads on', () => {
    const out = b('/w/a.txt\x001\x001\x00needle\n/w/a.txt\x002\x001\x00', 'y'.repeat(200), '\n/w/a.txt\x003\x001\x00needle 3\n');
    for (const chunk of [16, 7]) {
      const collector = new MatchCollector({ maxResults: 1000, contextLines: 0, maxTextChars: MAX_TEXT });
      const reader = new RgTextReader(collector, root, 64);
      for (let i = 0; i < out.length; i += chunk) expect(reader.push(out.subarray(i, i + chunk))).toBe('continue');
      collector.finish();
      expect(reader.skippedLines).toBe(1);
      expect(JSON.parse(collector.resultsJson())).toEqual({
        'a.txt': [
          { line: 1, column: 1, text: 'needle' },
          { line: 3, column: 1, text: 'needle 3' },
        ],
      });
    }
  });

  it('has no summary when rg stopped before its statistics', () => {
    const { reader } = read(b('/w/a.txt\x001\x001\x00needle\n'));
    expect(reader.sawSummary).toBe(false);
  });

  it('asks rg for the output it reads', () => {
    const args = buildRgArgs(search({ root: '/w' }), 'text');
    expect(args).not.toContain('--json');
    expect(args.slice(-3)).toEqual(['needle', '--', '/w']);
    // The real rg accepts them and writes what the reader expects.
    const out = execFileSync(rg, buildRgArgs(search({ root, query: 'needle first' }), 'text'));
    expect(out.includes(Buffer.from('/crlf.txt'))).toBe(false);
    expect(out.includes(Buffer.from(`${root}/bin-late.dat\x001\x001\x00needle first\n`))).toBe(true);
  });
});
