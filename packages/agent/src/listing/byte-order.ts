/**
 * Byte order of UTF-8 strings (what `sort`, git and Go compare by), which is
 * code point order. JavaScript compares UTF-16 code units, which agrees
 * except between a surrogate pair (a code point above U+FFFF) and a BMP
 * character from U+E000 up; names that mix those are rare, so the native
 * comparison is used unless a name holds such characters.
 */
const WIDE = /[\ud800-\uffff]/;

/** Compares two strings by their UTF-8 bytes. */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** Code unit → its place in code point order: surrogates go above U+E000–U+FFFF. */
function rank(unit: number): number {
  if (unit < 0xd800) return unit;
  if (unit < 0xe000) return unit + 0x2000;
  return unit - 0x800;
}

const compareNative = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts items in place by a string key, in UTF-8 byte order. */
export function sortByKey<T>(items: T[], keyOf: (item: T) => string): T[] {
  let wide = false;
  for (const item of items) {
    if (WIDE.test(keyOf(item))) {
      wide = true;
      break;
    }
  }
  const compare = wide ? compareBytes : compareNative;
  return items.sort((a, b) => compare(keyOf(a), keyOf(b)));
}

/** Sorts strings in place, in UTF-8 byte order. */
export function sortStrings(values: string[]): string[] {
  const compare = values.some((v) => WIDE.test(v)) ? compareBytes : compareNative;
  return values.sort(compare);
}
