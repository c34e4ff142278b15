// What machine a result was measured on.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {}
  return {
    cpu,
    cores: os.availableParallelism(),
    memory_gib: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    kernel: os.release(),
    node: process.version,
    platform: `${os.type()} ${os.arch()}`,
  };
}
