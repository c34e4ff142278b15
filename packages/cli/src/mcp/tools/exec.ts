// `workspace_exec`: a command in a workspace, its output streamed and bounded, its exit code returned.
import { ExecRunBody, MAX_EXEC_TIMEOUT_SECONDS } from '@cove/protocol';
import type { Runtime } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { HeadTail } from '../bounded.js';
import { defineTool, described, type Tool } from '../tool.js';
import { toolError } from '../tool-error.js';
import { runtimeOf, WorkspaceRef } from '../workspace-ref.js';

const DEFAULT_TIMEOUT_SECONDS = 300;
const DEFAULT_MAX_OUTPUT = 30_000;
const MAX_OUTPUT = 1024 * 1024;

const body = ExecRunBody.properties;

const input = Type.Object(
  {
    workspace: WorkspaceRef,
    cmd: described(
      body.cmd,
      'The command: one string is a shell line (pipes, &&, redirections work); an array is an argv run without a shell',
    ),
    cwd: described(body.cwd, "Working directory (default: the workspace's working directory)"),
    env: body.env,
    timeout: Type.Number({
      minimum: 0,
      maximum: MAX_EXEC_TIMEOUT_SECONDS,
      default: DEFAULT_TIMEOUT_SECONDS,
      description: `Seconds before the command's process group is killed (0: no timeout; default ${DEFAULT_TIMEOUT_SECONDS})`,
    }),
    stdin: Type.Optional(Type.String({ description: "Text given to the command's standard input (default: none, closed at once)" })),
    max_output_bytes: Type.Integer({
      minimum: 1024,
      maximum: MAX_OUTPUT,
      default: DEFAULT_MAX_OUTPUT,
      description: `Bytes kept of stdout and of stderr each; beyond that the middle is cut (default ${DEFAULT_MAX_OUTPUT})`,
    }),
  },
  { additionalProperties: false },
);

/** What one stream's result says: its text, and how much of it was cut. */
function streamFields(name: 'stdout' | 'stderr', s: HeadTail): Record<string, unknown> {
  return { [name]: s.text(), [`${name}_truncated`]: s.omitted > 0, [`${name}_bytes`]: s.total, [`${name}_omitted_bytes`]: s.omitted };
}

function section(name: string, s: HeadTail): string {
  if (s.total === 0) return '';
  const note = s.omitted > 0 ? ` (${s.total} bytes, ${s.omitted} cut from the middle)` : '';
  return `\n--- ${name}${note} ---\n${s.text()}`;
}

/** Gives the task its input (or none), then closes its stdin so programs that read to the end finish. */
async function feed(rt: Runtime, taskId: string, stdin: string | undefined, signal: AbortSignal): Promise<void> {
  if (stdin !== undefined && stdin !== '') await rt.exec.input(taskId, stdin, { signal });
  await rt.exec.closeStdin(taskId, { signal });
}

export const EXEC_TOOLS: readonly Tool[] = [
  defineTool({
    name: 'workspace_exec',
    title: 'Run a command in a workspace',
    description:
      'Run a command in a workspace and wait for it: returns its exit code, stdout and stderr. Long output keeps its start and ' +
      'end and says how many bytes were cut (stdout_truncated, stdout_omitted_bytes). A non-zero exit code is a result, not an error.',
    input,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    async run(args, { client, signal, progress }) {
      const { id, rt } = await runtimeOf(client, args.workspace, signal);
      const stdout = new HeadTail(args.max_output_bytes);
      const stderr = new HeadTail(args.max_output_bytes);
      const options = {
        timeoutSeconds: args.timeout,
        ...(args.cwd !== undefined ? { cwd: args.cwd } : {}),
        ...(args.env !== undefined ? { env: args.env } : {}),
      };
      // A command that runs for minutes still shows signs of life: the output it has written so far.
      const report = () => progress(stdout.total + stderr.total, `${stdout.total} bytes on stdout, ${stderr.total} on stderr`);
      let taskId: string | undefined;
      let fed: Promise<void> | undefined;
      let exited = false;
      try {
        for await (const ev of rt.exec.stream(args.cmd, options, { signal })) {
          if (ev.event === 'task_id') {
            taskId = ev.task_id;
            // Caught here and awaited below: a task that exits at once may have no stdin left to close.
            fed = feed(rt, taskId, args.stdin, signal).catch(() => {});
          } else if (ev.event === 'stdout') {
            stdout.push(Buffer.from(ev.data, 'base64'));
            report();
          } else if (ev.event === 'stderr') {
            stderr.push(Buffer.from(ev.data, 'base64'));
            report();
          } else if (ev.event === 'output') {
            if (ev.stdout) stdout.push(Buffer.from(ev.stdout));
            if (ev.stderr) stderr.push(Buffer.from(ev.stderr));
            report();
          } else if (ev.event === 'exit') {
            exited = true;
            await fed;
            const timedOut = ev.timed_out === true;
            const head = timedOut
              ? `timed out after ${args.timeout} s (killed; exit code ${ev.exit_code})`
              : `exit code ${ev.exit_code}${ev.signal ? ` (${ev.signal})` : ''}`;
            return {
              text: `${head}${section('stdout', stdout)}${section('stderr', stderr)}`,
              structured: {
                workspace_id: id,
                task_id: taskId,
                exit_code: ev.exit_code,
                ...(ev.signal ? { signal: ev.signal } : {}),
                timed_out: timedOut,
                ...streamFields('stdout', stdout),
                ...streamFields('stderr', stderr),
              },
            };
          }
        }
        throw toolError(
          'bad_gateway',
          `the output stream ended before the command exited${taskId ? ` (task ${taskId} may still be running)` : ''}`,
        );
      } finally {
        // A cancelled call must not leave its command running in the workspace.
        if (!exited && taskId !== undefined) await rt.exec.kill(taskId).catch(() => {});
      }
    },
  }),
];
