// Frame layouts of the multiplexed `/ws` WebSocket.
//
// Binary frames carry terminal bytes both ways: `[id_byte][data]`.
// Text frames are JSON objects; every frame the server sends has `channel`.

/** Client → server: resize a terminal. `id` is normally a string ("1"); a number is accepted. */
export interface WsTerminalResize {
  channel: 'terminal';
  type: 'resize';
  id: string | number;
  cols: number;
  rows: number;
}

/** Client → server: close a terminal (kill its process). */
export interface WsTerminalClose {
  channel: 'terminal';
  type: 'close';
  id: string | number;
}

/** Server → client: a terminal's process exited (code 128+N after signal N). */
export interface WsTerminalExit {
  channel: 'terminal';
  type: 'exit';
  id: string;
  code: number;
}

/**
 * Server → client: a frame could not be served. `channel` is the channel
 * the frame was for (`terminal`), or `error` when it could not be read.
 */
export interface WsErrorFrame {
  channel: string;
  type: 'error';
  error: string;
  code: string;
  id?: string;
}

/** Largest frame a client may send; a bigger one closes the socket with 1009. */
export const WS_MAX_PAYLOAD = 1024 * 1024;

/** Close codes the server uses. */
export const WS_CLOSE = {
  /** Server shutting down. */
  goingAway: 1001,
  /** Frame larger than WS_MAX_PAYLOAD. */
  tooBig: 1009,
  /** The client did not read fast enough. */
  tooSlow: 1013,
} as const;

/** Builds `[id_byte][data]`. */
export function encodeTerminalFrame(id: number, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(data.length + 1);
  frame[0] = id & 0xff;
  frame.set(data, 1);
  return frame;
}

/** Splits `[id_byte][data]`; undefined for an empty frame. */
export function decodeTerminalFrame(frame: Uint8Array): { id: number; data: Uint8Array } | undefined {
  if (frame.length === 0) return undefined;
  return { id: frame[0] as number, data: frame.subarray(1) };
}
