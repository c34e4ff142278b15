/**
 * Whether `name` is `lower` (a lower-case header name) in any case, without
 * lower-casing a copy: this runs for the headers of every relayed message.
 * `c | 0x20` folds an ASCII capital onto its small letter and leaves `-`,
 * digits and the other token characters llhttp allows in names as they are
 * (of the characters it would fold onto `-`, only CR, which no name or
 * value llhttp accepts can hold).
 */
export function isName(name: string, lower: string): boolean {
  const length = lower.length;
  if (name.length !== length) return false;
  for (let i = 0; i < length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
