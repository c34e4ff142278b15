// Workloads: background processes (servers, watchers, workers) the workspace's agent keeps running, with their logs.
import { WorkloadCreateBody, WorkloadListQuery, WorkloadLogsQuery } from '@cove/protocol';
import type { WorkloadInfo } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { lastLines } from '../bounded.js';
import { defineTool, described, type Tool } from '../tool.js';
import { resolveWorkspace, WorkspaceRef } from '../workspace-ref.js';

const DEFAULT_MAX_BYTES = 30_000;
const MAX_BYTES = 1024 * 1024;

const create = WorkloadCreateBody.properties;
/** The protocol's `command` (a shell line or an argv), required here: a workload is its command. */
const command = Type.Required(Type.Object({ command: create.command })).properties.command;

const WorkloadRef = Type.String({ minLength: 1, maxLength: 128, description: 'The workload: its id (wl_…) or its name' });

function line(w: WorkloadInfo): string {
  const how =
    w.status === 'running'
      ? `running (pid ${w.pid})`
      : w.status === 'exited' || w.status === 'failed'
        ? `${w.status} (exit code ${w.exit_code ?? '?'}${w.signal ? `, ${w.signal}` : ''}${w.error ? `: ${w.error}` : ''})`
        : w.status;
  const restarts = w.restart_count > 0 ? `  restarts=${w.restart_count}` : '';
  return `${w.id}  ${w.name}  ${how}  restart=${w.restart_policy}${restarts}  ${w.cmd.join(' ')}`;
}

const run = defineTool({
  name: 'workload_run',
  title: 'Run a workload in a workspace',
  description:
    'Start a background process in a workspace that the workspace keeps running (a dev server, a watcher, a worker): it ' +
    'outlives this call, restarts by restart_policy, starts again with the workspace, and logs to a file (workload_logs). ' +
    'Use workspace_exec instead for commands that finish.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      cmd: described(command, 'The command: one string is a shell line (run by /bin/sh -c); an array is an argv run without a shell'),
      name: described(create.name, 'A name to refer to it by, unique in the workspace (default: its id)'),
      env: create.env,
      working_dir: create.working_dir,
      user: create.user,
      restart_policy: described(create.restart_policy, 'never (default), on-failure or always'),
      max_restarts: create.max_restarts,
      restart_delay: create.restart_delay,
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(args, { client, signal }) {
    const { workspace, cmd, ...rest } = args;
    const id = await resolveWorkspace(client, workspace, signal);
    const w = await client.workspaces.workloads.create(id, { command: cmd, ...rest }, { signal });
    return { text: `started ${line(w)}`, structured: { workspace_id: id, workload: w } };
  },
});

const list = defineTool({
  name: 'workload_list',
  title: "List a workspace's workloads",
  description: 'List the workloads of a workspace: id, name, status (running, restarting, stopped, exited, failed), restarts, command.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      states: described(WorkloadListQuery.properties.states, 'Only these statuses, comma-separated (for example "running,failed")'),
      name: WorkloadListQuery.properties.name,
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const { workspace, ...filters } = args;
    const id = await resolveWorkspace(client, workspace, signal);
    const workloads = await client.workspaces.workloads.list(id, filters, { signal });
    const text = workloads.length === 0 ? `${id} has no workloads` : workloads.map(line).join('\n');
    return { text, structured: { workspace_id: id, workloads } };
  },
});

const logs = defineTool({
  name: 'workload_logs',
  title: "Read a workload's output",
  description:
    "The end of a workload's log (its stdout and stderr, in the order written). Long logs keep their end and say how much was left out.",
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      workload: WorkloadRef,
      tail_lines: WorkloadLogsQuery.properties.tail_lines,
      max_bytes: Type.Integer({
        minimum: 1024,
        maximum: MAX_BYTES,
        default: DEFAULT_MAX_BYTES,
        description: `Bytes of text returned at most, the newest lines kept (default ${DEFAULT_MAX_BYTES})`,
      }),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const id = await resolveWorkspace(client, args.workspace, signal);
    const entries = await client.workspaces.workloads.logs(
      id,
      args.workload,
      args.tail_lines !== undefined ? { tailLines: args.tail_lines } : {},
      { signal },
    );
    const { kept, omitted } = lastLines(
      entries.map((e) => e.data.replace(/\n$/, '')),
      args.max_bytes,
    );
    const note = omitted > 0 ? `[… ${omitted} older lines left out: raise max_bytes or lower tail_lines]\n` : '';
    const text = entries.length === 0 ? `workload ${args.workload} has written nothing yet` : `${note}${kept.join('\n')}`;
    return {
      text,
      structured: { workspace_id: id, workload: args.workload, lines: kept, truncated: omitted > 0, omitted_lines: omitted },
    };
  },
});

const stop = defineTool({
  name: 'workload_stop',
  title: 'Stop a workload',
  description:
    'Stop a workload (SIGTERM to its processes, SIGKILL after a grace) and keep it from starting again with the workspace; ' +
    'remove: true also deletes it and its log.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      workload: WorkloadRef,
      remove: Type.Boolean({ default: false, description: 'Delete the workload and its log too' }),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const id = await resolveWorkspace(client, args.workspace, signal);
    const w = await client.workspaces.workloads.stop(id, args.workload, { signal });
    if (args.remove) {
      await client.workspaces.workloads.delete(id, w.id, { signal });
      return { text: `stopped and removed ${w.id} (${w.name})`, structured: { workspace_id: id, workload: w, removed: true } };
    }
    return { text: `stopped ${line(w)}`, structured: { workspace_id: id, workload: w, removed: false } };
  },
});

export const WORKLOAD_TOOLS: readonly Tool[] = [run, list, logs, stop];
