import { describe, expect, it } from 'vitest';
import { isName } from '../src/index.js';

describe('isName', () => {
  it('matches a header name in any case', () => {
    expect(isName('Content-Length', 'content-length')).toBe(true);
    expect(isName('X-REQUEST-ID', 'x-request-id')).toBe(true);
    expect(isName('te', 'te')).toBe(true);
  });

  // Names and values come from llhttp, which refuses CR in either: the one character `| 0x20` would fold onto `-`.
  it('tells other names apart, whatever their length or their characters', () => {
    expect(isName('Content-Lengthx', 'content-length')).toBe(false);
    expect(isName('Content-Lengt', 'content-length')).toBe(false);
    expect(isName('Content_Length', 'content-length')).toBe(false);
    expect(isName('Keep-Alivf', 'keep-alive')).toBe(false);
    // `@` folds onto a backtick, `[` onto `{`: neither is a letter of any name matched here.
    expect(isName('@', '`')).toBe(true);
    expect(isName('@e', 'te')).toBe(false);
  });
});
