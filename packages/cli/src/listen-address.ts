import { CliError } from './cli-error.js';

/** Parses `HOST:PORT` (`[::1]:9990` for IPv6; a bare port means all interfaces). `origin` names it in errors. */
export function parseListen(value: string, origin = '--listen'): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  const portText = match?.[3];
  if (!match || portText === undefined) throw new CliError(`invalid ${origin} '${value}': expected HOST:PORT`, 2);
  const port = Number(portText);
  if (port > 65535) throw new CliError(`invalid ${origin} '${value}': port out of range`, 2);
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}
