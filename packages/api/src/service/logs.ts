// A workspace's logs: the boot log is the driver's file on the host (the agent's output), read and cleared here;
// the command log and the workloads' log files are the agent's, in the workspace, reached through it.
import { open, stat, truncate } from 'node:fs/promises';
import {
  AppError,
  LOG_FILE_NAME_PATTERN,
  LOG_LIMITS,
  type LogFileInfo,
  type LogFileResponse,
  type LogLine,
  type LogSource,
} from '@cove/protocol';
import type { Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { WorkspaceRecord } from '../store/records.js';
import { agentJson, reachAgent, relayStream } from './agent-channel.js';
import { type ControlContext, ownedWorkspace } from './context.js';

const BOOT_FILES = ['boot.log', 'boot.log.1'] as const;
const NAME = new RegExp(LOG_FILE_NAME_PATTERN);

function bootFile(ctx: ControlContext, ws: WorkspaceRecord): string {
  const file = ctx.driver.bootLogFile?.(ws.id);
  if (file === undefined) throw new AppError('conflict', `the ${ctx.driver.name} driver keeps no boot log for workspace '${ws.id}'`);
  return file;
}

/** A boot log line as the SDK's `{message, timestamp}`: the agent's JSON lines carry their time. */
function bootLine(line: string): LogLine {
  let timestamp: string | undefined;
  if (line.startsWith('{')) {
    try {
      const time = (JSON.parse(line) as { time?: unknown }).time;
      if (typeof time === 'number' && Number.isFinite(time)) timestamp = new Date(time).toISOString();
    } catch {
      // Not JSON after all: the line as it is.
    }
  }
  return { message: line, source: 'boot', ...(timestamp !== undefined && { timestamp }) };
}

/** The last `maxLines` whole lines of `file` within its last `maxBytes`; none when there is no file. */
async function readTail(file: string, maxLines: number, maxBytes: number): Promise<{ lines: string[]; size: number; truncated: boolean }> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return { lines: [], size: 0, truncated: false };
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    let text = buffer.subarray(0, bytesRead).toString('utf8');
    let truncated = size > length;
    if (truncated) text = text.slice(text.indexOf('\n') + 1);
    const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    if (lines.length > maxLines) {
      lines.splice(0, lines.length - maxLines);
      truncated = true;
    }
    return { lines, size, truncated };
  } finally {
    await handle.close();
  }
}

/** `GET /workspace/:id/logs`: the end of the boot log (default) or of the command log. */
export async function getLogs(
  ctx: ControlContext,
  owner: string,
  id: string,
  q: { source?: LogSource | undefined; tail_lines?: number | undefined },
) {
  const source = q.source ?? 'boot';
  const tail = q.tail_lines ?? LOG_LIMITS.defaultTailLines;
  if (source === 'cmd') {
    const ws = await reachAgent(ctx, owner, id);
    const answer = await agentJson<{ logs: LogLine[] }>(ctx, ws, { method: 'GET', path: `/logs/cmd?tail_lines=${tail}` });
    return { success: true as const, workspace_id: ws.id, source, logs: answer.logs };
  }
  const ws = await ownedWorkspace(ctx, owner, id);
  const { lines } = await readTail(bootFile(ctx, ws), tail, LOG_LIMITS.maxFileBytes);
  return { success: true as const, workspace_id: ws.id, source, logs: lines.map(bootLine) };
}

/** `DELETE /workspace/:id/logs`: empties the boot log and, while the workspace runs, the command log. */
export async function clearLogs(ctx: ControlContext, owner: string, id: string, q: { source?: LogSource | undefined }) {
  const ws = await ownedWorkspace(ctx, owner, id);
  const cleared: LogSource[] = [];
  if (q.source !== 'cmd') {
    // The agent appends (O_APPEND): it goes on writing at the new end.
    const file = bootFile(ctx, ws);
    await truncate(file, 0).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    cleared.push('boot');
  }
  if (q.source === 'cmd' || (q.source === undefined && ws.status === 'running')) {
    const running = await reachAgent(ctx, owner, id);
    await agentJson(ctx, running, { method: 'DELETE', path: '/logs/cmd' });
    cleared.push('cmd');
  }
  return { success: true as const, workspace_id: ws.id, cleared };
}

/** `GET /workspace/:id/logs/list`: the boot log, and the agent's files while the workspace runs. */
export async function listLogFiles(ctx: ControlContext, owner: string, id: string) {
  const ws = await ownedWorkspace(ctx, owner, id);
  const files: LogFileInfo[] = [];
  const boot = ctx.driver.bootLogFile?.(ws.id);
  if (boot !== undefined) {
    for (const [name, file] of [
      ['boot.log', boot],
      ['boot.log.1', `${boot}.1`],
    ] as const) {
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile()) files.push({ name, size: info.size, modified: info.mtime.toISOString() });
    }
  }
  if (ws.status === 'running') {
    const running = await reachAgent(ctx, owner, id);
    const answer = await agentJson<{ files: LogFileInfo[] }>(ctx, running, { method: 'GET', path: '/logs/files' });
    files.push(...answer.files);
  }
  return { success: true as const, workspace_id: ws.id, files };
}

/** `GET /workspace/:id/logs/file/:name`: a file of the list, by name (never a path). */
export async function getLogFile(
  ctx: ControlContext,
  owner: string,
  id: string,
  name: string,
  tail: number | undefined,
): Promise<Static<typeof LogFileResponse>> {
  if (!NAME.test(name) || name.includes('..')) throw new AppError('bad_request', "invalid parameter 'name': not a log file name");
  const ws = await ownedWorkspace(ctx, owner, id);
  if ((BOOT_FILES as readonly string[]).includes(name)) {
    const base = bootFile(ctx, ws);
    const file = name === 'boot.log' ? base : `${base}.1`;
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new AppError('not_found', `no log file '${name}'`);
    const t = await readTail(file, tail ?? LOG_LIMITS.maxTailLines, LOG_LIMITS.maxFileBytes);
    return {
      success: true as const,
      workspace_id: ws.id,
      name,
      size: t.size,
      modified: info.mtime.toISOString(),
      content: t.lines.length > 0 ? `${t.lines.join('\n')}\n` : '',
      truncated: t.truncated,
    };
  }
  const running = await reachAgent(ctx, owner, id);
  const path = `/logs/files/${encodeURIComponent(name)}${tail !== undefined ? `?tail_lines=${tail}` : ''}`;
  const answer = await agentJson<Static<typeof LogFileResponse>>(ctx, running, { method: 'GET', path });
  return { ...answer, workspace_id: ws.id };
}

/** `GET /workspace/:id/logs/stream/cmd`: the agent's command log stream, relayed. */
export async function streamCmdLog(
  ctx: ControlContext,
  owner: string,
  id: string,
  q: { tail_lines?: number | undefined; follow?: boolean | undefined },
  reply: FastifyReply,
) {
  const ws = await reachAgent(ctx, owner, id);
  const params = new URLSearchParams();
  if (q.tail_lines !== undefined) params.set('tail_lines', String(q.tail_lines));
  if (q.follow !== undefined) params.set('follow', String(q.follow));
  const query = params.toString();
  return relayStream(ctx, ws, { method: 'GET', path: `/logs/cmd/stream${query ? `?${query}` : ''}` }, reply);
}

/**
 * `GET /workspace/:id/logs/stream/boot`: the end of the boot log as SSE `log` events, then — with `follow` —
 * each line as the agent writes it (polled: the file is the driver's, written by a process in the workspace).
 * Without `follow` the stream ends after the end of the log: the boot is over once the workspace runs.
 */
export async function streamBootLog(
  ctx: ControlContext,
  owner: string,
  id: string,
  q: { tail_lines?: number | undefined; follow?: boolean | undefined },
  reply: FastifyReply,
) {
  const ws = await ownedWorkspace(ctx, owner, id);
  const file = bootFile(ctx, ws);
  const size = (await stat(file).catch(() => undefined))?.size ?? 0;
  const { lines } = await readTail(file, q.tail_lines ?? LOG_LIMITS.defaultTailLines, LOG_LIMITS.maxFileBytes);
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  // The head goes now: an empty log must not leave the client waiting for the first keep-alive.
  raw.flushHeaders();
  let closed = false;
  raw.on('close', () => {
    closed = true;
  });
  const send = (line: string) =>
    new Promise<void>((resolve) => {
      if (raw.write(`event: log\ndata: ${JSON.stringify(bootLine(line))}\n\n`)) resolve();
      else raw.once('drain', resolve).once('close', resolve);
    });
  for (const line of lines) {
    if (closed) return reply;
    await send(line);
  }
  if (!q.follow) {
    raw.end();
    return reply;
  }
  let offset = size;
  let partial = '';
  let idle = 0;
  while (!closed) {
    const info = await stat(file).catch(() => undefined);
    const now = info?.size ?? 0;
    if (now < offset) {
      offset = 0;
      partial = '';
    }
    if (now > offset) {
      idle = 0;
      const handle = await open(file, 'r');
      try {
        const length = Math.min(now - offset, 64 * 1024);
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, offset);
        offset += bytesRead;
        const text = partial + buffer.subarray(0, bytesRead).toString('utf8');
        const nl = text.lastIndexOf('\n');
        partial = nl < 0 ? text : text.slice(nl + 1);
        if (nl >= 0) for (const line of text.slice(0, nl).split('\n')) if (!closed) await send(line);
      } finally {
        await handle.close();
      }
      continue;
    }
    // A comment now and then keeps proxies from closing an idle stream.
    if (++idle % 60 === 0) raw.write(': ping\n\n');
    await new Promise((r) => setTimeout(r, 250));
  }
  return reply;
}
