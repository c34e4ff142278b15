// A tiny run of every benchmark suite, so none of them rots. No timing is asserted: a smoke checks that
// the figures a suite reports are there and sane (finite numbers, positive where they count or time
// something) and that every ratio it records was computed.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript module without types
import { loadSuites, runSuite } from '../run.mjs';

interface Suite {
  name: string;
}
interface Ratio {
  value: number;
  target: number;
  kind: string;
  pass: boolean;
}
interface Result {
  figures: Record<string, unknown>;
  ratios: Record<string, Ratio>;
}

/** What each suite's smoke run must report, beyond every figure being a finite, non-negative number. */
interface Expected {
  /** Figures (or groups of them, or lists) that count or time something: every number under them is > 0. */
  positive: string[];
  /** Figures that are differences and may come out negative on a noisy machine. */
  signed?: string[];
  /** Figures the smoke run fixes, with their value. */
  exact?: Record<string, number>;
  /** Every ratio the suite records. */
  ratios: string[];
}

const expected: Record<string, Expected> = {
  'agent-start': {
    positive: ['agent', 'bare_node_http', 'wall_ratio_per_round', 'cpu_ratio_per_round', 'target_ms'],
    exact: { 'agent.wall.runs': 2, 'bare_node_http.wall.runs': 2 },
    ratios: ['p50_vs_150ms', 'p50_vs_bare_node_http'],
  },
  'cli-start': {
    positive: ['node_e0', 'cove_help', 'cove_version', 'cove_exec'],
    exact: { 'node_e0.runs': 3, 'cove_help.runs': 3, 'cove_version.runs': 3, 'cove_exec.runs': 3 },
    ratios: ['help_p50_vs_node', 'version_p50_vs_node', 'exec_p50_vs_node'],
  },
  'exec-spawn': {
    positive: ['agent_exec', 'bare_node_spawn', 'ssh_controlmaster'],
    exact: { 'agent_exec.runs': 20, 'bare_node_spawn.runs': 20 },
    ratios: ['p50_vs_bare_spawn', 'p50_vs_ssh_controlmaster'],
  },
  'exec-stream': {
    positive: ['file_bytes', 'agent_sse_mib_per_s', 'ssh_mib_per_s', 'agent_rss_after_bytes'],
    exact: { file_bytes: 4 * 1024 * 1024 },
    ratios: ['throughput_vs_ssh'],
  },
  'files-list': {
    positive: ['entries', 'cove_median_ms', 'find_median_ms', 'cove_runs_ms', 'find_runs_ms'],
    exact: { entries: 2 + 2 * 5 + 2 * 5 * 20 },
    ratios: ['cove_vs_find_time'],
  },
  'files-read': {
    positive: ['cove_rps_median', 'peer_rps_median', 'cove_rps_runs', 'peer_rps_runs', 'file_bytes', 'connections'],
    ratios: ['cove_vs_bare_node_rps'],
  },
  'files-stream': {
    positive: ['entries', 'body_mib', 'seconds', 'entries_per_second', 'baseline_rss_mib', 'peak_rss_mib'],
    // 20 directories of 50 files under 20 group directories.
    exact: { entries: 20 * 50 + 20 + 20 },
    ratios: ['peak_rss_vs_150_mib'],
  },
  gateway: {
    positive: [
      'p50_us_direct',
      'p50_us_nginx',
      'p50_us_gateway',
      'rps_64c_direct',
      'rps_64c_nginx',
      'rps_64c_gateway',
      'sse_first_event_ms_direct',
      'sse_first_event_ms_gateway',
      'proxy_cpu_us_per_request_64c_nginx',
      'proxy_cpu_us_per_request_64c_gateway',
      'proxy_cpu_per_request_gateway_vs_nginx',
      'gateway_rss_mib_after',
    ],
    signed: [
      'added_p50_us_nginx',
      'added_p50_us_gateway',
      'added_p50_us_nginx_per_round',
      'added_p50_us_gateway_per_round',
      'added_p50_us_iqr_nginx',
      'added_p50_us_iqr_gateway',
      'wrk_added_p50_us_nginx',
      'wrk_added_p50_us_gateway',
      'sse_first_event_extra_ms_median_of_pairs',
    ],
    ratios: ['added_p50_latency_vs_nginx', 'throughput_64c_vs_nginx', 'sse_first_event_extra_ms'],
  },
  proxy: {
    positive: [
      'p50_us_direct',
      'p50_us_nginx',
      'p50_us_agent_proxy',
      'rps_64c_direct',
      'rps_64c_nginx',
      'rps_64c_agent_proxy',
      'proxy_cpu_us_per_request_64c_nginx',
      'proxy_cpu_us_per_request_64c_agent',
      'agent_rss_mib_after',
    ],
    signed: [
      'added_p50_us_nginx',
      'added_p50_us_agent_proxy',
      'added_p50_us_nginx_per_round',
      'added_p50_us_agent_proxy_per_round',
      'added_p50_us_iqr_nginx',
      'added_p50_us_iqr_agent_proxy',
      'wrk_added_p50_us_nginx',
      'wrk_added_p50_us_agent_proxy',
    ],
    ratios: ['added_p50_latency_vs_nginx', 'throughput_64c_vs_nginx'],
  },
  'sandbox-memory': {
    positive: ['workspaces', 'cgroup_usage_mib', 'cgroup_rss_mib', 'pss_mib', 'processes_per_workspace'],
    exact: { workspaces: 2 },
    ratios: ['pss_mean_vs_20mib', 'cgroup_usage_mean_vs_20mib'],
  },
  'sandbox-start': {
    positive: ['pooled', 'cold', 'bare_runc_run'],
    exact: { 'pooled.runs': 1, 'cold.runs': 1, 'bare_runc_run.runs': 1 },
    ratios: ['pooled_p50_vs_60ms', 'cold_p50_vs_500ms', 'pooled_vs_bare_runc', 'cold_vs_bare_runc'],
  },
  soak: {
    positive: ['websockets.opened', 'websockets.messages', 'load.sent', 'load.ok', 'load.p50_ms', 'load.p99_ms', 'load.rss_mib'],
    exact: { 'websockets.requested': 40, 'websockets.failed': 0, 'websockets.closed_early': 0, 'load.errors': 0 },
    ratios: ['gateway_rss_growth', 'api_rss_growth', 'load_ok_fraction', 'websockets_kept'],
  },
  search: {
    positive: ['files', 'matching_lines', 'rg_json_ms_median', 'agent_search_ms_median', 'rg_json_ms_all', 'agent_search_ms_all'],
    ratios: ['time_vs_rg_json'],
  },
  'terminal-echo': {
    positive: ['keys', 'p50_ms', 'p90_ms', 'p99_ms'],
    exact: { keys: 50 },
    ratios: ['echo_p50_ms'],
  },
  'terminal-throughput': {
    positive: ['file_mib', 'rounds', 'ours_mib_s', 'ssh_tt_mib_s', 'agent_rss_max_mib'],
    exact: { file_mib: 4, rounds: 1 },
    ratios: ['throughput_vs_ssh_tt'],
  },
  'watcher-events': {
    positive: [
      'latency_samples',
      'cove_latency_p50_ms',
      'cove_latency_p90_ms',
      'inotifywait_latency_p50_ms',
      'inotifywait_latency_p90_ms',
      'burst_files',
      'burst_made_ms',
      'cove_burst_last_event_ms',
      'inotifywait_burst_last_event_ms',
    ],
    exact: { latency_samples: 5, burst_files: 300 },
    ratios: ['latency_p50_vs_60ms', 'burst_accounted', 'burst_creates_vs_inotifywait', 'burst_last_event_vs_inotifywait'],
  },
};

/** Every leaf of the figures as [dotted path, value]; list items as `name[i]`. */
function leaves(value: unknown, at = ''): Array<[string, unknown]> {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, `${at}[${i}]`));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leaves(v, at ? `${at}.${k}` : k));
  return [[at, value]];
}
/** Every group's percentiles (`p50_ms`, `p90_ms`, `p99_ms`, … side by side) as [group, values in percentile order]. */
function percentileGroups(value: unknown, at = ''): Array<[string, number[]]> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const bySuffix = new Map<string, Array<[number, number]>>();
  const nested: Array<[string, number[]]> = [];
  for (const [k, v] of Object.entries(value)) {
    const m = /^p(\d+)_(\w+)$/.exec(k);
    if (m && typeof v === 'number') bySuffix.set(m[2]!, [...(bySuffix.get(m[2]!) ?? []), [Number(m[1]), v]]);
    else nested.push(...percentileGroups(v, at ? `${at}.${k}` : k));
  }
  const here = [...bySuffix].filter(([, ps]) => ps.length > 1);
  return [
    ...here.map(([suffix, ps]): [string, number[]] => [`${at || '(top)'} p*_${suffix}`, ps.sort((a, b) => a[0] - b[0]).map(([, v]) => v)]),
    ...nested,
  ];
}
/** True when `leaf` is `figure` or lies under it (a group's member or a list's item). */
const under = (leaf: string, figure: string) => leaf === figure || leaf.startsWith(`${figure}.`) || leaf.startsWith(`${figure}[`);

/** CI must run every suite: one that reports `skipped` fails there (elsewhere it is skipped, with its reason). */
const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

const suites: Suite[] = await loadSuites();

describe('benchmark suites (smoke)', () => {
  it('has suites', () => {
    expect(suites.length).toBeGreaterThan(0);
  });
  for (const suite of suites) {
    it(`${suite.name} runs and reports sane figures`, { timeout: 120_000 }, async (ctx) => {
      const result = (await runSuite(suite, { smoke: true })) as Result;
      const skipped = result.figures.skipped;
      if (skipped !== undefined) {
        if (inCI) throw new Error(`${suite.name} did not run (CI=true requires every suite to): ${String(skipped)}`);
        ctx.skip(`${suite.name} did not run: ${String(skipped)}`);
      }
      const want: Expected = expected[suite.name] ?? { positive: [], ratios: Object.keys(result.ratios) };
      const figures = leaves(result.figures);
      expect(figures.length).toBeGreaterThan(0);
      for (const [name, value] of figures) {
        expect(typeof value === 'number' && Number.isFinite(value), `${name} = ${String(value)} is a finite number`).toBe(true);
        if (!(want.signed ?? []).some((s) => under(name, s))) expect(value, `${name} is not negative`).toBeGreaterThanOrEqual(0);
      }
      for (const [group, values] of percentileGroups(result.figures)) {
        expect(values, `${group}: higher percentiles are not lower`).toEqual([...values].sort((a, b) => a - b));
      }
      for (const figure of want.positive) {
        const members = figures.filter(([name]) => under(name, figure));
        expect(members.length, `${figure} is reported`).toBeGreaterThan(0);
        for (const [name, value] of members) expect(value, `${name} is positive`).toBeGreaterThan(0);
      }
      for (const [figure, value] of Object.entries(want.exact ?? {})) {
        expect(figures.find(([name]) => name === figure)?.[1], figure).toBe(value);
      }
      expect(Object.keys(result.ratios).sort()).toEqual([...want.ratios].sort());
      for (const [name, q] of Object.entries(result.ratios)) {
        expect(Number.isFinite(q.value), `ratio ${name} = ${q.value} is finite`).toBe(true);
        expect(q.target, `ratio ${name}'s target`).toBeGreaterThan(0);
        expect(['at_most', 'at_least']).toContain(q.kind);
        expect(q.pass).toBe(q.kind === 'at_most' ? q.value <= q.target : q.value >= q.target);
      }
    });
  }
});
