/** `dirPath` → `dir_path`. */
export function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Maps camelCase option names to the wire's snake_case, dropping undefined
 * values. `rename` maps SDK names that differ from the wire (`dirPath` →
 * `path`). Keys already in snake_case pass unchanged, so both spellings work.
 */
export function toWire(options: object, rename: Record<string, string> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    out[rename[key] ?? snake(key)] = value;
  }
  return out;
}
