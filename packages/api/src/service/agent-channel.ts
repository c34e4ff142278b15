// The control plane's channel to a workspace's agent: its Unix socket where the driver offers one (off the
// workspace's network, so no firewall opening is needed), else its address; always with its raw token.
// JSON answers are read whole (bounded); streams are relayed as they come, with backpressure.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { AppError, ERROR_STATUS, type ErrorCode } from '@cove/protocol';
import type { FastifyReply } from 'fastify';
import type { WorkspaceRecord } from '../store/records.js';
import { ensureAgent } from './api-access.js';
import { type ControlContext, ownedWorkspace, present } from './context.js';
import { newRawToken } from './ids.js';

/** The largest JSON answer read from an agent (workload lists, log tails). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
/** How long an agent may take to answer a plain request. */
const ANSWER_TIMEOUT_MS = 30_000;

export interface AgentCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The agent's path with its query string. */
  path: string;
  body?: unknown;
}

/**
 * The owner's running workspace with its agent serving: the agent is turned on (as exposing a port does: Internal
 * API access enabled, no JWT issued) when it is not, since workloads and the command log live in it.
 */
export async function reachAgent(ctx: ControlContext, owner: string, id: string): Promise<WorkspaceRecord> {
  const ws = await ownedWorkspace(ctx, owner, id);
  requireRunning(ws);
  if (ws.accessEnabled && ws.rawToken !== null && ws.ip !== null && ws.port !== null && ctx.driver.agentRunning(id)) return ws;
  return ctx.locks.run(id, async () => {
    let current = await ownedWorkspace(ctx, owner, id);
    requireRunning(current);
    if (!current.accessEnabled || current.rawToken === null) {
      current = present(await ctx.store.updateWorkspace(id, { accessEnabled: true, rawToken: current.rawToken ?? newRawToken() }), id);
    }
    return ensureAgent(ctx, current, current.rawToken as string);
  });
}

export function requireRunning(ws: WorkspaceRecord): void {
  if (ws.status === 'paused') throw new AppError('conflict', `workspace '${ws.id}' is paused; resume it first`);
  if (ws.status !== 'running') throw new AppError('conflict', `workspace '${ws.id}' is ${ws.status}; start it first`);
}

function open(ctx: ControlContext, ws: WorkspaceRecord, call: AgentCall): Promise<IncomingMessage> & { abort(): void } {
  const socketPath = ctx.driver.agentSocket?.(ws.id);
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const headers: Record<string, string> = { authorization: `Bearer ${ws.rawToken ?? ''}` };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const target = socketPath !== undefined ? { socketPath } : { host: ws.ip ?? '127.0.0.1', port: ws.port ?? 0 };
  let req: ReturnType<typeof httpRequest> | undefined;
  const promise = new Promise<IncomingMessage>((resolve, reject) => {
    req = httpRequest({ ...target, method: call.method, path: call.path, headers, agent: false }, resolve);
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(new AppError('service_unavailable', `the workspace agent cannot be reached: ${err.code ?? err.message}`));
    });
    req.end(body);
  });
  return Object.assign(promise, { abort: () => req?.destroy() });
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > MAX_ANSWER_BYTES) {
      res.destroy();
      throw new AppError('bad_gateway', 'the workspace agent answered more than the control plane reads');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An agent's error answer as the same error here (its code and message); anything else is a bad gateway. */
function agentError(status: number, text: string): AppError {
  try {
    const body = JSON.parse(text) as { error?: unknown; code?: unknown };
    if (typeof body.error === 'string' && typeof body.code === 'string' && body.code in ERROR_STATUS) {
      return new AppError(body.code as ErrorCode, body.error);
    }
  } catch {
    // Not JSON: said below.
  }
  return new AppError('bad_gateway', `the workspace agent answered ${status}`);
}

/** Calls the agent and returns its JSON answer; an error answer is thrown as the same error. */
export async function agentJson<T = Record<string, unknown>>(ctx: ControlContext, ws: WorkspaceRecord, call: AgentCall): Promise<T> {
  const pending = open(ctx, ws, call);
  const timer = setTimeout(() => pending.abort(), ANSWER_TIMEOUT_MS);
  try {
    const res = await pending;
    const text = await readBody(res);
    const status = res.statusCode ?? 502;
    if (status >= 400) throw agentError(status, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new AppError('bad_gateway', 'the workspace agent answered something that is not JSON');
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Relays an agent's event stream to `reply` as it comes (pipe: the agent's socket is read only as fast as the
 * client reads), ending the agent's request when the client goes. An error answer is thrown before anything is
 * sent.
 */
export async function relayStream(ctx: ControlContext, ws: WorkspaceRecord, call: AgentCall, reply: FastifyReply): Promise<FastifyReply> {
  const pending = open(ctx, ws, call);
  const res = await pending;
  const status = res.statusCode ?? 502;
  if (status >= 400) throw agentError(status, await readBody(res));
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': res.headers['content-type'] ?? 'text/event-stream',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  raw.flushHeaders();
  raw.on('close', () => pending.abort());
  res.on('error', () => raw.destroy());
  res.pipe(raw);
  return reply;
}

/**
 * Follows an agent's event stream: calls `onEvent` with each `data:` line's JSON, in order, until the stream
 * ends (the agent stopped) or `signal` aborts.
 */
export async function openEventStream<T>(
  ctx: ControlContext,
  ws: WorkspaceRecord,
  path: string,
  signal: AbortSignal,
  onEvent: (event: T) => void | Promise<void>,
): Promise<void> {
  const pending = open(ctx, ws, { method: 'GET', path });
  signal.addEventListener('abort', () => pending.abort(), { once: true });
  const res = await pending;
  if ((res.statusCode ?? 502) >= 400) {
    res.resume();
    return;
  }
  res.setEncoding('utf8');
  let buffer = '';
  for await (const chunk of res) {
    buffer += chunk as string;
    // A line never grows without bound: an agent's events are small.
    if (buffer.length > 1024 * 1024) buffer = '';
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith('data: ')) continue;
      let event: T;
      try {
        event = JSON.parse(line.slice(6)) as T;
      } catch {
        continue;
      }
      await onEvent(event);
    }
  }
}
