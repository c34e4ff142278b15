import { BASE64_WASM } from './base64-wasm.js';

/** Bytes per slot: a 64 KiB pipe read makes an 87 KiB frame. */
const SLOT_BYTES = 128 * 1024;
/** The largest chunk a slot takes: 4 characters per 3 bytes, plus head and tail (under 64 bytes). */
const MAX_CHUNK = Math.floor((SLOT_BYTES - 64) / 4) * 3;
/** Slots in all (4 MiB reserved; only those used become resident, see `#free`). */
const SLOT_COUNT = 32;
/** The chunk is copied here; the alphabet of the scalar tail sits below, at 0..63. */
const SCRATCH = 64;
/** The first slot, on a page boundary after the scratch (and the 4 bytes the encoder reads past it). */
const SLOTS_AT = Math.ceil((SCRATCH + MAX_CHUNK + 4) / 65536) * 65536;

/**
 * SSE output frames (`<head><base64 of the chunk><tail>`) built in WebAssembly memory and written
 * to the socket from there: the chunk is copied in once, encoded by base64.wat straight into a
 * frame slot, and the socket writes a Buffer that views the slot. Node's own path makes a
 * JavaScript string of the base64 text, copies it into a fresh Buffer, and leaves both to the
 * garbage collector (bench/results/exec-terminal-profile.md, "SSE output").
 *
 * A slot is busy from `frame` until `release`, which the caller makes once the socket no longer
 * needs the bytes (the write's callback, or the response's `close`). When every slot is busy, or
 * a chunk is larger than a slot, `frame` returns undefined and the caller builds the frame the
 * copying way: slow readers cannot make the memory grow. The memory never grows, so the Buffers
 * handed out stay valid (growing a WebAssembly memory detaches its old ArrayBuffer).
 */
export class FrameSlots {
  static readonly SLOT_BYTES = SLOT_BYTES;
  static readonly MAX_CHUNK = MAX_CHUNK;
  static readonly SLOT_COUNT = SLOT_COUNT;

  readonly #memory: ArrayBuffer;
  readonly #bytes: Buffer;
  readonly #encode: (src: number, len: number, dst: number) => number;
  /** Free slots, used last-in first-out: a stream that keeps up reuses one or two warm slots. */
  readonly #free: number[] = [];
  readonly #busy = new Uint8Array(SLOT_COUNT);

  private constructor(memory: ArrayBuffer, encode: (src: number, len: number, dst: number) => number) {
    this.#memory = memory;
    this.#bytes = Buffer.from(memory);
    this.#encode = encode;
    for (let slot = SLOT_COUNT - 1; slot >= 0; slot--) this.#free.push(slot);
  }

  /**
   * The encoder, or undefined where WebAssembly (or its SIMD) is unavailable: the caller then
   * keeps to the copying path (`node --jitless` has no WebAssembly). `scope` holds the
   * WebAssembly API to use: the global one by default.
   */
  static create(scope: { WebAssembly?: WasmApi } = globalThis as { WebAssembly?: WasmApi }): FrameSlots | undefined {
    const wasm = scope.WebAssembly;
    if (wasm === undefined) return undefined;
    try {
      const pages = (SLOTS_AT + SLOT_COUNT * SLOT_BYTES) / 65536;
      const memory = new wasm.Memory({ initial: pages, maximum: pages });
      const module = new wasm.Module(Buffer.from(BASE64_WASM, 'base64'));
      const { exports } = new wasm.Instance(module, { env: { memory } });
      if (typeof exports.encode !== 'function') return undefined;
      return new FrameSlots(memory.buffer, exports.encode as (src: number, len: number, dst: number) => number);
    } catch {
      // A CPU or engine without WebAssembly SIMD refuses the module: stay on the copying path.
      return undefined;
    }
  }

  /** Free slots now. */
  get free(): number {
    return this.#free.length;
  }

  /** `head`, the base64 of `data`, `tail`, in a slot; undefined when none is free or `data` is too big. */
  frame(head: Uint8Array, tail: Uint8Array, data: Uint8Array): Buffer | undefined {
    if (data.length > MAX_CHUNK) return undefined;
    const slot = this.#free.pop();
    if (slot === undefined) return undefined;
    this.#busy[slot] = 1;
    const bytes = this.#bytes;
    const at = SLOTS_AT + slot * SLOT_BYTES;
    bytes.set(data, SCRATCH);
    bytes.set(head, at);
    const end = at + head.length + this.#encode(SCRATCH, data.length, at + head.length);
    bytes.set(tail, end);
    return Buffer.from(this.#memory, at, end + tail.length - at);
  }

  /** Frees the slot of a frame from `frame` (anything else, or a slot already free, is ignored). */
  release(frame: Uint8Array): void {
    if (frame.buffer !== this.#memory) return;
    const slot = (frame.byteOffset - SLOTS_AT) / SLOT_BYTES;
    if (!Number.isInteger(slot) || this.#busy[slot] !== 1) return;
    this.#busy[slot] = 0;
    this.#free.push(slot);
  }
}

/** The part of the WebAssembly JavaScript API used here (the project's TypeScript libraries do not declare it). */
export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}

let shared: FrameSlots | undefined | null = null;

/** The agent's one encoder, made on first use; undefined without WebAssembly. */
export function sharedFrameSlots(): FrameSlots | undefined {
  if (shared === null) shared = FrameSlots.create();
  return shared;
}
