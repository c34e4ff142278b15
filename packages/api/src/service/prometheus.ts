// `GET /metrics`: every workspace's figures in Prometheus' text exposition format (version 0.0.4). Written by
// hand: the figures are read fresh per scrape, so a client library's registry of long-lived metric objects would
// only be copied into and out of. Counters end in `_total`; a figure the driver cannot read is left out (absent
// means unknown in Prometheus), never written as 0.
import type { WorkspaceStats } from '@cove/protocol';
import type { WorkspaceRecord } from '../store/records.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Family {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  value(s: WorkspaceStats): number | null;
}

const ns = (v: number | null) => (v === null ? null : v / 1e9);

const FAMILIES: readonly Family[] = [
  {
    name: 'cove_workspace_cpu_usage_seconds_total',
    type: 'counter',
    help: 'CPU time used by the workspace.',
    value: (s) => s.cpu.usageNs / 1e9,
  },
  { name: 'cove_workspace_cpu_user_seconds_total', type: 'counter', help: 'CPU time used in user mode.', value: (s) => ns(s.cpu.userNs) },
  {
    name: 'cove_workspace_cpu_system_seconds_total',
    type: 'counter',
    help: 'CPU time used in the kernel.',
    value: (s) => ns(s.cpu.systemNs),
  },
  { name: 'cove_workspace_cpu_limit_cpus', type: 'gauge', help: 'CPU quota in CPUs (absent: none).', value: (s) => s.cpu.limitCpus },
  {
    name: 'cove_workspace_cpu_periods_total',
    type: 'counter',
    help: 'CPU quota enforcement periods elapsed.',
    value: (s) => s.cpu.periods,
  },
  {
    name: 'cove_workspace_cpu_throttled_periods_total',
    type: 'counter',
    help: 'Periods in which the workspace was throttled.',
    value: (s) => s.cpu.throttledPeriods,
  },
  {
    name: 'cove_workspace_cpu_throttled_seconds_total',
    type: 'counter',
    help: 'Time spent throttled.',
    value: (s) => ns(s.cpu.throttledNs),
  },
  {
    name: 'cove_workspace_memory_usage_bytes',
    type: 'gauge',
    help: 'Memory charged to the workspace.',
    value: (s) => s.memory.currentBytes,
  },
  {
    name: 'cove_workspace_memory_working_set_bytes',
    type: 'gauge',
    help: 'Memory use less the inactive page cache.',
    value: (s) => s.memory.workingSetBytes,
  },
  { name: 'cove_workspace_memory_limit_bytes', type: 'gauge', help: 'Memory limit (absent: none).', value: (s) => s.memory.limitBytes },
  {
    name: 'cove_workspace_memory_peak_bytes',
    type: 'gauge',
    help: 'Highest memory use since the start.',
    value: (s) => s.memory.peakBytes,
  },
  { name: 'cove_workspace_oom_kills_total', type: 'counter', help: 'Processes killed by the OOM killer.', value: (s) => s.memory.oomKills },
  { name: 'cove_workspace_processes', type: 'gauge', help: 'Processes running.', value: (s) => s.processes.current },
  { name: 'cove_workspace_processes_limit', type: 'gauge', help: 'Process-count limit (absent: none).', value: (s) => s.processes.limit },
  { name: 'cove_workspace_disk_used_bytes', type: 'gauge', help: "Bytes used on the workspace's disk.", value: (s) => s.disk.usedBytes },
  { name: 'cove_workspace_disk_size_bytes', type: 'gauge', help: "The workspace's disk size.", value: (s) => s.disk.sizeBytes },
  {
    name: 'cove_workspace_network_receive_bytes_total',
    type: 'counter',
    help: 'Bytes received by the workspace.',
    value: (s) => s.network.rxBytes,
  },
  {
    name: 'cove_workspace_network_transmit_bytes_total',
    type: 'counter',
    help: 'Bytes sent by the workspace.',
    value: (s) => s.network.txBytes,
  },
  {
    name: 'cove_workspace_network_receive_packets_total',
    type: 'counter',
    help: 'Packets received by the workspace.',
    value: (s) => s.network.rxPackets,
  },
  {
    name: 'cove_workspace_network_transmit_packets_total',
    type: 'counter',
    help: 'Packets sent by the workspace.',
    value: (s) => s.network.txPackets,
  },
];

/** A label value escaped as the format wants: backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: ReadonlyArray<readonly [string, string]>): string {
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

/** A number as the format writes it: JavaScript's shortest round-trip form (`1.5e-7` included) parses as Go's floats. */
const num = (v: number): string => String(v);

export interface ScrapedWorkspace {
  ws: WorkspaceRecord;
  /** Its figures; undefined when it is stopped or they could not be read. */
  stats: WorkspaceStats | undefined;
}

/** The page: one `cove_workspace_info` per workspace (its status too), then each family's readings. */
export function exposition(driver: string, workspaces: readonly ScrapedWorkspace[], scrapeErrors: number): string {
  const id = (ws: WorkspaceRecord) =>
    [
      ['id', ws.id],
      ['name', ws.name],
      ['owner', ws.owner],
    ] as const;
  const out: string[] = [
    '# HELP cove_workspace_info A workspace known to the control plane (value 1), with its status, image and driver.',
    '# TYPE cove_workspace_info gauge',
  ];
  for (const { ws } of workspaces) {
    out.push(`cove_workspace_info${labels([...id(ws), ['status', ws.status], ['image', ws.image], ['driver', driver]])} 1`);
  }
  for (const f of FAMILIES) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const { ws, stats } of workspaces) {
      const v = stats && f.value(stats);
      if (v !== undefined && v !== null) out.push(`${f.name}${labels(id(ws))} ${num(v)}`);
    }
  }
  out.push(
    '# HELP cove_metrics_scrape_errors Running workspaces whose figures could not be read in this scrape.',
    '# TYPE cove_metrics_scrape_errors gauge',
    `cove_metrics_scrape_errors ${scrapeErrors}`,
  );
  return `${out.join('\n')}\n`;
}
