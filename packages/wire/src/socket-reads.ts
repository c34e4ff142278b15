import type { Socket } from 'node:net';

/**
 * Reads of a socket `net.Server` accepted, taken straight from the handle
 * into one shared buffer, as `net.connect({ onread })` does for sockets it
 * opens (the agent connections read that way): no buffer allocated, no
 * stream event and no tick per read. `net.Server` has no such option, so
 * this sets the same two slots `onread` sets; this file is the only place
 * that knows them. Node has had them since 12.
 */

interface ReadSlots {
  buffer: symbol;
  callback: symbol;
}

let slots: ReadSlots | undefined | null = null;

/** The socket's `kBuffer` and `kBufferCb` slots, found once; undefined if this Node has none. */
function readSlots(socket: Socket): ReadSlots | undefined {
  if (slots !== null) return slots;
  const symbols = Object.getOwnPropertySymbols(socket);
  const buffer = symbols.find((s) => s.description === 'kBuffer');
  const callback = symbols.find((s) => s.description === 'kBufferCb');
  slots = buffer !== undefined && callback !== undefined ? { buffer, callback } : undefined;
  return slots;
}

interface ReadableHandle {
  useUserBuffer?(buffer: Uint8Array): void;
}

/**
 * Sends every read of `socket` to `onRead` (the bytes are in `buffer`, valid
 * only during the call) instead of its stream. Call right after the socket
 * is accepted, before anything was read. Returns false, changing nothing,
 * when this Node does not allow it (the socket then reads as a stream).
 * Pausing and resuming the socket work as usual; `end` is still emitted.
 */
export function readInto(socket: Socket, buffer: Buffer, onRead: (data: Buffer) => void): boolean {
  const handle = (socket as unknown as { _handle?: ReadableHandle | null })._handle;
  const found = readSlots(socket);
  if (found === undefined || typeof handle?.useUserBuffer !== 'function' || socket.readableLength > 0) return false;
  handle.useUserBuffer(buffer);
  const target = socket as unknown as Record<symbol, unknown>;
  target[found.buffer] = buffer;
  target[found.callback] = (bytes: number): void => onRead(buffer.subarray(0, bytes));
  return true;
}

/**
 * Undoes `readInto` for whoever takes the socket over (node:http, a
 * WebSocket tunnel): each read is copied into the socket's stream, as an
 * ordinary socket's reads are, with the stream's own backpressure.
 */
export function readAsStream(socket: Socket, buffer: Buffer): void {
  const found = readSlots(socket);
  if (found === undefined) return;
  const target = socket as unknown as Record<symbol, unknown>;
  if (target[found.buffer] !== buffer) return;
  target[found.callback] = (bytes: number): boolean => socket.push(Buffer.from(buffer.subarray(0, bytes)));
}
