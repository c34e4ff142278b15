import { badParam } from '@cove/protocol';

/**
 * Parses a permission mode from the wire: an octal string such as "0644",
 * "755" or "0o755" (a JSON number is read as its octal digits, the way a
 * user who typed 755 meant it). Anything else is a 400 naming the parameter.
 */
export function parseMode(value: unknown, param = 'mode'): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
  if (typeof text !== 'string') throw badParam(param, 'must be an octal string such as "0644"');
  const match = /^(?:0o)?([0-7]{1,5})$/i.exec(text.trim());
  const mode = match?.[1] === undefined ? Number.NaN : Number.parseInt(match[1], 8);
  if (!Number.isInteger(mode) || mode > 0o7777) {
    throw badParam(param, `must be an octal mode between "0000" and "7777", got ${JSON.stringify(String(value).slice(0, 40))}`);
  }
  return mode;
}

/** Formats permission bits the way the API reports them: "0644", "1777". */
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
