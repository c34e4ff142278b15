import {
  AppError,
  ErrorResponse,
  TerminalCloseResponse,
  TerminalCreateBody,
  TerminalCreateResponse,
  TerminalIdParams,
  TerminalListResponse,
  TerminalScrollbackQuery,
  TerminalScrollbackResponse,
} from '@cove/protocol';
import type { AgentApp, AgentContext } from '../context.js';
import { toSpawnRequest } from './create-request.js';
import type { TerminalSession } from './session.js';
import type { TerminalManager } from './terminal-manager.js';

const tags = ['terminals'];

/** The REST side of terminals: create, list, close, scrollback. */
export function registerTerminalRoutes(app: AgentApp, ctx: AgentContext, manager: TerminalManager): void {
  app.post(
    '/terminals',
    {
      schema: {
        tags,
        summary: 'Create a terminal session (a program on a PTY)',
        body: TerminalCreateBody,
        response: { 201: TerminalCreateResponse, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const session = manager.create(toSpawnRequest(request.body, ctx.workdir, ctx.processes));
      ctx.log.info({ terminal: session.id, command: session.command[0], pid: session.pid }, 'terminal created');
      return reply.code(201).send({ success: true, ...describe(session) });
    },
  );

  app.get(
    '/terminals',
    {
      schema: {
        tags,
        summary: 'List terminal sessions (exited ones too, until closed or expired)',
        response: { 200: TerminalListResponse },
      },
    },
    async () => ({ success: true as const, terminals: manager.listed().map(describe) }),
  );

  // Without an id there is nothing to close: the reference's "400 Missing terminal ID".
  app.delete('/terminals', { schema: { hide: true } }, async () => {
    throw new AppError('bad_request', 'missing terminal ID');
  });

  app.delete(
    '/terminals/:id',
    {
      schema: {
        tags,
        summary: 'Close a terminal session and kill its process',
        params: TerminalIdParams,
        response: { 200: TerminalCloseResponse, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const session = find(manager, request.params.id);
      manager.close(session);
      return { success: true as const, terminal_id: session.idString };
    },
  );

  app.get(
    '/terminals/:id/scrollback',
    {
      schema: {
        tags,
        summary: 'The buffered output of a session, base64',
        params: TerminalIdParams,
        querystring: TerminalScrollbackQuery,
        response: { 200: TerminalScrollbackResponse, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const session = find(manager, request.params.id);
      const bytes = request.query.bytes;
      const data = session.scrollback.tail(bytes ?? session.scrollback.size);
      return {
        success: true as const,
        scrollback: data.toString('base64'),
        size: data.length,
        alive: session.alive,
        exit_code: session.exitCode,
      };
    },
  );
}

function find(manager: TerminalManager, id: string): TerminalSession {
  if (id === '') throw new AppError('bad_request', 'missing terminal ID');
  const session = manager.get(id);
  if (!session) throw new AppError('not_found', `terminal session '${id.slice(0, 64)}' not found`);
  return session;
}

export function describe(s: TerminalSession) {
  return {
    id: s.idString,
    command: s.command,
    cols: s.cols,
    rows: s.rows,
    alive: s.alive,
    exit_code: s.exitCode,
    created_at: s.createdAt.toISOString(),
    scrollback_size: s.scrollback.capacity,
    pid: s.pid,
  };
}
