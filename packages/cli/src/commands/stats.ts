import type { StatsSample } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { onSignals } from '../local-io.js';
import { formatBytes, paint, printJson, printTable } from '../output.js';

interface StatsFlags {
  once?: boolean;
}

const HEADERS = ['WORKSPACE', 'CPU %', 'CORES', 'THROTTLED', 'MEM / LIMIT', 'MEM %', 'PEAK', 'OOM', 'PIDS', 'DISK / SIZE', 'NET RX / TX'];

const bytes = (v: number | null) => (v === null ? '-' : formatBytes(v));
const pct = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)}%`);
const pair = (a: string, b: string) => `${a} / ${b}`;

/** One table row: null figures (what the driver cannot read) show as `-`, never as 0. */
function row(name: string, s: StatsSample): string[] {
  const throttled = s.cpu.throttled_seconds === null ? '-' : `${s.cpu.throttled_seconds.toFixed(1)}s`;
  const oom = s.memory.oom_kills === null ? '-' : s.memory.oom_kills > 0 ? paint(String(s.memory.oom_kills), 'red') : '0';
  return [
    name,
    pct(s.cpu_usage),
    s.cpu.cores.toFixed(2),
    throttled,
    pair(bytes(s.memory.current_bytes), s.memory.limit_bytes === null ? 'none' : bytes(s.memory.limit_bytes)),
    pct(s.memory_usage),
    bytes(s.memory.peak_bytes),
    oom,
    s.processes.limit === null ? String(s.processes.current) : `${s.processes.current}/${s.processes.limit}`,
    pair(bytes(s.disk.used_bytes), bytes(s.disk.size_bytes)),
    pair(bytes(s.network.rx_bytes), bytes(s.network.tx_bytes)),
  ];
}

/** `cove stats WS…`: live CPU, memory, processes, disk and network figures, read from the kernel. */
export function statsCommand(): Command {
  return withConnection(new Command('stats'))
    .description("Show workspaces' CPU, memory, processes, disk and network use, live (a table refreshed every second)")
    .argument('<workspaces...>', 'ids or names')
    .option('--once', 'one reading, then exit')
    .addHelpText(
      'after',
      `
On a terminal the table is redrawn every second until Ctrl-C; elsewhere one tab-separated
line per workspace is printed each second. With --json: one JSON sample per line (with --once,
one JSON array). "-" marks a figure the driver cannot read (the process driver has no
limits, disk or network of its own).

Examples:
  cove stats dev
  cove stats dev api --once
  cove stats dev --json | jq .cpu_usage`,
    )
    .action(async (refs: string[], flags: StatsFlags, command: Command) => {
      const s = session(command);
      const ids = await Promise.all(refs.map((r) => resolveWorkspace(s, r)));
      const names = new Map(ids.map((id, i) => [id, refs[i] ?? id]));
      const metrics = s.client.workspaces.metrics;

      if (flags.once) {
        const samples = await Promise.all(ids.map((id) => metrics.stats(id)));
        if (s.json) printJson(samples);
        else
          printTable(
            HEADERS,
            samples.map((x) => row(names.get(x.workspace_id) ?? x.workspace_id, x)),
          );
        return;
      }

      const controller = new AbortController();
      const off = onSignals(['SIGINT', 'SIGTERM'], () => controller.abort());
      const tty = process.stdout.isTTY === true && !s.json;
      const latest = new Map<string, StatsSample>();
      let drawn = 0;
      let headerShown = false;
      const draw = () => {
        if (tty) {
          // Back over the previous table, then the new one in its place.
          if (drawn > 0) process.stdout.write(`\u001b[${drawn}F\u001b[J`);
          printTable(
            HEADERS,
            ids.flatMap((id) => {
              const x = latest.get(id);
              return x ? [row(names.get(id) ?? id, x)] : [];
            }),
          );
          drawn = 1 + ids.filter((id) => latest.has(id)).length;
        }
      };
      const follow = async (id: string) => {
        for await (const sample of metrics.statsStream(id, { intervalMs: 1000 }, { signal: controller.signal })) {
          latest.set(id, sample);
          if (s.json) process.stdout.write(`${JSON.stringify(sample)}\n`);
          else if (!tty) {
            // A log, not a screen: tab-separated lines, the header once.
            if (!headerShown) process.stdout.write(`${HEADERS.join('\t')}\n`);
            headerShown = true;
            process.stdout.write(`${row(names.get(id) ?? id, sample).join('\t')}\n`);
          } else draw();
        }
        if (!controller.signal.aborted) process.stderr.write(`cove: ${names.get(id)}: the workspace stopped\n`);
      };
      try {
        await Promise.all(ids.map(follow));
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      } finally {
        off();
      }
      if (!controller.signal.aborted && ids.length > 0) throw new CliError('every workspace stopped', EXIT.error);
    });
}
