import type { TerminalCloseResponse, TerminalCreateResponse, TerminalInfo, TerminalScrollbackResponse } from '@cove/protocol';
import type { RequestOptions } from '../core/transport.js';
import type { RuntimeHttp } from './runtime-http.js';

/** A terminal session as the agent reports it. */
export type TerminalSession = TerminalInfo;

export interface CreateTerminalOptions {
  /** The shell to run (becomes `cmd: [shell]`). */
  shell?: string;
  /** The command to run instead of the default shell. */
  cmd?: string[];
  cols?: number;
  rows?: number;
  scrollbackSize?: number;
  cwd?: string;
  env?: Record<string, string>;
}

/**
 * Interactive terminals (`rt.terminal`); their I/O flows over `rt.ws()`.
 *
 * @example
 * const term = await rt.terminal.create({ shell: '/bin/bash', cols: 120, rows: 40 });
 * const { scrollback } = await rt.terminal.scrollback(term.id);
 */
export class Terminal {
  readonly #http: RuntimeHttp;

  constructor(http: RuntimeHttp) {
    this.#http = http;
  }

  /** Starts a PTY session (`POST /terminals`). */
  create(options: CreateTerminalOptions = {}, request?: RequestOptions): Promise<TerminalCreateResponse> {
    const json: Record<string, unknown> = {};
    const cmd = options.cmd ?? (options.shell ? [options.shell] : undefined);
    if (cmd) json.cmd = cmd;
    if (options.cols !== undefined) json.cols = options.cols;
    if (options.rows !== undefined) json.rows = options.rows;
    if (options.scrollbackSize !== undefined) json.scrollback_size = options.scrollbackSize;
    if (options.cwd !== undefined) json.cwd = options.cwd;
    if (options.env !== undefined) json.env = options.env;
    return this.#http.json({ method: 'POST', path: '/terminals', json }, request);
  }

  /** Every session, live or exited (`GET /terminals`). */
  async list(request?: RequestOptions): Promise<TerminalSession[]> {
    const body = await this.#http.json<{ terminals: TerminalSession[] }>({ method: 'GET', path: '/terminals' }, request);
    return body.terminals;
  }

  /** Closes a session and kills its process (`DELETE /terminals/:id`). */
  close(id: string, request?: RequestOptions): Promise<TerminalCloseResponse> {
    return this.#http.json({ method: 'DELETE', path: `/terminals/${encodeURIComponent(id)}` }, request);
  }

  /** The session's recent output, base64 (`GET /terminals/:id/scrollback`). */
  scrollback(id: string, options: { bytes?: number } = {}, request?: RequestOptions): Promise<TerminalScrollbackResponse> {
    return this.#http.json(
      { method: 'GET', path: `/terminals/${encodeURIComponent(id)}/scrollback`, query: { bytes: options.bytes } },
      request,
    );
  }
}
