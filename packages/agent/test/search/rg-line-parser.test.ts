import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePath, parseRgLine } from '../../src/search/rg-line-parser.js';

let dir: string;
let output: Buffer;

// Lines that exercise every JSON escape rg writes, and a file name that needs escaping too.
const TRICKY = [
  'say "needle" and \\needle\\',
  '\tneedle\twith tabs',
  'ctrl \x01\x1f needle',
  'unicode héllo ✓ 𝄞 needle',
  'needle at the end\r',
  'back\\\\slashes\\" needle "quoted\\',
  'needle',
];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cove-rg-parse-'));
  await writeFile(path.join(dir, 'we"ird\\name.txt'), `${TRICKY.join('\n')}\nno match here\n`);
  await writeFile(path.join(dir, 'latin1.txt'), Buffer.from([0x6e, 0x65, 0x65, 0x64, 0x6c, 0x65, 0x20, 0xe9, 0x0a]));
  // A file name that is not UTF-8: rg sends it base64.
  await writeFile(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x62, 0xff, 0x2e, 0x74, 0x78, 0x74])]), 'needle\n');
  output = execFileSync('rg', ['--json', '--no-config', '--context', '1', '-e', 'needle', '--', dir]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Data {
  path: { text?: string; bytes?: string };
  lines: { text?: string; bytes?: string };
  line_number: number;
  submatches: Array<{ start: number }>;
}
const decode = (f: { text?: string; bytes?: string }) => f.text ?? Buffer.from(f.bytes ?? '', 'base64').toString('utf8');

describe('parseRgLine', () => {
  it('reads every match and context line of real rg output exactly as JSON.parse does', () => {
    let checked = 0;
    let start = 0;
    for (let nl = output.indexOf(10); nl !== -1; start = nl + 1, nl = output.indexOf(10, start)) {
      const text = output.toString('utf8', start, nl);
      const msg = JSON.parse(text) as { type: string; data: Data };
      if (msg.type !== 'match' && msg.type !== 'context') continue;
      const parsed = parseRgLine(output, start, nl, msg.type === 'match');
      expect(parsed, text).not.toBeNull();
      if (!parsed) continue;
      expect(parsed.pathText, 'fast path taken').toBeUndefined();
      expect(decodePath(output, parsed)).toBe(decode(msg.data.path));
      expect(parsed.bytes === null ? parsed.text : parsed.bytes.toString('utf8')).toBe(decode(msg.data.lines));
      expect(parsed.lineNumber).toBe(msg.data.line_number);
      expect(parsed.start).toBe(msg.type === 'match' ? (msg.data.submatches[0]?.start ?? 0) : 0);
      checked++;
    }
    // Every tricky line matched, plus context and the two other files.
    expect(checked).toBeGreaterThanOrEqual(TRICKY.length + 3);
    expect(output.includes('"path":{"bytes":')).toBe(true);
    expect(output.includes('"lines":{"bytes":')).toBe(true);
  });

  it('lean: a plain line comes without its line break and needs no escape; any other line is as without lean', () => {
    let plain = 0;
    let start = 0;
    for (let nl = output.indexOf(10); nl !== -1; start = nl + 1, nl = output.indexOf(10, start)) {
      const msg = JSON.parse(output.toString('utf8', start, nl)) as { type: string; data: Data };
      if (msg.type !== 'match' && msg.type !== 'context') continue;
      const full = parseRgLine(output, start, nl, msg.type === 'match');
      const lean = parseRgLine(output, start, nl, msg.type === 'match', true);
      if (!full || !lean) throw new Error('unparsed line');
      if (lean.plain) {
        plain++;
        expect(`${lean.text}\n`).toBe(full.text);
        expect(JSON.stringify(lean.text)).toBe(`"${lean.text}"`);
        expect(lean.ascii).toBe(true);
        expect({ ...lean, text: '', plain: false }).toEqual({ ...full, text: '', ascii: true });
      } else {
        expect(lean).toEqual(full);
      }
    }
    expect(plain).toBeGreaterThan(0);
  });

  it('falls back to JSON.parse for fields in another order', () => {
    const line = Buffer.from(
      '{"data":{"line_number":7,"lines":{"text":"x needle\\n"},"path":{"text":"/a/b"},"submatches":[{"start":2,"end":8,"match":{"text":"needle"}}]},"type":"match"}',
    );
    const parsed = parseRgLine(line, 0, line.length, true);
    expect(parsed).toMatchObject({ pathText: '/a/b', text: 'x needle\n', lineNumber: 7, start: 2 });
  });

  it('rejects what is not JSON', () => {
    const line = Buffer.from('{"type":"match","data":{"path":{"text":"unterminated');
    expect(parseRgLine(line, 0, line.length, true)).toBeNull();
  });
});
