// `workspace_logs`: the end of a workspace's boot log or command log, bounded from the end.
import { LOG_LIMITS, LogSource, LogsQuery } from '@cove/protocol';
import type { LogLine } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { lastLines } from '../bounded.js';
import { defineTool, described, type Tool } from '../tool.js';
import { resolveWorkspace, WorkspaceRef } from '../workspace-ref.js';

const DEFAULT_MAX_BYTES = 30_000;
const MAX_BYTES = 1024 * 1024;

/** A command record's output, indented under its line: what the model needs to see why a command failed. */
function output(line: LogLine): string[] {
  // A command record: the log line's fields, and the record's beside them (protocol CommandRecord).
  const record = line as Record<string, unknown>;
  const parts: string[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = record[stream];
    if (typeof text !== 'string' || text === '') continue;
    const cut = record[`${stream}_truncated`] === true ? ' (its end)' : '';
    parts.push(
      `  ${stream}${cut}:`,
      ...text
        .replace(/\n$/, '')
        .split('\n')
        .map((l) => `    ${l}`),
    );
  }
  return parts;
}

/** The log as text, one entry per block (a command record with its output), the blocks as they are kept. */
function blocks(logs: readonly LogLine[], source: 'boot' | 'cmd'): string[] {
  return logs.map((line) => {
    const head = `${line.timestamp ? `${line.timestamp} ` : ''}${line.message}`;
    return source === 'cmd' ? [head, ...output(line)].join('\n') : head;
  });
}

export const LOG_TOOLS: readonly Tool[] = [
  defineTool({
    name: 'workspace_logs',
    title: "Read a workspace's logs",
    description:
      "The end of a workspace's logs: boot (its start-up and its agent's output; default) or cmd (each command run through " +
      'workspace_exec: command, exit code, duration and the end of its output). Long logs keep their end and say how much was left out.',
    input: Type.Object(
      {
        workspace: WorkspaceRef,
        source: Type.Optional({ ...LogSource, description: 'boot (default) or cmd' }),
        tail_lines: described(LogsQuery.properties.tail_lines, `Entries from the end (default ${LOG_LIMITS.defaultTailLines})`),
        max_bytes: Type.Integer({
          minimum: 1024,
          maximum: MAX_BYTES,
          default: DEFAULT_MAX_BYTES,
          description: `Bytes of text returned at most, the newest entries kept (default ${DEFAULT_MAX_BYTES})`,
        }),
      },
      { additionalProperties: false },
    ),
    annotations: { readOnlyHint: true, openWorldHint: false },
    async run(args, { client, signal }) {
      const id = await resolveWorkspace(client, args.workspace, signal);
      const source = args.source ?? 'boot';
      const res = await client.workspaces.logs.get(
        id,
        { source, ...(args.tail_lines !== undefined ? { tail_lines: args.tail_lines } : {}) },
        { signal },
      );
      const { kept, omitted } = lastLines(blocks(res.logs, source), args.max_bytes);
      const logs = res.logs.slice(res.logs.length - kept.length);
      const note = omitted > 0 ? `[… ${omitted} older entries left out: raise max_bytes or lower tail_lines]\n` : '';
      const text = res.logs.length === 0 ? `the ${source} log of ${id} is empty` : `${note}${kept.join('\n')}`;
      return { text, structured: { workspace_id: id, source, logs, truncated: omitted > 0, omitted_entries: omitted } };
    },
  }),
];
