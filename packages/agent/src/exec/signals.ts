import { constants } from 'node:os';
import { badParam } from '@cove/protocol';

const BY_NAME = constants.signals as Readonly<Record<string, number>>;
const BY_NUMBER = new Map<number, string>();
for (const [name, num] of Object.entries(BY_NAME)) if (!BY_NUMBER.has(num)) BY_NUMBER.set(num, name);

/** The number of a signal name (`SIGTERM`), or 0 if unknown. */
export function signalNumber(name: string): number {
  return BY_NAME[name] ?? 0;
}

/** Name of a signal number (`15` → `SIGTERM`), or `SIG<n>` for one without a name. */
export function signalName(num: number): string {
  return BY_NUMBER.get(num) ?? `SIG${num}`;
}

/**
 * Parses a signal from the wire: a name with or without the `SIG` prefix, in
 * any case (`SIGINT`, `int`), or a number of a known signal. Anything else is a 400.
 */
export function parseSignal(value: unknown): NodeJS.Signals {
  if (typeof value === 'number' && Number.isInteger(value)) {
    const name = BY_NUMBER.get(value);
    if (name) return name as NodeJS.Signals;
    throw badParam('signal', `unknown signal number ${value}`);
  }
  if (typeof value === 'string' && value.length > 0 && value.length <= 32) {
    if (/^\d+$/.test(value)) return parseSignal(Number(value));
    const upper = value.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    if (Object.hasOwn(BY_NAME, name)) return name as NodeJS.Signals;
    throw badParam('signal', `unknown signal '${value}'`);
  }
  if (value === undefined || value === null) throw badParam('signal', 'missing (e.g. "SIGINT")');
  throw badParam('signal', 'must be a signal name such as "SIGINT" or a number');
}
