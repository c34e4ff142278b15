// The agent's lifecycle messages: how the process that started an agent (a driver, a test, a benchmark) learns
// that it serves and that it took a new token. One JSON object per line on the agent's stdout, which carries
// nothing else; its logs go to stderr. Readers may see both streams mixed (the sandbox driver reads one log
// file), so the parser takes only lines that are lifecycle messages and ignores everything else.

/** The agent listens: printed once, in the same tick as its SIGHUP handler is installed (a rotation right after is safe). */
export interface AgentReadyEvent {
  type: 'ready';
  /** The base URL a client on the same host uses (`http://127.0.0.1:9990`). */
  url: string;
  /** The address it listens on, with the real port (`0.0.0.0:9990`; `[::1]:9990` for IPv6). */
  listen: string;
  /** The port it listens on (the real one when asked for port 0). */
  port: number;
  /** The working directory relative paths resolve against. */
  workdir: string;
  /** The agent's process id (under tini, not the container's first process). */
  pid: number;
  version: string;
}

/** The agent re-read its token file after SIGHUP: from now on only the new token is accepted. */
export interface AgentTokenReloadedEvent {
  type: 'token-reloaded';
}

/** The agent could not take a new token after SIGHUP (unreadable or empty file, token from the environment): it keeps the previous one. */
export interface AgentTokenReloadFailedEvent {
  type: 'token-reload-failed';
  error: string;
}

export type AgentLifecycleEvent = AgentReadyEvent | AgentTokenReloadedEvent | AgentTokenReloadFailedEvent;

/** One lifecycle message as the agent writes it: a JSON line that starts with `{"type":`. */
export function encodeAgentEvent(event: AgentLifecycleEvent): string {
  // `type` first, whatever the caller's key order: the parser skips every line that does not start with it.
  const { type, ...fields } = event;
  return `${JSON.stringify({ type, ...fields })}\n`;
}

/**
 * The lifecycle message on `line`, or undefined for any other line: a log record (pino's start with
 * `{"level":`), garbage, a partial line, a message of an unknown type or with fields of the wrong type.
 */
export function parseAgentEvent(line: string): AgentLifecycleEvent | undefined {
  const text = line.trim();
  if (!text.startsWith('{"type":')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  switch (v.type) {
    case 'ready':
      if (typeof v.url !== 'string' || typeof v.listen !== 'string' || typeof v.workdir !== 'string') return undefined;
      if (typeof v.port !== 'number' || typeof v.pid !== 'number' || typeof v.version !== 'string') return undefined;
      return { type: 'ready', url: v.url, listen: v.listen, port: v.port, workdir: v.workdir, pid: v.pid, version: v.version };
    case 'token-reloaded':
      return { type: 'token-reloaded' };
    case 'token-reload-failed':
      return typeof v.error === 'string' ? { type: 'token-reload-failed', error: v.error } : undefined;
    default:
      return undefined;
  }
}

/**
 * Splits `text` into complete lines and parses each: the lifecycle messages in order, and the text after the
 * last newline (a line still being written) to prepend to the next chunk.
 */
export function parseAgentEvents(text: string): { events: AgentLifecycleEvent[]; rest: string } {
  const lines = text.split('\n');
  const rest = lines.pop() ?? '';
  const events: AgentLifecycleEvent[] = [];
  for (const line of lines) {
    const event = parseAgentEvent(line);
    if (event) events.push(event);
  }
  return { events, rest };
}
