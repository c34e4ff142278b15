import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSearchDomain } from '../../src/search/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { processAlive, qs, writeTree } from './helpers.js';

interface Match {
  line: number;
  column: number;
  text: string;
  truncated?: true;
  context_before?: string[];
  context_after?: string[];
}
interface SearchBody {
  success: boolean;
  query: string;
  path: string;
  results: Record<string, Match[]>;
  total_matches: number;
  total_files: number;
  capped: boolean;
}

let t: TestAgent;
let proj: string;
const pids: number[] = [];

beforeAll(async () => {
  t = await startTestAgent({ domains: [createSearchDomain({ onSpawn: (pid) => pids.push(pid) })] });
  proj = path.join(t.workdir, 'proj');
  await writeTree(proj, {
    'src/server.go': 'package main\n\nfunc handleRequest(w http.ResponseWriter, r *http.Request) {\n\thandleRequest(w, r)\n}\n',
    'src/router.go': '\trouter.HandleFunc("/", handleRequest)\n',
    'README.md': 'nothing here\nhandlerequest in lower case\n',
    '.hidden/secret.txt': 'handleRequest hidden\n',
    '.gitignore': 'build/\n*.log\n',
    'build/out.go': 'handleRequest built\n',
    'debug.log': 'handleRequest logged\n',
    'node_modules/dep/index.js': 'handleRequest in a dependency\n',
  });
  await writeTree(path.join(t.workdir, 'misc'), {
    'bin.dat': Buffer.concat([Buffer.from('needle\0\0\0'), Buffer.alloc(64, 0), Buffer.from('needle\n')]),
    'latin1.txt': Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6e, 0x65, 0x65, 0x64, 0x6c, 0x65, 0x0a]),
    'utf.txt': 'héllo wörld needle\r\n',
    'long.min.js': `${'x'.repeat(3000)}needle\n`,
    'dash.txt': 'plain\n-v flag\n--help here\n',
    'special.txt': 'a.b\naxb\nA.B\n',
    'words.txt': 'cat\ncatalog\nthe cat sat\n',
    'code.py': 'needle = 1\n',
    'code.js': 'const needle = 1;\n',
    'code.ts': 'let needle = 1;\n',
    'weird dir/ünï.txt': 'needle\n',
    // A computed key: a literal `__proto__:` would set the prototype instead.
    ['__proto__']: 'needle\n',
  });
  const lines = Array.from({ length: 20 }, (_, i) => (i + 1 === 5 || i + 1 === 7 || i + 1 === 20 ? `MATCH ${i + 1}` : `line ${i + 1}`));
  await writeTree(path.join(t.workdir, 'ctx'), { 'c.txt': `${lines.join('\n')}\n` });
  await writeTree(path.join(t.workdir, 'many'), {
    'a.txt': `${Array.from({ length: 50 }, (_, i) => `hit ${i + 1}`).join('\n')}\n`,
    'b.txt': 'hit b1\nhit b2\n',
  });
});

afterAll(async () => {
  await t.close();
});

async function search(params: Record<string, string | number | boolean | undefined>) {
  return t.json<SearchBody>('GET', `/files/search${qs(params)}`);
}

describe('GET /files/search — the reference shape', () => {
  it('answers matches grouped by file, keyed relative to path, with 1-based columns', async () => {
    const { status, body } = await search({ q: 'handleRequest', path: `${proj}/src`, case_sensitive: true });
    expect(status).toBe(200);
    expect(body).toEqual({
      success: true,
      query: 'handleRequest',
      path: `${proj}/src`,
      results: {
        'router.go': [{ line: 1, column: 25, text: '\trouter.HandleFunc("/", handleRequest)' }],
        'server.go': [
          { line: 3, column: 6, text: 'func handleRequest(w http.ResponseWriter, r *http.Request) {' },
          { line: 4, column: 2, text: '\thandleRequest(w, r)' },
        ],
      },
      total_matches: 3,
      total_files: 2,
      capped: false,
    });
  });

  it('keys nested files by their path under the searched directory', async () => {
    const { body } = await search({ q: 'handleRequest', path: proj, case_sensitive: true });
    expect(Object.keys(body.results)).toEqual(['node_modules/dep/index.js', 'src/router.go', 'src/server.go']);
    expect(body.total_files).toBe(3);
  });

  it('answers the same when rg is spawned by the agent itself (spawner: node)', async () => {
    const own = await startTestAgent({ domains: [createSearchDomain({ spawner: 'node' })] });
    try {
      for (const params of [
        { q: 'needle', path: `${t.workdir}/misc` },
        { q: 'MATCH', path: `${t.workdir}/ctx`, context_lines: 2 },
      ]) {
        const [a, b] = [await search(params), await own.json<SearchBody>('GET', `/files/search${qs(params)}`)];
        expect(b.status).toBe(200);
        expect(b.body).toEqual(a.body);
      }
    } finally {
      await own.close();
    }
  });

  it('searches a single file, keyed by its name', async () => {
    const { status, body } = await search({ q: 'handleRequest', path: `${proj}/src/server.go` });
    expect(status).toBe(200);
    expect(Object.keys(body.results)).toEqual(['server.go']);
    expect(body.total_matches).toBe(2);
  });

  it('resolves a relative path against the workdir and reports it absolute', async () => {
    const { body } = await search({ q: 'handleRequest', path: 'proj/src' });
    expect(body.path).toBe(`${proj}/src`);
    expect(body.total_matches).toBe(3);
  });

  it('answers an empty result (rg exit 1) as success', async () => {
    const { status, body } = await search({ q: 'no-such-text-anywhere-42', path: proj });
    expect(status).toBe(200);
    expect(body).toEqual({
      success: true,
      query: 'no-such-text-anywhere-42',
      path: proj,
      results: {},
      total_matches: 0,
      total_files: 0,
      capped: false,
    });
  });

  it('keys odd file names as they are (spaces, non-ASCII, __proto__)', async () => {
    const { body } = await search({ q: 'needle', path: `${t.workdir}/misc`, file_types: 'txt' });
    expect(Object.keys(body.results)).toContain('weird dir/ünï.txt');
    const all = await search({ q: 'needle', path: `${t.workdir}/misc`, ignore_patterns: '*.*' });
    expect(Object.keys(all.body.results)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(all.body.results, '__proto__')?.value).toEqual([{ line: 1, column: 1, text: 'needle' }]);
  });
});

describe('matching options', () => {
  it('is case-insensitive by default and case-sensitive on request', async () => {
    const loose = await search({ q: 'HANDLEREQUEST', path: `${proj}/README.md` });
    expect(loose.body.results['README.md']).toEqual([{ line: 2, column: 1, text: 'handlerequest in lower case' }]);
    const strict = await search({ q: 'HANDLEREQUEST', path: `${proj}/README.md`, case_sensitive: true });
    expect(strict.body.total_matches).toBe(0);
  });

  it('treats the query literally unless regex=true', async () => {
    const literal = await search({ q: 'a.b', path: `${t.workdir}/misc/special.txt`, case_sensitive: true });
    expect(literal.body.results['special.txt']?.map((m) => m.text)).toEqual(['a.b']);
    const regex = await search({ q: 'a.b', path: `${t.workdir}/misc/special.txt`, case_sensitive: true, regex: true });
    expect(regex.body.results['special.txt']?.map((m) => m.text)).toEqual(['a.b', 'axb']);
    const anchored = await search({ q: '^A\\.B$', path: `${t.workdir}/misc/special.txt`, regex: true, case_sensitive: true });
    expect(anchored.body.results['special.txt']).toEqual([{ line: 3, column: 1, text: 'A.B' }]);
  });

  it('matches whole words only with whole_word', async () => {
    const any = await search({ q: 'cat', path: `${t.workdir}/misc/words.txt` });
    expect(any.body.total_matches).toBe(3);
    const whole = await search({ q: 'cat', path: `${t.workdir}/misc/words.txt`, whole_word: true });
    expect(whole.body.results['words.txt']).toEqual([
      { line: 1, column: 1, text: 'cat' },
      { line: 3, column: 5, text: 'the cat sat' },
    ]);
  });

  it('takes a query that starts with - as text, never as an option', async () => {
    const { status, body } = await search({ q: '-v', path: `${t.workdir}/misc/dash.txt` });
    expect(status).toBe(200);
    expect(body.results['dash.txt']).toEqual([{ line: 2, column: 1, text: '-v flag' }]);
    const long = await search({ q: '--help', path: `${t.workdir}/misc/dash.txt` });
    expect(long.body.results['dash.txt']).toEqual([{ line: 3, column: 1, text: '--help here' }]);
    const files = await search({ q: '--files', path: `${t.workdir}/misc` });
    expect(files.body.total_matches).toBe(0);
  });

  it('filters by file_types (extensions, with or without dots)', async () => {
    const { body } = await search({ q: 'needle', path: `${t.workdir}/misc`, file_types: 'py, .js' });
    expect(Object.keys(body.results)).toEqual(['code.js', 'code.py', 'long.min.js']);
    const ts = await search({ q: 'needle', path: `${t.workdir}/misc`, file_types: '*.ts' });
    expect(Object.keys(ts.body.results)).toEqual(['code.ts']);
  });

  it('skips ignore_patterns globs', async () => {
    const { body } = await search({ q: 'handleRequest', path: proj, ignore_patterns: 'node_modules,router.go', case_sensitive: true });
    expect(Object.keys(body.results)).toEqual(['src/server.go']);
  });
});

describe('hidden files and .gitignore', () => {
  it('skips hidden and git-ignored files by default, even outside a git repository', async () => {
    const { body } = await search({ q: 'handleRequest', path: proj });
    expect(Object.keys(body.results)).not.toContain('.hidden/secret.txt');
    expect(Object.keys(body.results)).not.toContain('build/out.go');
    expect(Object.keys(body.results)).not.toContain('debug.log');
  });

  it('includes hidden files with include_hidden', async () => {
    const { body } = await search({ q: 'handleRequest', path: proj, include_hidden: true });
    expect(body.results['.hidden/secret.txt']).toEqual([{ line: 1, column: 1, text: 'handleRequest hidden' }]);
    expect(Object.keys(body.results)).not.toContain('build/out.go');
  });

  it('includes git-ignored files with no_gitignore', async () => {
    const { body } = await search({ q: 'handleRequest', path: proj, no_gitignore: true, case_sensitive: true });
    expect(Object.keys(body.results)).toEqual(['build/out.go', 'debug.log', 'node_modules/dep/index.js', 'src/router.go', 'src/server.go']);
  });
});

describe('context lines', () => {
  it('attaches the lines around each match, neighbouring matches included', async () => {
    const { body } = await search({ q: 'MATCH', path: `${t.workdir}/ctx`, context_lines: 2, case_sensitive: true });
    expect(body.results['c.txt']).toEqual([
      { line: 5, column: 1, text: 'MATCH 5', context_before: ['line 3', 'line 4'], context_after: ['line 6', 'MATCH 7'] },
      { line: 7, column: 1, text: 'MATCH 7', context_before: ['MATCH 5', 'line 6'], context_after: ['line 8', 'line 9'] },
      { line: 20, column: 1, text: 'MATCH 20', context_before: ['line 18', 'line 19'], context_after: [] },
    ]);
    expect(body.total_matches).toBe(3);
  });

  it('clips context at the start of the file', async () => {
    const { body } = await search({
      q: 'line 1',
      path: `${t.workdir}/ctx/c.txt`,
      context_lines: 3,
      case_sensitive: true,
      whole_word: true,
    });
    expect(body.results['c.txt']?.[0]).toEqual({
      line: 1,
      column: 1,
      text: 'line 1',
      context_before: [],
      context_after: ['line 2', 'line 3', 'line 4'],
    });
  });

  it('carries no context fields when context_lines is 0', async () => {
    const { body } = await search({ q: 'MATCH 5', path: `${t.workdir}/ctx`, context_lines: 0 });
    expect(body.results['c.txt']).toEqual([{ line: 5, column: 1, text: 'MATCH 5' }]);
  });
});

describe('encodings, binary files and long lines', () => {
  it('counts columns in characters and strips CRLF', async () => {
    const { body } = await search({ q: 'needle', path: `${t.workdir}/misc/utf.txt` });
    expect(body.results['utf.txt']).toEqual([{ line: 1, column: 13, text: 'héllo wörld needle' }]);
  });

  it('decodes non-UTF-8 lines (rg sends them base64) with replacement characters', async () => {
    const { body } = await search({ q: 'needle', path: `${t.workdir}/misc/latin1.txt` });
    expect(body.results['latin1.txt']).toEqual([{ line: 1, column: 6, text: 'caf\uFFFD needle' }]);
  });

  it('skips binary files found while walking a directory', async () => {
    const { body } = await search({ q: 'needle', path: `${t.workdir}/misc` });
    expect(Object.keys(body.results)).not.toContain('bin.dat');
  });

  it('cuts lines longer than 1000 characters and says so, keeping the true column', async () => {
    const { body } = await search({ q: 'needle', path: `${t.workdir}/misc/long.min.js` });
    const [m] = body.results['long.min.js'] ?? [];
    expect(m).toEqual({ line: 1, column: 3001, text: 'x'.repeat(1000), truncated: true });
  });
});

describe('max_results and capped', () => {
  it('stops at max_results matching lines and says capped', async () => {
    const { body } = await search({ q: 'hit', path: `${t.workdir}/many/a.txt`, max_results: 10 });
    expect(body.total_matches).toBe(10);
    expect(body.capped).toBe(true);
    expect(body.results['a.txt']?.map((m) => m.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('is not capped when exactly max_results lines match', async () => {
    const { body } = await search({ q: 'hit', path: `${t.workdir}/many/b.txt`, max_results: 2 });
    expect(body).toMatchObject({ total_matches: 2, capped: false });
  });

  it('counts lines across files', async () => {
    const { body } = await search({ q: 'hit', path: `${t.workdir}/many`, max_results: 51 });
    expect(body.total_matches).toBe(51);
    expect(body.capped).toBe(true);
    const all = await search({ q: 'hit', path: `${t.workdir}/many`, max_results: 1000 });
    expect(all.body).toMatchObject({ total_matches: 52, total_files: 2, capped: false });
  });

  it('defaults to 100', async () => {
    await writeTree(path.join(t.workdir, 'hundred'), { 'h.txt': `${'zzz\n'.repeat(150)}` });
    const { body } = await search({ q: 'zzz', path: `${t.workdir}/hundred` });
    expect(body).toMatchObject({ total_matches: 100, capped: true });
  });

  it('completes the after-context of the last kept match', async () => {
    const { body } = await search({ q: 'hit', path: `${t.workdir}/many/a.txt`, max_results: 2, context_lines: 1 });
    expect(body.results['a.txt']).toEqual([
      { line: 1, column: 1, text: 'hit 1', context_before: [], context_after: ['hit 2'] },
      { line: 2, column: 1, text: 'hit 2', context_before: ['hit 1'], context_after: ['hit 3'] },
    ]);
    expect(body.capped).toBe(true);
  });

  it('accepts a huge max_results', async () => {
    const { status, body } = await search({ q: 'hit', path: `${t.workdir}/many`, max_results: '99999999999999999999' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ total_matches: 52, capped: false });
  });

  it('leaves no rg process behind', async () => {
    expect(pids.length).toBeGreaterThan(10);
    // An answer can go out once rg's output ended with its summary, a moment before rg itself is gone.
    await vi.waitFor(() => expect(pids.filter(processAlive)).toEqual([]), { timeout: 5000 });
  });
});
