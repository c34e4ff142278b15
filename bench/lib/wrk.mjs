// Runs wrk and reads its figures.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

function micros(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v : m[2] === 'ms' ? v * 1000 : v * 1e6;
}

/**
 * @param {{ url: string, connections: number, threads: number, seconds: number, headers?: string[] }} o
 * @returns {Promise<{ rps: number, p50us: number, p99us: number, errors: number }>}
 */
export async function wrk({ url, connections, threads, seconds, headers = [] }) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency'];
  for (const h of headers) args.push('-H', h);
  const { stdout } = await run('wrk', [...args, url], { maxBuffer: 1 << 20 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN);
  const p50us = micros(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '');
  const p99us = micros(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, p50us, p99us, errors };
}
