import { TERMINAL_LIMITS } from '@cove/protocol';
import type { TextFrame, WsClient, WsHub } from '../ws/hub.js';
import type { TerminalSession } from './session.js';
import type { TerminalManager } from './terminal-manager.js';

/**
 * The terminal side of `/ws`: binary `[id][stdin]` frames, and the
 * `resize` and `close` text frames. Anything that cannot be served gets an
 * error text frame on the `terminal` channel; the connection stays up.
 */
export function attachTerminalChannel(hub: WsHub, manager: TerminalManager): void {
  hub.onBinary((data, client) => {
    if (data.length === 0) {
      client.sendText(terminalError('empty binary frame: expected [id_byte][data]', 'bad_request'));
      return;
    }
    const session = live(manager, data[0] as number, client);
    if (session) session.write(data.subarray(1));
  });

  hub.onText('terminal', (frame, client) => {
    switch (frame.type) {
      case 'resize':
        return resize(manager, frame, client);
      case 'close': {
        const session = manager.get(frame.id);
        if (!session) return client.sendText(notFound(frame.id));
        manager.close(session);
        return;
      }
      default:
        client.sendText(
          terminalError(`unknown terminal frame type '${frame.type.slice(0, 64)}' (expected resize or close)`, 'bad_request'),
        );
    }
  });
}

function resize(manager: TerminalManager, frame: TextFrame, client: WsClient): void {
  const session = live(manager, frame.id, client);
  if (!session) return;
  for (const key of ['cols', 'rows'] as const) {
    const value = frame[key];
    if (!Number.isInteger(value) || (value as number) < TERMINAL_LIMITS.minSize || (value as number) > TERMINAL_LIMITS.maxSize) {
      client.sendText(
        terminalError(
          `invalid parameter '${key}': must be an integer from ${TERMINAL_LIMITS.minSize} to ${TERMINAL_LIMITS.maxSize}`,
          'bad_request',
          session.idString,
        ),
      );
      return;
    }
  }
  session.resize(frame.cols as number, frame.rows as number);
}

/** The live session a frame names, or an error frame to the client. */
function live(manager: TerminalManager, id: unknown, client: WsClient): TerminalSession | undefined {
  const session = manager.get(id);
  if (!session) {
    client.sendText(notFound(id));
    return undefined;
  }
  if (!session.alive) {
    client.sendText(terminalError(`terminal ${session.idString} has exited`, 'conflict', session.idString));
    return undefined;
  }
  return session;
}

function notFound(id: unknown): object {
  const shown = typeof id === 'string' || typeof id === 'number' ? String(id).slice(0, 64) : undefined;
  return shown === undefined
    ? terminalError("missing or invalid terminal 'id'", 'bad_request')
    : terminalError(`terminal session '${shown}' not found`, 'not_found', shown);
}

function terminalError(error: string, code: string, id?: string): object {
  return { channel: 'terminal', type: 'error', error, code, ...(id !== undefined ? { id } : {}) };
}
