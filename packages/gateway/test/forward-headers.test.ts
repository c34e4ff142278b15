import { headerLines } from '@cove/wire';
import { describe, expect, it } from 'vitest';
import { downstreamResponseHeaders, dropRequestHeader, publicResponseHeaders, scanRequestHeaders } from '../src/forward-headers.js';

// The request and response filters tell names apart by length and compare them without lower-casing: they must
// drop exactly what the lower-cased rule (`dropRequestHeader`, the hop-by-hop list) drops, in any case.

/** Every name a rule mentions, prefixes included, names of the same lengths that are none of them, and look-alikes. */
const NAMES = [
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
  'forwarded',
  'x-real-ip',
  'expect',
  'content-length',
  'x-request-id',
  'set-cookie',
  'set-cookie2',
  'proxy-',
  'proxy-authorization',
  'proxy-connection',
  'x-forwarded-',
  'x-forwarded-for',
  'x-forwarded-host',
  // Same lengths, other names.
  'tx',
  'accept',
  'content-type',
  'x-requestxid',
  'x-real-ipx',
  'trailers',
  'upgrades',
  'keep-alivex',
  'content-lengthy',
  'cookie',
  'origin',
  'x-forwarded',
  'proxy',
  'proxyx-a',
  'x-custom',
  'te2',
  'expects',
  'forwarder',
];

function spellings(name: string): string[] {
  const mixed = [...name].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c)).join('');
  return [name, name.toUpperCase(), mixed];
}

const ALL = NAMES.flatMap(spellings);
const raw = ALL.flatMap((name, i) => [name, `v${i}`]);

describe('scanRequestHeaders', () => {
  it('relays exactly the headers the lower-cased rule keeps', () => {
    const scanned = scanRequestHeaders(raw);
    const expected: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const lower = (raw[i] as string).toLowerCase();
      if (lower === 'host' || lower === 'authorization' || lower === 'connection' || dropRequestHeader(lower, undefined)) continue;
      expected.push(raw[i] as string, raw[i + 1] as string);
    }
    expect(scanned.forward).toBe(headerLines(expected));
    // The last Host and Authorization, whatever their case.
    expect(scanned.host).toBe(raw[raw.lastIndexOf('HoSt') + 1]);
    expect(scanned.authorization).toBe(raw[raw.lastIndexOf('AuThOrIzAtIoN') + 1]);
  });

  it('drops what Connection headers name', () => {
    const scanned = scanRequestHeaders(['Connection', 'X-One', 'X-One', '1', 'x-two', '2', 'CONNECTION', 'x-TWO, close', 'X-Three', '3']);
    expect(scanned.forward).toBe('X-Three: 3\r\n');
  });
});

describe('response headers', () => {
  const HOP_BY_HOP = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
  const dropped = (lower: string, cookies: boolean) =>
    HOP_BY_HOP.includes(lower) ||
    lower.startsWith('proxy-') ||
    lower === 'x-request-id' ||
    (!cookies && (lower === 'set-cookie' || lower === 'set-cookie2'));
  const kept = (cookies: boolean) => {
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2)
      if (!dropped((raw[i] as string).toLowerCase(), cookies)) out.push(raw[i] as string, raw[i + 1] as string);
    return out;
  };

  it("keep exactly the agent's end-to-end headers, cookies dropped", () => {
    // `raw` has Connection headers naming no other header (their values are `v<n>`: no such header is sent).
    expect(downstreamResponseHeaders(raw)).toBe(headerLines(kept(false)));
  });

  it("keep exactly an exposed port's end-to-end headers, cookies kept", () => {
    expect(publicResponseHeaders(raw)).toEqual(kept(true));
  });

  it('drop what every Connection header names', () => {
    const answer = [
      'Connection',
      'X-One',
      'X-One',
      '1',
      'x-two',
      '2',
      'CONNECTION',
      'keep-alive, X-TWO',
      'X-Three',
      '3',
      'Set-Cookie',
      'a=b',
    ];
    expect(downstreamResponseHeaders(answer)).toBe('X-Three: 3\r\n');
    expect(publicResponseHeaders(answer)).toEqual(['X-Three', '3', 'Set-Cookie', 'a=b']);
  });
});
