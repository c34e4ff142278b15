// A workspace's lifecycle and figures: how long it lives (TTL), keeping it alive (ping), what it uses now (stats).
import { MakeTemporaryBody, PingBody } from '@cove/protocol';
import type { LifecycleStatus, StatsResponse } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { defineTool, described, type Tool } from '../tool.js';
import { toolError } from '../tool-error.js';
import { resolveWorkspace, WorkspaceRef } from '../workspace-ref.js';

const temporary = MakeTemporaryBody.properties;

/** The lifecycle in one line: permanent, or when it runs out and what happens then; the idle policy. */
function lifecycleLine(l: LifecycleStatus): string {
  const life =
    l.mode === 'temporary'
      ? `temporary: ${l.ttl_action} at ${l.expires_at ?? '?'} (ttl ${l.ttl ?? '?'} s, renewed by activity and workspace_ping)`
      : 'permanent (no ttl)';
  const idle = l.idle ? `; idle: suspend after ${l.idle.suspend_after} s, stop ${l.idle.stop_after} s later` : '';
  return `${l.workspace_id} is ${l.status}, ${life}${idle}`;
}

const setTtl = defineTool({
  name: 'workspace_set_ttl',
  title: "Set a workspace's time to live",
  description:
    'Make a workspace temporary: it lives ttl from now (activity and workspace_ping renew it), then ttl_action happens ' +
    '(stop, pause, suspend or remove). permanent: true takes the ttl away. Answers when it runs out.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      ttl: described(temporary.ttl, 'How long from now: whole seconds, or 30s, 10m, 2h, 1d'),
      ttl_action: described(temporary.ttl_action, 'What happens when it runs out: stop (default), pause, suspend or remove'),
      permanent: Type.Optional(Type.Boolean({ description: 'Take the ttl away: the workspace lives until deleted' })),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const id = await resolveWorkspace(client, args.workspace, signal);
    let status: LifecycleStatus;
    if (args.permanent) {
      if (args.ttl !== undefined || args.ttl_action !== undefined)
        throw toolError('bad_request', 'permanent: true takes no ttl or ttl_action');
      status = await client.workspaces.lifecycle.makePermanent(id, {}, { signal });
    } else {
      if (args.ttl === undefined && args.ttl_action === undefined)
        throw toolError('bad_request', 'give ttl, ttl_action or permanent: true');
      const params = {
        ...(args.ttl !== undefined ? { ttl: args.ttl } : {}),
        ...(args.ttl_action !== undefined ? { ttl_action: args.ttl_action } : {}),
      };
      status = await client.workspaces.lifecycle.updateTtl(id, params, { signal });
    }
    const { success: _, events: __, ...lifecycle } = status;
    return { text: lifecycleLine(status), structured: { ...lifecycle, workspace_id: id } };
  },
});

const ping = defineTool({
  name: 'workspace_ping',
  title: 'Keep a workspace alive',
  description:
    "Record activity on a workspace now: a temporary workspace's ttl starts again (for ttl_seconds when given), and an idle " +
    'policy counts from now.',
  input: Type.Object(
    { workspace: WorkspaceRef, ttl_seconds: described(PingBody.properties.ttl_seconds, 'A new ttl, in seconds, counted from now') },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const id = await resolveWorkspace(client, args.workspace, signal);
    const res = await client.workspaces.lifecycle.ping(id, args.ttl_seconds !== undefined ? { ttl_seconds: args.ttl_seconds } : {}, {
      signal,
    });
    const { success: _, ...rest } = res;
    const until = res.expires_at ? `; it now runs out at ${res.expires_at}` : '; it has no ttl';
    return { text: `pinged ${id} (${res.status})${until}`, structured: { ...rest, workspace_id: id } };
  },
});

const pct = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)}%`);
const mib = (v: number | null) => (v === null ? '—' : `${(v / 1024 / 1024).toFixed(1)} MiB`);

function statsText(s: StatsResponse): string {
  return [
    `${s.workspace_id} (${s.status}) at ${s.timestamp}`,
    `cpu: ${pct(s.cpu_usage)} of its allowance (${s.cpu.cores.toFixed(2)} cores busy${s.cpu.limit_cpus !== null ? ` of ${s.cpu.limit_cpus}` : ''})`,
    `memory: ${mib(s.memory.current_bytes)}${s.memory.limit_bytes !== null ? ` of ${mib(s.memory.limit_bytes)}` : ''} (${pct(s.memory_usage)}), peak ${mib(s.memory.peak_bytes)}, oom kills ${s.memory.oom_kills ?? '—'}`,
    `processes: ${s.processes.current}${s.processes.limit !== null ? ` of ${s.processes.limit}` : ''}`,
    `disk: ${mib(s.disk.used_bytes)}${s.disk.size_bytes !== null ? ` of ${mib(s.disk.size_bytes)}` : ''} (${pct(s.disk_usage)})`,
    `network: received ${mib(s.network.rx_bytes)}, sent ${mib(s.network.tx_bytes)}`,
  ].join('\n');
}

const stats = defineTool({
  name: 'workspace_stats',
  title: "A workspace's resource use",
  description:
    'What a running workspace uses now, read from the kernel: CPU, memory (with its limit, peak and OOM kills), processes, ' +
    'disk and network. A figure that cannot be read is null, never a guess.',
  input: Type.Object({ workspace: WorkspaceRef }, { additionalProperties: false }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const id = await resolveWorkspace(client, args.workspace, signal);
    const { success: _, ...sample } = await client.workspaces.metrics.stats(id, { signal });
    return { text: statsText({ success: true, ...sample }), structured: sample };
  },
});

export const LIFECYCLE_TOOLS: readonly Tool[] = [stats, setTtl, ping];
