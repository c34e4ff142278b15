import {
  ErrorResponse,
  LogFileParams,
  LogFileQuery,
  LogFileResponse,
  LogFilesResponse,
  LogStreamQuery,
  LogsClearQuery,
  LogsClearResponse,
  LogsQuery,
  LogsResponse,
  WorkspaceIdParams,
} from '@cove/protocol';
import { Type } from '@sinclair/typebox';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { clearLogs, getLogFile, getLogs, listLogFiles, streamBootLog, streamCmdLog } from '../service/logs.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 503: ErrorResponse };
const FileParams = Type.Object({ id: WorkspaceIdParams.properties.id, name: LogFileParams.properties.name });

/** A workspace's logs: the official SDK's `workspaces.logs` (boot and command logs, files, streams). */
export function logsRoutes(app: ApiApp, ctx: ControlContext): void {
  const tags = ['logs'];
  app.get(
    '/workspace/:id/logs',
    {
      schema: {
        tags,
        summary: 'The end of the boot log (`source=boot`, default) or the command log (`source=cmd`)',
        params: WorkspaceIdParams,
        querystring: LogsQuery,
        response: { 200: LogsResponse, ...errors },
      },
    },
    (r) => getLogs(ctx, r.coveOwner, r.params.id, r.query),
  );
  app.delete(
    '/workspace/:id/logs',
    {
      schema: {
        tags,
        summary: 'Clear the boot log and the command log (or the `source` given)',
        params: WorkspaceIdParams,
        querystring: LogsClearQuery,
        response: { 200: LogsClearResponse, ...errors },
      },
    },
    (r) => clearLogs(ctx, r.coveOwner, r.params.id, r.query),
  );
  app.get(
    '/workspace/:id/logs/list',
    {
      schema: {
        tags,
        summary: 'The log files: the boot log, the command log, the workloads’ logs',
        params: WorkspaceIdParams,
        response: { 200: LogFilesResponse, ...errors },
      },
    },
    (r) => listLogFiles(ctx, r.coveOwner, r.params.id),
  );
  app.get(
    '/workspace/:id/logs/file/:name',
    {
      schema: {
        tags,
        summary: 'The end of a log file, by its name in the list',
        params: FileParams,
        querystring: LogFileQuery,
        response: { 200: LogFileResponse, ...errors },
      },
    },
    (r) => getLogFile(ctx, r.coveOwner, r.params.id, r.params.name, r.query.tail_lines),
  );
  app.get(
    '/workspace/:id/logs/stream/boot',
    {
      schema: {
        tags,
        summary: 'The boot log as SSE `log` events (ends after its end unless `follow=true`)',
        params: WorkspaceIdParams,
        querystring: LogStreamQuery,
        response: errors,
      },
    },
    (r, reply) => streamBootLog(ctx, r.coveOwner, r.params.id, r.query, reply),
  );
  app.get(
    '/workspace/:id/logs/stream/cmd',
    {
      schema: {
        tags,
        summary: 'The command log as SSE `log` events, then each command as it finishes (`follow=false` ends after the replay)',
        params: WorkspaceIdParams,
        querystring: LogStreamQuery,
        response: errors,
      },
    },
    (r, reply) => streamCmdLog(ctx, r.coveOwner, r.params.id, r.query, reply),
  );
}
