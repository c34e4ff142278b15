import { type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * A workspace's resource figures: what a driver reads from the kernel (`WorkspaceDriver.stats`), and the
 * control plane's answers built on them (`GET /workspace/:id/stats`, `…/stats/stream`, `…/info`, `…/config`).
 * Everything is a reading, never an estimate: a figure a driver cannot read is `null`, not 0.
 */

/** Where a driver's figures come from: the workspace's cgroup (v1 or v2 layout), or /proc for a process tree. */
export type StatsSource = 'cgroup-v1' | 'cgroup-v2' | 'proc';

/** One reading of a workspace's counters and gauges, as a driver reports it. Counters count from the workspace's start. */
export interface WorkspaceStats {
  source: StatsSource;
  /** When it was read (ms since the epoch). */
  at: number;
  cpu: {
    /** CPU time used by everything in the workspace, in ns (a counter). */
    usageNs: number;
    userNs: number | null;
    systemNs: number | null;
    /** CPU allowance in CPUs (quota / period); null without a quota. */
    limitCpus: number | null;
    /** Enforcement periods elapsed, and those in which the workspace was throttled (counters). */
    periods: number | null;
    throttledPeriods: number | null;
    /** Time spent throttled, in ns (a counter). */
    throttledNs: number | null;
  };
  memory: {
    /** Memory charged to the workspace now (what its limit counts: anonymous memory and page cache). */
    currentBytes: number;
    /** `currentBytes` less the inactive page cache the kernel reclaims first (what an OOM kill is near to). */
    workingSetBytes: number | null;
    limitBytes: number | null;
    /** The highest `currentBytes` since the workspace started. */
    peakBytes: number | null;
    /** Processes the kernel's OOM killer killed in the workspace (a counter). */
    oomKills: number | null;
  };
  processes: { current: number; limit: number | null };
  /** The workspace's own disk (its file system's statfs). */
  disk: { usedBytes: number | null; sizeBytes: number | null };
  /** Traffic of the workspace's network link, from the workspace's side: `rx` is what it received (counters). */
  network: { rxBytes: number | null; txBytes: number | null; rxPackets: number | null; txPackets: number | null };
}

const Opt = <T extends TSchema>(schema: T) => Type.Optional(schema);
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/**
 * A number or null, as one JSON Schema `type` list rather than `anyOf`: the response serialiser writes it
 * directly, where an `anyOf` makes it validate the value against the branches to pick one.
 */
const N = (description: string) => Type.Unsafe<number | null>({ type: ['number', 'null'], description });

/** `GET /workspace/:id/stats/stream`: how often a sample is sent. */
export const STATS_INTERVAL = { defaultMs: 1000, minMs: 250, maxMs: 60_000 } as const;

export const StatsStreamQuery = Type.Object(
  {
    interval_ms: Opt(
      Type.Integer({
        minimum: STATS_INTERVAL.minMs,
        maximum: STATS_INTERVAL.maxMs,
        description: `milliseconds between samples (default ${STATS_INTERVAL.defaultMs})`,
      }),
    ),
  },
  { additionalProperties: true },
);

const sampleFields = {
  workspace_id: Type.String(),
  status: Type.String({ description: 'running or paused' }),
  driver: Type.String(),
  source: Type.Union([Type.Literal('cgroup-v1'), Type.Literal('cgroup-v2'), Type.Literal('proc')]),
  timestamp: Type.String({ description: 'when the figures were read (ISO 8601)' }),
  cpu_usage: N('percent of the CPU allowance (its limit, else every CPU of the host) used over the last window'),
  memory_usage: N('percent of the memory limit in use (null without a limit)'),
  disk_usage: N("percent of the workspace's disk in use (null without a disk of its own)"),
  cpu: Type.Object({
    cores: Type.Number({ description: 'CPUs kept busy over the last window (1 = one core)' }),
    window_ms: Type.Number({ description: 'the window `cores` and `cpu_usage` are measured over' }),
    usage_seconds: Type.Number({ description: 'CPU time used since the workspace started (counter)' }),
    user_seconds: N('of which in user mode'),
    system_seconds: N('of which in the kernel'),
    limit_cpus: N('CPU allowance (quota / period); null without a quota'),
    periods: N('enforcement periods elapsed (counter)'),
    throttled_periods: N('periods in which the workspace was throttled (counter)'),
    throttled_seconds: N('time spent throttled (counter)'),
  }),
  memory: Type.Object({
    current_bytes: Type.Number({ description: 'memory charged to the workspace (what its limit counts)' }),
    working_set_bytes: N('current less the inactive page cache'),
    limit_bytes: N('memory limit'),
    peak_bytes: N('highest use since the workspace started'),
    oom_kills: N('processes killed by the OOM killer (counter)'),
  }),
  processes: Type.Object({ current: Type.Number(), limit: N('process-count limit') }),
  disk: Type.Object({ used_bytes: N("used on the workspace's disk"), size_bytes: N("the workspace's disk size") }),
  network: Type.Object({
    rx: N('bytes received by the workspace (= rx_bytes)'),
    tx: N('bytes sent by the workspace (= tx_bytes)'),
    rx_bytes: N('bytes received (counter)'),
    tx_bytes: N('bytes sent (counter)'),
    rx_packets: N('packets received (counter)'),
    tx_packets: N('packets sent (counter)'),
  }),
};

/** One event of `GET /workspace/:id/stats/stream` (`data:` of an `event: stats` frame). */
export const StatsSample = Type.Object(sampleFields);
export type StatsSample = Static<typeof StatsSample>;

/** `GET /workspace/:id/stats`. */
export const StatsResponse = Type.Object({ success: Type.Literal(true), ...sampleFields });
export type StatsResponse = Static<typeof StatsResponse>;

/** `GET /workspace/:id/info`: what the workspace runs on. */
export const InfoResponse = Type.Object({
  success: Type.Literal(true),
  workspace_id: Type.String(),
  name: Type.String(),
  status: Type.String(),
  driver: Type.String(),
  image: Type.String(),
  ip: Nullable(Type.String()),
  kernel: Type.String({ description: "the kernel release (the host's: workspaces share it)" }),
  arch: Type.String(),
  host_cpus: Type.Integer(),
  host_memory_bytes: Type.Number(),
  cgroup: Nullable(Type.Union([Type.Literal('v1'), Type.Literal('v2')])),
  stats_source: Nullable(Type.String({ description: 'where the stats come from while it runs (null when it is stopped)' })),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type InfoResponse = Static<typeof InfoResponse>;

/** `GET /workspace/:id/config`: the resources asked for, and those the kernel enforces now (null when stopped). */
export const ConfigResponse = Type.Object({
  success: Type.Literal(true),
  workspace_id: Type.String(),
  status: Type.String(),
  image: Type.String(),
  config: Type.Object({ cpus: Type.Integer(), memory_mb: Type.Integer(), disk_size_mb: Type.Integer() }),
  applied: Nullable(
    Type.Object({
      cpus: N('CPU quota in CPUs (null: none)'),
      memory_bytes: N('memory limit (null: none)'),
      pids: N('process-count limit (null: none)'),
      disk_bytes: N("the workspace's disk size (null: no disk of its own)"),
    }),
  ),
});
export type ConfigResponse = Static<typeof ConfigResponse>;

/** `GET /metrics`: the Prometheus text exposition format (`text/plain; version=0.0.4`). */
export const PrometheusPage = Type.String({ description: 'Prometheus text exposition format 0.0.4' });
