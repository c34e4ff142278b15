// `/logs…` on the agent: the command log (read, follow, clear) and the log files the agent keeps (the command
// log's and the workloads'), by name. The boot log is the driver's, on the host: the control plane serves it.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  AppError,
  type CommandRecord,
  LOG_FILE_NAME_PATTERN,
  LOG_LIMITS,
  type LogFileInfo,
  LogFileParams,
  LogFileQuery,
  LogFileResponse,
  LogFilesResponse,
  LogStreamQuery,
  LogsClearResponse,
  LogsResponse,
} from '@cove/protocol';
import { Type } from '@sinclair/typebox';
import type { AgentApp } from '../context.js';
import type { CommandLog } from './command-log.js';
import { recordLine } from './command-log.js';
import { readTail } from './log-file.js';
import { SseStream } from './sse-stream.js';

const TAGS = ['logs'];

/** The workloads' log files, by the names `GET /logs/files` shows them (`workload-<id>.log`). */
export type WorkloadLogFiles = () => Array<{ id: string; file: string }>;

const TailQuery = Type.Object({ tail_lines: Type.Optional(Type.Integer({ minimum: 1, maximum: LOG_LIMITS.maxTailLines })) });
const NAME = new RegExp(LOG_FILE_NAME_PATTERN);

export function registerLogsRoutes(app: AgentApp, cmdLog: CommandLog, workloadFiles: WorkloadLogFiles): void {
  /** Every file by its name: the command log and its previous generation, each workload's log and its. */
  const files = (): Map<string, string> => {
    const out = new Map<string, string>(
      cmdLog.inMemory
        ? []
        : [
            ['cmd.log', cmdLog.file],
            ['cmd.log.1', `${cmdLog.file}.1`],
          ],
    );
    for (const { id, file } of workloadFiles()) {
      out.set(`workload-${id}.log`, file);
      out.set(`workload-${id}.log.1`, `${file}.1`);
    }
    return out;
  };

  const cmdLines = async (tail: number) => {
    const lines = await cmdLog.tail(tail);
    return lines.flatMap((line) => {
      try {
        return [recordLine(JSON.parse(line) as CommandRecord)];
      } catch {
        return [];
      }
    });
  };

  app.get(
    '/logs/cmd',
    {
      schema: {
        tags: TAGS,
        summary: 'The end of the command log: one record per command run through exec',
        querystring: TailQuery,
        response: { 200: LogsResponse },
      },
    },
    async (request) => ({
      success: true as const,
      source: 'cmd' as const,
      logs: await cmdLines(request.query.tail_lines ?? LOG_LIMITS.defaultTailLines),
    }),
  );

  app.delete('/logs/cmd', { schema: { tags: TAGS, summary: 'Clear the command log', response: { 200: LogsClearResponse } } }, async () => {
    await cmdLog.clear();
    return { success: true as const, cleared: ['cmd' as const] };
  });

  app.get(
    '/logs/cmd/stream',
    {
      schema: {
        tags: TAGS,
        summary: 'The command log: its end, then each command as it finishes (SSE `log` events)',
        querystring: LogStreamQuery,
      },
    },
    async (request, reply) => {
      const replay = await cmdLines(request.query.tail_lines ?? LOG_LIMITS.defaultTailLines);
      const follow = request.query.follow ?? true;
      const sse = new SseStream(reply);
      // Records that finish while the replay is written wait in a bounded queue; a reader that falls that far
      // behind is disconnected rather than buffered for.
      const queue: CommandRecord[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = follow
        ? cmdLog.onRecord((record) => {
            if (queue.length >= 1000) sse.end();
            else queue.push(record);
            wake?.();
          })
        : () => {};
      sse.signal.addEventListener('abort', () => wake?.(), { once: true });
      try {
        for (const line of replay) if (!(await sse.send('log', line))) return reply;
        if (!follow) {
          sse.end();
          return reply;
        }
        while (!sse.signal.aborted) {
          const record = queue.shift();
          if (record === undefined) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
            continue;
          }
          if (!(await sse.send('log', recordLine(record)))) break;
        }
      } finally {
        unsubscribe();
      }
      return reply;
    },
  );

  app.get(
    '/logs/files',
    {
      schema: {
        tags: TAGS,
        summary: 'The log files the agent keeps (the command log, the workloads’ logs)',
        response: { 200: LogFilesResponse },
      },
    },
    async () => {
      const list: LogFileInfo[] = [];
      for (const [name, file] of files()) {
        const info = await stat(file).catch(() => undefined);
        if (info?.isFile()) list.push({ name, size: info.size, modified: info.mtime.toISOString() });
      }
      list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return { success: true as const, files: list };
    },
  );

  app.get(
    '/logs/files/:name',
    {
      schema: {
        tags: TAGS,
        summary: 'The end of a log file, by its name in `GET /logs/files`',
        params: LogFileParams,
        querystring: LogFileQuery,
        response: { 200: LogFileResponse },
      },
    },
    async (request) => {
      const { name } = request.params;
      // Only names of the list resolve: a path (`../x`, `/etc/passwd`) is never a name.
      if (!NAME.test(name) || name.includes('..')) throw new AppError('bad_request', `invalid parameter 'name': not a log file name`);
      const file = files().get(name);
      const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
      if (file === undefined || !info?.isFile()) throw new AppError('not_found', `no log file '${name}'`);
      const tail = await readTail(file, request.query.tail_lines ?? LOG_LIMITS.maxTailLines, LOG_LIMITS.maxFileBytes);
      return {
        success: true as const,
        name: path.basename(name),
        size: tail.size,
        modified: info.mtime.toISOString(),
        content: tail.lines.join('\n') + (tail.lines.length > 0 ? '\n' : ''),
        truncated: tail.truncated,
      };
    },
  );
}
